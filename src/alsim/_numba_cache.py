"""Keep Numba's on-disk cache honest across modules.

Numba re-validates a cached function only against its own source file, not
against the modules it calls or the parameter file whose indices it folds in
as constants. Each compiled module therefore records a digest of everything
it depends on and drops its cached machine code when that digest changes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def drop_stale(dispatcher, module_stem: str, dependencies: list[str | Path]) -> None:
    """Delete ``module_stem``'s Numba cache files if any dependency changed since they were written."""
    try:
        cache_dir = Path(dispatcher._cache._cache_path)
    except AttributeError:  # caching disabled or unavailable
        return
    digest = hashlib.sha256()
    for dep in dependencies:
        digest.update(Path(dep).read_bytes())
    stamp = cache_dir / f"{module_stem}.alsim-deps"
    current = digest.hexdigest()
    try:
        if stamp.read_text() == current:
            return
    except OSError:
        pass
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for f in cache_dir.glob(f"{module_stem}.*"):
            if f.suffix in (".nbi", ".nbc"):
                f.unlink(missing_ok=True)
        stamp.write_text(current)
    except OSError:  # read-only install: Numba falls back to compiling in memory
        os.environ.setdefault("ALSIM_NUMBA_CACHE_READONLY", "1")
