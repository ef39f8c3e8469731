"""Files written whole: a reader (or a run resumed after a crash) sees the old content or the new,
never a half-written file."""

from __future__ import annotations

import os
from pathlib import Path


def write_whole(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, renamed over it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    if isinstance(data, str):
        tmp.write_text(data)
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)
