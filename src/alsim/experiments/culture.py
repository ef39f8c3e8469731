"""Culture experiments: motor neurons and interneurons plated with glia or fed their medium.

A well is a compartment of its own (``engines.assembly.well_rhs``): the same
per-cell kernels as the animal, no muscle targets, glia at the well's plating
density (or absent), nothing recruited from outside, and the astrocyte factor
accumulating in the medium. Conditioned medium is made by simulating the
donor glia alone for ``conditioning_days`` and transferring the medium; the
recipient is fed freshly conditioned medium every ``refresh_days``
(Nagai et al. 2007 Nat Neurosci 10:615; Di Giorgio et al. 2007 Nat Neurosci
10:608). Every readout is relative to the matched control culture:
non-transgenic neurons carrying the same knockouts, with non-transgenic glia
(or their medium), and no drug (vehicle). A drug in the medium acts on the
cells in the well: with conditioned medium, on the neurons only, since the
donor glia made the medium before the drug was added.
"""

from __future__ import annotations

import copy
import time
from typing import Callable

import numpy as np
import pandas as pd

from ..biology import genotypes as gt
from ..biology import parameters as prm
from ..biology.model import REPORTER_NAMES
from ..engines.assembly import State, well_initial_state
from ..engines.meanfield import STATUS_TEXT, solve_cohort
from .protocol import Feeder, Group, Protocol
from .simulation import Simulation, group_overrides, parameter_table
from .streams import generators

_SERIES = ("alpha_mn_surviving", "interneurons_surviving", "apoptotic_fraction", "toxic_factor_medium",
           "tnf_pgml", "ros_fold")


def _ratio(value: float, control: float) -> float:
    """value / control, NaN without a control value (e.g. no apoptosis at all in Bax-/- control wells)."""
    return float(value / control) if control > 0 else float("nan")


def well_vector(base: np.ndarray, protocol: Protocol, group: Group, feeder_genotype: str,
                rng: np.random.Generator | None) -> np.ndarray:
    """Parameters of one well: the neurons' genotype, the feeder glia's transgene and knockouts."""
    feeder = group.feeder
    v = gt.animal_vector(base, group.genotype, group.background, "male", rng,
                         group_overrides(protocol, group), group.modifications)
    glia_key = "mut_expr_ast" if feeder.cell_type == "astrocytes" else "mut_expr_mg"
    v[prm.IDX[glia_key]] = gt.GENOTYPES[feeder_genotype].edits[glia_key]
    for gene in feeder.knockouts:
        v[prm.IDX[gt.KNOCKOUTS[gene][0]]] = 0.0
    v[prm.IDX["astrocytes_present"]] = 1.0 if feeder.cell_type == "astrocytes" else 0.0
    v[prm.IDX["microglia_present"]] = 1.0 if feeder.cell_type == "microglia" else 0.0
    z = rng.standard_normal() if rng is not None else 0.0
    v[prm.IDX["culture_glia_density"]] *= feeder.density * gt.lognormal_factor(z, v[prm.IDX["culture_well_cv"]])
    return v


def with_medium_drugs(P: np.ndarray, group: Group) -> np.ndarray:
    """Parameters of wells whose medium holds the group's ``medium_drugs`` (independent action:
    drugs hitting the same parameter multiply)."""
    P = P.copy()
    for drug in group.medium_drugs:
        for name, factor in drug.factors().items():
            P[:, prm.IDX[name]] *= factor
    return P


def conditioned_factor(P_donor: np.ndarray, feeder: Feeder) -> np.ndarray:
    """Toxic factor in medium conditioned by each donor well's glia alone for ``conditioning_days``."""
    y0 = np.array([well_initial_state(feeder.cell_type == "microglia")] * len(P_donor))
    t = np.array([0.0, feeder.conditioning_days])
    sol = solve_cohort(P_donor, t, y0=y0, stop_at_end_stage=False, observables=False, compartment="well")
    return sol.states[:, -1, State.TF_MEDIUM]


def fed_wells(P: np.ndarray, group: Group, drugs: bool = True,
              donor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The parameters of a group's wells as they are simulated, and the factor in each well's
    conditioned medium (None in co-culture). The group's medium drugs act on the cells in the well
    (unless ``drugs`` is False: the matched control cultures get the vehicle). With conditioned
    medium the recipient holds no glia and is fed its donor's medium, made by the donor glia
    without the drug from the donor wells' parameters ``donor`` (default ``P``; a spatial well,
    whose Cre acts cell by cell, passes its parameters with the Cre averaged in, as the mean
    field's donor well has them)."""
    treated = with_medium_drugs(P, group) if drugs else P.copy()
    if group.context != "conditioned_medium":
        return treated, None
    treated[:, prm.IDX["astrocytes_present"]] = 0.0
    treated[:, prm.IDX["microglia_present"]] = 0.0
    return treated, conditioned_factor(P if donor is None else donor, group.feeder)


def simulate_wells(P: np.ndarray, group: Group, t: np.ndarray, drugs: bool = True) -> np.ndarray:
    """Observables (wells, times, observables) of wells of ``group`` on grid ``t`` (with the group's
    medium drugs unless ``drugs`` is False: the matched control cultures get the vehicle)."""
    feeder = group.feeder
    n = len(P)
    recipient, medium = fed_wells(P, group, drugs)
    if medium is None:
        y0 = np.array([well_initial_state(feeder.cell_type == "microglia")] * n)
        return solve_cohort(recipient, t, y0=y0, stop_at_end_stage=False, compartment="well").observables
    # conditioned medium: the donor's medium arrives at plating and is replaced with freshly
    # conditioned medium every refresh_days
    y = np.array([well_initial_state(False, m) for m in medium])
    step = feeder.refresh_days or t[-1]
    obs = np.full((n, t.size, len(REPORTER_NAMES)), np.nan)
    t0 = 0.0
    while t0 < t[-1]:
        t1 = min(t0 + step, t[-1])
        inside = (t >= t0) & (t <= t1)
        grid = np.union1d(t[inside], [t0, t1])
        sol = solve_cohort(recipient, grid, y0=y, t0=t0, stop_at_end_stage=False, compartment="well")
        obs[:, inside] = sol.observables[:, np.isin(grid, t[inside])]
        y = sol.states[:, -1].copy()
        y[:, State.TF_MEDIUM] = medium  # medium change
        t0 = t1
    return obs


def run_culture(protocol: Protocol, progress: Callable[[int, int], None] | None = None):
    """Simulate every well of a culture protocol; readouts relative to matched control cultures."""
    start = time.perf_counter()
    base = protocol.base_vector()
    t = np.arange(0.0, protocol.duration_days + 1e-9, protocol.save_every_days)
    if t[-1] < protocol.duration_days:
        t = np.append(t, protocol.duration_days)
    streams = generators(protocol.seed, range(protocol.n_animals))  # one well's draws after another
    col = {k: REPORTER_NAMES.index(k) for k in _SERIES}
    rows, series, params = [], [], []
    tissues = [] if protocol.engine == "spatial" else None
    first = 0
    for g in protocol.groups:
        rngs = [next(streams) for _ in range(g.n)]
        if tissues is not None:  # the donor well, as in the mean field: from the same draws (copied streams)
            donor = np.array([well_vector(base, protocol, g, g.feeder.genotype, copy.deepcopy(r)) for r in rngs])
        # spatial wells take Cre and chimeras cell by cell, not averaged into the parameters
        host = g.model_copy(update={"cre": [], "chimera": None}) if tissues is not None else g
        P = np.array([well_vector(base, protocol, host, g.feeder.genotype, r) for r in rngs])
        # matched control: non-transgenic neurons (same knockouts) with non-transgenic glia
        control_group = g.model_copy(update={"genotype": "WT", "cre": []})
        ref = simulate_wells(well_vector(base, protocol, control_group, "WT", None)[None, :], g, t, drugs=False)[0]
        if tissues is not None:
            from .spatial_run import simulate_wells_spatially

            obs, records = simulate_wells_spatially(protocol, g, *fed_wells(P, g, donor=donor), t, first)
            tissues += records
        else:
            obs = simulate_wells(P, g, t)
        mn = obs[:, :, col["alpha_mn_surviving"]] / ref[None, :, col["alpha_mn_surviving"]]
        inn = obs[:, :, col["interneurons_surviving"]] / ref[None, :, col["interneurons_surviving"]]
        for i in range(g.n):
            rows.append({
                "animal": first + i, "group": g.name, "context": g.context, "genotype": g.genotype,
                "knockouts": ",".join(g.knockouts), "feeder": f"{g.feeder.genotype} {g.feeder.cell_type}",
                "medium_drugs": ",".join(f"{d.drug} {d.concentration_um:g} uM" for d in g.medium_drugs),
                "status": STATUS_TEXT[0],
                "mn_survival_vs_control": mn[i, -1], "interneuron_survival_vs_control": inn[i, -1],
                "mn_loss_vs_control": 1.0 - mn[i, -1], "interneuron_loss_vs_control": 1.0 - inn[i, -1],
                "apoptotic_fraction": obs[i, -1, col["apoptotic_fraction"]],
                "mn_surviving": obs[i, -1, col["alpha_mn_surviving"]],
                "control_mn_surviving": ref[-1, col["alpha_mn_surviving"]],
                "control_apoptotic_fraction": ref[-1, col["apoptotic_fraction"]],
                "apoptotic_fraction_vs_control": _ratio(obs[i, -1, col["apoptotic_fraction"]],
                                                        ref[-1, col["apoptotic_fraction"]]),
            })
            frame = pd.DataFrame({k: obs[i, :, j] for k, j in col.items()})
            frame.insert(0, "age_d", t)
            frame.insert(0, "group", g.name)
            frame.insert(0, "animal", first + i)
            frame["mn_survival_vs_control"] = mn[i]
            frame["interneuron_survival_vs_control"] = inn[i]
            series.append(frame)
        params.append(P)
        first += g.n
        if progress is not None:
            progress(first, protocol.n_animals)
    weighings = pd.DataFrame(columns=["animal", "group", "age_d", "weight_g"])
    wells = pd.DataFrame(rows)
    return Simulation(protocol, wells, pd.concat(series, ignore_index=True), weighings,
                      parameter_table(wells["animal"].to_numpy(), np.concatenate(params)),
                      time.perf_counter() - start, tissues)
