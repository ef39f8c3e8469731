"""Run folders: checked before anything runs, replaced atomically, nothing else ever deleted.

An alsim output folder (a run, or a design study) is recognised by its
``manifest.json``. alsim writes only into a missing or empty folder, or
replaces an alsim output folder when asked to (``overwrite``); it refuses every
other target (:func:`check_target`) before anything is simulated.

Writing (:func:`publishing`) goes through a hidden transaction folder beside
the target, on the same filesystem, named ``.alsim-txn-<pid>-<token>``::

    journal.json   {"target": <name of the target folder>, "complete": false | true}
    new/           the folder being written
    old/           the folder it replaces, once moved aside

The steps, each one atomic (a rename, or a journal written whole and renamed):

1. write the journal, then ``new/``, then mark the journal complete;
2. rename the target (if there is one) to ``old/``;
3. rename ``new/`` to the target;
4. delete the transaction folder.

An exception undoes what was done (``old/`` goes back). A process killed at
any point leaves the transaction folder behind; :func:`recover`, which runs
before every write into the same parent folder, finishes or undoes the
transactions of writers that are no longer alive: when the target is
missing, a complete ``new/`` is renamed into place (else ``old/`` goes back),
and the transaction folder is deleted. So whatever the moment of the kill,
once recovered the target holds the old folder or the new one, complete.
Only between steps 2 and 3 is the target name briefly absent; recovery
restores it.

``ALSIM_TEST_KILL_AT=<step>`` is a test hook: the writing process sends
itself SIGKILL at that step (``started``, ``staged``, ``complete``,
``old-moved``, ``published``; see :data:`STEPS`). Nothing else reads it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import yaml

from .._files import write_whole
from .._text import shown
from .manifest import manifest
from .sink import CsvSink, write_parquet

MANIFEST = "manifest.json"
TXN_PREFIX = ".alsim-txn-"
KILL_HOOK = "ALSIM_TEST_KILL_AT"  # test hook, see the module docstring
STEPS = ("started", "staged", "complete", "old-moved", "published")
NAME_MAX = 255  # bytes in one path component (Linux, macOS)
PATH_MAX = 4000  # bytes in a whole path, with room for the files inside it


class RunFolderError(ValueError):
    """A target folder alsim will not write to; the message is one line."""


def _step(name: str) -> None:
    """Test hook: die here, as by ``kill -9``, when ``ALSIM_TEST_KILL_AT`` names this step."""
    if os.environ.get(KILL_HOOK) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def is_output(folder: Path) -> bool:
    """Whether ``folder`` is an alsim output folder (it holds a manifest)."""
    return (folder / MANIFEST).is_file() and not (folder / MANIFEST).is_symlink()


def _absolute(out: Path) -> Path:
    """``out`` as an absolute path, its parent folders resolved (the last component is kept as is)."""
    text = str(out)
    if "\0" in text:
        raise RunFolderError(f"--out: {shown(text)} contains a NUL character")
    if not text.isprintable():
        raise RunFolderError(f"--out: {shown(text)} contains a control character")
    raw = Path(os.path.abspath(text))
    if not raw.name:
        raise RunFolderError(f"--out: {shown(text)} is the root of the filesystem")
    return raw.parent.resolve() / raw.name


def _check_parent(path: Path, text: str) -> None:
    """The nearest existing ancestor of ``path`` must be a folder alsim can write in."""
    ancestor = path.parent
    while not ancestor.exists() and not ancestor.is_symlink():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise RunFolderError(f"--out: {shown(text)}: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise RunFolderError(f"--out: {shown(text)}: cannot write in {ancestor}")


def check_target(out: Path, overwrite: bool = False) -> Path:
    """The absolute target folder for ``out``, after checking that alsim may write it.

    Refused: a path with NUL or control characters or a name too long for the
    filesystem; the working directory or a folder above it; a symbolic link;
    anything that is not a folder; an existing alsim output folder unless
    ``overwrite``; any other non-empty folder (alsim never deletes it); a place
    that cannot be read or written. Leftovers of killed writers in the parent
    folder are recovered first.
    """
    text = str(out)
    path = _absolute(out)
    if max(len(os.fsencode(part)) for part in path.parts) > NAME_MAX or len(os.fsencode(str(path))) > PATH_MAX:
        raise RunFolderError(f"--out: {shown(text)}: the name is too long for the filesystem")
    cwd = Path.cwd().resolve()
    if path == cwd or path in cwd.parents:
        raise RunFolderError(f"--out: {shown(text)} is the working directory or a folder above it")
    try:
        _check_place(path, text, overwrite)
    except OSError as err:  # a folder on the way that cannot be read, for instance
        raise RunFolderError(f"--out: {shown(text)}: {err.strerror or err}") from None
    return path


def _check_place(path: Path, text: str, overwrite: bool) -> None:
    """What is at ``path`` now: nothing, an empty folder, or (with ``overwrite``) an alsim output folder."""
    if path.parent.is_dir():
        recover(path.parent)
    if path.is_symlink():
        raise RunFolderError(f"--out: {shown(text)} is a symbolic link; name the folder itself")
    if path.exists():
        if not path.is_dir():
            raise RunFolderError(f"--out: {shown(text)} exists and is not a folder")
        if is_output(path):
            if not overwrite:
                raise RunFolderError(f"{text if len(text) <= 200 else shown(text)} exists; "
                                     f"pass --overwrite to replace it")
        elif any(path.iterdir()):
            raise RunFolderError(f"--out: {shown(text)} exists and is not an alsim run (no {MANIFEST}); "
                                 f"alsim never deletes it, so choose another folder")
    _check_parent(path, text)


# ---------------------------------------------------------------- transactions
def _write_journal(txn: Path, target: str, complete: bool) -> None:
    """Write the journal whole (a temporary file renamed over it)."""
    write_whole(txn / "journal.json", json.dumps({"target": target, "complete": complete}))


def _read_journal(txn: Path) -> dict | None:
    """The journal of a transaction folder, or None when it is missing or not one of ours."""
    try:
        journal = json.loads((txn / "journal.json").read_text())
    except (OSError, ValueError):
        return None
    name = journal.get("target") if isinstance(journal, dict) else None
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
        return None
    return journal


def _alive(pid: int) -> bool:
    """Whether process ``pid`` may still be writing (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and another user's
        pass
    return True


def _writer_pid(txn: Path) -> int | None:
    """The pid in a transaction folder's name (``.alsim-txn-<pid>-<token>``)."""
    pid = txn.name[len(TXN_PREFIX):].partition("-")[0]
    return int(pid) if pid.isdigit() and len(pid) <= 9 else None  # pids stay below 2^22 on Linux


def _recover_one(txn: Path) -> None:
    """Put the target of a dead writer's transaction right, then delete the transaction folder."""
    journal = _read_journal(txn)
    if journal is None:
        if (txn / "old").exists():
            return  # cannot tell where it belongs: leave it for a person
    else:
        target = txn.parent / journal["target"]
        if not target.exists() and not target.is_symlink():
            if journal["complete"] and (txn / "new").is_dir():
                os.rename(txn / "new", target)
            elif (txn / "old").is_dir():
                os.rename(txn / "old", target)
    shutil.rmtree(txn)


def recover(parent: Path) -> None:
    """Finish or undo the transactions in ``parent`` of writers that are no longer alive
    (one that cannot be touched, e.g. for lack of permission, is left as it is)."""
    for txn in Path(parent).glob(f"{TXN_PREFIX}*"):
        pid = _writer_pid(txn)
        if pid is None or txn.is_symlink() or not txn.is_dir() or _alive(pid):
            continue
        try:
            _recover_one(txn)
        except OSError:
            continue


def _swap(txn: Path, target: Path) -> None:
    """Steps 2 and 3: the target aside to ``old/``, ``new/`` in its place; undone on an exception."""
    moved = False
    try:
        if target.exists():
            os.rename(target, txn / "old")
            moved = True
            _step("old-moved")
        os.rename(txn / "new", target)
    except BaseException:
        if moved and not target.exists():
            os.rename(txn / "old", target)
        raise


@contextmanager
def publishing(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A folder to write into that replaces ``out`` only if the block completes (see the module
    docstring); ``out`` is checked again first, as :func:`check_target` does."""
    target = check_target(out, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    txn = target.parent / f"{TXN_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    txn.mkdir()
    published = False
    try:
        _write_journal(txn, target.name, complete=False)
        (txn / "new").mkdir()
        _step("started")
        yield txn / "new"
        _step("staged")
        _write_journal(txn, target.name, complete=True)
        _step("complete")
        check_target(out, overwrite)  # nothing took the target's place meanwhile
        _swap(txn, target)
        published = True
        _step("published")
    finally:
        if published or not (txn / "old").exists():  # a replaced folder that could not go back stays
            shutil.rmtree(txn, ignore_errors=True)


TABLES = ("animals", "timeseries", "weighings", "parameters")
CSV_MAX_ANIMALS = 20_000  # animals.csv (a spreadsheet copy of animals.parquet) up to this many animals
# A culture run's files speak of wells: ``wells.parquet``/``.csv`` with a ``well`` column, and no
# weighings (in memory the per-unit table stays ``animals`` with an ``animal`` column, as for mice).
WELL_FILES = {"animals": "wells", "timeseries": "timeseries", "parameters": "parameters"}


def _to_wells(table: pd.DataFrame) -> pd.DataFrame:
    return table.rename(columns={"animal": "well"})


def write_tables(result, folder: Path) -> None:
    """Per-animal (per-well) readouts, time series (tidy or summary), weighings, parameters, protocol
    and manifest of a result held in memory (the same bytes a streamed run writes for the same rows)."""
    folder = Path(folder)
    culture = result.protocol.in_culture
    files = WELL_FILES if culture else {name: name for name in TABLES}
    shape = _to_wells if culture else (lambda table: table)
    if len(result.animals) <= CSV_MAX_ANIMALS:
        CsvSink(folder / f"{files['animals']}.csv").append(shape(result.animals))
    for name, file in files.items():
        write_parquet(shape(getattr(result, name)), folder / f"{file}.parquet")
    write_provenance(folder, result.protocol, result.wall_time_s, result.animals)


def write_provenance(folder: Path, protocol, wall_time_s: float, animals: pd.DataFrame) -> None:
    """``protocol.yaml`` (the validated protocol, every default filled in) and ``manifest.json``."""
    (folder / "protocol.yaml").write_text(yaml.safe_dump(protocol.model_dump(), sort_keys=False))
    n_failed = int(animals["status"].str.startswith("failed").sum())
    write_manifest(folder, manifest(protocol, wall_time_s, n_failed))


def write_analyses(inputs, folder: Path, progress=None) -> list[Path]:
    """The analyses of a run against its control (comparisons, survival statistics, timing), its
    figures and its summary, from ``inputs`` (``report.plots.FigureInputs``: protocol, per-animal
    table, group summaries). ``progress(stage, done, total)`` hears of each step. Returns the figures."""
    from ..analysis.claims import claim_rows
    from ..analysis.compare import compare_to_control
    from ..analysis.summary import summary_markdown
    from ..analysis.survival import survival_report
    from ..analysis.timing import timing_table
    from ..report.html import write_report
    from ..report.plots import drawing_figures

    folder = Path(folder)
    protocol, animals, control = inputs.protocol, inputs.animals, inputs.protocol.control
    steps = [("comparisons.csv", lambda: compare_to_control(animals, control))] if control is not None else []
    if control is not None and protocol.sweep is not None:
        steps.append(("timing.csv", lambda: timing_table(protocol, animals)))
    if (control is not None or protocol.contrasts) and not protocol.in_culture:
        steps.append(("survival_stats.csv", lambda: survival_report(
            animals, control, protocol.duration_days, protocol.contrasts, protocol.covariates)))
    # the figures are drawn (by forked processes, where they can be) while the statistics are computed
    with drawing_figures(inputs, folder / "figures",
                         None if progress is None else lambda done, total: progress("figures", done, total)) as drawn:
        for k, (name, table) in enumerate(steps):
            if progress is not None:
                progress("statistics", k, len(steps))
            table().to_csv(folder / name, index=False)
        if progress is not None and steps:
            progress("statistics", len(steps), len(steps))
        figures = drawn()
    claims = claim_rows(protocol, animals) if protocol.claim is not None else None
    (folder / "summary.md").write_text(summary_markdown(protocol, animals, claims))
    write_report(folder)  # last: it reads the summary, tables, figures and manifest just written
    return figures


def write_run(result, folder: Path) -> list[Path]:
    """A whole run folder into ``folder``: the tables, the analyses against the control
    (comparisons, survival statistics, timing), the figures and the summary. ``result`` is an
    :class:`alsim.Result`. Returns the figures written."""
    from ..report.plots import inputs_of

    write_tables(result, folder)
    figures = write_analyses(inputs_of(result), folder)
    if getattr(result, "tissues", None):
        tissue = result.protocol.tissue
        figures += write_spatial(result.tissues, Path(folder) / "spatial",
                                 pictures=tissue is None or tissue.pictures)
    return figures


def write_spatial(records, folder: Path, pictures: bool = True) -> list[Path]:
    """A spatial run's ``spatial/``: field snapshots (``fields.zarr``, one group per animal, when zarr
    is installed: ``pip install 'alsim[spatial]'``; else ``fields_animal<i>.npz``), cell tables
    (``cells_animal<i>.parquet``, one row per cell and snapshot), PNG snapshots and an animated
    GIF of the first animal of each group (``pictures``). Returns the pictures written."""
    from ..report.spatial import write_tissue_pictures

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import zarr
    except ImportError:  # pragma: no cover - the optional dependency is missing
        zarr = None
    root = zarr.open_group(str(folder / "fields.zarr"), mode="w") if zarr is not None else None
    for rec in records:
        rec.cells.to_parquet(folder / f"cells_animal{rec.animal}.parquet", index=False)
        data = {"fields": rec.fields, "times_d": rec.times, "region": rec.region}
        if root is None:
            np.savez_compressed(folder / f"fields_animal{rec.animal}.npz", **data)
            continue
        group = root.create_group(f"animal{rec.animal}")
        group.attrs.update({"group": rec.group, "species": list(rec.field_names), "dx_um": rec.dx_um,
                            "axes": ["time", "species", "z", "y", "x"]})
        for name, array in data.items():
            if hasattr(group, "create_array"):
                group.create_array(name, data=array)
            else:  # zarr 2
                group.create_dataset(name, data=array)
    return write_tissue_pictures(records, folder) if pictures else []


def read_tables(folder: Path) -> dict:
    """The fields of a run folder's result: protocol, tables, wall time and manifest."""
    from ..experiments.protocol import load_protocol

    folder = Path(folder)
    if not is_output(folder):
        raise RunFolderError(f"{shown(str(folder))} is not an alsim run folder (no {MANIFEST})")
    meta = json.loads((folder / MANIFEST).read_text())
    if (folder / "wells.parquet").exists():
        out = {name: pd.read_parquet(folder / f"{file}.parquet").rename(columns={"well": "animal"})
               for name, file in WELL_FILES.items()}
        out["weighings"] = pd.DataFrame(columns=["animal", "group", "age_d", "weight_g"])
    else:
        out = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    return {"protocol": load_protocol(folder / "protocol.yaml"), **out,
            "wall_time_s": float(meta.get("wall_time_s", float("nan"))), "manifest": meta}


def write_manifest(folder: Path, data: dict) -> None:
    """``manifest.json``: what makes ``folder`` an alsim output folder (see :func:`is_output`)."""
    (Path(folder) / MANIFEST).write_text(json.dumps(data, indent=2, default=str))
