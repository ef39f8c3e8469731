"""A cohort in chunks: the plan every chunk shares, and one chunk simulated, reduced and tabulated.

:func:`make_plan` does the work that does not depend on the animals: the save grid, the
matched wild-type references (one simulation per distinct reference: background, sex and
parameter overrides), the drug and ablation table, the litter factors and the layout of the
group summaries. :func:`simulate_chunk` turns a set of animals into their rows of every table
and their share of the group summaries (``analysis.bands``). It is a pure function of the plan
and the animals' indices: each animal's draws come from its own stream (``experiments.streams``),
so a chunk gives the same rows whatever else it holds, and the same function serves the
in-process runner and Dask workers (``experiments.distributed``). A spatial protocol
(``engine: spatial``, a few animals) is one chunk of every animal, each simulated cell by cell
(``experiments.spatial_run``) and reduced as the mean field's chunks are.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from ..analysis import bands
from ..analysis import readouts as ro
from ..biology import genotypes as gt
from ..biology import parameters as prm
from ..biology.model import REPORTER_NAMES
from ..engines.meanfield import ENDED, OK, STATUS_TEXT, Modulation, reporter_planes, solve_cohort
from .limits import series_mode
from .modulation import modulation
from .protocol import Protocol
from .simulation import group_overrides
from .streams import generators

# Reporters also given relative to the matched wild-type reference in the time series.
VS_WT = ("alpha_mn_surviving", "umn_surviving", "microgliosis_index", "astrogliosis_index", "tnf_pgml",
         "il1b_pgml", "mcp1_pgml", "il10_pgml", "il4_pgml")
SERIES_COLUMNS = (*REPORTER_NAMES, *(f"{k}{ro.VS_WT_SUFFIX}" for k in VS_WT))
_SOURCE = np.array([*range(len(REPORTER_NAMES)), *(REPORTER_NAMES.index(k) for k in VS_WT)])
_OVER_REF = np.arange(len(SERIES_COLUMNS)) >= len(REPORTER_NAMES)
_BODY_WEIGHT = REPORTER_NAMES.index("body_weight_g")
SEXES = ("male", "female")


def female_flags(j: np.ndarray, female_fraction: np.ndarray | float) -> np.ndarray:
    """Whether animal ``j`` (0, 1, ... within its group) is female: floor((j+1) f) - floor(j f) = 1
    (females spread evenly through the group, floor(n f) of them; docs/protocols.md §9)."""
    f = np.asarray(female_fraction, dtype=float)
    return (np.floor((j + 1) * f + 1e-9) - np.floor(j * f + 1e-9)) == 1.0


def save_grid(protocol: Protocol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The integration grid [day] (saved ages and weighing days) and the indices of each in it."""
    t_save = np.arange(0.0, protocol.duration_days + 1e-9, protocol.save_every_days)
    days = ro.weighing_days(protocol.duration_days)
    grid = np.union1d(t_save, days)
    return grid, np.searchsorted(grid, t_save), np.searchsorted(grid, days)


@dataclass(frozen=True)
class Plan:
    """What every chunk of a cohort shares.

    starts: (groups + 1,) index of each group's first animal (and the total);
    grid, i_save, i_weigh: integration grid [day], indices of the saved ages and weighing days;
    ref_obs: (references, grid, reporters) trajectories of the distinct wild-type references;
    ref_of: (groups, 2) reference of each group's males and females (-1: no such animals);
    modulation: drugs and ablation by group (None: none), compartments set per chunk;
    litter_z: standard normal draw of each litter (None without litters);
    series: ``all``, ``summary`` or ``none`` (:func:`series_mode`);
    timeseries, weighings: layouts of the group summaries (None with ``none``; with bins once
    :func:`with_bins` has seen the pilot, for ``summary``).
    """

    protocol: Protocol
    starts: np.ndarray
    grid: np.ndarray
    i_save: np.ndarray
    i_weigh: np.ndarray
    ref_obs: np.ndarray
    ref_of: np.ndarray
    modulation: Modulation | None
    litter_z: np.ndarray | None
    series: str
    timeseries: bands.Layout | None
    weighings: bands.Layout | None

    @property
    def n(self) -> int:
        """Animals in the cohort."""
        return int(self.starts[-1])

    @property
    def needs_pilot(self) -> bool:
        """Whether the summary bins are still to be set from a pilot (:func:`pilot_animals`)."""
        return self.series == "summary" and self.timeseries.lo is None

    def chunks(self, size: int) -> list[range]:
        """The cohort as consecutive ranges of at most ``size`` animals."""
        return [range(lo, min(lo + size, self.n)) for lo in range(0, self.n, size)]


def _references(protocol: Protocol, starts: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matched wild-type reference of each group and sex present (typical animal, same background,
    sex and overrides, no mutant SOD1): the denominators of MN loss, gliosis and cytokine folds.
    Groups that share a reference share one simulation."""
    base = protocol.base_vector()
    keys: dict[tuple, int] = {}
    vectors, ref_of = [], np.full((len(protocol.groups), 2), -1, np.int64)
    for gi, g in enumerate(protocol.groups):
        females = int(female_flags(np.arange(g.n), g.female_fraction).sum())
        for si, present in enumerate((g.n - females > 0, females > 0)):
            if not present:
                continue
            overrides = group_overrides(protocol, g)
            key = (g.background, SEXES[si], tuple(sorted(overrides.items())))
            if key not in keys:
                keys[key] = len(vectors)
                vectors.append(gt.animal_vector(base, "WT", g.background, SEXES[si], None, overrides))
            ref_of[gi, si] = keys[key]
    ref_P = np.array(vectors)
    ref_P[:, [prm.IDX[k] for k in gt.CELL_EXPRESSION.values()]] = 0.0  # a reference carries no mutant
    return np.ascontiguousarray(solve_cohort(ref_P, grid, stop_at_end_stage=False).observables), ref_of


def _litter_draws(protocol: Protocol) -> np.ndarray | None:
    """One standard normal draw per litter, from a stream of its own (``SeedSequence([seed, 1])``), so
    declaring litters leaves each animal's own draws unchanged."""
    spec = protocol.litters
    if spec is None:
        return None
    if spec.assignment == "litter_matched":
        per_group = int(np.ceil(spec.size / len(protocol.groups)))
        last = max((g.n - 1) // per_group for g in protocol.groups)
    else:
        last = (protocol.n_animals - 1) // spec.size
    return np.random.default_rng(np.random.SeedSequence([protocol.seed, 1])).standard_normal(last + 1)


def make_plan(protocol: Protocol) -> Plan:
    """The plan of an animal protocol (not a culture), without summary bins (see :func:`with_bins`)."""
    starts = np.concatenate([[0], np.cumsum([g.n for g in protocol.groups])]).astype(np.int64)
    grid, i_save, i_weigh = save_grid(protocol)
    ref_obs, ref_of = _references(protocol, starts, grid)
    series = series_mode(protocol)
    names = tuple(g.name for g in protocol.groups)
    timeseries = weighings = None
    if series != "none":
        timeseries = bands.Layout(names, grid[i_save], SERIES_COLUMNS)
        weighings = bands.Layout(names, grid[i_weigh], ("weight_g",))
    return Plan(protocol, starts, grid, i_save, i_weigh, ref_obs, ref_of,
                modulation(protocol, np.zeros(0, np.int64)), _litter_draws(protocol), series, timeseries, weighings)


def pilot_animals(plan: Plan) -> np.ndarray:
    """The first ``bands.PILOT`` animals of each group: their range sets the summary bins."""
    return np.concatenate([np.arange(lo, min(lo + bands.PILOT, hi))
                           for lo, hi in zip(plan.starts[:-1], plan.starts[1:])])


def with_bins(plan: Plan, pilot: tuple[bands.Partial, bands.Partial]) -> Plan:
    """The plan with summary bins set from the pilot's (time series, weighings) summaries."""
    return dataclasses.replace(plan, timeseries=plan.timeseries.with_bins(pilot[0]),
                               weighings=plan.weighings.with_bins(pilot[1]))


@dataclass
class Chunk:
    """One chunk's rows of each table (Arrow; ``weighings`` and ``timeseries`` only with series
    ``all``), its share of the group summaries (time series, weighings; None with ``none``) and,
    spatial runs only, one ``spatial_run.TissueRecord`` per animal."""

    animals: pa.Table
    parameters: pa.Table
    weighings: pa.Table | None
    timeseries: pa.Table | None
    bands: tuple[bands.Partial, bands.Partial] | None
    tissues: list | None = None


def _draws(protocol: Protocol, idx: np.ndarray, n_days: int):
    """Each animal's draws from its own stream, in this order: its random effects (misfolding, weight
    and righting-threshold factors, ``genotypes.N_RANDOM_EFFECTS``), the seed of its stochastic path
    (within-animal noise only), the scale noise of each weighing, its age of non-ALS death (background
    mortality only; inf otherwise)."""
    m = idx.size
    noisy = protocol.within_animal_noise > 0
    hazard = protocol.background_mortality_per_day
    r = gt.N_RANDOM_EFFECTS
    z, noise, other = np.empty((m, r)), np.empty((m, n_days)), np.full(m, np.inf)
    seeds = np.empty(m, np.int64) if noisy else None
    for k, rng in enumerate(generators(protocol.seed, idx)):
        if noisy:
            z[k] = rng.standard_normal(r)
            seeds[k] = rng.integers(2**62)
            noise[k] = rng.standard_normal(n_days)
        else:  # one call draws the same numbers as the two
            both = rng.standard_normal(r + n_days)
            z[k], noise[k] = both[:r], both[r:]
        if hazard > 0:
            other[k] = rng.exponential(1.0 / hazard)
    return z, seeds, noise, other


def _strings(codes: np.ndarray, names) -> pa.Array:
    """A string column from integer codes into ``names``."""
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(list(names), pa.string())) \
        .dictionary_decode()


@dataclass(frozen=True)
class Animals:
    """A chunk's animals before simulation: index, group, sex (0 male, 1 female), litter, parameter
    vectors ``P``, drugs and ablation, stochastic-path seeds (None without within-animal noise), the
    scale noise of each weighing and the age of non-ALS death (inf: none drawn)."""

    idx: np.ndarray
    group: np.ndarray
    sex: np.ndarray
    litter: np.ndarray
    P: np.ndarray
    modulation: Modulation | None
    seeds: np.ndarray | None
    noise: np.ndarray
    other_death: np.ndarray


def chunk_animals(plan: Plan, animals: range | np.ndarray) -> Animals:
    """Design, draws and parameter vectors of the animals with these indices."""
    protocol = plan.protocol
    idx = np.asarray(animals, dtype=np.int64)
    g = np.searchsorted(plan.starts, idx, side="right") - 1
    j = idx - plan.starts[g]
    groups = protocol.groups
    sex = female_flags(j, np.array([grp.female_fraction for grp in groups])[g]).astype(np.int64)
    z, seeds, noise, other = _draws(protocol, idx, plan.i_weigh.size)
    base = protocol.base_vector()
    litter, litter_factor = _litters(plan, idx, j, base)
    if protocol.engine == "spatial":  # Cre and chimeras are given cell by cell, not averaged into the parameters
        from .spatial_run import host_modifications as modifications_of
    else:
        def modifications_of(group):
            return group.modifications
    P = np.empty((idx.size, prm.N_PARAMS))
    for gi in np.unique(g):
        grp = groups[gi]
        for si in (0, 1):
            rows = (g == gi) & (sex == si)
            if rows.any():
                P[rows] = gt.cohort_vectors(base, grp.genotype, grp.background, SEXES[si], z[rows],
                                            group_overrides(protocol, grp), modifications_of(grp), litter_factor[rows])
    if seeds is not None:  # within-animal stochasticity (an SDE on misfolded SOD1)
        P[:, prm.IDX["misfold_noise"]] = protocol.within_animal_noise
    mod = None if plan.modulation is None else dataclasses.replace(plan.modulation, group=g)
    return Animals(idx, g, sex, litter, P, mod, seeds, noise, other)


def _litters(plan: Plan, idx: np.ndarray, j: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Litter of each animal and its litter factor on the misfolding rates.

    ``litter_matched`` splits every litter across the groups (animal j of each group in
    litter j // ceil(size / groups)); ``random`` fills litters with consecutive animals of
    the design, so each group comes from its own litters. Without litters each animal is its own
    (factor 1).
    """
    spec = plan.protocol.litters
    if spec is None:
        return idx, np.ones(idx.size)
    per_group = int(np.ceil(spec.size / len(plan.protocol.groups)))
    litter = j // per_group if spec.assignment == "litter_matched" else idx // spec.size
    cv = spec.cv if spec.cv is not None else base[prm.IDX["litter_cv"]]
    return litter, gt.lognormal_factors(plan.litter_z[litter], cv)


def simulate_chunk(plan: Plan, animals: range | np.ndarray,
                   progress: Callable[[int, int], None] | None = None) -> Chunk:
    """Simulate the animals with these indices and reduce them: their rows of every table and their
    share of the group summaries (and with ``engine: spatial`` their tissues; ``progress(done, total)``
    hears of each animal simulated cell by cell)."""
    protocol = plan.protocol
    a = chunk_animals(plan, animals)
    idx, g, sex = a.idx, a.group, a.sex
    days = plan.grid[plan.i_weigh]
    tissues = None
    # every reporter and ratio as an animal-by-time matrix, read by the readouts and the summaries
    series = reporter_planes(len(SERIES_COLUMNS), idx.size, plan.grid.size)
    if protocol.engine == "spatial":
        from .spatial_run import simulate_tissues

        design = pd.DataFrame({"animal": idx, "group": [protocol.groups[k].name for k in g]})
        obs, end_stage, tissues = simulate_tissues(protocol, design, a.P, plan.grid, progress)
        series[:len(REPORTER_NAMES)] = obs.transpose(2, 0, 1)
        status = np.where(np.isfinite(end_stage), ENDED, OK)
    else:  # the engine writes the reporters into the first planes; its states are freed on return
        sol = solve_cohort(a.P, plan.grid, modulation=a.modulation, noise_seeds=a.seeds, planes=series)
        end_stage, status = sol.end_stage_age, sol.status
        del sol
    bands.ratios(series, _SOURCE, _OVER_REF, plan.ref_obs, plan.ref_of[g, sex])
    weights = series[_BODY_WEIGHT][:, plan.i_weigh] + a.P[:, prm.IDX["weighing_noise_g"]][:, None] * a.noise
    reads = ro.readouts(plan.grid, lambda name: series[SERIES_COLUMNS.index(name)], end_stage, days, weights)
    other = np.where(a.other_death > protocol.duration_days, np.nan, a.other_death)

    groups = protocol.groups
    names = [grp.name for grp in groups]
    animals_table = pa.table({
        "animal": idx, "group": _strings(g, names),
        "genotype": _strings(g, [grp.genotype for grp in groups]),
        "background": _strings(g, [grp.background for grp in groups]), "sex": _strings(sex, SEXES),
        "status": pa.array([STATUS_TEXT[s] for s in status.tolist()], pa.string()),
        "litter": np.asarray(a.litter, np.int64), "non_als_death_d": other, **reads})
    parameters = pa.table({"animal": idx, **dict(zip(prm.NAMES, np.ascontiguousarray(a.P.T)))})
    weighings = timeseries = partials = None
    if plan.series == "all":
        weighings, timeseries = _tidy(plan, idx, g, sex, series, weights, names)
    if plan.series != "none":
        present = np.unique(g)
        ts, wt = bands.Partial.empty(plan.timeseries, present), bands.Partial.empty(plan.weighings, present)
        # an animal's reporters are NaN from end stage on (all of them when its integration failed)
        bands.accumulate(plan.timeseries, ts, series, g, time_index=plan.i_save,
                         alive=bands.alive_ages(series[0][:, plan.i_save]))
        bands.accumulate(plan.weighings, wt, weights[None], g, alive=bands.alive_ages(weights))
        partials = (ts, wt)
    return Chunk(animals_table, parameters, weighings, timeseries, partials, tissues)


def _tidy(plan: Plan, idx, g, sex, series, weights, names) -> tuple[pa.Table, pa.Table]:
    """Tidy weighings (float64, as measured) and time series (one row per animal and saved age until
    end stage; reporters and ratios as float32) of a chunk."""
    days = plan.grid[plan.i_weigh]
    wa, wd = np.nonzero(~np.isnan(weights))
    weighings = pa.table({"animal": idx[wa], "group": _strings(g[wa], names), "age_d": days[wd],
                          "weight_g": weights[wa, wd]})
    a, t = np.nonzero(~np.isnan(series[0][:, plan.i_save]))
    at = plan.i_save[t]
    columns = {"animal": idx[a], "group": _strings(g[a], names), "sex": _strings(sex[a], SEXES),
               "age_d": plan.grid[at]}
    for c, name in enumerate(SERIES_COLUMNS):
        columns[name] = series[c][a, at].astype(np.float32)
    return weighings, pa.table(columns)
