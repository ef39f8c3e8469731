"""Run folders: nothing a user has is deleted, and a rerun leaves the old run or the new one, complete.

Canary files stand for the user's data. Kills are real SIGKILLs, sent by the writing process to
itself at each step of the store's transaction (the ``ALSIM_TEST_KILL_AT`` test hook).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alsim.cli import app
from alsim.io import store

TINY = {"name": "tiny", "duration_days": 60, "save_every_days": 10, "readouts": [],
        "groups": [{"name": "a", "genotype": "WT", "n": 1}]}


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A working directory holding a protocol, a canary file and an earlier run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "canary.txt").write_text("user data")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    earlier = tmp_path / "runs" / "earlier"
    earlier.mkdir(parents=True)
    (earlier / "manifest.json").write_text("{}")
    return tmp_path


def alsim(*args: str):
    return CliRunner().invoke(app, list(args))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def refused(res, fragment: str) -> None:
    """Exit 2 with one line naming the problem, before anything was simulated or printed."""
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert fragment in res.output


@pytest.mark.parametrize("name", ["..", ".", "../../x", "/tmp/alsim-x", "a/b"])
def test_a_run_name_cannot_leave_runs(lab, name):
    before = snapshot(lab)
    (lab / "p.yaml").write_text(yaml.safe_dump({**TINY, "name": name}))
    refused(alsim("run", "p.yaml"), "name: must be one folder name")
    assert snapshot(lab) == {**before, "p.yaml": (lab / "p.yaml").read_bytes()}


@pytest.mark.parametrize("out, fragment", [
    (".", "is the working directory or a folder above it"),
    ("..", "is the working directory or a folder above it"),
    ("runs/..", "is the working directory or a folder above it"),
    ("/", "is the root of the filesystem"),
])
def test_out_is_never_the_working_directory(lab, out, fragment):
    before = snapshot(lab)
    refused(alsim("run", "tiny.yaml", "--out", out), fragment)
    assert snapshot(lab) == before


def test_a_folder_that_is_not_a_run_is_never_deleted(lab):
    (lab / "mydata").mkdir()
    (lab / "mydata" / "canary.txt").write_text("precious")
    before = snapshot(lab)
    refused(alsim("run", "tiny.yaml", "--out", "mydata"), "is not an alsim run (no manifest.json)")
    refused(alsim("run", "tiny.yaml", "--out", "mydata", "--overwrite"), "is not an alsim run")
    assert snapshot(lab) == before


def test_an_empty_folder_becomes_the_run(lab):
    (lab / "empty").mkdir()
    assert alsim("run", "tiny.yaml", "--out", "empty").exit_code == 0
    assert (lab / "empty" / "manifest.json").is_file()


@pytest.mark.parametrize("out, fragment", [
    ("file.txt", "exists and is not a folder"),
    ("link", "is a symbolic link"),
    ("file.txt/run", "is not a folder"),
    ("x" * 300, "the name is too long for the filesystem"),
    ("x" * 300 + "/run", "the name is too long for the filesystem"),
    ("bad\0name", "contains a NUL character"),
    ("bad\nname", "contains a control character"),
])
def test_out_that_cannot_be_a_run_folder_is_refused_before_simulating(lab, out, fragment):
    (lab / "file.txt").write_text("user file")
    (lab / "link").symlink_to(lab / "runs" / "earlier")
    before = snapshot(lab)
    refused(alsim("run", "tiny.yaml", "--out", out), fragment)
    assert snapshot(lab) == before


def test_rerun_needs_overwrite_and_then_replaces_the_run(lab):
    assert alsim("run", "tiny.yaml").exit_code == 0
    run = lab / "runs" / "tiny"
    (run / "notes.txt").write_text("added by the user")
    before = snapshot(lab)
    refused(alsim("run", "tiny.yaml"), "runs/tiny exists; pass --overwrite to replace it")
    assert snapshot(lab) == before
    assert alsim("run", "tiny.yaml", "--overwrite").exit_code == 0
    assert not (run / "notes.txt").exists() and (run / "manifest.json").is_file()
    assert sorted(p.name for p in (lab / "runs").iterdir()) == ["earlier", "tiny"]  # no hidden leftovers


# ------------------------------------------------------------------ the transaction itself
def write_run(folder: Path, tag: str) -> None:
    """A stand-in run: a few files and a manifest, all saying ``tag``."""
    for i in range(3):
        (folder / f"part{i}.txt").write_text(tag)
    (folder / "manifest.json").write_text(json.dumps(tag))


def holds(folder: Path, tag: str) -> bool:
    """Whether ``folder`` is the complete stand-in run ``tag``."""
    expected = {**{f"part{i}.txt": tag for i in range(3)}, "manifest.json": json.dumps(tag)}
    return snapshot(folder) == {k: v.encode() for k, v in expected.items()}


WRITER = """
import json, sys
from pathlib import Path
from alsim.io.store import publishing
with publishing(Path(sys.argv[1]), overwrite=True) as tmp:
    for i in range(3):
        (tmp / f"part{i}.txt").write_text("new")
    (tmp / "manifest.json").write_text(json.dumps("new"))
"""  # write_run(tmp, "new") in a process of its own


@pytest.mark.parametrize("step, after", [("started", "old"), ("staged", "old"), ("complete", "old"),
                                         ("old-moved", "new"), ("published", "new")])
def test_kill_at_any_step_leaves_the_old_run_or_the_new_one(tmp_path, step, after):
    assert step in store.STEPS
    target = tmp_path / "runs" / "x"
    with store.publishing(target) as tmp:
        write_run(tmp, "old")
    env = {**os.environ, store.KILL_HOOK: step}
    proc = subprocess.run([sys.executable, "-c", WRITER, str(target)], env=env, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    if step == "old-moved":
        assert not target.exists()  # the moment between the two renames: recovery puts it right
    else:
        assert holds(target, "old" if step in ("started", "staged", "complete") else "new")
    store.recover(target.parent)
    assert holds(target, after)
    assert [p.name for p in target.parent.iterdir()] == ["x"]


def test_an_interrupted_alsim_run_is_recovered_by_the_next_one(lab):
    assert alsim("run", "tiny.yaml").exit_code == 0
    env = {**os.environ, store.KILL_HOOK: "old-moved"}
    proc = subprocess.run([sys.executable, "-m", "alsim.cli", "run", "tiny.yaml", "--overwrite"], env=env,
                          cwd=lab, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (lab / "runs" / "tiny").exists()
    refused(alsim("run", "tiny.yaml"), "runs/tiny exists; pass --overwrite")  # recovered first
    assert (lab / "runs" / "tiny" / "animals.parquet").is_file()
    assert sorted(p.name for p in (lab / "runs").iterdir()) == ["earlier", "tiny"]


def test_an_error_while_writing_leaves_the_old_run(tmp_path):
    target = tmp_path / "x"
    with store.publishing(target) as tmp:
        write_run(tmp, "old")
    with pytest.raises(RuntimeError), store.publishing(target, overwrite=True) as tmp:
        write_run(tmp, "new")
        raise RuntimeError("disk full")
    assert holds(target, "old") and [p.name for p in tmp_path.iterdir()] == ["x"]


def test_a_failed_rename_puts_the_old_run_back(tmp_path, monkeypatch):
    target = tmp_path / "x"
    with store.publishing(target) as tmp:
        write_run(tmp, "old")
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name == "new":
            raise OSError("injected")
        real_rename(src, dst)

    monkeypatch.setattr(store.os, "rename", rename)
    with pytest.raises(OSError, match="injected"), store.publishing(target, overwrite=True) as tmp:
        write_run(tmp, "new")
    assert holds(target, "old") and [p.name for p in tmp_path.iterdir()] == ["x"]


def test_recovery_leaves_live_writers_and_unknown_folders_alone(tmp_path):
    live = tmp_path / f"{store.TXN_PREFIX}{os.getpid()}-0000"
    (live / "new").mkdir(parents=True)
    orphan = tmp_path / f"{store.TXN_PREFIX}999999999-0000"  # no such process, no journal
    (orphan / "old").mkdir(parents=True)
    other = tmp_path / ".alsim-txn-notes"
    other.mkdir()
    store.recover(tmp_path)
    assert live.is_dir() and orphan.is_dir() and other.is_dir()


def test_design_folders_follow_the_same_rules(lab):
    (lab / "mydata").mkdir()
    (lab / "mydata" / "canary.txt").write_text("precious")
    before = snapshot(lab)
    refused(alsim("design", "design-minocycline", "--out", "mydata"), "is not an alsim run")
    refused(alsim("design", "design-minocycline", "--out", "runs/earlier"), "exists; pass --overwrite")
    assert snapshot(lab) == before


def test_a_culture_run_folder_speaks_of_wells(lab):
    """Culture wells are written as wells (``wells.parquet``/``.csv`` with a ``well`` column), not
    as animals, with no weighings; ``read_run`` reads them back."""
    import pandas as pd

    import alsim as api

    proto = {**yaml.safe_load(api.load_protocol("t4-astrocyte-culture").model_dump_json()), "claim": None}
    for g in proto["groups"]:
        g["n"] = 2
    Path("cult.yaml").write_text(yaml.safe_dump(proto))
    assert alsim("run", "cult.yaml", "--out", "runs/cult").exit_code == 0
    folder = Path("runs/cult")
    assert not (folder / "animals.parquet").exists() and not (folder / "weighings.parquet").exists()
    wells = pd.read_parquet(folder / "wells.parquet")
    assert list(wells.columns[:2]) == ["well", "group"] and len(wells) == 6
    assert list(pd.read_csv(folder / "wells.csv").well) == list(range(6))
    assert "well" in pd.read_parquet(folder / "timeseries.parquet").columns
    back = api.read_run(folder)
    assert back.animals.animal.tolist() == list(range(6)) and back.weighings.empty


def test_alsim_list_keeps_every_name_whole_in_a_narrow_terminal():
    from alsim.experiments.protocol import library_names

    out = CliRunner().invoke(app, ["list"], env={"COLUMNS": "80"}).output
    assert all(name in out for name in library_names())
    assert max(len(line) for line in out.splitlines()) <= 80


def test_a_chunk_too_large_for_memory_is_refused_before_simulating(lab):
    """The memory check counts the --chunk-size asked for, not the default chunk."""
    proto = {"name": "big", "duration_days": 200, "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 200000}]}
    Path("big.yaml").write_text(yaml.safe_dump(proto))
    refused(alsim("run", "big.yaml", "--chunk-size", "200000"),
            "--chunk-size: 200,000 animals at once would hold about")
    assert not Path("runs/big").exists()
