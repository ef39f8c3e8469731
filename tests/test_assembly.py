"""The mean-field assembler: the same model as before the per-cell kernels, the same as a
population of identical cells, and kernels that stay finite over their whole ranges."""

import json
from pathlib import Path

import numpy as np
import pytest
from numba import njit, prange

from alsim.biology import kernels as k
from alsim.biology import parameters as prm
from alsim.biology.model import REPORTER_NAMES
from alsim.biology.parameters import Param
from alsim.engines import assembly as asm
from alsim.engines.assembly import State

from conftest import typical

REFERENCE = json.loads((Path(__file__).parent / "data" / "reference_rhs_fa98abd.json").read_text())


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: c["compartment"])
def test_assembled_rhs_equals_the_pre_kernel_model(case):
    """Frozen derivatives and reporters of the monolithic right-hand side of commit fa98abd
    (random states, animals and wells): the kernels changed how the model is written, not what it
    computes. Mechanisms added since (the basal death of plated neurons, the switch of wild-type
    microglia) are switched off."""
    p = prm.default_vector()
    p[prm.IDX["culture_basal_death_rate"]] = 0.0
    p[prm.IDX["m2_to_m1_wildtype_share"]] = 0.0
    for name, value in case["parameters"].items():
        p[prm.IDX[name]] = value
    y = np.array([case["state"][n] for n in asm.STATE_NAMES])
    rhs, observe = asm.MODELS[asm.COMPARTMENTS[case["compartment"]]]
    dy = np.empty(asm.N_STATES)
    work = np.empty(asm.N_SIGNALS)
    rhs(0.0, y, p, dy, work)
    expected = np.array([case["derivative"][n] for n in asm.STATE_NAMES])
    np.testing.assert_allclose(dy, expected, rtol=1e-11, atol=1e-14)
    obs = np.empty(len(REPORTER_NAMES))
    observe(case["age_d"], y, p, work, obs)
    np.testing.assert_allclose(obs, [case["reporters"][n] for n in REPORTER_NAMES], rtol=1e-11, atol=1e-14)


def _population_rhs(y, p, cells=8):
    """The animal's derivatives built cell by cell: ``cells`` identical cells per unit density, each
    running its kernels on the tissue levels that the summed secretion of all of them makes."""
    d = 1.0 / cells  # density each cell stands for
    m = {s: int(round(y[s] * cells)) for s in (State.M0, State.M1, State.M2)}
    soluble = p[Param.soluble_mutant_share]
    b_mn = k.mutant_burden(y[State.S_MN], p[Param.mut_expr_mn], soluble)
    b_ast = k.mutant_burden(y[State.S_AST], p[Param.mut_expr_ast], soluble)
    b_mg = k.mutant_burden(y[State.S_MG], p[Param.mut_expr_mg], soluble)
    tnf_wt, il1_wt, il10_wt, il4_wt, mcp_wt = k.reference_levels(p)
    tnf, il1, mcp, il10, il4, ros = k.basal_secretion(p)
    for _ in range(m[State.M2]):
        a, b = k.protective_microglia_secretion(p)
        il10, il4 = il10 + a * d, il4 + b * d
    il10_level = k.quasi_steady(il10, p[Param.il10_half_life])
    il10_ex = k.fold_excess(il10_level, il10_wt)
    supp = k.il10_suppression(il10_ex, p)
    contact = k.contact_density(m[State.M1] * d, p)
    for _ in range(m[State.M1]):
        a, b, c, r = k.proinflammatory_microglia_secretion(b_mg, supp, p)
        tnf, il1, mcp = tnf + a * d, il1 + b * d, mcp + c * d
        ros += r * d * contact / (m[State.M1] * d)  # the contact-saturated share of each cell
    tf = 0.0
    for _ in range(cells):
        a, b, c, f = k.astrocyte_secretion(y[State.AST], b_ast, k.a1_share(contact, p), supp, p)
        tnf, il1, mcp, tf = tnf + a * d, il1 + b * d, mcp + c * d, tf + f * d
    levels = {"tnf": k.quasi_steady(tnf, p[Param.tnf_half_life]), "il1": k.quasi_steady(il1, p[Param.il1b_half_life]),
              "mcp": k.quasi_steady(mcp, p[Param.mcp1_half_life]), "il4": k.quasi_steady(il4, p[Param.il4_half_life]),
              "ros": ros / (k.decay_rate(p[Param.ros_half_life]) * k.MIN_PER_DAY),
              "tf": tf / (k.decay_rate(p[Param.toxic_factor_tissue_half_life]) * k.H_PER_DAY)}
    glu = k.glutamate_excess(k.astrocyte_glutamate_uptake(y[State.AST], p))
    chi = k.cytokine_signal(k.fold_excess(levels["tnf"], tnf_wt), k.fold_excess(levels["il1"], il1_wt), p)
    sel, infl = k.motor_neuron_stress(b_mn, levels["tf"], chi, levels["ros"], glu, il10_ex, p)
    out = {}
    shares = (p[Param.share_ff], p[Param.share_fr], 1.0 - p[Param.share_ff] - p[Param.share_fr])
    ratios = (1.0, p[Param.vulnerability_ratio_fr], p[Param.vulnerability_ratio_s])
    withdrawn = dying = 0.0
    for (a_state, n_state), share, ratio in zip(((State.A_FF, State.N_FF), (State.A_FR, State.N_FR),
                                                 (State.A_S, State.N_S)), shares, ratios):
        wd, ap = k.motor_neuron_hazards(k.unit_stress(sel, infl, ratio, p), ratio, p)
        out[n_state] = -wd * y[n_state]
        out[a_state] = -ap * (y[a_state] - y[n_state])
        withdrawn += share * wd * y[n_state]
        dying += share * ap * (y[a_state] - y[n_state])
    damage, released = k.motor_neuron_release(withdrawn, dying, y[State.S_MN], p)
    damage /= k.decay_rate(p[Param.damage_half_life]) * k.MIN_PER_DAY
    to_m1, to_m2, m2_to_m1, resolution, activating = k.microglia_state_rates(
        b_mg, damage, y[State.ESOD], k.fold_excess(levels["il4"], il4_wt), chi, supp, p)
    density = sum(m.values()) * d
    room = k.microglia_room(density, p)
    prolif = k.microglia_proliferation(activating, room, p)
    renewal, loss = k.microglia_turnover(density, p)
    flows = {State.M0: k.microglia_recruitment(k.fold_excess(levels["mcp"], mcp_wt), room, p),
             State.M1: 0.0, State.M2: 0.0}
    for _ in range(m[State.M0]):
        flows[State.M0] += (-to_m1 - to_m2 + renewal) * d
        flows[State.M1] += to_m1 * d
        flows[State.M2] += to_m2 * d
    for _ in range(m[State.M1]):
        flows[State.M1] += (prolif - loss - resolution) * d
        flows[State.M0] += resolution * d
    for _ in range(m[State.M2]):
        flows[State.M2] += (prolif - loss - resolution - m2_to_m1) * d
        flows[State.M1] += m2_to_m1 * d
        flows[State.M0] += resolution * d
    out.update(flows)
    out[State.AST] = k.astrocyte_reactivity_rate(y[State.AST], b_ast, chi, y[State.M1], p)
    out[State.ESOD] = released - p[Param.esod_clearance] * y[State.ESOD]
    return out


def test_assembling_identical_cells_gives_the_mean_field_rhs():
    """Eight identical cells per unit density, each running its own kernels on the levels that
    their summed secretion makes, move the population exactly as the assembled right-hand side."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        p = typical()
        y = asm.initial_state()
        y[[State.S_MN, State.S_AST, State.S_MG, State.AST]] = rng.uniform(0, 0.8, 4)
        y[[State.M0, State.M1, State.M2]] = rng.integers(1, 12, 3) / 8.0
        y[State.ESOD] = rng.uniform(0, 2)
        y[[State.A_FF, State.A_FR, State.A_S]] = rng.uniform(0.5, 1.0, 3)
        y[[State.N_FF, State.N_FR, State.N_S]] = y[[State.A_FF, State.A_FR, State.A_S]] * rng.uniform(0.3, 1.0, 3)
        dy = np.empty(asm.N_STATES)
        asm.animal_rhs(0.0, y, p, dy, np.empty(asm.N_SIGNALS))
        for state, value in _population_rhs(y, p).items():
            np.testing.assert_allclose(value, dy[state], rtol=1e-10, atol=1e-13, err_msg=State(state).name)


@njit(parallel=True, cache=True)
def _every_kernel(P, L, out):
    """Each cell: random parameters (P) and random local state/levels (L); every kernel's outputs."""
    for i in prange(P.shape[0]):
        p = P[i]
        x = L[i]
        o = out[i]
        b = k.mutant_burden(x[0], p[Param.mut_expr_mn], p[Param.soluble_mutant_share])
        o[0] = k.motor_neuron_misfolding(x[0], p)
        o[1] = k.astrocyte_misfolding(x[1], p)
        o[2] = k.microglia_misfolding(x[2], p)
        supp = k.il10_suppression(x[3], p)
        o[3] = supp
        o[4] = k.cytokine_signal(x[4], x[5], p)
        o[5], o[6], o[7], o[8] = k.proinflammatory_microglia_secretion(b, supp, p)
        o[9], o[10] = k.protective_microglia_secretion(p)
        o[11], o[12], o[13], o[14], o[15] = k.microglia_state_rates(b, x[6], x[7], x[8], o[4], supp, p)
        room = k.microglia_room(x[9], p)
        o[16] = room
        o[17] = k.microglia_proliferation(o[15], room, p)
        o[18] = k.microglia_recruitment(x[8], room, p)
        o[19], o[20] = k.microglia_turnover(x[9], p)
        a1 = k.a1_share(k.contact_density(x[9], p), p)
        o[21], o[22], o[23], o[24] = k.astrocyte_secretion(x[10], b, a1, supp, p)
        o[25] = k.astrocyte_glutamate_uptake(x[10], p)
        o[26] = k.glutamate_excess(o[25])
        sel, infl = k.motor_neuron_stress(b, x[11], o[4], 1.0 + x[12], o[26], x[3], p)
        o[27] = sel
        o[28] = infl
        o[29], o[30] = k.motor_neuron_hazards(k.unit_stress(sel, infl, p[Param.vulnerability_ratio_s], p),
                                              p[Param.vulnerability_ratio_s], p)
        o[31], o[32] = k.motor_neuron_release(x[13], x[14], x[0], p)
        o[33] = k.interneuron_hazard(x[11], o[4], 1.0 + x[12], o[26], x[3], p)
        o[34] = k.corticospinal_hazard(b, x[10], x[9], p)
        # net rates (may be negative): reactivity, misfolding, reinnervation, muscle
        o[35] = k.astrocyte_reactivity_rate(x[10], b, o[4], x[9], p)
        o[36] = k.reinnervation_rate(x[13], x[14], 0.1, p[Param.sprouting_rate], x[6])
        o[37] = k.muscle_rate(x[1], x[2], p)
        o[38] = k.body_weight(300.0 * x[5], x[1], p)


def test_every_kernel_is_finite_and_non_negative_over_random_in_range_cells():
    """10^5 cells in a compiled parallel loop: random parameters within each parameter's range and
    random local states and levels; every rate and secretion is finite, and all but the net rates
    are non-negative."""
    n = 100_000
    rng = np.random.default_rng(11)
    lo = np.array([q.range[0] for q in prm.PARAMETERS])
    hi = np.array([q.range[1] for q in prm.PARAMETERS])
    P = lo + (hi - lo) * rng.random((n, prm.N_PARAMS))
    P[:, Param.adult_weight] = rng.uniform(15.0, 35.0, n)
    P[:, Param.share_fr] = np.minimum(P[:, Param.share_fr], 1.0 - P[:, Param.share_ff])
    L = rng.random((n, 15)) * np.array([1, 1, 1, 20, 50, 50, 10, 5, 20, 3, 1, 20, 30, 1, 1])
    out = np.full((n, 39), np.nan)
    _every_kernel(P, L, out)
    assert np.isfinite(out).all()
    net = [0, 1, 2, 19, 35, 36, 37]  # misfolding, surveillant renewal, reactivity, reinnervation, muscle
    assert (np.delete(out, net, axis=1) >= 0.0).all()
