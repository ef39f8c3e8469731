"""`alsim design`: how many mice a study needs, and how often a poor design fools itself.

One large simulated cohort per arm (the cohort engine's vectorisation), then
thousands of virtual studies resampled from it and tested by log-rank
(``analysis.design``). False-positive rates come from arms drawn out of the
same untreated population: balanced; small and sex-unbalanced; and, with large
litter effects, arms made of whole litters versus litter-matched arms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis.design import TESTS, n_for_power, resample_power
from ..analysis.survival import durations_events
from .protocol import Protocol, protocol_from_dict
from .runner import run

# How each --test is written in tables and figures.
TEST_NAMES = {"logrank": "log-rank", "t": "Welch t"}


@dataclass(frozen=True)
class DesignResult:
    """Power by group size, the n for 80 % power, and false-positive rates of weak designs."""

    power: pd.DataFrame
    n_for_80: float
    false_positives: pd.DataFrame
    effect_d: float
    control: str
    treatment: str
    wall_time_s: float
    notes: tuple[str, ...] = ()


def _arms(protocol: Protocol) -> tuple[str, str]:
    if protocol.control is None:
        raise ValueError("design: the protocol needs a control group (field 'control')")
    others = [g.name for g in protocol.groups if g.name != protocol.control]
    if len(others) != 1:
        raise ValueError(f"design: the protocol needs exactly one arm besides the control, got {others}")
    return protocol.control, others[0]


def _pool(protocol: Protocol, n: int, litters: dict | None = None) -> pd.DataFrame:
    data = protocol.model_dump()
    for g in data["groups"]:
        g["n"] = n
    if litters is not None:
        data["litters"] = litters
    return run(protocol_from_dict(data, protocol.name)).animals


def _fpr(t: np.ndarray, e: np.ndarray, ia: np.ndarray, ib: np.ndarray, alpha: float, test: str) -> float:
    return float((TESTS[test](t[ia], e[ia], t[ib], e[ib]) < alpha).mean())


def design_study(protocol: Protocol, ns: list[int], studies: int = 2000, alpha: float = 0.05,
                 pool: int | None = None, small_n: int = 8, litter_cv: float = 0.10,
                 test: str = "logrank") -> DesignResult:
    """Power of the protocol's treatment-vs-control comparison at each n per arm, and false-positive
    rates of zero-effect designs (the arms drawn from the untreated population)."""
    start = time.perf_counter()
    control, treatment = _arms(protocol)
    rng = np.random.default_rng(np.random.SeedSequence([protocol.seed, 2]))
    size = max(pool or 0, 4 * max(ns), 400)
    animals = _pool(protocol, size)
    follow = protocol.duration_days
    t, e = durations_events(animals, "survival", follow)
    is_c = (animals.group == control).to_numpy()
    is_t = (animals.group == treatment).to_numpy()
    notes = []
    if test == "t" and not e.all():
        notes.append(f"Welch's t treats the {int((~e).sum())} of {e.size} censored animals (non-ALS deaths, "
                     f"or alive at day {follow:g}) as if they had reached end stage then; use the log-rank test")
    power = [resample_power(t[is_c], e[is_c], t[is_t], e[is_t], n, studies, alpha, rng, test) for n in ns]
    effect = float(np.nanmean(animals.loc[is_t, "end_stage_d"]) - np.nanmean(animals.loc[is_c, "end_stage_d"]))

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
    ctrl_only = protocol_from_dict({**protocol.model_dump(), "groups": [
        g for g in protocol.model_dump()["groups"] if g["name"] == control]}, protocol.name)
    lit = 8
    big = _pool(ctrl_only, max(size, 50 * lit), {"size": lit, "cv": litter_cv, "assignment": "random"})
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
    table = pd.DataFrame({"n_per_arm": ns, "power": power, "test": test_name, "alpha": alpha, "studies": studies})
    fp = pd.DataFrame(rows)
    fp["test"] = test_name
    fp["alpha"] = alpha
    fp["studies"] = studies
    return DesignResult(table, n_for_power(np.array(ns), np.array(power)), fp, effect, control, treatment,
                        time.perf_counter() - start, tuple(notes))
