"""Keep Numba's on-disk cache honest across modules.

Numba re-validates a cached function only against its own source file, not
against the modules whose functions it inlines or the parameter file whose
indices it folds in as constants. Each compiled module therefore records a
digest of everything it depends on and drops its cached machine code when
that digest changes. Modules whose functions carry explicit signatures are
compiled (or loaded from the cache) as they are imported, so they call this
before their first decorator, with any plain function of their own as
``probe`` (it only tells Numba's cache locator which file is meant).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba.core.caching import FunctionCache


def drop_stale(probe, dependencies: list[str | Path]) -> None:
    """Delete the Numba cache files of ``probe``'s module if any dependency changed since they were written."""
    source = Path(probe.__code__.co_filename)
    try:
        cache_dir = Path(FunctionCache(probe).cache_path)
    except RuntimeError:  # no writable cache location: Numba compiles in memory
        return
    digest = hashlib.sha256()
    for dep in [source, *dependencies]:
        digest.update(Path(dep).read_bytes())
    stem = source.stem
    stamp = cache_dir / f"{stem}.alsim-deps"
    current = digest.hexdigest()
    try:
        if stamp.read_text() == current:
            return
    except OSError:
        pass
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for f in cache_dir.glob(f"{stem}.*"):
            if f.suffix in (".nbi", ".nbc"):
                f.unlink(missing_ok=True)
        stamp.write_text(current)
    except OSError:  # read-only install: Numba falls back to compiling in memory
        pass
