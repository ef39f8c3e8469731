"""The Python tutorial runs as written: its code blocks, in order, in one namespace."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


@pytest.mark.parametrize("page", ["tutorial-python-api.md"])
def test_tutorial_code_runs(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks(page)
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, f"{page}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "G93A Bax-/-" in out and (tmp_path / "runs" / "tutorial-c6-bax" / "manifest.json").is_file()
