"""Provenance of a run: what produced it, from what, with which parameters."""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ..biology import parameters as prm


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit() -> str:
    """Commit of the alsim source tree, or 'unknown' outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _provenance(protocol) -> dict:
    """What every alsim output folder records first: version, commit, time and protocol."""
    return {
        "alsim_version": _version("alsim"),
        "git_commit": git_commit(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "protocol": protocol.model_dump(),
    }


def design_manifest(protocol, ns: list[int], studies: int, alpha: float, test: str, wall_time_s: float) -> dict:
    """The manifest of an ``alsim design`` folder: provenance and the study settings."""
    return {**_provenance(protocol), "kind": "design", "n_per_arm": ns, "studies": studies, "alpha": alpha,
            "test": test, "wall_time_s": round(wall_time_s, 3)}


def posterior_manifest(protocol, k: int, wall_time_s: float) -> dict:
    """The manifest of an ``alsim run --posterior`` folder: provenance, the draws and the posterior's
    own provenance (how the shipped sample was made)."""
    from ..experiments import posterior as post

    return {**_provenance(protocol), "kind": "posterior", "seed": protocol.seed, "draws": k,
            "wall_time_s": round(wall_time_s, 3),
            "posterior_sample": json.loads(post.PROVENANCE_FILE.read_text()) if post.PROVENANCE_FILE.exists() else None}


def manifest(protocol, wall_time_s: float, n_failed: int) -> dict:
    """The manifest of a run: versions, commit, protocol, full parameter set, seed, engine, wall time."""
    return {
        **_provenance(protocol),
        "seed": protocol.seed,
        "engine": protocol.engine,
        "wall_time_s": round(wall_time_s, 3),
        "animals": protocol.n_animals,
        "animals_failed": n_failed,
        # the values every animal starts from (the defaults, or the protocol's base_parameters)
        "parameters": {p.name: {"value": float(v), "unit": p.unit, "basis": p.basis}
                       for p, v in zip(prm.PARAMETERS, protocol.base_vector())},
        "parameter_overrides": {
            "protocol": protocol.overrides,
            **{f"group {g.name}": g.overrides for g in protocol.groups if g.overrides},
        },
        "platform": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            **{d: _version(d) for d in ("numpy", "numba", "scipy", "pandas", "lifelines", "pydantic")},
        },
    }
