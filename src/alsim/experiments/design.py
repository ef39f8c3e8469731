"""`alsim design`: how many mice a study needs, and how often a poor design fools itself.

One large simulated cohort per arm (the cohort engine's vectorisation), then
thousands of virtual studies resampled from it and tested by log-rank
(``analysis.design``). A study has as many arms as the protocol's planned
comparisons name (its ``contrasts``, else every arm against ``control``);
with several comparisons their p-values are Holm-adjusted within each study,
as the run's ``survival_stats.csv`` does. False-positive rates come from arms
drawn out of the reference population: balanced; small and sex-unbalanced; and, with large
litter effects, arms made of whole litters versus litter-matched arms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis.design import TESTS, n_for_power, resample_study_pvalues
from ..analysis.survival import durations_events, holm
from .protocol import Protocol, protocol_from_dict
from .runner import run

# How each --test is written in tables and figures.
TEST_NAMES = {"logrank": "log-rank", "t": "Welch t"}


@dataclass(frozen=True)
class DesignResult:
    """Power by group size for each planned comparison (Holm-adjusted when there are several),
    the n for 80 % power of each, and false-positive rates of weak designs."""

    power: pd.DataFrame
    n_for_80: dict[str, float]
    false_positives: pd.DataFrame
    effect_d: dict[str, float]
    reference: str
    wall_time_s: float
    notes: tuple[str, ...] = ()


ALL = "all comparisons"   # the row of power.csv for a study that detects every planned effect


def comparison_name(arm: str, ref: str) -> str:
    return f"{arm} vs {ref}"


def _comparisons(protocol: Protocol) -> list[tuple[str, str]]:
    """The planned comparisons: the protocol's ``contrasts``, else every arm against ``control``."""
    if protocol.contrasts:
        return [(a, b) for a, b in protocol.contrasts]
    if protocol.control is None:
        raise ValueError("design: the protocol needs a control group (field 'control') or planned 'contrasts'")
    others = [g.name for g in protocol.groups if g.name != protocol.control]
    if not others:
        raise ValueError(f"design: the protocol has no arm besides the control {protocol.control!r}")
    return [(g, protocol.control) for g in others]


def _pool(protocol: Protocol, n: int, litters: dict | None = None, keep: set[str] | None = None) -> pd.DataFrame:
    data = protocol.model_dump()
    data["groups"] = [g for g in data["groups"] if keep is None or g["name"] in keep]
    for g in data["groups"]:
        g["n"] = n
    if litters is not None:
        data["litters"] = litters
    if keep is not None:
        data["claim"] = None
        data["contrasts"] = [c for c in data["contrasts"] if set(c) <= keep]
        data["covariates"] = data["covariates"] if data["contrasts"] else []
        if data["control"] not in keep:
            data["control"] = None
    return run(protocol_from_dict(data, protocol.name)).animals


def _fpr(t: np.ndarray, e: np.ndarray, ia: np.ndarray, ib: np.ndarray, alpha: float, test: str) -> float:
    return float((TESTS[test](t[ia], e[ia], t[ib], e[ib]) < alpha).mean())


def design_study(protocol: Protocol, ns: list[int], studies: int = 2000, alpha: float = 0.05,
                 pool: int | None = None, small_n: int = 8, litter_cv: float = 0.10,
                 test: str = "logrank") -> DesignResult:
    """Power of each planned comparison at each n per arm (all arms of a virtual study the same
    size; with several comparisons their p-values are Holm-adjusted within the study), and
    false-positive rates of zero-effect designs (the arms drawn from the reference population)."""
    start = time.perf_counter()
    comparisons = _comparisons(protocol)
    names = list(dict.fromkeys(g for c in comparisons for g in c))
    reference = protocol.control if protocol.control in names else comparisons[0][1]
    rng = np.random.default_rng(np.random.SeedSequence([protocol.seed, 2]))
    size = max(pool or 0, 4 * max(ns), 400)
    animals = _pool(protocol, size, keep=set(names))
    follow = protocol.duration_days
    t, e = durations_events(animals, "survival", follow)
    group = animals.group.to_numpy()
    arms = [(t[group == g], e[group == g]) for g in names]
    pairs = [(names.index(a), names.index(b)) for a, b in comparisons]
    labels = [comparison_name(a, b) for a, b in comparisons]
    notes = []
    if test == "t" and not e.all():
        notes.append(f"Welch's t treats the {int((~e).sum())} of {e.size} censored animals (non-ALS deaths, "
                     f"or alive at day {follow:g}) as if they had reached end stage then; use the log-rank test")
    adjustment = "Holm" if len(comparisons) > 1 else "none"
    rows = []
    for n in ns:
        p = resample_study_pvalues(arms, pairs, n, studies, rng, test)
        hit = (holm(p) if len(comparisons) > 1 else p) < alpha
        rows += [{"n_per_arm": n, "comparison": lab, "power": float(hit[:, k].mean())} for k, lab in enumerate(labels)]
        if len(comparisons) > 1:
            rows.append({"n_per_arm": n, "comparison": ALL, "power": float(hit.all(axis=1).mean())})
    table = pd.DataFrame(rows)
    n80 = {lab: n_for_power(sub.n_per_arm.to_numpy(), sub.power.to_numpy())
           for lab, sub in table.groupby("comparison", sort=False)}
    end_stage = animals.groupby("group").end_stage_d.mean()
    effect = {comparison_name(a, b): float(end_stage[a] - end_stage[b]) for a, b in comparisons}

    is_c = group == reference
    rows = []
    tc, ec = t[is_c], e[is_c]
    half = tc.size // 2
    ia = rng.random((studies, half)).argsort(axis=1)[:, :small_n]
    ib = half + rng.random((studies, tc.size - half)).argsort(axis=1)[:, :small_n]
    rows.append({"design": f"balanced, {small_n} per arm", "false_positive_rate": _fpr(tc, ec, ia, ib, alpha, test)})
    sex = animals.loc[is_c, "sex"].to_numpy()
    fem, mal = np.nonzero(sex == "female")[0], np.nonzero(sex == "male")[0]
    k = int(round(0.75 * small_n))

    def pick(pool_idx, m):
        return pool_idx[rng.random((studies, pool_idx.size)).argsort(axis=1)[:, :m]]

    fa, ma = pick(fem, 2 * k), pick(mal, 2 * (small_n - k))
    arm_a = np.concatenate([fa[:, :k], ma[:, :small_n - k]], axis=1)       # mostly females
    arm_b = np.concatenate([fa[:, k:k + small_n - k], ma[:, small_n - k:small_n - k + k]], axis=1)
    rows.append({"design": f"sex-unbalanced ({k}F/{small_n - k}M vs {small_n - k}F/{k}M), {small_n} per arm",
                 "false_positive_rate": _fpr(tc, ec, arm_a, arm_b, alpha, test)})

    # litter effects: whole litters per arm (not matched) vs litters split across arms
    lit = 8
    big = _pool(protocol, max(size, 50 * lit), {"size": lit, "cv": litter_cv, "assignment": "random"}, {reference})
    tl, el = durations_events(big, "survival", follow)
    litter = big["litter"].to_numpy()
    members = np.array([np.nonzero(litter == k)[0][:lit] for k in np.unique(litter)
                        if (litter == k).sum() >= lit])
    per_arm = max(1, small_n // lit)
    choice = rng.random((studies, len(members))).argsort(axis=1)[:, :2 * per_arm]
    whole_a = members[choice[:, :per_arm]].reshape(studies, -1)
    whole_b = members[choice[:, per_arm:]].reshape(studies, -1)
    rows.append({"design": f"litter CV {litter_cv:g}, whole litters per arm ({per_arm * lit} per arm)",
                 "false_positive_rate": _fpr(tl, el, whole_a, whole_b, alpha, test)})
    split = members[choice[:, :2 * per_arm]]                       # (studies, 2*per_arm, lit)
    matched_a = split[:, :, : lit // 2].reshape(studies, -1)
    matched_b = split[:, :, lit // 2:].reshape(studies, -1)
    rows.append({"design": f"litter CV {litter_cv:g}, litter-matched ({per_arm * 2 * (lit // 2)} per arm)",
                 "false_positive_rate": _fpr(tl, el, matched_a, matched_b, alpha, test)})

    test_name = TEST_NAMES[test]
    table["adjustment"] = adjustment
    table["test"] = test_name
    table["alpha"] = alpha
    table["studies"] = studies
    fp = pd.DataFrame(rows)
    fp["test"] = test_name
    fp["alpha"] = alpha
    fp["studies"] = studies
    return DesignResult(table, n80, fp, effect, reference, time.perf_counter() - start, tuple(notes))
