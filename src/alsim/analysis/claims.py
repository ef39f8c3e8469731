"""Claims and calibration targets scored on a finished run's per-animal (or per-well) table.

Every row that ``alsim validate`` prints, the calibration studies T1-T4
included, is a criterion of a protocol's claim (YAML in the protocol library),
scored here by one function. Reads results; never simulates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Row:
    """One scored criterion: its target, the simulated value and the band it must lie in."""

    id: str
    quantity: str
    target: str
    simulated: float
    low: float
    high: float
    source: str
    mechanism: str

    @property
    def passed(self) -> bool:
        """True when the simulated value lies within [low, high]."""
        return bool(np.isfinite(self.simulated) and self.low <= self.simulated <= self.high)


def _values(animals: pd.DataFrame, group: str, readout: str, sex: str | None = None) -> np.ndarray:
    """A readout's values in a group (optionally one sex) over the animals that have it, or
    nothing when fewer than half do: counts at an age exist only for animals alive then, as in
    the labs' tables, and a readout most animals lack (e.g. no end stage) is a failure."""
    if readout not in animals:
        raise KeyError(f"readout {readout!r} is not in the results (columns: {', '.join(animals.columns)})")
    rows = animals.group == group if sex is None else (animals.group == group) & (animals.sex == sex)
    v = animals.loc[rows, readout].to_numpy(dtype=float)
    ok = np.isfinite(v)
    return v[ok] if v.size and ok.mean() >= 0.5 else np.empty(0)


def _mean(animals: pd.DataFrame, group: str, readout: str, sex: str | None = None) -> float:
    v = _values(animals, group, readout, sex)
    return float(v.mean()) if v.size else float("nan")


def criterion_value(animals: pd.DataFrame, c) -> float:
    """The simulated quantity a criterion bounds."""
    m = c.measure
    if m == "value":
        x = _mean(animals, c.group, c.readout)
    elif m == "change":
        x = _mean(animals, c.group, c.readout) / _mean(animals, c.vs, c.readout) - 1.0
    elif m == "group_difference":
        x = _mean(animals, c.group, c.readout) - _mean(animals, c.vs, c.readout)
    elif m == "difference":
        x = _mean(animals, c.group, c.readout) - _mean(animals, c.group, c.minus)
    elif m == "sd":
        v = _values(animals, c.group, c.readout)
        x = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    elif m == "sex_change":
        x = _mean(animals, c.group, c.readout, "female") / _mean(animals, c.group, c.readout, "male") - 1.0
    elif m == "order":
        means = [_mean(animals, c.group, r) for r in (c.readout, *c.then)]
        x = float(all(a < b for a, b in zip(means, means[1:])))
    else:  # late_share: how much of the survival gain over `vs` falls in the late phase
        gain = _mean(animals, c.group, "end_stage_d") - _mean(animals, c.vs, "end_stage_d")
        late = _mean(animals, c.group, "late_phase_d") - _mean(animals, c.vs, "late_phase_d")
        x = late / gain if gain > 0 else float("nan")
    return abs(x) if c.absolute else x


def _bounds(c) -> str:
    if np.isfinite(c.low) and np.isfinite(c.high):
        return f"{c.low:g} to {c.high:g}"
    return f"> {c.low:g}" if np.isfinite(c.low) else f"< {c.high:g}"


def _what(c) -> str:
    """How the criterion reads the table, for the row's label."""
    of = {"value": f"mean of {c.readout}", "change": f"change of {c.readout} vs {c.vs}",
          "difference": f"{c.readout} - {c.minus}", "late_share": f"late share of the gain vs {c.vs}",
          "group_difference": f"{c.readout} - that of {c.vs}", "sd": f"SD of {c.readout}",
          "sex_change": f"female vs male change of {c.readout}",
          "order": " < ".join((c.readout, *c.then))}[c.measure]
    return f"|{of}|" if c.absolute else of


def claim_rows(protocol, animals: pd.DataFrame) -> list[Row]:
    """One row per criterion of the protocol's claim."""
    claim = protocol.claim
    return [Row(f"{claim.id}.{k}", f"{c.label} [{c.group}: {_what(c)}]", c.target or _bounds(c),
                criterion_value(animals, c), c.low, c.high, c.citation or claim.citation, c.mechanism)
            for k, c in enumerate(claim.criteria, start=1)]
