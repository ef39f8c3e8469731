"""Global sensitivity of the scored rows to the model's parameters (SALib).

Morris screening (elementary effects; Morris 1991 Technometrics 33:161, with the
mu* of Campolongo et al. 2007 Environ Model Softw 22:1509) of every biological
parameter over its plausible range, then first-order and total Sobol indices
(Saltelli et al. 2010 Comput Phys Commun 181:259) of the most influential ones.
Each evaluation simulates the typical animals (or wells) of every scored study
(``calibration.simulate``), so the outputs are the rows ``alsim validate`` scores.

An effect is expressed in units of its row's tolerance: a band's half-width for a
two-sided row, the bound itself (at least 0.05) for a direction-only row. A
parameter whose mu* stays below ``NO_INFLUENCE`` on every row moves no row by more than a
tenth of its tolerance across its whole range: the data cannot pin it, and it stays at
its sourced value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..biology import parameters as prm
from . import calibration as cal
from .distributed import map_ordered

NO_INFLUENCE = 0.1  # mu* in units of a row's tolerance below which a parameter moves no row

# Not screened: set by the protocol or genotype (gene doses, expression, context flags), the
# random effects that typical animals do not have, a value overwritten per animal, and the
# spatial engine's constants (no effect in the well-mixed compartment).
_SET_ELSEWHERE = {
    "mut_expr_mn", "mut_expr_ast", "mut_expr_mg", "astrocytes_present", "microglia_present", "adult_weight",
    "nfkb_microglia_dose", "nfkb_astrocyte_dose", "misfold_noise", "individual_cv_b6sjl", "individual_cv_b6",
    "adult_weight_cv", "weighing_noise_g", "litter_cv", "culture_well_cv", "righting_threshold_cv",
    "glutamate_half_life", "microglia_migration_speed", "microglia_reach", "astrocyte_domain_radius",
}


def screened_parameters() -> list[str]:
    """The parameters a sensitivity analysis varies: every biological parameter with a range."""
    return [p.name for p in prm.PARAMETERS
            if p.name not in _SET_ELSEWHERE and not p.name.endswith(("_gene_dose", "_diffusion"))
            and p.range[1] > p.range[0]]


def _log_scaled(name: str) -> bool:
    lo, hi = prm.BY_NAME[name].range
    return lo > 0 and hi / lo >= 10.0


def from_unit_cube(names: Sequence[str], u: np.ndarray) -> dict[str, float]:
    """Parameter values from a point of the unit cube: log-uniform over ranges spanning a decade
    or more, uniform otherwise."""
    out = {}
    for n, x in zip(names, u):
        lo, hi = prm.BY_NAME[n].range
        out[n] = float(lo * (hi / lo) ** x) if _log_scaled(n) else float(lo + (hi - lo) * x)
    return out


def around_defaults(names: Sequence[str], u: np.ndarray, factor: float) -> dict[str, float]:
    """Parameter values from a point of the unit cube: log-uniform between default / factor and
    default x factor, clipped to the plausible range (over the whole range for a default of 0)."""
    out = from_unit_cube(names, u)
    for n, x in zip(names, u):
        p = prm.BY_NAME[n]
        if p.value != 0:
            out[n] = float(np.clip(p.value * factor ** (2.0 * x - 1.0), *p.range))
    return out


def tolerance(t: cal.Target, default: float = 0.0) -> float:
    """The row's tolerance: the band's half-width, or for a one-sided (direction-only) row the
    larger of its bound and its value at the defaults (at least 0.05): a relative scale, since a
    bound at 0 says nothing of the size a row moves by."""
    if math.isfinite(t.low) and math.isfinite(t.high) and t.high > t.low:
        return 0.5 * (t.high - t.low)
    bound = t.low if math.isfinite(t.low) else t.high
    return max(abs(bound), abs(default) if math.isfinite(default) else 0.0, 0.05)


@dataclass(frozen=True)
class Screening:
    """Morris screening: mu* and sigma, in units of each row's tolerance, per parameter and row."""

    names: list[str]
    rows: list[str]
    mu_star: np.ndarray   # (parameters, rows); NaN where the row defined none of the parameter's effects
    sigma: np.ndarray     # (parameters, rows)
    evaluations: int
    undefined: np.ndarray  # (rows,) share of the evaluations in which the row was undefined

    def influence(self) -> np.ndarray:
        """Largest mu* of each parameter over the rows where it was measured."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nan_to_num(np.nanmax(self.mu_star, axis=1))

    def uninfluential(self) -> list[str]:
        """Parameters whose every effect, on every row, was measured and below ``NO_INFLUENCE``."""
        measured = np.isfinite(self.mu_star).all(axis=1)
        return [n for n, m, ok in zip(self.names, self.influence(), measured) if ok and m < NO_INFLUENCE]

    def unmeasured(self) -> list[str]:
        """Parameters below ``NO_INFLUENCE`` where measured, with rows on which no effect was defined."""
        measured = np.isfinite(self.mu_star).all(axis=1)
        return [n for n, m, ok in zip(self.names, self.influence(), measured) if not ok and m < NO_INFLUENCE]


def _row_values(shared, u: np.ndarray) -> dict[str, float]:
    """Row values at one point of the unit cube (a pure function, so Dask workers can run it)."""
    names, studies, values = shared
    return cal.simulate(values(names, u), studies)


def _outputs(names, tgts, points, progress, values=from_unit_cube, client=None) -> np.ndarray:
    """Row values in units of each row's tolerance at each point of the unit cube (NaN where a
    row is undefined, e.g. no end stage within the protocol); with a Dask ``client`` the points
    are evaluated on its workers (the same numbers, in the same order)."""
    studies = list(dict.fromkeys(t.study for t in tgts))
    default = cal.simulate({}, studies)
    scale = np.array([tolerance(t, default[t.row]) for t in tgts])
    out = np.empty((len(points), len(tgts)))
    for i, sim in enumerate(map_ordered(_row_values, (list(names), studies, values), list(points), client)):
        out[i] = np.array([sim[t.row] for t in tgts]) / scale
        if progress is not None:
            progress(i + 1, len(points))
    return out


def elementary_effects(x: np.ndarray, y: np.ndarray, n_vars: int) -> np.ndarray:
    """Elementary effects (trajectories, parameters, rows) of a Morris design: each step of a
    trajectory moves one parameter. Written out rather than taken from SALib's analysis, which
    cannot skip the effects a row leaves undefined (NaN here)."""
    r = len(x) // (n_vars + 1)
    ee = np.full((r, n_vars, y.shape[1]), np.nan)
    for t in range(r):
        rows = slice(t * (n_vars + 1), (t + 1) * (n_vars + 1))
        dx, dy = np.diff(x[rows], axis=0), np.diff(y[rows], axis=0)
        j = np.argmax(np.abs(dx), axis=1)
        ee[t, j] = dy / dx[np.arange(n_vars), j][:, None]
    return ee


def morris(names: Sequence[str] | None = None, tgts: Sequence[cal.Target] | None = None, trajectories: int = 4,
           levels: int = 4, factor: float | None = None, seed: int = 2024,
           progress: Callable[[int, int], None] | None = None, client=None) -> Screening:
    """Morris screening of ``names`` (default: every screened parameter) on the rows ``tgts``
    (default: every scored row), ``trajectories`` x (parameters + 1) evaluations, each parameter over
    its plausible range or, with ``factor``, log-uniformly within that factor of its default.
    mu* and sigma are taken over the effects a row defines."""
    from SALib.sample import morris as morris_sample

    names = list(names or screened_parameters())
    tgts = list(tgts or cal.targets())
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    x = morris_sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    values = from_unit_cube if factor is None else partial(around_defaults, factor=factor)
    y = _outputs(names, tgts, x, progress, values=values, client=client)
    ee = elementary_effects(x, y, len(names))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row undefined in every trajectory: NaN
        mu_star = np.nanmean(np.abs(ee), axis=0)
        sigma = np.nanstd(ee, axis=0)
    return Screening(names, [t.row for t in tgts], mu_star, sigma, len(x), (~np.isfinite(y)).mean(axis=0))


@dataclass(frozen=True)
class SobolIndices:
    """First-order (S1) and total (ST) Sobol indices per parameter and row, with 95 % intervals."""

    names: list[str]
    rows: list[str]
    factor: float
    s1: np.ndarray
    s1_conf: np.ndarray
    st: np.ndarray
    st_conf: np.ndarray
    evaluations: int


def sobol(names: Sequence[str], tgts: Sequence[cal.Target], base_samples: int = 32, factor: float = 1.5,
          seed: int = 2024, progress: Callable[[int, int], None] | None = None, client=None) -> SobolIndices:
    """Sobol indices of ``names`` on the rows ``tgts`` from a Saltelli sample of
    ``base_samples`` x (parameters + 2) evaluations (no second-order indices), each parameter
    log-uniform within ``factor`` of its default (clipped to its range; over whole ranges most
    rows are undefined somewhere, e.g. slow misfolding never reaches end stage); the other
    parameters stay at their defaults. Rows undefined anywhere in the sample, or constant, get NaN."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    names, tgts = list(names), list(tgts)
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    x = sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=seed)
    y = _outputs(names, tgts, x, progress, values=partial(around_defaults, factor=factor), client=client)
    shape = (len(names), len(tgts))
    s1, s1c, st, stc = (np.full(shape, np.nan) for _ in range(4))
    for j in range(len(tgts)):
        if not np.isfinite(y[:, j]).all() or np.ptp(y[:, j]) == 0:
            continue  # undefined somewhere in the sample, or constant: no variance to split
        res = sobol_analyze.analyze(problem, y[:, j], calc_second_order=False, seed=seed)
        s1[:, j], s1c[:, j], st[:, j], stc[:, j] = res["S1"], res["S1_conf"], res["ST"], res["ST_conf"]
    return SobolIndices(names, [t.row for t in tgts], factor, s1, s1c, st, stc, len(x))
