"""Fit the parameters marked ``calibrated`` in parameters.yaml to the calibration rows.

Usage:  .venv/bin/python scripts/calibrate.py [--write] [--maxiter N]

Stage 1 fits the typical animal (no random effects) of each background and
sex to the T1 means and the T2 event ages by Nelder-Mead on log-parameters,
bounded by each parameter's plausible range. Stage 2 sets ``individual_cv_b6sjl`` and
``individual_cv_b6`` so that the simulated cohort SDs match 9.1 d and 9.3 d
(Wooley 2005). Stage 3 sets ``medium_half_life`` so that medium
conditioned by mutant astrocytes kills 42 % of MNs in 14 days (T4). With
``--write`` the fitted values are written back into parameters.yaml.
The targets are rows of the claims table (the protocols' claims in the
library, docs/science/calibration.md), their bands narrowed by a margin for
cohort sampling noise; every other parameter keeps its sourced value.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from alsim.analysis import readouts as ro
from alsim.biology import genotypes as gt
from alsim.biology import parameters as prm
from alsim.biology.model import REPORTER_NAMES
from alsim.engines.meanfield import solve_cohort

FIT = ["misfold_growth", "misfold_nucleation", "withdrawal_threshold_ff", "apoptosis_threshold_ff",
       "righting_threshold", "umn_threshold", "b6_misfold_factor", "female_misfold_factor_b6sjl",
       "astro_mutant_drive", "m1_activation_rate", "apoptosis_rate_max",
       "g37r_misfold_factor", "m2_to_m1_rate", "ros_mutant_microglia_gain", "damp_per_withdrawal",
       "microglia_mutant_activation_weight", "stress_ros", "stress_toxic_factor",
       "microglia_contact_saturation", "cytokine_receptor_saturation", "vulnerability_ratio_s",
       "stress_protection", "astro_cytokine_drive", "vulnerability_ratio_fr",
       "misfold_rel_mg", "toxic_factor_reactive_gain", "toxic_factor_microglial_gain", "hill_n",
       "soluble_mutant_share", "medium_half_life"]

# What the typical animals must meet. Rows of the claims table: (readout of this script, claim row,
# scale). The band is the row's own (the protocol's claim in the library, the same numbers
# `alsim validate` checks), narrowed by MARGIN of its width on each side for cohort sampling noise
# (a one-sided row keeps its open side); the loss is the squared distance outside it / scale.
ROWS = [
    ("end_stage_b6sjl", "T1.1", 1.0),
    ("end_stage_b6", "T1.4", 1.0),
    ("female_gain_b6sjl", "T1.6", 0.005),
    ("onset_d", "T1.3", 2.0),
    ("denervation_onset_ff_d", "T2.1", 2.0),
    ("astrogliosis_onset_d", "T2.2", 2.0),
    ("microgliosis_onset_d", "T2.3", 2.0),
    ("alpha_mn_loss_100d", "T2.4", 0.02),
    ("alpha_mn_loss_end_stage", "T2.5", 0.02),
    ("corticospinal_loss_110d", "T2.6", 0.02),
    ("g37r_end_stage", "T3.1", 5.0),
    ("cd11b_onset_change", "T3.2", 0.01),
    ("cd11b_early_phase_change", "T3.3", 0.02),
    ("cd11b_survival_gain", "T3.4", 0.02),
    ("cd11b_late_share", "T3.5", 0.05),
    ("gfap_survival_gain", "C2b.1", 0.02),
    ("gfap_onset_change", "C2b.2", 0.005),
    ("nox2_ko_change", "C3.1", 0.01),
    ("tnf_ko_change", "C3.3", 0.01),
    ("ablation_change", "G3.1", 0.005),
    ("minocycline_change", "N1.1", 0.01),
    ("celecoxib_change", "N1.2", 0.01),
    ("no_feedback_change", "C7.3", 0.05),
    ("nfkb_early_change", "C8.1", 0.01),
    ("t4_mn_loss", "T4.1", 0.02),
]
MARGIN = 0.25
# Targets no claim row carries: (readout, low, high, scale, source).
EXTRA = [
    ("denervation_onset_fr_d", 68.0, 95.0, 2.0, "FR units follow near onset (Pun et al. 2006: ~P80-90)"),
    ("denervation_onset_s_d", 100.0, 250.0, 2.0, "S units resist until late, after onset (Pun et al. 2006)"),
]


def targets() -> list[tuple[str, float, float, float, str]]:
    """(readout, low, high, scale, source) of every fitting target, the claim rows' bands narrowed."""
    from alsim.experiments.protocol import load_protocol
    from alsim.experiments.validation import claim_protocols

    bands = {}
    for name in claim_protocols():
        claim = load_protocol(name).claim
        for k, c in enumerate(claim.criteria, start=1):
            bands[f"{claim.id}.{k}"] = (c.low, c.high, f"{claim.id}.{k} {c.label}")
    out = []
    for key, row, scale in ROWS:
        low, high, label = bands[row]
        width = high - low if np.isfinite(high - low) else 0.0
        out.append((key, low + MARGIN * width, high - MARGIN * width, scale, label))
    return out + EXTRA


ORDER = ["denervation_onset_ff_d", "astrogliosis_onset_d", "microgliosis_onset_d",
         "alpha_mn_loss_onset_d", "end_stage_b6sjl"]

GRID = np.arange(0.0, 400.0, 1.0)
GRID_G37R = np.arange(0.0, 700.0, 1.0)
GRID_LONG = np.arange(0.0, 401.0, 1.0)
CASES = [("B6SJL", "male"), ("B6SJL", "female"), ("C57BL/6", "male"), ("C57BL/6", "female")]


def typical_readouts(base: np.ndarray) -> dict[str, float]:
    """Readouts of the typical G93A animal of each background and sex, with matched WT references."""
    P = np.array([gt.animal_vector(base, "SOD1-G93A", bg, s, None) for bg, s in CASES])
    R = np.array([gt.animal_vector(base, "WT", bg, s, None) for bg, s in CASES])
    sol = solve_cohort(P, GRID)
    ref = solve_cohort(R, GRID, stop_at_end_stage=False).observables
    days = GRID[21:]  # daily weights: smooth targets for the optimizer (labs weigh twice a week)
    w = sol.observables[:, days.astype(int), REPORTER_NAMES.index("body_weight_g")]
    r = ro.animal_readouts(GRID, sol.observables, REPORTER_NAMES, sol.end_stage_age, days, w, ref)
    out = {k: float(np.mean(v[:2])) for k, v in r.items()}  # B6SJL, both sexes
    out["end_stage_b6sjl"] = float(np.mean(sol.end_stage_age[:2]))
    out["end_stage_b6"] = float(np.mean(sol.end_stage_age[2:]))
    out["female_gain_b6sjl"] = float(sol.end_stage_age[1] / sol.end_stage_age[0] - 1)
    out.update(t3_readouts(base))
    out.update(null_readouts(base))
    out["t4_mn_loss"] = t4_mn_loss(base)
    return out


def null_readouts(base: np.ndarray) -> dict[str, float]:
    """Survival change of the typical B6SJL male G93A animal under the single-lever experiments
    of the claims table; interventions, doses and schedules are read from the built-in protocols."""
    from alsim.experiments.protocol import load_protocol
    from alsim.experiments.cohort import modulation
    from alsim.experiments.simulation import group_overrides

    def change(end: np.ndarray, ref: float) -> list[float]:
        return [float(e / ref - 1.0) if np.isfinite(e) else 2.0 for e in end]  # 2.0: end stage not reached

    def arms(protocol: str, groups: tuple[str, ...]) -> np.ndarray:
        """End-stage ages of the typical animal in each named group, untreated control first."""
        proto = load_protocol(protocol)
        index = {g.name: i for i, g in enumerate(proto.groups)}
        chosen = [next(g for g in proto.groups if g.name == name) for name in groups]
        P = np.array([gt.animal_vector(base, "SOD1-G93A", "B6SJL", "male", None, group_overrides(proto, g),
                                       g.modifications) for g in chosen])
        mod = modulation(proto, np.array([index[name] for name in groups]))
        return solve_cohort(P, GRID_LONG, observables=False, modulation=mod).end_stage_age

    out = {}
    for protocol, groups, keys in (
            ("c3-inflammation", ("G93A", "G93A TNF-/-", "G93A NOX2-/-"), ("tnf_ko_change", "nox2_ko_change")),
            ("g3-microglia-ablation", ("G93A", "G93A ablation"), ("ablation_change",)),
            ("c7-inflammatory-feedback", ("G93A", "G93A no feedback"), ("no_feedback_change",)),
            ("scott-2008-null", ("G93A", "minocycline", "celecoxib"), ("minocycline_change", "celecoxib_change")),
            ("c8-anti-inflammatory-timing", ("G93A", "from 40 d"), ("nfkb_early_change",))):
        end = arms(protocol, groups)
        out.update(zip(keys, change(end[1:], end[0])))
    return out


def t3_readouts(base: np.ndarray) -> dict[str, float]:
    """Typical LoxSOD1-G37R animal (C57BL/6 male) without Cre, with CD11b-Cre and with GFAP-Cre
    (each at its driver's default efficiency)."""
    cre = gt.Modifications(cre=(("CD11b-Cre", gt.CRE_DRIVERS["CD11b-Cre"].default_efficiency),))
    gfap = gt.Modifications(cre=(("GFAP-Cre", gt.CRE_DRIVERS["GFAP-Cre"].default_efficiency),))
    P = np.array([gt.animal_vector(base, "LoxSOD1-G37R", "C57BL/6", "male", None),
                  gt.animal_vector(base, "LoxSOD1-G37R", "C57BL/6", "male", None, modifications=cre),
                  gt.animal_vector(base, "LoxSOD1-G37R", "C57BL/6", "male", None, modifications=gfap)])
    R = np.array([gt.animal_vector(base, "WT", "C57BL/6", "male", None)] * 3)
    sol = solve_cohort(P, GRID_G37R)
    ref = solve_cohort(R, GRID_G37R, stop_at_end_stage=False).observables
    days = GRID_G37R[21:]
    w = sol.observables[:, days.astype(int), REPORTER_NAMES.index("body_weight_g")]
    r = ro.animal_readouts(GRID_G37R, sol.observables, REPORTER_NAMES, sol.end_stage_age, days, w, ref)
    base_end, cre_end, gfap_end = sol.end_stage_age
    gain = cre_end - base_end
    return {
        "g37r_end_stage": float(base_end),
        "cd11b_onset_change": float(r["onset_d"][1] / r["onset_d"][0] - 1),
        "cd11b_early_phase_change": float(r["early_phase_d"][1] / r["early_phase_d"][0] - 1),
        "cd11b_survival_gain": float(gain / base_end),
        "cd11b_late_share": float((r["late_phase_d"][1] - r["late_phase_d"][0]) / gain) if gain > 0 else 0.0,
        "gfap_onset_change": float(r["onset_d"][2] / r["onset_d"][0] - 1),
        "gfap_survival_gain": float(gfap_end / base_end - 1) if np.isfinite(gfap_end) else 2.0,
    }


def from_unbounded(x: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Parameter vector with FIT set from unbounded coordinates (logistic map onto each range)."""
    v = base.copy()
    for name, u in zip(FIT, x):
        lo, hi = prm.BY_NAME[name].range
        v[prm.IDX[name]] = lo + (hi - lo) / (1.0 + np.exp(-u))
    return v


def to_unbounded(base: np.ndarray) -> np.ndarray:
    out = []
    for name in FIT:
        lo, hi = prm.BY_NAME[name].range
        f = np.clip((base[prm.IDX[name]] - lo) / (hi - lo), 1e-3, 1 - 1e-3)
        out.append(np.log(f / (1 - f)))
    return np.array(out)


def loss(x: np.ndarray, base: np.ndarray) -> float:
    r = typical_readouts(from_unbounded(x, base))
    total = 0.0
    for key, low, high, scale, _ in targets():
        val = r.get(key, np.nan)
        off = 0.0 if low <= val <= high else min(abs(val - low), abs(val - high))
        total += 100.0 if not np.isfinite(val) else (off / scale) ** 2
    # T2: type I cytokine fold change exceeds type II at onset and end stage (Jeyachandran 2015)
    for stage in ("onset", "end_stage"):
        gap = r[f"type1_fold_{stage}"] - r[f"type2_fold_{stage}"]
        total += 100.0 if not np.isfinite(gap) else 0.0 if gap >= 0.2 else ((0.2 - gap) / 0.1) ** 2
    # T2 order of events, exact, with a 3-day margin between consecutive events
    events = [r[k] for k in ORDER]
    for a, b in zip(events, events[1:]):
        gap = b - a if np.isfinite(a) and np.isfinite(b) else -10.0
        total += 0.0 if gap >= 3.0 else ((3.0 - gap) / 1.0) ** 2
    return total if np.isfinite(total) else 1e6


def fit_cv(base: np.ndarray, background: str, target_sd: float, n: int = 2000) -> float:
    """individual_cv_<background> giving the mixed-sex cohort SD of end stage ``target_sd``."""
    key = "individual_cv_" + ("b6sjl" if background == "B6SJL" else "b6")
    seqs = np.random.SeedSequence(7).spawn(n)
    sexes = ["male", "female"] * (n // 2)

    def sd(cv: float) -> float:
        v = base.copy()
        v[prm.IDX[key]] = cv
        P = np.array([gt.animal_vector(v, "SOD1-G93A", background, s, np.random.default_rng(q))
                      for s, q in zip(sexes, seqs)])
        return float(np.nanstd(solve_cohort(P, GRID, observables=False).end_stage_age, ddof=1))

    lo, hi = 0.0, 0.2
    for _ in range(20):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if sd(mid) < target_sd else (lo, mid)
    return 0.5 * (lo + hi)


def t4_mn_loss(v: np.ndarray) -> float:
    """MN loss at 14 days in vitro with medium conditioned by mutant astrocytes, relative to
    medium from non-transgenic astrocytes (T4; Nagai et al. 2007)."""
    from alsim.experiments.culture import simulate_wells, well_vector
    from alsim.experiments.protocol import load_protocol

    proto = load_protocol("t4-astrocyte-culture")
    group = proto.groups[0]
    t = np.arange(0.0, 15.0)
    mutant = simulate_wells(well_vector(v, proto, group, "SOD1-G93A", None)[None], group, t)[0, -1]
    control = simulate_wells(well_vector(v, proto, group, "WT", None)[None], group, t)[0, -1]
    k = REPORTER_NAMES.index("alpha_mn_surviving")
    return float(1.0 - mutant[k] / control[k])


def fit_medium_half_life(base: np.ndarray, target_loss: float = 0.42) -> float:
    """medium_half_life giving T4's MN loss with mutant-astrocyte conditioned medium (Nagai 2007;
    Nat Commun 2020 replication: 40-45 %) at 14 days in vitro, by bisection."""

    def loss_at(h: float) -> float:
        v = base.copy()
        v[prm.IDX["medium_half_life"]] = h
        return t4_mn_loss(v)

    lo, hi = prm.BY_NAME["medium_half_life"].range
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if loss_at(mid) < target_loss else (lo, mid)
    return 0.5 * (lo + hi)


def write_back(values: dict[str, float]) -> None:
    path = Path(prm.__file__).with_name("parameters.yaml")
    text = path.read_text()
    for name, value in values.items():
        text = re.sub(rf"(- name: {name}\n  value: )[^\n]+", rf"\g<1>{value:.4g}", text)
    path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true", help="write fitted values into parameters.yaml")
    ap.add_argument("--maxiter", type=int, default=3000)
    ap.add_argument("--stage", choices=["all", "culture"], default="all",
                    help="culture: only stage 3 (medium_half_life to T4)")
    ap.add_argument("--start", nargs="*", default=[], metavar="NAME=VALUE",
                    help="start the fit from these values instead of parameters.yaml")
    args = ap.parse_args()
    base = prm.default_vector()
    for item in args.start:
        name, value = item.split("=", 1)
        base[prm.IDX[name]] = float(value)
    if args.stage == "culture":
        h = fit_medium_half_life(base)
        print(f"  medium_half_life             {h:.4g}")
        if args.write:
            write_back({"medium_half_life": h})
        return
    x0 = to_unbounded(base)
    res = minimize(loss, x0, args=(base,), method="Nelder-Mead",
                   options={"maxiter": args.maxiter, "xatol": 1e-4, "fatol": 1e-4, "adaptive": True})
    v = from_unbounded(res.x, base)
    fitted = {n: float(v[prm.IDX[n]]) for n in FIT}
    fitted["individual_cv_b6sjl"] = fit_cv(v, "B6SJL", 9.1)
    fitted["individual_cv_b6"] = fit_cv(v, "C57BL/6", 9.3)
    fitted["medium_half_life"] = fit_medium_half_life(v)
    r = typical_readouts(v)
    print(f"loss {res.fun:.3f} after {res.nfev} evaluations")
    for key, low, high, _, _ in targets():
        print(f"  {key:28s} band [{low:g}, {high:g}]  typical animal {r.get(key, np.nan):8.3f}")
    for n_, val in fitted.items():
        print(f"  {n_:28s} {val:.4g}")
    if args.write:
        write_back(fitted)
        print("written to parameters.yaml")


if __name__ == "__main__":
    main()
