"""Tables written piece by piece: Parquet in fixed row groups, CSV appended.

A run's tables arrive chunk by chunk. :class:`ParquetSink` buffers the pieces and writes row
groups of exactly ``ROW_GROUP_ROWS`` rows (the last one shorter), so a file's bytes depend on its
rows only, not on how they were chunked, nor on which process simulated them. Tables carry no
pandas metadata and keep NaN as a value: whether written from Arrow pieces during a run or from a
DataFrame by ``Result.save``, the same rows give the same file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 65_536  # rows per Parquet row group (a buffer of at most this many rows per file)


def arrow(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as an Arrow table as the runner builds its pieces: no pandas metadata, NaN kept as
    a float value (not turned into a null)."""
    return pa.table({str(c): pa.array(frame[c].to_numpy(), from_pandas=False) for c in frame.columns})


class ParquetSink:
    """One Parquet file, written in row groups of ``rows`` rows whatever the sizes of the pieces."""

    def __init__(self, path: Path, rows: int = ROW_GROUP_ROWS):
        self.path = Path(path)
        self.rows = rows
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._buffered = 0

    def append(self, table: pa.Table) -> None:
        """Add rows (every piece has the first piece's schema)."""
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema)
        self._pending.append(table)
        self._buffered += table.num_rows
        if self._buffered >= self.rows:
            buffered = pa.concat_tables(self._pending)
            full = buffered.num_rows - buffered.num_rows % self.rows
            self._writer.write_table(buffered.slice(0, full), row_group_size=self.rows)
            self._pending = [buffered.slice(full)]
            self._buffered = buffered.num_rows - full

    def close(self) -> None:
        """Write what is buffered and close the file (a file with no piece appended is not created)."""
        if self._writer is None:
            return
        if self._buffered:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=self.rows)
        self._writer.close()
        self._pending, self._buffered = [], 0


def write_parquet(frame: pd.DataFrame | pa.Table, path: Path) -> None:
    """A whole table as one Parquet file, in the row groups a :class:`ParquetSink` would write."""
    sink = ParquetSink(path)
    sink.append(arrow(frame) if isinstance(frame, pd.DataFrame) else frame)
    sink.close()


class CsvSink:
    """One CSV file (pandas' format: header once, then the rows of each piece as they come)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._started = False

    def append(self, frame: pd.DataFrame) -> None:
        """Add rows."""
        frame.to_csv(self.path, mode="a" if self._started else "w", header=not self._started, index=False)
        self._started = True
