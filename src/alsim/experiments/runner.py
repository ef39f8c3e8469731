"""The lab bench: turn a validated protocol into a simulated cohort and its measurements.

``run(protocol) -> Simulation`` is a pure function of the protocol (which carries
its seed). Each animal gets its own random stream spawned from the protocol
seed by its index (``np.random.SeedSequence``), so results do not depend on
how the cohort is split into chunks.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

from ..analysis import readouts as ro
from ..biology import genotypes as gt
from ..biology import parameters as prm
from ..biology.model import REPORTER_NAMES
from ..engines.meanfield import ENDED, OK, STATUS_TEXT, Modulation, solve_cohort
from .culture import run_culture
from .protocol import Protocol
from .simulation import Simulation, group_overrides, parameter_table, streams_for

CHUNK = 2048  # animals per engine call (progress granularity; results do not depend on it)


def sexes_for(n: int, female_fraction: float) -> list[str]:
    """Sexes of n animals with the stated female fraction, spread evenly through the group."""
    j = np.arange(n)
    female = np.floor((j + 1) * female_fraction + 1e-9) - np.floor(j * female_fraction + 1e-9)
    return ["female" if f else "male" for f in female]


def _design(protocol: Protocol) -> pd.DataFrame:
    rows = []
    for g in protocol.groups:
        for sex in sexes_for(g.n, g.female_fraction):
            rows.append({"group": g.name, "genotype": g.genotype, "background": g.background, "sex": sex})
    df = pd.DataFrame(rows)
    df.insert(0, "animal", np.arange(len(df)))
    return df


def _save_grid(protocol: Protocol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t_save = np.arange(0.0, protocol.duration_days + 1e-9, protocol.save_every_days)
    days = ro.weighing_days(protocol.duration_days)
    grid = np.union1d(t_save, days)
    return grid, np.searchsorted(grid, t_save), np.searchsorted(grid, days)


def litters_of(protocol: Protocol, design: pd.DataFrame, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Litter of each animal and its litter factor on the misfolding rates.

    ``litter_matched`` splits every litter across the groups (animal j of each group in
    litter j // ceil(size / groups)); ``random`` fills litters with consecutive animals of
    the design, so each group comes from its own litters. Litter factors come from a stream
    of their own, so adding litters leaves the animals' own draws unchanged.
    """
    n = len(design)
    spec = protocol.litters
    if spec is None:
        return np.arange(n), np.ones(n)
    if spec.assignment == "litter_matched":
        per_group = int(np.ceil(spec.size / len(protocol.groups)))
        within = design.groupby("group", sort=False).cumcount().to_numpy()
        litter = within // per_group
    else:
        litter = np.arange(n) // spec.size
    cv = spec.cv if spec.cv is not None else base[prm.IDX["litter_cv"]]
    z = np.random.default_rng(np.random.SeedSequence([protocol.seed, 1])).standard_normal(litter.max() + 1)
    return litter, np.array([gt.lognormal_factor(z[k], cv) for k in litter])


def modulation(protocol: Protocol, group_of_animal: np.ndarray) -> Modulation | None:
    """Drugs and microglia ablation of every group as one modulation table (None when no group has either).

    Drugs: one entry per targeted parameter, the factor 1 - daily mean inhibition at each day's
    centre (linear in between); treatments hitting the same parameter combine multiplicatively
    (independent action). Ablation: proliferation of microglia times 1 - fraction from the start
    day (CD11b-TK + ganciclovir kills dividing microglia; Gowing et al. 2008 J Neurosci).
    """
    from ..biology.drugs import daily_inhibition

    groups = protocol.groups
    targets = sorted({prm.IDX[t.parameter] for g in groups for tr in g.treatments for t in tr.compound.targets})
    ablated = any(g.microglia_ablation is not None for g in groups)
    if not targets and not ablated:
        return None
    days = int(np.ceil(protocol.duration_days)) + 1
    params = targets + ([prm.IDX["microglia_proliferation"]] if ablated else [])
    times = np.zeros((len(groups), len(params), days))
    values = np.ones((len(groups), len(params), days))
    times[:, : len(targets)] = np.arange(days) + 0.5
    for gi, g in enumerate(groups):
        for tr in g.treatments:
            inhibition = daily_inhibition(tr.compound, tr.schedule(protocol.duration_days), protocol.duration_days)
            for j, t in enumerate(tr.compound.targets):
                values[gi, targets.index(prm.IDX[t.parameter])] *= 1.0 - inhibition[:days, j]
        if ablated:
            abl = g.microglia_ablation
            times[gi, -1] = abl.start_day if abl is not None else 0.0
            values[gi, -1, 1:] = 1.0 - abl.fraction if abl is not None else 1.0
    return Modulation(np.array(params), times, values, group_of_animal)


def run(protocol: Protocol, progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Simulate every animal (or culture well) of ``protocol`` and compute the labs' readouts."""
    if protocol.in_culture:
        return run_culture(protocol, progress)
    start = time.perf_counter()
    design = _design(protocol)
    n = len(design)
    base = prm.default_vector()
    group_of = {g.name: g for g in protocol.groups}
    streams = streams_for(protocol, n)

    def overrides(group: str) -> dict[str, float]:
        return group_overrides(protocol, group_of[group])

    litter, litter_factor = litters_of(protocol, design, base)
    spatial = protocol.engine == "spatial"
    if spatial:  # Cre and chimeras are given cell by cell, not averaged into the animal's parameters
        from .spatial_run import host_modifications as modifications_of
    else:
        def modifications_of(group):
            return group.modifications
    P = np.empty((n, prm.N_PARAMS))
    for i, row in enumerate(design.itertuples(index=False)):
        P[i] = gt.animal_vector(base, row.genotype, row.background, row.sex, streams[i], overrides(row.group),
                                modifications_of(group_of[row.group]), litter_factor[i])
    # Within-animal stochasticity (an SDE on misfolded SOD1), seeded from each animal's stream.
    seeds = None
    if protocol.within_animal_noise > 0:
        P[:, prm.IDX["misfold_noise"]] = protocol.within_animal_noise
        seeds = np.array([streams[i].integers(2**62) for i in range(n)], dtype=np.int64)
    # Matched wild-type reference (typical animal, same background, sex and overrides) for each
    # group and sex: the denominators of MN loss, gliosis and cytokine fold changes.
    ref_keys = sorted({(r.group, r.sex) for r in design.itertuples(index=False)})
    ref_P = np.array([gt.animal_vector(base, "WT", group_of[g].background, s, None, overrides(g))
                      for g, s in ref_keys])
    ref_P[:, [prm.IDX[k] for k in gt.CELL_EXPRESSION.values()]] = 0.0  # a reference carries no mutant
    ref_index = {k: i for i, k in enumerate(ref_keys)}

    grid, i_save, i_weigh = _save_grid(protocol)
    obs = np.empty((n, grid.size, len(REPORTER_NAMES)))
    end_stage = np.empty(n)
    status = np.empty(n, dtype=np.int64)
    group_index = design["group"].map({g.name: i for i, g in enumerate(protocol.groups)}).to_numpy()
    mods = modulation(protocol, group_index)
    tissues = None
    if spatial:
        from .spatial_run import simulate_tissues

        obs, end_stage, tissues = simulate_tissues(protocol, design, P, grid, progress)
        status[:] = np.where(np.isfinite(end_stage), ENDED, OK)
    for lo in range(0, n if not spatial else 0, CHUNK):
        hi = min(lo + CHUNK, n)
        mod = None if mods is None else mods.subset(lo, hi)
        sol = solve_cohort(P[lo:hi], grid, modulation=mod, noise_seeds=None if seeds is None else seeds[lo:hi])
        obs[lo:hi] = sol.observables
        end_stage[lo:hi] = sol.end_stage_age
        status[lo:hi] = sol.status
        if progress is not None:
            progress(hi, n)
    ref = solve_cohort(ref_P, grid, stop_at_end_stage=False).observables
    ref_obs = ref[[ref_index[(r.group, r.sex)] for r in design.itertuples(index=False)]]

    # Twice-weekly weighings with scale noise drawn from each animal's own stream.
    days = grid[i_weigh]
    noise_sd = P[:, prm.IDX["weighing_noise_g"]]
    noise = np.array([streams[i].standard_normal(days.size) for i in range(n)]).reshape(n, days.size)
    weights = obs[:, i_weigh, REPORTER_NAMES.index("body_weight_g")] + noise_sd[:, None] * noise

    reads = ro.animal_readouts(grid, obs, REPORTER_NAMES, end_stage, days, weights, ref_obs)
    # Deaths from other causes (background hazard), drawn last from each animal's stream.
    h = protocol.background_mortality_per_day
    other = np.array([streams[i].exponential(1.0 / h) if h > 0 else np.inf for i in range(n)])
    other[other > protocol.duration_days] = np.nan
    animals = design.assign(status=[STATUS_TEXT[s] for s in status], litter=litter, non_als_death_d=other,
                            **reads)

    ts = obs[:, i_save, :]
    t = grid[i_save]
    alive = ~np.isnan(ts[:, :, 0])
    a_idx, t_idx = np.nonzero(alive)
    timeseries = pd.DataFrame(ts[a_idx, t_idx, :], columns=list(REPORTER_NAMES))
    timeseries.insert(0, "age_d", t[t_idx])
    timeseries.insert(0, "sex", design["sex"].to_numpy()[a_idx])
    timeseries.insert(0, "group", design["group"].to_numpy()[a_idx])
    timeseries.insert(0, "animal", a_idx)
    for k in ("alpha_mn_surviving", "umn_surviving", "microgliosis_index", "astrogliosis_index",
              "tnf_pgml", "il1b_pgml", "mcp1_pgml", "il10_pgml", "il4_pgml"):
        j = REPORTER_NAMES.index(k)
        timeseries[f"{k}_vs_wt"] = ts[a_idx, t_idx, j] / ref_obs[:, i_save][a_idx, t_idx, j]
    w_alive = ~np.isnan(weights)
    wa, wd = np.nonzero(w_alive)
    weighings = pd.DataFrame({"animal": wa, "group": design["group"].to_numpy()[wa],
                              "age_d": days[wd], "weight_g": weights[wa, wd]})
    return Simulation(protocol, animals, timeseries, weighings, parameter_table(design["animal"].to_numpy(), P),
                      time.perf_counter() - start, tissues)
