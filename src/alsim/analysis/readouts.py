"""Readouts by the source labs' definitions (docs/science/calibration.md).

Everything here reads simulated trajectories; nothing re-simulates.

- onset: age of the heaviest of the twice-weekly weighings (Boillee 2006;
  Yamanaka 2008), counted once the weight has fallen 10 % below that peak or
  the animal reached end stage (a healthy animal's heaviest weighing is not an onset);
- early disease: first weighing at or below 90 % of that peak;
- end stage: loss of righting reflex, located exactly by the engine;
- gliosis onset: first age at which an activation index exceeds 1.5x its
  wild-type value at the same age;
- denervation onset (per motor-unit type): first age at which 10 % of that
  type's endplates are denervated;
- alpha-MN loss onset: first age at which 15 % of lumbar alpha-MNs are lost,
  the smallest loss that lumbar counts of ~5 animals per age resolve
  (typical SD of counts 10-15 %; Lalancette-Hebert 2016 found P90 significant,
  P60 not).
"""

from __future__ import annotations

import numpy as np

ONSET_DROP = 0.10           # early disease: 10 % loss from peak weight
ONSET_CONFIRM = ONSET_DROP  # a weight peak counts as onset once weight falls 10 % below it
GLIOSIS_FOLD = 1.5          # gliosis onset: 1.5x wild type
DENERVATION_ONSET = 0.10    # 10 % of a type's endplates denervated
MN_LOSS_ONSET = 0.15        # detectable lumbar alpha-MN loss


def weighing_days(t_max: float, first_day: float = 21.0) -> np.ndarray:
    """Twice-weekly weighing ages (Monday and Thursday) from weaning to ``t_max`` [day]."""
    week = np.arange(first_day, t_max + 1e-9, 7.0)
    days = np.sort(np.concatenate([week, week + 3.0]))
    return days[days <= t_max]


def weight_onset(days: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onset (age of peak weighing) and early disease (first weighing <= 90 % of peak).

    ``weights`` is (animals, weighings) with NaN after death; an animal whose
    weight never falls 10 % has NaN early disease.
    """
    w = np.where(np.isnan(weights), -np.inf, weights)
    if w.shape[1] == 0:  # follow-up ends before the first weighing
        return np.full(w.shape[0], np.nan), np.full(w.shape[0], np.nan)
    any_w = np.isfinite(w).any(axis=1)
    i_peak = np.argmax(w, axis=1)
    onset = np.where(any_w, days[i_peak], np.nan)
    peak = w[np.arange(w.shape[0]), i_peak]
    after = np.arange(w.shape[1])[None, :] > i_peak[:, None]
    below = after & (w <= (1.0 - ONSET_DROP) * peak[:, None]) & np.isfinite(w)
    has = below.any(axis=1)
    early = np.where(has & any_w, days[np.argmax(below, axis=1)], np.nan)
    return onset, early


def first_crossing(t: np.ndarray, series: np.ndarray, level, above: bool = True) -> np.ndarray:
    """First age at which each row of ``series`` rises above (or falls below) ``level``.

    Linear interpolation between grid points; NaN where it never crosses.
    ``level`` may be a scalar or broadcast against ``series``.
    """
    s = np.asarray(series, dtype=float)
    lev = np.broadcast_to(np.asarray(level, dtype=float), s.shape)
    d = (s - lev) if above else (lev - s)
    hit = d > 0
    rows = np.nonzero(hit.any(axis=1))[0]
    k = np.argmax(hit[rows], axis=1)
    out = np.full(s.shape[0], np.nan)
    first = k == 0
    out[rows[first]] = t[0]
    rows, k = rows[~first], k[~first]
    d0, d1 = d[rows, k - 1], d[rows, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(d1 != d0, -d0 / (d1 - d0), 1.0)
    out[rows] = t[k - 1] + frac * (t[k] - t[k - 1])
    return out


def value_at(t: np.ndarray, series: np.ndarray, age: float) -> np.ndarray:
    """Each row of ``series`` linearly interpolated at ``age`` (NaN if the animal was dead)."""
    if age < t[0] or age > t[-1]:
        return np.full(series.shape[0], np.nan)
    k = int(np.searchsorted(t, age))
    if t[k] == age:
        return series[:, k].astype(float)
    f = (age - t[k - 1]) / (t[k] - t[k - 1])
    return (1 - f) * series[:, k - 1] + f * series[:, k]


def value_at_ages(t: np.ndarray, series: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Row i of ``series`` interpolated at ``ages[i]`` over its finite points (``np.interp``: the end
    values beyond them; NaN where ``ages`` is NaN or the row has no finite point)."""
    from ._kernels import interp_rows  # compiled on first use: importing readouts stays light

    out = np.full(series.shape[0], np.nan)
    interp_rows(np.asarray(t, dtype=float), np.ascontiguousarray(series, dtype=float),
                 np.asarray(ages, dtype=float), out)
    return out


# Ages at which the labs report counts (docs/science/calibration.md T2).
MN_LOSS_AGES = (60.0, 90.0, 100.0, 120.0)
UMN_LOSS_AGE = 110.0

# The columns animal_readouts returns, in its order (claim criteria are checked against them on load).
READOUT_COLUMNS = (
    "onset_d", "early_disease_d", "end_stage_d", "early_phase_d", "late_phase_d",
    "early_disease_before_end_stage", "peak_weight_g",
    *(f"alpha_mn_loss_{int(a)}d" for a in MN_LOSS_AGES), "alpha_mn_loss_end_stage",
    f"corticospinal_loss_{int(UMN_LOSS_AGE)}d",
    *(c for k in ("ff", "fr", "s") for c in (f"denervation_onset_{k}_d", f"innervated_{k}_end_stage")),
    "alpha_mn_loss_onset_d",
    *(c for g in ("microgliosis", "astrogliosis") for c in (f"{g}_onset_d", f"{g}_peak_d")),
    *(f"type{i}_fold_{stage}" for stage in ("onset", "end_stage") for i in (1, 2)),
)
# The readout columns of a culture well (experiments.culture), relative to the matched control culture.
WELL_READOUT_COLUMNS = ("mn_survival_vs_control", "interneuron_survival_vs_control", "mn_loss_vs_control",
                        "interneuron_loss_vs_control", "apoptotic_fraction", "mn_surviving", "control_mn_surviving",
                        "control_apoptotic_fraction", "apoptotic_fraction_vs_control")


def animal_readouts(t, obs, obs_names, end_stage, weigh_days, weights, ref_obs, ref_index=None):
    """Per-animal readouts as a dict of equal-length arrays (:func:`readouts` of a reporter array).

    t: save grid [day]; obs: (animals, times, observables); end_stage: ages of
    loss of righting reflex (NaN if not reached); weigh_days / weights: the
    twice-weekly weighings (animals, weighings); ref_obs: the matched wild-type
    reference trajectories, (references, times, observables), and ``ref_index`` the reference
    of each animal; without ``ref_index``, ``ref_obs`` holds one reference per animal.
    """
    col = {n: i for i, n in enumerate(obs_names)}
    refs = np.arange(obs.shape[0]) if ref_index is None else np.asarray(ref_index)

    def column(name: str) -> np.ndarray:
        if name.endswith(VS_WT_SUFFIX):
            k = col[name.removesuffix(VS_WT_SUFFIX)]
            return obs[:, :, k] / ref_obs[:, :, k][refs]
        return obs[:, :, col[name]]

    return readouts(t, column, end_stage, weigh_days, weights)


VS_WT_SUFFIX = "_vs_wt"  # a reporter over the animal's matched wild-type reference


def readouts(t, column, end_stage, weigh_days, weights):
    """Per-animal readouts as a dict of equal-length arrays.

    t: save grid [day]; ``column(name)``: (animals, times) values of a reporter, or with the
    suffix ``_vs_wt`` of the reporter over each animal's matched wild-type reference; end_stage:
    ages of loss of righting reflex (NaN if not reached); weigh_days / weights: the twice-weekly
    weighings (animals, weighings).
    """
    onset, early = weight_onset(weigh_days, weights)
    # A peak is an onset only once the weight has turned down (or the animal reached end stage):
    # a healthy animal's heaviest weighing is not an onset.
    peak = np.max(np.where(np.isnan(weights), -np.inf, weights), axis=1, initial=-np.inf)
    after = weigh_days[None, :] > onset[:, None]
    declined = (after & (weights <= (1.0 - ONSET_CONFIRM) * peak[:, None])).any(axis=1)
    onset = np.where(declined | np.isfinite(end_stage), onset, np.nan)
    out = {
        "onset_d": onset,
        "early_disease_d": early,
        "end_stage_d": end_stage,
        "early_phase_d": early - onset,
        "late_phase_d": end_stage - early,
        # of the animals that reached end stage, those that lost 10 % of peak weight first (1) or not (0)
        "early_disease_before_end_stage": np.where(np.isfinite(end_stage),
                                                   (np.isfinite(early) & (early <= end_stage)).astype(float), np.nan),
        "peak_weight_g": np.where(np.isfinite(peak), peak, np.nan),
    }
    alpha = column("alpha_mn_surviving_vs_wt")
    for a in MN_LOSS_AGES:
        out[f"alpha_mn_loss_{int(a)}d"] = 1.0 - value_at(t, alpha, a)
    out["alpha_mn_loss_end_stage"] = 1.0 - value_at_ages(t, alpha, end_stage)
    umn = column("umn_surviving_vs_wt")
    out[f"corticospinal_loss_{int(UMN_LOSS_AGE)}d"] = 1.0 - value_at(t, umn, UMN_LOSS_AGE)
    for k in ("ff", "fr", "s"):
        inn = column(f"innervated_{k}")
        out[f"denervation_onset_{k}_d"] = first_crossing(t, inn, 1.0 - DENERVATION_ONSET, above=False)
        out[f"innervated_{k}_end_stage"] = value_at_ages(t, inn, end_stage)
    out["alpha_mn_loss_onset_d"] = first_crossing(t, 1.0 - alpha, MN_LOSS_ONSET, above=True)
    for name, key in (("microgliosis", "microgliosis_index"), ("astrogliosis", "astrogliosis_index")):
        ratio = column(f"{key}_vs_wt")
        out[f"{name}_onset_d"] = first_crossing(t, ratio, GLIOSIS_FOLD, above=True)
        filled = np.where(np.isnan(ratio), -np.inf, ratio)
        out[f"{name}_peak_d"] = np.where(np.isfinite(filled).any(axis=1), t[np.argmax(filled, axis=1)], np.nan)
    for stage, ages in (("onset", onset), ("end_stage", end_stage)):
        type1 = np.zeros(len(ages))
        type2 = np.zeros(len(ages))
        for k in ("tnf_pgml", "il1b_pgml"):
            type1 += value_at_ages(t, column(f"{k}_vs_wt"), ages) / 2
        for k in ("il4_pgml", "il10_pgml"):
            type2 += value_at_ages(t, column(f"{k}_vs_wt"), ages) / 2
        out[f"type1_fold_{stage}"] = type1
        out[f"type2_fold_{stage}"] = type2
    return out
