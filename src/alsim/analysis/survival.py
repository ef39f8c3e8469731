"""Survival statistics per arm with lifelines: Kaplan-Meier medians, log-rank, Cox hazard ratios.

Times are ages [day]. An animal that dies of a non-ALS cause (a background
hazard drawn in the runner) is censored at that age, as the field recommends
(Ludolph et al. 2010 Amyotroph Lateral Scler 11:38; Scott et al. 2008);
``count_non_als=True`` shows what counting those deaths as events would do.
Animals that never reach the event within follow-up are censored at the end.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times

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


def _cox_vs_control(df: pd.DataFrame, alpha: float) -> dict:
    """Cox hazard ratio of the arm vs control with CI, or NaN and the reason when the partial
    likelihood has no finite maximum (no events in an arm; complete separation of the arms) or
    the fit does not converge (lifelines' ``ConvergenceError``)."""
    ev_arm = int(df.loc[df.arm == 1, "E"].sum())
    ev_ctrl = int(df.loc[df.arm == 0, "E"].sum())
    if ev_arm == 0 or ev_ctrl == 0:
        return {"hr_note": "not estimable: no events in " + ("this arm" if ev_arm == 0 else "the control arm")}
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # convergence trouble is judged from the estimate below
        try:
            cph = CoxPHFitter(alpha=alpha).fit(df, "T", "E")
        except ConvergenceError:
            return {"hr_note": "not estimable: the Cox fit did not converge (too few animals or events in an arm)"}
    with np.errstate(over="ignore"):
        hr = float(np.exp(cph.params_["arm"]))
        lo, hi = np.exp(cph.confidence_intervals_.loc["arm"].to_numpy())
    if not (np.isfinite(hr) and np.isfinite(lo) and np.isfinite(hi)) or hi / lo > 1e4:
        return {"hr_note": "not estimable: the arms are completely separated (every event of one arm "
                           "precedes every event of the other)"}
    return {"hazard_ratio": hr, "hr_low": float(lo), "hr_high": float(hi)}


def arm_statistics(animals: pd.DataFrame, control: str, endpoint: str = "survival",
                   follow_up: float = np.inf, count_non_als: bool = False, alpha: float = 0.05) -> pd.DataFrame:
    """Per arm: n, events, KM median with CI; for each non-control arm, log-rank p and Cox HR vs control."""
    rows = []
    t_all, e_all = durations_events(animals, endpoint, follow_up, count_non_als)
    groups = list(dict.fromkeys(animals["group"]))
    ctrl = (animals["group"] == control).to_numpy()
    for g in groups:
        m = (animals["group"] == g).to_numpy()
        kmf = KaplanMeierFitter(alpha=alpha).fit(t_all[m], e_all[m])
        ci = median_survival_times(kmf.confidence_interval_)
        row = {"group": g, "endpoint": endpoint, "n": int(m.sum()), "events": int(e_all[m].sum()),
               "median_d": float(kmf.median_survival_time_),
               "median_low_d": float(ci.iloc[0, 0]), "median_high_d": float(ci.iloc[0, 1]),
               "logrank_p": np.nan, "hazard_ratio": np.nan, "hr_low": np.nan, "hr_high": np.nan, "hr_note": ""}
        if g != control:
            lr = logrank_test(t_all[m], t_all[ctrl], e_all[m], e_all[ctrl])
            row["logrank_p"] = float(lr.p_value)
            sub = np.concatenate([np.nonzero(m)[0], np.nonzero(ctrl)[0]])
            df = pd.DataFrame({"T": t_all[sub], "E": e_all[sub].astype(int),
                               "arm": np.r_[np.ones(m.sum()), np.zeros(ctrl.sum())]})
            row.update(_cox_vs_control(df, alpha))
        rows.append(row)
    return pd.DataFrame(rows)


def survival_report(animals: pd.DataFrame, control: str, follow_up: float) -> pd.DataFrame:
    """Arm statistics for survival, onset and early disease, non-ALS deaths censored, plus survival
    with non-ALS deaths counted as events (the common mistake) for comparison."""
    parts = [arm_statistics(animals, control, e, follow_up) for e in ENDPOINTS]
    naive = arm_statistics(animals, control, "survival", follow_up, count_non_als=True)
    naive["endpoint"] = "survival, non-ALS deaths counted"
    return pd.concat([*parts, naive], ignore_index=True)
