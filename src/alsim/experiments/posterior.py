"""Calibration as inference: a posterior over the influential calibrated parameters.

The data are the rows ``alsim validate`` scores, with the likelihood of the one
fitting path (``experiments.calibration``): a row with a published estimate is
normal around it (sigma from the paper's SD/SEM and n, the simulated cohort's
own error and the between-study spread), a band is flat inside its inner part
with normal tails, a direction-only row costs nothing while it holds. The
model side is the typical animals of every scored study. Priors are the
parameter table's plausible ranges (uniform, or log-uniform over ranges that
span a decade or more: ``sensitivity.from_unit_cube``).

The sampler is emcee's affine-invariant ensemble (Goodman & Weare 2010 Commun
Appl Math Comput Sci 5:65; Foreman-Mackey et al. 2013 PASP 125:306): the
likelihood is deterministic given the parameters (typical animals have no
random effects), so no ABC tolerance or neural density estimator is needed,
and each step's walkers are independent evaluations that a Dask cluster runs
in parallel (``distributed.map_ordered``). The sampler's random numbers are
drawn in this process only, so the chain does not depend on the number of
workers. After every step the chain and the sampler's random state go to a
checkpoint file; a run started again with the same file continues from the
last step and ends with the same chain as one run straight through.
"""

from __future__ import annotations

import json
import math
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .._files import write_whole
from ..biology import parameters as prm
from . import calibration as cal
from .distributed import map_ordered
from .sensitivity import _log_scaled, from_unit_cube

# The calibrated parameters with the largest influence on the scored rows (docs/sensitivity.md:
# Morris mu* over factor-2 ranges), one per mechanism the rows constrain: misfolding speed and its
# background factor, the stress response's steepness, the astrocyte factor's weight in motor-neuron
# stress, the FF units' withdrawal threshold, and the innervation at which righting is lost.
POSTERIOR_PARAMETERS = ("misfold_nucleation", "misfold_growth", "b6_misfold_factor", "hill_n",
                        "stress_toxic_factor", "withdrawal_threshold_ff", "righting_threshold")
DATA = Path(__file__).resolve().parents[1] / "biology"
SAMPLE_FILE = DATA / "posterior.csv"
PROVENANCE_FILE = DATA / "posterior.json"


def to_unit_cube(names: Sequence[str], values: Mapping[str, float]) -> np.ndarray:
    """The point of the prior's unit cube of parameter values (inverse of ``from_unit_cube``)."""
    out = []
    for n in names:
        lo, hi = prm.BY_NAME[n].range
        v = values[n]
        out.append(math.log(v / lo) / math.log(hi / lo) if _log_scaled(n) else (v - lo) / (hi - lo))
    return np.array(out)


class LogPosterior:
    """log prior + log likelihood of a point ``u`` of the unit cube (the prior is uniform on it).

    ``simulate(values, studies)`` gives the row values (default: the typical animals of
    ``calibration.simulate``); a picklable object, so Dask workers can evaluate it."""

    def __init__(self, names: Sequence[str], targets: Sequence[cal.Target],
                 simulate: Callable[[Mapping[str, float], Sequence[str]], Mapping[str, float]] | None = None,
                 values: Callable[[Sequence[str], np.ndarray], dict[str, float]] = from_unit_cube):
        self.names, self.targets = list(names), list(targets)
        self.studies = list(dict.fromkeys(t.study for t in self.targets))
        self.simulate = simulate or cal.simulate
        self.values = values

    def z(self, u: np.ndarray) -> np.ndarray:
        """The rows' z-scores at ``u`` (minus the log likelihood is half their sum of squares)."""
        sim = self.simulate(self.values(self.names, u), self.studies)
        return np.array([t.z(sim[t.row]) for t in self.targets])

    def __call__(self, u: np.ndarray) -> float:
        if np.any(u <= 0.0) or np.any(u >= 1.0):
            return -np.inf
        return -0.5 * float(np.sum(self.z(u) ** 2))

    def mode(self, start: np.ndarray, max_evaluations: int = 200) -> np.ndarray:
        """The posterior's mode near ``start`` (least squares on the z-scores within the unit cube;
        the prior is flat on it): where a chain starts so that it need not travel there first."""
        from scipy.optimize import least_squares

        eps = 1e-6
        res = least_squares(self.z, np.clip(start, eps, 1 - eps), bounds=(eps, 1 - eps), diff_step=1e-3,
                            max_nfev=max_evaluations)
        return res.x


class _DaskPool:
    """emcee's ``pool``: its ``map`` sends the walkers of a step to the cluster, results in order."""

    def __init__(self, client):
        self.client = client

    def map(self, fn, items):
        # emcee wraps the log-probability in a picklable wrapper; call it through map_ordered
        return list(map_ordered(_apply, fn, list(items), self.client))


def _apply(fn, item):
    return fn(item)


@dataclass(frozen=True)
class Chain:
    """An ensemble chain: positions (steps, walkers, parameters) on the unit cube, log posteriors
    (steps, walkers), acceptance fraction per walker, and wall time."""

    names: list[str]
    u: np.ndarray
    log_prob: np.ndarray
    acceptance: np.ndarray
    wall_time_s: float
    evaluations: int

    def values(self, burn: int = 0, thin: int = 1) -> np.ndarray:
        """Parameter values (samples, parameters) after ``burn`` steps, every ``thin``-th step."""
        flat = self.u[burn::thin].reshape(-1, len(self.names))
        return np.array([[from_unit_cube(self.names, x)[n] for n in self.names] for x in flat])

    def autocorrelation(self, burn: int = 0) -> np.ndarray:
        """Integrated autocorrelation time (steps) per parameter (emcee's estimator, without its
        check that the chain is 50 times longer; compare the chain's length yourself)."""
        from emcee.autocorr import integrated_time

        return integrated_time(self.u[burn:], quiet=True)


def sample(log_posterior: LogPosterior, start: np.ndarray, walkers: int, steps: int, seed: int,
           client=None, checkpoint: Path | None = None, spread: float = 0.02,
           progress: Callable[[int, int, float], None] | None = None) -> Chain:
    """Run ``walkers`` emcee walkers for ``steps`` steps from a small ball (``spread`` in cube units)
    around ``start`` (a point of the unit cube), seeded by ``seed``. With ``checkpoint``, every step
    is saved there and an existing file is continued from its last step (same result)."""
    import emcee

    k = len(log_posterior.names)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    sampler = emcee.EnsembleSampler(walkers, k, log_posterior, pool=None if client is None else _DaskPool(client))
    chain, logp, accepted, elapsed = [], [], np.zeros(walkers), 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        saved = pickle.loads(Path(checkpoint).read_bytes())
        if saved["seed"] != seed or saved["walkers"] != walkers or saved["names"] != log_posterior.names:
            raise ValueError(f"checkpoint {checkpoint}: written by another run (seed, walkers or parameters differ)")
        chain, logp, accepted, elapsed = saved["chain"], saved["log_prob"], saved["accepted"], saved["elapsed"]
        state = emcee.State(chain[-1], log_prob=logp[-1], random_state=saved["random_state"])
    else:
        ball = np.clip(start + spread * rng.standard_normal((walkers, k)), 1e-3, 1 - 1e-3)
        lp0 = np.array(list(map_ordered(_apply, log_posterior, list(ball), client)))
        state = emcee.State(ball, log_prob=lp0, random_state=np.random.RandomState(seed).get_state())
    while len(chain) < steps:
        before = state.coords.copy()
        state = next(sampler.sample(state, iterations=1, store=False))
        accepted += np.any(state.coords != before, axis=1)
        chain.append(state.coords.copy())
        logp.append(state.log_prob.copy())
        if checkpoint is not None:
            blob = {"seed": seed, "walkers": walkers, "names": log_posterior.names, "chain": chain,
                    "log_prob": logp, "accepted": accepted, "random_state": state.random_state,
                    "elapsed": elapsed + time.perf_counter() - t0}
            write_whole(Path(checkpoint), pickle.dumps(blob))
        if progress is not None:
            progress(len(chain), steps, float(np.max(state.log_prob)))
    return Chain(log_posterior.names, np.array(chain), np.array(logp), accepted / max(len(chain), 1),
                 elapsed + time.perf_counter() - t0, walkers * (len(chain) + 1))  # the start, then each step


def credible_interval(samples: np.ndarray, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed credible interval of each column of ``samples``."""
    tail = 0.5 * (1.0 - level)
    return np.quantile(samples, tail, axis=0), np.quantile(samples, 1.0 - tail, axis=0)


# ------------------------------------------------------------------ the shipped sample
def save_sample(chain: Chain, burn: int, thin: int, provenance: Mapping, folder: Path = DATA) -> None:
    """Write the posterior sample (``posterior.csv``, one column per parameter) and its provenance."""
    import pandas as pd

    values = chain.values(burn, thin)
    pd.DataFrame(values, columns=chain.names).to_csv(folder / SAMPLE_FILE.name, index=False, float_format="%.6g")
    (folder / PROVENANCE_FILE.name).write_text(json.dumps({**provenance, "samples": len(values)}, indent=2))


def load_sample() -> "pd.DataFrame":  # noqa: F821
    """The shipped posterior sample: one row per draw, one column per parameter."""
    import pandas as pd

    if not SAMPLE_FILE.exists():
        raise FileNotFoundError("no posterior sample ships with this installation (scripts/posterior.py makes one)")
    return pd.read_csv(SAMPLE_FILE)


def draws(k: int, seed: int) -> list[dict[str, float]]:
    """``k`` parameter sets drawn from the shipped posterior sample (without replacement while the
    sample lasts), reproducibly from ``seed``."""
    sample_ = load_sample()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 13]))
    rows = rng.choice(len(sample_), size=k, replace=k > len(sample_))
    return [{c: float(sample_.iloc[i][c]) for c in sample_.columns} for i in rows]
