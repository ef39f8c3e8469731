"""A run folder written chunk by chunk: what ``alsim run`` does, in memory bounded by the chunk size.

Each chunk of animals (simulated here or on Dask workers, ``experiments.runner.simulate``) is
appended to the run's tables as it arrives, in animal order: ``animals.parquet`` (and
``animals.csv`` up to ``CSV_MAX_ANIMALS`` animals: pandas formats 10^5 rows in ~10 s) and
``parameters.parquet``, and with series ``all`` the tidy ``timeseries.parquet`` and
``weighings.parquet``. What stays in memory is one row per animal (the per-animal table, for the
statistics, figures and summary), the group summaries of the time series and weighings (which
``summary`` runs store as those two tables), and each animal's loss-of-righting threshold (for
the motor-function figure). Everything is written inside the atomic ``publishing`` transaction
of ``io.store``, so a failed or killed run leaves the earlier folder as it was. Cultures and spatial
runs (a few wells or animals) are simulated in memory and written whole (``io.store.write_run``,
with a spatial run's ``spatial/``).
"""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..analysis import bands
from ..experiments.protocol import Protocol
from ..experiments.runner import Progress, run, simulate
from .sink import CsvSink, ParquetSink, write_parquet
from .store import CSV_MAX_ANIMALS, publishing, write_analyses, write_provenance, write_run


class _ChunkWriter:
    """Appends each chunk to the run's tables and keeps the per-animal rows."""

    def __init__(self, folder: Path, csv: bool):
        self.folder = folder
        self.csv = CsvSink(folder / "animals.csv") if csv else None
        self.sinks = {name: ParquetSink(folder / f"{name}.parquet")
                      for name in ("animals", "parameters", "weighings", "timeseries")}
        self.animals: list[pa.Table] = []
        self.thresholds: list[np.ndarray] = []

    def __call__(self, chunk) -> None:
        for name, sink in self.sinks.items():
            table = getattr(chunk, name)
            if table is not None:
                sink.append(table)
        if self.csv is not None:
            self.csv.append(chunk.animals.to_pandas())
        self.animals.append(chunk.animals)
        # a copy: a view would keep the chunk's whole parameter matrix alive
        self.thresholds.append(chunk.parameters.column("righting_threshold").to_numpy().copy())

    def close(self, summaries) -> pd.DataFrame:
        """Close the files (with series ``summary`` or ``none``, write the summaries, or empty
        tables, as ``timeseries``/``weighings``); returns the per-animal table."""
        for sink in self.sinks.values():
            sink.close()
        for name in ("timeseries", "weighings"):
            if not (self.folder / f"{name}.parquet").exists():
                write_parquet(getattr(summaries, name) if summaries is not None else bands.empty_table(),
                              self.folder / f"{name}.parquet")
        table = pa.concat_tables(self.animals)
        self.animals = []
        return table.to_pandas(self_destruct=True)  # each column's Arrow memory freed once converted


@contextmanager
def spatial_checkpoint(protocol: Protocol, out: Path):
    """The checkpoint folder of a spatial run into ``out``: ``.<name>.checkpoint`` beside it, kept when
    the run is interrupted, so that running the same command again resumes it; a folder left by a
    different protocol (or seed) is discarded first."""
    from ..experiments.spatial_run import checkpointing

    folder = out.parent / f".{out.name}.checkpoint"
    stamp = protocol.model_dump_json()
    if folder.exists() and (not (folder / "protocol.json").exists()
                            or (folder / "protocol.json").read_text() != stamp):
        shutil.rmtree(folder)
    with checkpointing(folder):
        (folder / "protocol.json").write_text(stamp)
        yield folder


def stream_run(protocol: Protocol, out: Path, *, overwrite: bool = False, client=None,
               chunk_size: int | None = None, progress: Progress | None = None) -> list[Path]:
    """Simulate ``protocol`` and write its run folder ``out`` chunk by chunk (see the module
    docstring); ``client`` runs the chunks on a Dask cluster. Returns the figures written."""
    from ..report.plots import FigureInputs

    start = time.perf_counter()
    if protocol.engine == "spatial" and not protocol.in_culture:
        # a few animals, each a tissue: in memory, with their spatial/, checkpointed as they go
        with spatial_checkpoint(protocol, Path(out)) as folder, publishing(Path(out), overwrite) as tmp:
            figures = write_run(run(protocol, None if progress is None
                                    else lambda done, total: progress("simulate", done, total)), tmp)
        shutil.rmtree(folder, ignore_errors=True)  # published: nothing left to resume
        return figures
    with publishing(Path(out), overwrite) as tmp:
        if protocol.in_culture:  # wells are few: simulated in memory
            return write_run(run(protocol), tmp)
        writer = _ChunkWriter(tmp, csv=protocol.n_animals <= CSV_MAX_ANIMALS)
        summaries = simulate(protocol, writer, chunk_size=chunk_size, client=client, progress=progress)
        animals = writer.close(summaries)
        write_provenance(tmp, protocol, time.perf_counter() - start, animals)
        figure_bands = (pd.concat([summaries.timeseries, summaries.weighings], ignore_index=True)
                        if summaries is not None else bands.empty_table())
        thresholds = np.concatenate(writer.thresholds)
        inputs = FigureInputs(protocol, animals, figure_bands, float(np.median(thresholds)))
        return write_analyses(inputs, tmp, progress)
