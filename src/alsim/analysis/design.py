"""Study design by simulation: power and false-positive rates of resampled studies.

A large simulated cohort per arm is drawn once; each virtual study resamples
``n`` animals per arm from it and is tested with the log-rank test. The test
is vectorised over thousands of studies here (lifelines tests one study per
call, ~1 ms each): the statistic is the standard one for untied event times
(event ages are continuous roots of the model), held to lifelines in the tests.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def logrank_many(t_a: np.ndarray, e_a: np.ndarray, t_b: np.ndarray, e_b: np.ndarray) -> np.ndarray:
    """Two-sided log-rank p-values of many studies at once.

    Arrays are (studies, animals per arm); e_* are booleans (event observed).
    Assumes no tied event times (ties among censored times are harmless).
    """
    t = np.concatenate([t_a, t_b], axis=1)
    e = np.concatenate([e_a, e_b], axis=1).astype(float)
    is_a = np.concatenate([np.ones_like(t_a), np.zeros_like(t_b)], axis=1)
    order = np.argsort(t, axis=1, kind="stable")
    e = np.take_along_axis(e, order, axis=1)
    is_a = np.take_along_axis(is_a, order, axis=1)
    n_total = t.shape[1]
    at_risk = n_total - np.arange(n_total)[None, :]                 # animals with time >= t_i
    at_risk_a = np.flip(np.cumsum(np.flip(is_a, axis=1), axis=1), axis=1)
    expected = e * at_risk_a / at_risk
    var = e * at_risk_a * (at_risk - at_risk_a) / at_risk**2
    o_minus_e = (e * is_a).sum(axis=1) - expected.sum(axis=1)
    v = var.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(v > 0, o_minus_e / np.sqrt(v), 0.0)
    return 2.0 * stats.norm.sf(np.abs(z))


def welch_many(t_a: np.ndarray, t_b: np.ndarray) -> np.ndarray:
    """Two-sided Welch t-test p-values of many studies at once (rows are studies)."""
    return stats.ttest_ind(t_a, t_b, axis=1, equal_var=False).pvalue


TESTS = {"logrank": lambda ta, ea, tb, eb: logrank_many(ta, ea, tb, eb),
         "t": lambda ta, ea, tb, eb: welch_many(ta, tb)}


def resample_indices(size: int, n: int, studies: int, rng: np.random.Generator) -> np.ndarray:
    """(studies, n) indices: each row ``n`` animals drawn without replacement from ``size``."""
    return rng.random((studies, size)).argsort(axis=1)[:, :n]


def resample_power(t_ctrl: np.ndarray, e_ctrl: np.ndarray, t_trt: np.ndarray, e_trt: np.ndarray,
                   n: int, studies: int, alpha: float, rng: np.random.Generator, test: str = "logrank") -> float:
    """Share of ``studies`` resampled studies of ``n`` + ``n`` animals with p < ``alpha``
    (``test``: log-rank on (time, event), or Welch's t on times when every event is observed)."""
    ia = resample_indices(t_ctrl.size, n, studies, rng)
    ib = resample_indices(t_trt.size, n, studies, rng)
    p = TESTS[test](t_trt[ib], e_trt[ib], t_ctrl[ia], e_ctrl[ia])
    return float((p < alpha).mean())


def resample_study_pvalues(arms: list[tuple[np.ndarray, np.ndarray]], comparisons: list[tuple[int, int]], n: int,
                           studies: int, rng: np.random.Generator, test: str = "logrank") -> np.ndarray:
    """(studies, comparisons) p-values of virtual multi-arm studies: every arm of a study is ``n``
    animals resampled from its (times, events) pool, so comparisons that share an arm (several
    treatments against one control) share its animals, as in a real study."""
    idx = [resample_indices(t.size, n, studies, rng) for t, _ in arms]
    cols = [TESTS[test](arms[a][0][idx[a]], arms[a][1][idx[a]], arms[b][0][idx[b]], arms[b][1][idx[b]])
            for a, b in comparisons]
    return np.stack(cols, axis=1)


def analytic_power_normal(effect_d: float, sd_d: float, n: int, alpha: float) -> float:
    """Exact power of the two-sided two-sample t-test with n per arm (noncentral t), the
    textbook reference for normally distributed survival."""
    df = 2 * n - 2
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = abs(effect_d) / (sd_d * np.sqrt(2.0 / n))
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def n_for_power(ns: np.ndarray, power: np.ndarray, target: float = 0.8) -> float:
    """Smallest n per arm reaching ``target`` power (linear interpolation; NaN if never)."""
    ns = np.asarray(ns, dtype=float)
    power = np.asarray(power, dtype=float)
    hit = np.nonzero(power >= target)[0]
    if hit.size == 0:
        return float("nan")
    k = hit[0]
    if k == 0:
        return float(ns[0])
    f = (target - power[k - 1]) / (power[k] - power[k - 1])
    return float(np.ceil(ns[k - 1] + f * (ns[k] - ns[k - 1])))
