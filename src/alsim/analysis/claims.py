"""Claims and calibration targets scored on a finished run's per-animal (or per-well) table.

Every row that ``alsim validate`` prints, the calibration studies T1-T4
included, is a criterion of a protocol's claim (YAML in the protocol library),
scored here by one function. Reads results; never simulates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


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
    direction_only: bool = False

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


def _ratio_change(a: float, b: float) -> float:
    """a / b - 1, undefined (NaN) when the reference ``b`` is zero."""
    return a / b - 1.0 if b != 0 else float("nan")


def criterion_value(animals: pd.DataFrame, c) -> float:
    """The simulated quantity a criterion bounds (NaN when undefined, which fails the row)."""
    m = c.measure
    if m == "value":
        x = _mean(animals, c.group, c.readout)
    elif m == "change":
        x = _ratio_change(_mean(animals, c.group, c.readout), _mean(animals, c.vs, c.readout))
    elif m == "group_difference":
        x = _mean(animals, c.group, c.readout) - _mean(animals, c.vs, c.readout)
    elif m == "difference":
        x = _mean(animals, c.group, c.readout) - _mean(animals, c.group, c.minus)
    elif m == "sd":
        v = _values(animals, c.group, c.readout)
        x = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    elif m == "sex_change":
        x = _ratio_change(_mean(animals, c.group, c.readout, "female"), _mean(animals, c.group, c.readout, "male"))
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


@dataclass(frozen=True)
class Estimate:
    """A published estimate in a criterion's units, with the errors its band allows.

    se_published: the standard error of the published estimate; se_simulated: the expected
    sampling error of the simulated estimate at the protocol's group sizes (from the published
    spread of the animals); extra_sd: the between-study spread the project allows.
    """

    value: float
    se_published: float
    se_simulated: float
    extra_sd: float

    @property
    def band(self) -> tuple[float, float]:
        """value +/- 1.96 sqrt(se_published^2 + se_simulated^2 + extra_sd^2)."""
        half = Z95 * math.sqrt(self.se_published ** 2 + self.se_simulated ** 2 + self.extra_sd ** 2)
        return self.value - half, self.value + half


def _arm_se(arm, spread: str, n: float) -> tuple[float, float]:
    """(standard error of the published mean, expected standard error of a simulated mean of n)."""
    sd = arm.spread if spread == "sd" else arm.spread * math.sqrt(arm.n)
    return sd / math.sqrt(arm.n), sd / math.sqrt(n)


def published_estimate(c, group_sizes: Mapping[str, int]) -> Estimate:
    """The published estimate of criterion ``c`` (which has ``published`` numbers other than a
    range) and its errors; ``group_sizes`` are the protocol's animals per group."""
    pub = c.published
    if pub.value is not None:
        se = pub.se if pub.se is not None else (pub.ci95[1] - pub.ci95[0]) / (2 * Z95)
        return Estimate(pub.value, se, 0.0, pub.extra_sd)
    arms, m = pub.arms, c.measure
    if m in ("value", "sd"):
        a = arms["group"]
        n_sim = group_sizes[c.group]
        if m == "value":
            return Estimate(a.mean, *_arm_se(a, pub.spread, n_sim), pub.extra_sd)
        sd = a.spread if pub.spread == "sd" else a.spread * math.sqrt(a.n)
        return Estimate(sd, sd / math.sqrt(2 * (a.n - 1)), sd / math.sqrt(2 * (n_sim - 1)), pub.extra_sd)
    if m in ("change", "group_difference"):
        keys, sizes = ("group", "vs"), (group_sizes[c.group], group_sizes[c.vs])
    elif m == "sex_change":
        keys, sizes = ("female", "male"), (group_sizes[c.group] / 2, group_sizes[c.group] / 2)
    else:
        raise ValueError(f"criterion {c.label!r}: measure {m!r} takes published value/se or range, not arms")
    (a1, a0) = (arms[k] for k in keys)
    (p1, s1), (p0, s0) = _arm_se(a1, pub.spread, sizes[0]), _arm_se(a0, pub.spread, sizes[1])
    if m == "group_difference":
        return Estimate(a1.mean - a0.mean, math.hypot(p1, p0), math.hypot(s1, s0), pub.extra_sd)
    ratio = a1.mean / a0.mean  # delta method on the ratio of means
    value = abs(ratio - 1.0) if c.absolute else ratio - 1.0
    return Estimate(value, ratio * math.hypot(p1 / a1.mean, p0 / a0.mean),
                    ratio * math.hypot(s1 / a1.mean, s0 / a0.mean), pub.extra_sd)


def _round(x: float) -> float:
    """Four significant digits (the precision the bands are written with)."""
    return float(f"{x:.4g}")


def published_band(c, group_sizes: Mapping[str, int]) -> tuple[float, float]:
    """The band a criterion with published numbers must lie in: the published range, or the
    estimate +/- 1.96 x its combined error (see :class:`Estimate`), at four significant digits."""
    if c.published.range is not None:
        low, high = c.published.range
        return _round(low), _round(high)
    low, high = published_estimate(c, group_sizes).band
    return _round(low), _round(high)


def published_target(c, group_sizes: Mapping[str, int]) -> str:
    """The published number as the validate table shows it."""
    pub = c.published
    if pub.range is not None:
        text = f"{pub.range[0]:g}-{pub.range[1]:g}"
    else:
        e = published_estimate(c, group_sizes)
        text = f"{e.value:.4g} (SE {e.se_published:.2g})" if e.se_published > 0 else f"{e.value:.4g}"
        if e.extra_sd > 0:
            text += f", between studies SD {e.extra_sd:.2g}"
    return f"{text} [{pub.confidence}]"


def _what(c) -> str:
    """How the criterion reads the table, for the row's label."""
    of = {"value": f"mean of {c.readout}", "change": f"change of {c.readout} vs {c.vs}",
          "difference": f"{c.readout} - {c.minus}", "late_share": f"late share of the gain vs {c.vs}",
          "group_difference": f"{c.readout} - that of {c.vs}", "sd": f"SD of {c.readout}",
          "sex_change": f"female vs male change of {c.readout}",
          "order": " < ".join((c.readout, *c.then))}[c.measure]
    return f"|{of}|" if c.absolute else of


def group_sizes(protocol) -> dict[str, int]:
    """Animals (or wells) per group of a protocol."""
    return {g.name: g.n for g in protocol.groups}


def _target(c, sizes: Mapping[str, int]) -> str:
    if c.target is not None:
        return c.target
    if c.published is not None:
        return published_target(c, sizes)
    return _bounds(c)


def _source(c, claim) -> str:
    if c.published is not None:
        return f"{c.published.citation or c.citation or claim.citation}; {c.published.where}"
    return c.citation or claim.citation


def claim_rows(protocol, animals: pd.DataFrame) -> list[Row]:
    """One row per criterion of the protocol's claim."""
    claim = protocol.claim
    sizes = group_sizes(protocol)
    return [Row(f"{claim.id}.{k}", f"{c.label} [{c.group}: {_what(c)}]", _target(c, sizes),
                criterion_value(animals, c), c.low, c.high, _source(c, claim), c.mechanism, c.direction_only)
            for k, c in enumerate(claim.criteria, start=1)]
