"""Claim criteria scored on a finished run's per-animal (or per-well) table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calibration import Row


def _mean(animals: pd.DataFrame, group: str, readout: str) -> float:
    """Mean of a readout over the group's animals that have it (NaN if fewer than half do)."""
    if readout not in animals:
        raise KeyError(f"readout {readout!r} is not in the results (columns: {', '.join(animals.columns)})")
    v = animals.loc[animals.group == group, readout].to_numpy(dtype=float)
    ok = np.isfinite(v)
    return float(v[ok].mean()) if v.size and ok.mean() >= 0.5 else float("nan")


def criterion_value(animals: pd.DataFrame, c) -> float:
    """The simulated quantity a criterion bounds."""
    if c.measure == "value":
        return _mean(animals, c.group, c.readout)
    if c.measure == "change":
        return _mean(animals, c.group, c.readout) / _mean(animals, c.vs, c.readout) - 1.0
    if c.measure == "group_difference":
        return _mean(animals, c.group, c.readout) - _mean(animals, c.vs, c.readout)
    if c.measure == "difference":
        return _mean(animals, c.group, c.readout) - _mean(animals, c.group, c.minus)
    # late_share: how much of the survival gain over `vs` falls in the late phase
    gain = _mean(animals, c.group, "end_stage_d") - _mean(animals, c.vs, "end_stage_d")
    late = _mean(animals, c.group, "late_phase_d") - _mean(animals, c.vs, "late_phase_d")
    return late / gain if gain > 0 else float("nan")


def _bounds(c) -> str:
    if np.isfinite(c.low) and np.isfinite(c.high):
        return f"{c.low:g} to {c.high:g}"
    return f"> {c.low:g}" if np.isfinite(c.low) else f"< {c.high:g}"


def claim_rows(protocol, animals: pd.DataFrame) -> list[Row]:
    """One row per criterion of the protocol's claim."""
    claim = protocol.claim
    rows = []
    for k, c in enumerate(claim.criteria, start=1):
        what = {"value": "", "change": f" vs {c.vs}", "difference": f" - {c.minus}",
                "late_share": f" vs {c.vs}", "group_difference": f" - {c.vs}"}[c.measure]
        rows.append(Row(f"{claim.id}.{k}", f"{c.label} [{c.group}: {c.measure} of {c.readout}{what}]",
                        _bounds(c), criterion_value(animals, c), c.low, c.high, claim.citation, c.mechanism))
    return rows
