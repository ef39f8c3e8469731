"""Survival statistics per arm: Kaplan-Meier medians, log-rank, Cox hazard ratios.

Times are ages [day]. An animal that dies of a non-ALS cause (a background
hazard drawn in the runner) is censored at that age, as the field recommends
(Ludolph et al. 2010 Amyotroph Lateral Scler 11:38; Scott et al. 2008);
``count_non_als=True`` shows what counting those deaths as events would do.
Animals that never reach the event within follow-up are censored at the end.

Runs of up to ``LIFELINES_MAX_ANIMALS`` animals use lifelines itself. lifelines costs
seconds per Cox fit at 10^5 animals and a minute or more at 10^6, so larger runs use the
estimators below, vectorised over the distinct event times: the Kaplan-Meier curve with
lifelines' exponential Greenwood interval (same arithmetic, so the same medians; the figures draw
it for every run size), the log-rank test with ties, and the Cox model with one binary covariate
(the arm) and Efron's handling of ties, by Newton's method. ``tests/test_survival_design.py``
holds them to lifelines. lifelines is imported only where it is used: importing it takes about
a second, which a large run (and its figures) need not spend.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special  # the distributions' functions: scipy.stats costs ~1 s to import

LIFELINES_MAX_ANIMALS = 5_000  # larger runs use the vectorised estimators of this module
ENDPOINTS = {  # endpoint -> (event age column, description)
    "survival": ("end_stage_d", "end stage (loss of righting reflex)"),
    "onset": ("onset_d", "onset (peak body weight)"),
    "early_disease": ("early_disease_d", "early disease (-10 % weight)"),
}


def durations_events(animals: pd.DataFrame, endpoint: str, follow_up: float,
                     count_non_als: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) per animal for an endpoint, with non-ALS deaths censored (or counted)."""
    col = ENDPOINTS[endpoint][0]
    t_event = animals[col].to_numpy(dtype=float)
    t_event = np.where(np.isfinite(t_event), t_event, np.inf)
    t_other = animals["non_als_death_d"].to_numpy(dtype=float) if "non_als_death_d" in animals else \
        np.full(len(animals), np.inf)
    t_other = np.where(np.isfinite(t_other), t_other, np.inf)
    time = np.minimum(np.minimum(t_event, t_other), follow_up)
    event = t_event <= np.minimum(t_other, follow_up)
    if count_non_als and endpoint == "survival":
        event = event | (t_other < np.minimum(t_event, follow_up))
    return time, event


NOT_CONVERGED = "not estimable: the Cox fit did not converge (too few animals or events in an arm)"


INTERACTION = "arm:sex"  # the treatment-by-sex term of a factorial analysis (female = 1)
INTERACTION_COLUMNS = ("sex_interaction_ratio", "sex_interaction_low", "sex_interaction_high", "sex_interaction_p")


def _cox_vs_control(df: pd.DataFrame, alpha: float, fast: bool = False, covariates=(), cluster: bool = False) -> dict:
    """Cox hazard ratio of the arm vs control with CI, adjusted for the ``covariates`` columns of
    ``df`` and with robust (sandwich) intervals clustered by its ``litter`` column when ``cluster``.
    With the ``arm:sex`` interaction the hazard ratio is the arm's in males, and the ratio of its
    hazard ratio in females to that in males is reported with its interval and Wald p;
    or NaN and the reason when the partial likelihood has no finite maximum (no events in an arm;
    complete separation) or the fit does not converge (lifelines' ``ConvergenceError``;
    :func:`cox_binary` with ``fast``, which takes no covariates)."""
    ev_arm = int(df.loc[df.arm == 1, "E"].sum())
    ev_ctrl = int(df.loc[df.arm == 0, "E"].sum())
    if ev_arm == 0 or ev_ctrl == 0:
        return {"hr_note": "not estimable: no events in " + ("this arm" if ev_arm == 0 else "the control arm")}
    if fast and not covariates:
        arm = df["arm"].to_numpy() == 1
        t, e = df["T"].to_numpy(), df["E"].to_numpy()
        fit = cox_binary(t[arm], t[~arm], e[arm], e[~arm], alpha)
        if fit is None:
            return {"hr_note": NOT_CONVERGED}
        hr, lo, hi = fit
    else:
        from lifelines import CoxPHFitter
        from lifelines.exceptions import ConvergenceError

        cols = ["T", "E", "arm", *covariates] + (["litter"] if cluster else [])
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")  # convergence trouble is judged from the estimate below
            try:
                cph = CoxPHFitter(alpha=alpha).fit(df[cols], "T", "E", cluster_col="litter" if cluster else None)
            except ConvergenceError:
                return {"hr_note": NOT_CONVERGED}
        with np.errstate(over="ignore"):
            hr = float(np.exp(cph.params_["arm"]))
            lo, hi = np.exp(cph.confidence_intervals_.loc["arm"].to_numpy())
            if INTERACTION in covariates:
                ratio = np.exp(cph.confidence_intervals_.loc[INTERACTION].to_numpy())
                interaction = {"sex_interaction_ratio": float(np.exp(cph.params_[INTERACTION])),
                               "sex_interaction_low": float(ratio[0]), "sex_interaction_high": float(ratio[1]),
                               "sex_interaction_p": float(cph.summary.loc[INTERACTION, "p"])}
    with np.errstate(over="ignore", divide="ignore"):  # a lower bound near 0 is a separated fit
        separated = not (np.isfinite(hr) and np.isfinite(lo) and np.isfinite(hi)) or hi / lo > 1e4
    if separated:
        if covariates:
            return {"hr_note": "not estimable with the covariates (an arm or a sex stratum is separated)"}
        return {"hr_note": "not estimable: the arms are completely separated (every event of one arm "
                           "precedes every event of the other)"}
    return {"hazard_ratio": hr, "hr_low": float(lo), "hr_high": float(hi),
            **(interaction if INTERACTION in covariates else {})}


def arm_statistics(animals: pd.DataFrame, control: str, endpoint: str = "survival",
                   follow_up: float = np.inf, count_non_als: bool = False, alpha: float = 0.05) -> pd.DataFrame:
    """Per arm: n, events, KM median with CI; for each non-control arm, log-rank p and Cox HR vs control."""
    rows = []
    t_all, e_all = durations_events(animals, endpoint, follow_up, count_non_als)
    groups = list(dict.fromkeys(animals["group"]))
    group = animals["group"].to_numpy()
    ctrl = group == control
    fast = len(animals) > LIFELINES_MAX_ANIMALS
    for g in groups:
        m = group == g
        median, low, high = km_median(t_all[m], e_all[m], alpha) if fast else _lifelines_km_median(
            t_all[m], e_all[m], alpha)
        row = {"group": g, "endpoint": endpoint, "n": int(m.sum()), "events": int(e_all[m].sum()),
               "median_d": float(median), "median_low_d": float(low), "median_high_d": float(high),
               "logrank_p": np.nan, "hazard_ratio": np.nan, "hr_low": np.nan, "hr_high": np.nan, "hr_note": ""}
        if g != control:
            test = logrank_p if fast else _lifelines_logrank_p
            row["logrank_p"] = test(t_all[m], t_all[ctrl], e_all[m], e_all[ctrl])
            sub = np.concatenate([np.nonzero(m)[0], np.nonzero(ctrl)[0]])
            df = pd.DataFrame({"T": t_all[sub], "E": e_all[sub].astype(int),
                               "arm": np.r_[np.ones(m.sum()), np.zeros(ctrl.sum())]})
            row.update(_cox_vs_control(df, alpha, fast))
        rows.append(row)
    return pd.DataFrame(rows)


def _event_table(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct times with 0 first, animals at risk, events) as lifelines tabulates them."""
    times, where = np.unique(np.r_[0.0, t], return_inverse=True)
    removed = np.bincount(where[1:], minlength=times.size)
    events = np.bincount(where[1:], weights=e.astype(float), minlength=times.size).astype(np.int64)
    at_risk = t.size - np.r_[0, np.cumsum(removed)[:-1]]
    return times, at_risk, events


def _first_at_or_below(times: np.ndarray, curve: np.ndarray, q: float) -> float:
    """First time a non-increasing curve is at or below ``q`` (inf if never): lifelines' rule."""
    return float(times[np.searchsorted(-curve, -q)]) if curve[-1] <= q else np.inf


def _lifelines_km_median(t: np.ndarray, e: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """:func:`km_median` by lifelines itself."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=alpha).fit(t, e)
    ci = median_survival_times(kmf.confidence_interval_)
    return float(kmf.median_survival_time_), float(ci.iloc[0, 0]), float(ci.iloc[0, 1])


def _lifelines_logrank_p(t1: np.ndarray, t0: np.ndarray, e1: np.ndarray, e0: np.ndarray) -> float:
    """:func:`logrank_p` by lifelines itself."""
    from lifelines.statistics import logrank_test

    return float(logrank_test(t1, t0, e1, e0).p_value)


def km_curve(t: np.ndarray, e: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, ...]:
    """The Kaplan-Meier curve of durations ``t`` with events ``e``: (distinct times with 0 first,
    survival just after each, lower and upper (1 - alpha) exponential Greenwood bounds), in
    lifelines' arithmetic (``KaplanMeierFitter``: survival_function_ and confidence_interval_)."""
    times, n, d = _event_table(t, e)
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.exp(np.cumsum(np.log(n - d) - np.log(n)))
        u = n.astype(np.uint64)
        var = d / (u * (u - d))
        greenwood = np.cumsum(np.where(np.isinf(var), 0.0, var))
        v = np.log(survival)
        z = special.ndtri(1 - alpha / 2)
        low = np.exp(-np.exp(np.log(-v) - z * np.sqrt(greenwood) / v))
        high = np.exp(-np.exp(np.log(-v) + z * np.sqrt(greenwood) / v))
    return times, survival, np.where(np.isnan(low), 1.0, low), np.where(np.isnan(high), 1.0, high)


def km_median(t: np.ndarray, e: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """Kaplan-Meier median survival time and its (1 - alpha) interval from the exponential
    Greenwood bounds of the survival curve, in lifelines' arithmetic (``KaplanMeierFitter``)."""
    times, *curves = km_curve(t, e, alpha)
    return tuple(_first_at_or_below(times, c, 0.5) for c in curves)


def _two_arm_table(t1, t0, e1, e0) -> tuple[np.ndarray, ...]:
    """At each distinct event time: animals at risk (all, arm 1) and events (all, arm 1)."""
    t = np.r_[t1, t0]
    arm = np.r_[np.ones(t1.size, bool), np.zeros(t0.size, bool)]
    e = np.r_[e1, e0].astype(bool)
    times, where = np.unique(t, return_inverse=True)
    leave = np.bincount(where, minlength=times.size)
    leave1 = np.bincount(where, weights=arm, minlength=times.size)
    at_risk = t.size - np.r_[0, np.cumsum(leave)[:-1]]
    at_risk1 = arm.sum() - np.r_[0, np.cumsum(leave1)[:-1]]
    d = np.bincount(where, weights=e, minlength=times.size)
    d1 = np.bincount(where, weights=e & arm, minlength=times.size)
    keep = d > 0
    return at_risk[keep].astype(float), at_risk1[keep], d[keep], d1[keep]


def logrank_p(t1: np.ndarray, t0: np.ndarray, e1: np.ndarray, e0: np.ndarray) -> float:
    """Two-sided log-rank p-value of arm 1 against arm 0, ties handled by the hypergeometric variance."""
    n, n1, d, d1 = _two_arm_table(t1, t0, e1, e0)
    share = n1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n > 1, d * share * (1.0 - share) * (n - d) / (n - 1.0), 0.0)
    v = var.sum()
    chi2 = (d1 - d * share).sum() ** 2 / v if v > 0 else 0.0
    return float(special.chdtrc(1, chi2))


def cox_binary(t1: np.ndarray, t0: np.ndarray, e1: np.ndarray, e0: np.ndarray,
               alpha: float = 0.05) -> tuple[float, float, float] | None:
    """Cox hazard ratio of arm 1 against arm 0 with its (1 - alpha) interval (Efron's ties), by
    Newton's method on the partial likelihood; None when it does not converge."""
    n, n1, d, d1 = _two_arm_table(t1, t0, e1, e0)
    k = d.astype(np.int64)
    frac = (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)) / np.repeat(d, k)  # l / d_j, l = 0..d_j - 1
    n0, n1, d0, d1r = (np.repeat(x, k) for x in (n - n1, n1, d - d1, d1))

    def score(beta: float) -> tuple[float, float, float]:
        """Log partial likelihood, its derivative and the observed information at ``beta``."""
        w = np.exp(beta)
        s0 = n0 + n1 * w - frac * (d0 + d1r * w)
        s1 = (n1 - frac * d1r) * w
        ratio = s1 / s0
        return (beta * d1.sum() - np.log(s0).sum(), d1.sum() - ratio.sum(), (ratio - ratio * ratio).sum())

    beta, (ll, u, info) = 0.0, score(0.0)
    for _ in range(100):
        if not info > 0:
            return None
        step = u / info
        while True:  # halve the step until the likelihood does not fall
            new = score(beta + step)
            if new[0] >= ll - 1e-12 * abs(ll) or abs(step) < 1e-12:
                break
            step /= 2
        beta, (ll, u, info) = beta + step, new
        if abs(step) < 1e-10:
            z = special.ndtri(1 - alpha / 2)
            se = 1.0 / np.sqrt(info) if info > 0 else np.inf
            with np.errstate(over="ignore"):
                return float(np.exp(beta)), float(np.exp(beta - z * se)), float(np.exp(beta + z * se))
    return None


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979 Scand J Stat 6:65): family-wise error
    controlled over the planned contrasts, which lie along the last axis (earlier axes are
    independent families, e.g. virtual studies). Written out: a few lines, and statsmodels,
    which has it, is not a dependency."""
    p = np.asarray(p, dtype=float)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = (m - np.arange(m)) * np.take_along_axis(p, order, axis=-1)
    adjusted = np.minimum(1.0, np.maximum.accumulate(ranked, axis=-1))
    out = np.empty_like(p)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out


def contrast_statistics(animals: pd.DataFrame, contrasts, endpoint: str = "survival",
                        follow_up: float = np.inf, covariates=(), alpha: float = 0.05) -> pd.DataFrame:
    """One row per planned contrast [arm, reference]: the arm's KM median, the log-rank p against the
    reference and its Holm adjustment over the contrasts, and the Cox hazard ratio adjusted for
    ``covariates`` (``sex``: female vs male), with intervals clustered by litter when the protocol
    has litters."""
    t_all, e_all = durations_events(animals, endpoint, follow_up)
    group = animals["group"].to_numpy()
    female = (animals["sex"].to_numpy() == "female").astype(float)
    litter = animals["litter"].to_numpy() if "litter" in animals else np.full(len(animals), np.nan)
    rows = []
    for arm, ref in contrasts:
        a, r = group == arm, group == ref
        sub = np.concatenate([np.nonzero(a)[0], np.nonzero(r)[0]])
        median, low, high = _lifelines_km_median(t_all[a], e_all[a], alpha)
        df = pd.DataFrame({"T": t_all[sub], "E": e_all[sub].astype(int),
                           "arm": np.r_[np.ones(a.sum()), np.zeros(r.sum())], "sex": female[sub],
                           "litter": litter[sub]})
        df[INTERACTION] = df["arm"] * df["sex"]
        used = [c for c in covariates if df["sex"].nunique() > 1]  # one sex only: nothing to adjust for
        cluster = bool(pd.notna(df["litter"]).all() and df["litter"].nunique() > 1)
        row = {"group": arm, "reference": ref, "endpoint": endpoint, "n": int(a.sum()), "events": int(e_all[a].sum()),
               "median_d": median, "median_low_d": low, "median_high_d": high,
               "logrank_p": _lifelines_logrank_p(t_all[a], t_all[r], e_all[a], e_all[r]),
               "hazard_ratio": np.nan, "hr_low": np.nan, "hr_high": np.nan, "hr_note": "",
               **({k: np.nan for k in INTERACTION_COLUMNS} if INTERACTION in covariates else {}),
               "adjusted_for": " + ".join([c if c != INTERACTION else "arm x sex (hazard ratio: males)" for c in used]
                                          + (["litter (clustered SE)"] if cluster and used else []))}
        row.update(_cox_vs_control(df, alpha, covariates=used, cluster=cluster and bool(used)))
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out["logrank_p_holm"] = holm(out["logrank_p"].to_numpy())
    return out


def survival_report(animals: pd.DataFrame, control: str | None, follow_up: float, contrasts=(),
                    covariates=()) -> pd.DataFrame:
    """Arm statistics for survival, onset and early disease against the control, non-ALS deaths
    censored, plus survival with non-ALS deaths counted as events (the common mistake) for
    comparison; then the planned ``contrasts`` (with Holm-adjusted p-values and covariate-adjusted
    hazard ratios). ``reference`` names what each row is compared with."""
    parts = []
    if control is not None:
        parts = [arm_statistics(animals, control, e, follow_up) for e in ENDPOINTS]
        naive = arm_statistics(animals, control, "survival", follow_up, count_non_als=True)
        naive["endpoint"] = "survival, non-ALS deaths counted"
        parts.append(naive)
        for part in parts:
            part.insert(1, "reference", np.where(part["group"] == control, "", control))
    if contrasts:
        parts += [contrast_statistics(animals, contrasts, e, follow_up, list(covariates)) for e in ENDPOINTS]
    return pd.concat(parts, ignore_index=True)
