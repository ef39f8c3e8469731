"""Write a run folder atomically: nothing half-written is ever left behind."""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd
import yaml

from ..biology import parameters as prm
from .manifest import manifest


@contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A scratch folder beside ``out_dir`` that replaces it only if the block succeeds."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)


def write_tables(result, folder: Path) -> None:
    """Per-animal readouts, tidy time series, weighings, parameters, protocol and manifest."""
    folder = Path(folder)
    result.animals.to_parquet(folder / "animals.parquet", index=False)
    result.animals.to_csv(folder / "animals.csv", index=False)
    result.timeseries.to_parquet(folder / "timeseries.parquet", index=False)
    result.weighings.to_parquet(folder / "weighings.parquet", index=False)
    params = pd.DataFrame(result.parameters, columns=list(prm.NAMES))
    params.insert(0, "animal", result.animals["animal"].to_numpy())
    params.to_parquet(folder / "parameters.parquet", index=False)
    (folder / "protocol.yaml").write_text(yaml.safe_dump(result.protocol.model_dump(), sort_keys=False))
    n_failed = int(result.animals["status"].str.startswith("failed").sum())
    (folder / "manifest.json").write_text(json.dumps(manifest(result.protocol, result.wall_time_s, n_failed),
                                                      indent=2, default=str))
