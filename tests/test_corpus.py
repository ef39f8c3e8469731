"""Reproducers of issue 10, one file each under tests/corpus/protocols, run through `alsim run`.

The first line of each file says what must happen: ``# expect 2: <message fragment>`` (refused
with one line, exit 2, nothing written) or ``# expect 0 <file>: <fragment>`` (the run completes
and the named file of the run folder contains the fragment).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alsim.cli import app

CORPUS = Path(__file__).parent / "corpus" / "protocols"
EXPECT = re.compile(rb"^# expect (?P<code>[02])(?: (?P<file>\S+))?: (?P<fragment>.+)$")


def expectation(path: Path) -> tuple[int, str | None, str]:
    """(exit code, run-folder file or None, message fragment) from a corpus file's first line."""
    m = EXPECT.match(path.read_bytes().split(b"\n", 1)[0])
    assert m, f"{path.name}: first line must be '# expect ...'"
    file = m["file"].decode() if m["file"] else None
    return int(m["code"]), file, m["fragment"].decode()


def invoke_run(tmp_path: Path, monkeypatch, protocol: Path, *args: str):
    """`alsim run <protocol> --out out` from inside ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(app, ["run", str(protocol), "--out", "out", *args])


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.stem)
def test_reproducer(path, tmp_path, monkeypatch):
    code, file, fragment = expectation(path)
    res = invoke_run(tmp_path, monkeypatch, path)
    assert res.exit_code == code, res.output
    if code == 2:
        assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
        assert fragment in res.output
        assert list(tmp_path.iterdir()) == []
    else:
        assert fragment in (tmp_path / "out" / file).read_text()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_corpus_covers_the_issue():
    assert len(list(CORPUS.glob("*.yaml"))) >= 30
