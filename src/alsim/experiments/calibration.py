"""The one fitting path: the claims table as the data, typical animals as the model.

Every row that ``alsim validate`` scores (the calibration studies T1-T4 and
every claim) is a fitting target with the same numbers: a row with a published
estimate contributes a normal log-likelihood term centred on it with sigma =
the band's half-width / 1.96 (the combined error of
``analysis.claims.Estimate``); a row with a published range or a band set by
the project contributes nothing inside the inner three quarters of its band
and a normal tail outside them (``BAND_MARGIN``); a direction-only row
contributes nothing while it holds and a steep penalty when it does not.
Rows on cohort spread (``sd``) need random effects and are left to
:func:`fit_cohort_spread`.

The model side simulates each protocol with *typical* animals: one male and
one female per group, no random effects, no weighing noise (``typical``), so
one evaluation of every row costs well under a second. ``scripts/calibrate.py``
fits with it; ``scripts/crossvalidate.py`` refits without each study in turn
and predicts it; the posterior of the inference issue uses the same
likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..analysis.claims import Z95, claim_rows
from ..biology import parameters as prm
from .distributed import map_ordered
from .protocol import Protocol, load_protocol, protocol_from_dict
from .runner import run
from .validation import CALIBRATION_STUDIES, claim_protocols

# Overrides that make every animal (and well) the typical one of its group.
TYPICAL_OVERRIDES = {"individual_cv_b6sjl": 0.0, "individual_cv_b6": 0.0, "adult_weight_cv": 0.0,
                     "weighing_noise_g": 0.0, "culture_well_cv": 0.0, "litter_cv": 0.0,
                     "righting_threshold_cv": 0.0}
DIRECTION_PENALTY = 10.0  # z-score charged per unit of relative violation of a direction-only row
# The fit aims at the inner part of a flat band: a typical animal's value sits off its cohort's mean
# (the readouts are nonlinear in the random effects), so a fit that stops at a band's edge leaves
# the validated cohort outside it. A quarter of the half-width on each side is the margin.
BAND_MARGIN = 0.25
DIRECTION_MARGIN = 0.1  # likewise, a nonzero bound of a direction-only row is aimed at 10 % past it


def typical(protocol: Protocol, overrides: Mapping[str, float] | None = None) -> Protocol:
    """The protocol with one male and one female typical animal (or two wells) per group and the
    given parameter ``overrides`` applied protocol-wide."""
    data = protocol.model_dump()
    for g in data["groups"]:
        g["n"] = 2
        g["female_fraction"] = 0.5
    data["overrides"] = {**data["overrides"], **TYPICAL_OVERRIDES, **(overrides or {})}
    data.update(litters=None, background_mortality_per_day=0.0, within_animal_noise=0.0)
    return protocol_from_dict(data, protocol.name)


@dataclass(frozen=True)
class Target:
    """One scored row as a fitting target."""

    row: str
    study: str
    low: float
    high: float
    direction_only: bool
    measure: str
    estimate: bool  # a published estimate (normal around it) rather than a band (flat inside)

    @property
    def center(self) -> float:
        return 0.5 * (self.low + self.high)

    @property
    def sigma(self) -> float:
        return max(0.5 * (self.high - self.low) / Z95, 1e-12)

    def passes(self, simulated: float) -> bool:
        """Whether ``alsim validate`` would pass the row at this value (inside its band)."""
        return bool(self.low <= simulated <= self.high)

    def z(self, simulated: float) -> float:
        """Signed z-score of a simulated value (0 when a direction-only row holds)."""
        if not math.isfinite(simulated):
            return DIRECTION_PENALTY * 10.0
        if self.estimate:
            return (simulated - self.center) / self.sigma
        if self.high == self.low:  # an exact value (an order of events): charged like a direction
            return DIRECTION_PENALTY * (simulated - self.low) / max(abs(self.low), 1e-3)
        if not self.direction_only:
            margin = BAND_MARGIN * 0.5 * (self.high - self.low)
            outside = max(self.low + margin - simulated, simulated - self.high + margin, 0.0)
            return math.copysign(outside / self.sigma, simulated - self.center)
        bound = self.low if math.isfinite(self.low) else self.high
        bound += DIRECTION_MARGIN * abs(bound) * (1.0 if math.isfinite(self.low) else -1.0)
        miss = (bound - simulated) if math.isfinite(self.low) else (simulated - bound)
        return 0.0 if miss <= 0 else DIRECTION_PENALTY * miss / max(abs(bound), 1e-3)


def studies() -> list[str]:
    """Every built-in protocol with scored rows, calibration studies first."""
    return [*CALIBRATION_STUDIES, *(n for n in claim_protocols() if n not in CALIBRATION_STUDIES)]


def targets(names: Iterable[str] | None = None) -> list[Target]:
    """The fitting targets of the named studies (default: all), cohort-spread rows left out."""
    out = []
    for name in names if names is not None else studies():
        claim = load_protocol(name).claim
        for k, c in enumerate(claim.criteria, start=1):
            if c.measure != "sd":
                estimate = c.published is not None and c.published.range is None
                out.append(Target(f"{claim.id}.{k}", name, c.low, c.high, c.direction_only, c.measure, estimate))
    return out


def simulate(values: Mapping[str, float], names: Iterable[str]) -> dict[str, float]:
    """Simulated value of every row of the named studies with typical animals and parameters
    ``values`` (name -> value) on top of the defaults."""
    out = {}
    for name in names:
        protocol = typical(load_protocol(name), values)
        out.update({r.id: r.simulated for r in claim_rows(protocol, run(protocol).animals)})
    return out


def z_scores(values: Mapping[str, float], tgts: Sequence[Target]) -> np.ndarray:
    """z-score of every target under parameters ``values``."""
    sim = simulate(values, dict.fromkeys(t.study for t in tgts))
    return np.array([t.z(sim[t.row]) for t in tgts])


def to_unit(names: Sequence[str], values: Mapping[str, float]) -> np.ndarray:
    """Unbounded coordinates of parameter values: the logit of each one's place in its range."""
    out = []
    for n in names:
        lo, hi = prm.BY_NAME[n].range
        f = np.clip((values[n] - lo) / (hi - lo), 1e-4, 1 - 1e-4)
        out.append(math.log(f / (1 - f)))
    return np.array(out)


def from_unit(names: Sequence[str], x: np.ndarray) -> dict[str, float]:
    """Parameter values from unbounded coordinates (inverse of :func:`to_unit`)."""
    return {n: float(prm.BY_NAME[n].range[0] + (prm.BY_NAME[n].range[1] - prm.BY_NAME[n].range[0])
                     / (1.0 + math.exp(-u))) for n, u in zip(names, x)}


@dataclass(frozen=True)
class Fit:
    """A fitted parameter set and how well it meets its targets."""

    values: dict[str, float]
    targets: tuple[Target, ...]
    z: np.ndarray
    evaluations: int

    @property
    def cost(self) -> float:
        """Half the sum of squared z-scores (minus the Gaussian log-likelihood, up to a constant)."""
        return 0.5 * float(np.sum(self.z ** 2))


def _z_of_point(shared, y: np.ndarray) -> np.ndarray:
    """z-scores at one point of the fit's shifted logit coordinates (a pure function for Dask)."""
    names, tgts, shift = shared
    return z_scores(from_unit(names, y - shift), tgts)


def fit(names: Sequence[str], tgts: Sequence[Target], start: Mapping[str, float] | None = None,
        max_steps: int = 60, diff_step: float = 0.02,
        progress: Callable[[int, float, dict[str, float]], None] | None = None, client=None) -> Fit:
    """Least-squares fit of the parameters ``names`` to the targets (trust-region reflective on the
    z-scores, in logit coordinates bounded by each parameter's plausible range), at most ``max_steps``
    steps; each step evaluates every row once per fitted parameter (forward differences of
    ``diff_step`` logit units), on the workers of a Dask ``client`` when given (the same numbers).
    ``progress(evaluations, cost, values)`` is called at each new best."""
    from scipy.optimize import least_squares

    start = {n: (start or {}).get(n, prm.BY_NAME[n].value) for n in names}
    counter, best, last = [0], [math.inf], {}

    # The optimiser works on logit + 1: SciPy's first trust radius is |x0|, which is zero when every
    # parameter starts at the middle of its range (logit 0).
    shift = 1.0

    def residuals(y):
        key = y.tobytes()
        if key in last:
            return last[key]
        counter[0] += 1
        values = from_unit(names, y - shift)
        z = z_scores(values, tgts)
        cost = 0.5 * float(np.sum(z ** 2))
        if progress is not None and cost < best[0]:
            best[0] = cost
            progress(counter[0], cost, values)
        last.clear()
        last[key] = z
        return z

    def jacobian(y):
        # forward differences with an absolute step in logit units: SciPy's relative steps shrink
        # with |y|, and the typical-animal rows do not move for steps of ~1e-8; the columns are
        # independent evaluations (on Dask workers when a client is given)
        z0 = residuals(y)
        steps = [y + diff_step * np.eye(y.size)[i] for i in range(y.size)]
        counter[0] += len(steps)
        cols = [(z - z0) / diff_step for z in map_ordered(_z_of_point, (list(names), list(tgts), shift), steps, client)]
        return np.array(cols).T

    res = least_squares(residuals, to_unit(names, start) + shift, jac=jacobian, method="trf",
                        max_nfev=max_steps, x_scale=1.0)
    values = from_unit(names, res.x - shift)
    return Fit(values, tuple(tgts), z_scores(values, tgts), counter[0])


def fit_cohort_spread(values: Mapping[str, float], background: str, target_sd: float, n: int = 2000,
                      seed: int = 7) -> float:
    """The individual CV of misfolding rates (``individual_cv_<background>``) that gives a mixed-sex
    G93A cohort of ``n`` the end-stage SD ``target_sd`` (bisection)."""
    from ..biology import genotypes as gt
    from ..engines.meanfield import solve_cohort

    key = "individual_cv_" + ("b6sjl" if background == "B6SJL" else "b6")
    base = prm.default_vector()
    for name, value in values.items():
        base[prm.IDX[name]] = value
    streams = np.random.SeedSequence(seed).spawn(n)

    def sd(cv: float) -> float:
        v = base.copy()
        v[prm.IDX[key]] = cv
        P = np.array([gt.animal_vector(v, "SOD1-G93A", background, ("male", "female")[i % 2],
                                       np.random.default_rng(s)) for i, s in enumerate(streams)])
        return float(np.nanstd(solve_cohort(P, np.array([0.0, 400.0]), observables=False).end_stage_age, ddof=1))

    lo, hi = 0.0, 0.3
    for _ in range(18):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if sd(mid) < target_sd else (lo, mid)
    return 0.5 * (lo + hi)
