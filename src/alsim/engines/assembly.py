"""The mean-field assembler: per-cell kernels turned into the right-hand side of one compartment.

One compartment is a well-mixed tissue: the lumbar spinal cord of one animal
(with its hindlimb muscles and a corticospinal pool), or one culture well.
Cell populations are densities (wild-type ventral horn = 1) or surviving and
innervated fractions; the assembler owns space, so it does what kernels
never do (DESIGN.md, "the kernel contract"):

- sums each species' secretion over the cell populations (per-cell
  secretion times density) and holds the fast species at quasi-steady
  state, level = summed secretion / decay rate (cytokines live minutes, the
  disease months; this removes the stiffness, DESIGN.md "Numerics");
- applies the contact saturation of microglial insults and turns motor-unit
  shares into population fluxes;
- treats a culture well as a compartment of its own: glia at the well's
  plating density (or absent), no muscle, no recruitment from blood, no
  corticospinal pool, and the astrocyte factor accumulating in the medium
  instead of being cleared from tissue (Nagai et al. 2007 Nat Neurosci).

The state vector (``State``) and the reporters each compartment writes
(``biology.model.REPORTERS``) are named; nothing is addressed by position.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

import numpy as np
from numba import njit, types

from .._numba_cache import drop_stale
from ..biology import kernels as k
from ..biology.model import REPORTER_NAMES
from ..biology.parameters import Param


def _probe():
    """Locates this module's Numba cache (see ``alsim._numba_cache``)."""


drop_stale(_probe, [Path(k.__file__).with_name(f) for f in ("kernels.py", "model.py", "parameters.py",
                                                            "parameters.yaml")])

STATE_DESCRIPTIONS = {
    "S_MN": "misfolded mutant SOD1 load in motor neurons (0-1)",
    "S_AST": "misfolded mutant SOD1 load in astrocytes (0-1)",
    "S_MG": "misfolded mutant SOD1 load in microglia (0-1)",
    "M0": "surveillant microglia (density; wild type = 1)",
    "M1": "pro-inflammatory microglia (density)",
    "M2": "protective microglia (density)",
    "AST": "reactive fraction of astrocytes (0-1)",
    "ESOD": "extracellular misfolded SOD1 released by dying motor neurons (a.u.)",
    "A_FF": "surviving fraction of FF lumbar alpha-MNs",
    "A_FR": "surviving fraction of FR lumbar alpha-MNs",
    "A_S": "surviving fraction of S lumbar alpha-MNs",
    "N_FF": "fraction of FF endplates innervated by their own axon",
    "N_FR": "fraction of FR endplates innervated by their own axon",
    "N_S": "fraction of S endplates innervated by their own axon",
    "REINN": "fraction of all endplates held by collateral sprouts",
    "MUSCLE": "innervation-sustained muscle mass (1 = fully innervated adult)",
    "UMN": "surviving fraction of corticospinal (upper) motor neurons",
    "A_IN": "surviving fraction of ventral-horn (or cultured) interneurons",
    "TF_MEDIUM": "astrocyte toxic factor accumulated in culture medium (a.u.; wells only)",
}
State = IntEnum("State", {n: i for i, n in enumerate(STATE_DESCRIPTIONS)}, module=__name__, qualname="State")
STATE_NAMES = tuple(STATE_DESCRIPTIONS)
N_STATES = len(STATE_NAMES)

# Quasi-steady tissue signals and hazards of one evaluation (the scratch array ``work``).
SIGNAL_NAMES = (
    "tnf_pgml", "il1b_pgml", "mcp1_pgml", "il10_pgml", "il4_pgml", "ros_fold", "toxic_factor",
    "glutamate_excess", "mn_stress", "damage_signal", "il10_suppression", "cytokine_signal",
    "withdrawal_ff", "withdrawal_fr", "withdrawal_s", "apoptosis_ff", "apoptosis_fr", "apoptosis_s",
    "apoptosis_interneuron", "burden_mn", "burden_astrocyte", "burden_microglia",
    "il10_excess", "il4_excess", "mcp1_excess", "withdrawal_flux", "death_flux",
)
Signal = IntEnum("Signal", {n: i for i, n in enumerate(SIGNAL_NAMES)}, module=__name__, qualname="Signal")
N_SIGNALS = len(SIGNAL_NAMES)
Reporter = IntEnum("Reporter", {n: i for i, n in enumerate(REPORTER_NAMES)}, module=__name__, qualname="Reporter")
N_REPORTERS = len(REPORTER_NAMES)

# Compartments a cohort can be made of.
ANIMAL, WELL = 0, 1
COMPARTMENTS = {"animal": ANIMAL, "well": WELL}

_vec = types.float64[::1]
RHS_SIGNATURE = types.void(types.float64, _vec, _vec, _vec, _vec)      # (t, y, p, dy, work)
EVENT_SIGNATURE = types.float64(_vec, _vec)                            # (y, p) -> crossing margin
NOISE_SIGNATURE = types.void(_vec, _vec, _vec)                         # (y, p, amplitude)
OBSERVER_SIGNATURE = types.void(types.float64, _vec, _vec, _vec, _vec)  # (t, y, p, work, obs)


# ------------------------------------------------------------ the motor pool
@njit(cache=True, inline="always")
def unit_shares(p):
    """Shares of FF, FR and S units among lumbar alpha-MNs and endplates."""
    sh_ff = p[Param.share_ff]
    sh_fr = p[Param.share_fr]
    return sh_ff, sh_fr, 1.0 - sh_ff - sh_fr


@njit(cache=True, inline="always")
def innervated_total(y, p):
    """Fraction of all endplates innervated (own axons plus collateral sprouts)."""
    sh_ff, sh_fr, sh_s = unit_shares(p)
    return sh_ff * y[State.N_FF] + sh_fr * y[State.N_FR] + sh_s * y[State.N_S] + y[State.REINN]


@njit(cache=True, inline="always")
def death_flux(y, p, ap_ff, ap_fr, ap_s):
    """Fraction of all alpha-MNs entering apoptosis per day.

    Dying back (Fischer et al. 2004 Exp Neurol; Gould et al. 2006 J Neurosci):
    only MNs whose axon has already withdrawn from muscle (A - N) lose target
    support and die, by the Bax-dependent hazard ``ap_*``.
    """
    sh_ff, sh_fr, sh_s = unit_shares(p)
    return (sh_ff * ap_ff * (y[State.A_FF] - y[State.N_FF]) + sh_fr * ap_fr * (y[State.A_FR] - y[State.N_FR])
            + sh_s * ap_s * (y[State.A_S] - y[State.N_S]))


# --------------------------------------------------- quasi-steady signals
@njit(cache=True, inline="always")
def compartment_signals(y, p, mg_density, ast_density, a1_baseline, from_medium, work):
    """Tissue levels and per-type hazards of one compartment into ``work``.

    ``mg_density``/``ast_density`` scale the glial populations (1 in an
    animal; plating density, or 0 when absent, in a well); ``a1_baseline`` is
    the share of astrocytes already in the neurotoxic state (serum-grown
    culture astrocytes); ``from_medium`` (0 or 1: a well) takes the toxic factor from
    the medium state instead of its tissue steady state, and adds the basal death of
    plated neurons.
    """
    m1 = y[State.M1] * mg_density
    m2 = y[State.M2] * mg_density
    reactive = y[State.AST]
    soluble = p[Param.soluble_mutant_share]
    b_mn = k.mutant_burden(y[State.S_MN], p[Param.mut_expr_mn], soluble)
    b_ast = k.mutant_burden(y[State.S_AST], p[Param.mut_expr_ast], soluble)
    b_mg = k.mutant_burden(y[State.S_MG], p[Param.mut_expr_mg], soluble)
    tnf_wt, il1_wt, il10_wt, il4_wt, mcp_wt = k.reference_levels(p)
    tnf_b, il1_b, mcp_b, il10_b, il4_b, ros_b = k.basal_secretion(p)

    # protective microglia set IL-10/IL-4, and IL-10 damps the pro-inflammatory output
    il10_m2, il4_m2 = k.protective_microglia_secretion(p)
    il10 = k.quasi_steady(il10_b + il10_m2 * m2, p[Param.il10_half_life])
    il4 = k.quasi_steady(il4_b + il4_m2 * m2, p[Param.il4_half_life])
    il10_ex = k.fold_excess(il10, il10_wt)
    supp = k.il10_suppression(il10_ex, p)
    tnf_m1, il1_m1, mcp_m1, ros_m1 = k.proinflammatory_microglia_secretion(b_mg, supp, p)
    contact = k.contact_density(m1, p)
    a1 = a1_baseline + (1.0 - a1_baseline) * k.a1_share(contact, p)
    tnf_a, il1_a, mcp_a, tf_a = k.astrocyte_secretion(reactive, b_ast, a1, supp, p)
    tnf = k.quasi_steady(tnf_b + tnf_m1 * m1 + tnf_a * ast_density, p[Param.tnf_half_life])
    il1 = k.quasi_steady(il1_b + il1_m1 * m1 + il1_a * ast_density, p[Param.il1b_half_life])
    mcp = k.quasi_steady(mcp_b + mcp_a * ast_density + mcp_m1 * m1, p[Param.mcp1_half_life])
    ros_k = k.decay_rate(p[Param.ros_half_life]) * k.MIN_PER_DAY
    ros = (ros_b + ros_m1 * contact) / ros_k
    tf_k = k.decay_rate(p[Param.toxic_factor_tissue_half_life]) * k.H_PER_DAY
    tf = k.select(from_medium > 0.5, y[State.TF_MEDIUM], tf_a * ast_density / tf_k)
    uptake = 1.0 - ast_density * (1.0 - k.astrocyte_glutamate_uptake(reactive, p))
    glu = k.glutamate_excess(uptake)
    chi = k.cytokine_signal(k.fold_excess(tnf, tnf_wt), k.fold_excess(il1, il1_wt), p)

    # motor neurons: stress and hazards per unit type, then the pool's fluxes
    sel, infl = k.motor_neuron_stress(b_mn, tf, chi, ros, glu, il10_ex, p)
    wd_ff, ap_ff = k.motor_neuron_hazards(k.unit_stress(sel, infl, 1.0, p), 1.0, p)
    r_fr = p[Param.vulnerability_ratio_fr]
    wd_fr, ap_fr = k.motor_neuron_hazards(k.unit_stress(sel, infl, r_fr, p), r_fr, p)
    r_s = p[Param.vulnerability_ratio_s]
    wd_s, ap_s = k.motor_neuron_hazards(k.unit_stress(sel, infl, r_s, p), r_s, p)
    basal = from_medium * k.trophic_deprivation_hazard(p)  # plated neurons lack target support
    ap_ff += basal
    ap_fr += basal
    ap_s += basal
    sh_ff, sh_fr, sh_s = unit_shares(p)
    withdrawn = sh_ff * wd_ff * y[State.N_FF] + sh_fr * wd_fr * y[State.N_FR] + sh_s * wd_s * y[State.N_S]
    dying = death_flux(y, p, ap_ff, ap_fr, ap_s)
    damage_secreted, _ = k.motor_neuron_release(withdrawn, dying, y[State.S_MN], p)
    damage = damage_secreted / (k.decay_rate(p[Param.damage_half_life]) * k.MIN_PER_DAY)

    work[Signal.tnf_pgml] = tnf
    work[Signal.il1b_pgml] = il1
    work[Signal.mcp1_pgml] = mcp
    work[Signal.il10_pgml] = il10
    work[Signal.il4_pgml] = il4
    work[Signal.ros_fold] = ros
    work[Signal.toxic_factor] = tf
    work[Signal.glutamate_excess] = glu
    work[Signal.mn_stress] = sel + infl
    work[Signal.damage_signal] = damage
    work[Signal.il10_suppression] = supp
    work[Signal.cytokine_signal] = chi
    work[Signal.withdrawal_ff] = wd_ff
    work[Signal.withdrawal_fr] = wd_fr
    work[Signal.withdrawal_s] = wd_s
    work[Signal.apoptosis_ff] = ap_ff
    work[Signal.apoptosis_fr] = ap_fr
    work[Signal.apoptosis_s] = ap_s
    work[Signal.apoptosis_interneuron] = k.interneuron_hazard(tf, chi, ros, glu, il10_ex, p) + basal
    work[Signal.burden_mn] = b_mn
    work[Signal.burden_astrocyte] = b_ast
    work[Signal.burden_microglia] = b_mg
    work[Signal.il10_excess] = il10_ex
    work[Signal.il4_excess] = k.fold_excess(il4, il4_wt)
    work[Signal.mcp1_excess] = k.fold_excess(mcp, mcp_wt)
    work[Signal.withdrawal_flux] = withdrawn
    work[Signal.death_flux] = dying


# ----------------------------------------------------------------- the ODE
@njit(cache=True, inline="always")
def compartment_rhs(y, p, mg_density, ast_density, a1_baseline, in_culture, dy, work):
    """d(state)/dt [1/day] of one compartment (``in_culture`` 0: animal, 1: well)."""
    compartment_signals(y, p, mg_density, ast_density, a1_baseline, in_culture, work)
    in_animal = 1.0 - in_culture

    # C2: misfolded mutant SOD1 per cell type
    dy[State.S_MN] = k.motor_neuron_misfolding(y[State.S_MN], p)
    dy[State.S_AST] = k.astrocyte_misfolding(y[State.S_AST], p)
    dy[State.S_MG] = k.microglia_misfolding(y[State.S_MG], p)

    # C3/C5/C7: microglial states, proliferation, turnover and recruitment
    m0 = y[State.M0]
    m1 = y[State.M1]
    m2 = y[State.M2]
    density = m0 + m1 + m2
    damage = work[Signal.damage_signal]
    to_m1, to_m2, m2_to_m1, resolution, activating = k.microglia_state_rates(
        work[Signal.burden_microglia], damage, y[State.ESOD], work[Signal.il4_excess],
        work[Signal.cytokine_signal], work[Signal.il10_suppression], p)
    a1 = to_m1 * m0
    a2 = to_m2 * m0
    c21 = m2_to_m1 * m2
    r1 = resolution * m1
    r2 = resolution * m2
    room = k.microglia_room(density, p)
    prolif = k.microglia_proliferation(activating, room, p)
    renewal, loss = k.microglia_turnover(density, p)
    recruited = k.microglia_recruitment(work[Signal.mcp1_excess], room, p) * in_animal
    dy[State.M0] = -a1 - a2 + r1 + r2 + renewal * m0 + recruited
    dy[State.M1] = a1 + c21 - r1 + (prolif - loss) * m1
    dy[State.M2] = a2 - c21 - r2 + (prolif - loss) * m2

    # C3: astrocyte reactivity
    dy[State.AST] = k.astrocyte_reactivity_rate(y[State.AST], work[Signal.burden_astrocyte],
                                                work[Signal.cytokine_signal], m1, p)

    # C1/C6: dying back - connected axons withdraw (Bax-independent), disconnected somas die (Bax)
    dy[State.A_FF] = -work[Signal.apoptosis_ff] * (y[State.A_FF] - y[State.N_FF])
    dy[State.A_FR] = -work[Signal.apoptosis_fr] * (y[State.A_FR] - y[State.N_FR])
    dy[State.A_S] = -work[Signal.apoptosis_s] * (y[State.A_S] - y[State.N_S])
    wd_ff = work[Signal.withdrawal_ff]
    wd_fr = work[Signal.withdrawal_fr]
    wd_s = work[Signal.withdrawal_s]
    dy[State.N_FF] = -wd_ff * y[State.N_FF]
    dy[State.N_FR] = -wd_fr * y[State.N_FR]
    dy[State.N_S] = -wd_s * y[State.N_S]

    # collateral reinnervation by the pool's surviving axons (FF axons sprout less)
    sh_ff, sh_fr, sh_s = unit_shares(p)
    w_ff = sh_ff * y[State.N_FF] * p[Param.sprouting_from_ff]
    w_fr = sh_fr * y[State.N_FR]
    w_s = sh_s * y[State.N_S]
    w_sum = w_ff + w_fr + w_s
    parent_loss = k.ratio_or_zero(w_ff * wd_ff + w_fr * wd_fr + w_s * wd_s, w_sum, 1e-12)
    connected = sh_ff * y[State.N_FF] + sh_fr * y[State.N_FR] + sh_s * y[State.N_S]
    orphaned = k.positive(1.0 - connected - y[State.REINN])
    dy[State.REINN] = k.reinnervation_rate(orphaned, y[State.REINN], p[Param.sprouting_cap] * w_sum,
                                           p[Param.sprouting_rate], parent_loss)
    dy[State.MUSCLE] = k.muscle_rate(y[State.MUSCLE], connected + y[State.REINN], p)

    # misfolded SOD1 spilled by dying MNs, cleared by microglia over days
    _, released = k.motor_neuron_release(work[Signal.withdrawal_flux], work[Signal.death_flux], y[State.S_MN], p)
    dy[State.ESOD] = released - p[Param.esod_clearance] * y[State.ESOD]

    dy[State.UMN] = -k.corticospinal_hazard(work[Signal.burden_mn], y[State.AST], m1, p) * y[State.UMN] * in_animal
    dy[State.A_IN] = -work[Signal.apoptosis_interneuron] * y[State.A_IN]

    # C4: in a well the astrocyte factor accumulates in the medium (Nagai et al. 2007)
    contact = k.contact_density(m1 * mg_density, p)
    a1_share = a1_baseline + (1.0 - a1_baseline) * k.a1_share(contact, p)
    _, _, _, made = k.astrocyte_secretion(y[State.AST], work[Signal.burden_astrocyte], a1_share,
                                          work[Signal.il10_suppression], p)
    dy[State.TF_MEDIUM] = in_culture * (made * ast_density
                                        - k.decay_rate(p[Param.medium_half_life]) * y[State.TF_MEDIUM])


@njit(cache=True, inline="always")
def well_glia(p):
    """(microglial density, astrocyte density, A1 baseline) of a culture well."""
    d = p[Param.culture_glia_density]
    return (d * p[Param.microglia_present], d * p[Param.astrocytes_present],
            p[Param.culture_astrocyte_neurotoxic_fraction])


@njit(RHS_SIGNATURE, cache=True)
def animal_rhs(t, y, p, dy, work):
    """d(state)/dt [1/day] of one animal's lumbar cord, muscles and corticospinal pool."""
    compartment_rhs(y, p, 1.0, 1.0, 0.0, 0.0, dy, work)


@njit(RHS_SIGNATURE, cache=True)
def well_rhs(t, y, p, dy, work):
    """d(state)/dt [1/day] of one culture well."""
    mg, ast, a1 = well_glia(p)
    compartment_rhs(y, p, mg, ast, a1, 1.0, dy, work)


@njit(EVENT_SIGNATURE, cache=True)
def end_stage_margin(y, p):
    """Innervated fraction above the righting-reflex threshold (end stage where it crosses 0;
    Solomon et al. 2011 PLoS One)."""
    return innervated_total(y, p) - p[Param.righting_threshold]


@njit(NOISE_SIGNATURE, cache=True)
def misfolding_noise(y, p, amplitude):
    """Within-animal noise amplitude per sqrt(day): multiplicative ``misfold_noise * sqrt(load)``
    on the three misfolded-SOD1 loads (stochastic nucleation and fibrillization; Abdolvahabi
    et al. 2017), zero elsewhere."""
    sigma = p[Param.misfold_noise]
    for i in range(amplitude.shape[0]):
        amplitude[i] = 0.0
    amplitude[State.S_MN] = sigma * np.sqrt(k.positive(y[State.S_MN]))
    amplitude[State.S_AST] = sigma * np.sqrt(k.positive(y[State.S_AST]))
    amplitude[State.S_MG] = sigma * np.sqrt(k.positive(y[State.S_MG]))


def state_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of every state (amounts are non-negative; loads at most 1)."""
    lower = np.zeros(N_STATES)
    upper = np.full(N_STATES, np.inf)
    upper[[State.S_MN, State.S_AST, State.S_MG]] = 1.0
    return lower, upper


# ------------------------------------------------------------- reporters
@njit(cache=True, inline="always")
def compartment_observe(t, y, p, mg_density, ast_density, a1_baseline, in_culture, work, obs):
    """What a lab would measure on the compartment at age t, into ``obs`` (one slot per reporter)."""
    compartment_signals(y, p, mg_density, ast_density, a1_baseline, in_culture, work)
    sh_ff, sh_fr, sh_s = unit_shares(p)
    orphaned = sh_ff * (1.0 - y[State.N_FF]) + sh_fr * (1.0 - y[State.N_FR]) + sh_s * (1.0 - y[State.N_S])
    rho = k.at_most(k.ratio_or_zero(y[State.REINN], orphaned, 1e-12), 1.0)
    alpha = sh_ff * y[State.A_FF] + sh_fr * y[State.A_FR] + sh_s * y[State.A_S]
    gamma = p[Param.gamma_share_chat]
    obs[Reporter.body_weight_g] = k.body_weight(t, y[State.MUSCLE], p)
    obs[Reporter.motor_function] = innervated_total(y, p)
    obs[Reporter.innervated_ff] = y[State.N_FF] + rho * (1.0 - y[State.N_FF])
    obs[Reporter.innervated_fr] = y[State.N_FR] + rho * (1.0 - y[State.N_FR])
    obs[Reporter.innervated_s] = y[State.N_S] + rho * (1.0 - y[State.N_S])
    obs[Reporter.alpha_mn_surviving] = alpha
    obs[Reporter.chat_mn_surviving] = gamma + (1.0 - gamma) * alpha
    obs[Reporter.umn_surviving] = y[State.UMN]
    obs[Reporter.microgliosis_index] = y[State.M0] + p[Param.microgliosis_index_activated_weight] * (
        y[State.M1] + y[State.M2])
    obs[Reporter.astrogliosis_index] = 1.0 + p[Param.astrogliosis_index_gain] * y[State.AST]
    obs[Reporter.tnf_pgml] = work[Signal.tnf_pgml]
    obs[Reporter.il1b_pgml] = work[Signal.il1b_pgml]
    obs[Reporter.mcp1_pgml] = work[Signal.mcp1_pgml]
    obs[Reporter.il10_pgml] = work[Signal.il10_pgml]
    obs[Reporter.il4_pgml] = work[Signal.il4_pgml]
    obs[Reporter.ros_fold] = work[Signal.ros_fold]
    obs[Reporter.toxic_factor] = work[Signal.toxic_factor]
    obs[Reporter.mn_stress] = work[Signal.mn_stress]
    # apoptotic MNs stay visible ~caspase_to_death_h before they vanish
    dying = k.positive(work[Signal.death_flux])
    obs[Reporter.apoptotic_fraction] = k.ratio_or_zero(dying * p[Param.caspase_to_death_h] / k.H_PER_DAY,
                                                       alpha, 1e-12)
    obs[Reporter.misfolded_sod1_mn] = y[State.S_MN]
    obs[Reporter.misfolded_sod1_astrocyte] = y[State.S_AST]
    obs[Reporter.misfolded_sod1_microglia] = y[State.S_MG]
    obs[Reporter.microglia_surveillant] = y[State.M0]
    obs[Reporter.microglia_proinflammatory] = y[State.M1]
    obs[Reporter.microglia_protective] = y[State.M2]
    obs[Reporter.astrocyte_reactive_fraction] = y[State.AST]
    obs[Reporter.muscle_mass] = y[State.MUSCLE]
    obs[Reporter.interneurons_surviving] = y[State.A_IN]
    obs[Reporter.toxic_factor_medium] = y[State.TF_MEDIUM]


@njit(OBSERVER_SIGNATURE, cache=True)
def animal_observe(t, y, p, work, obs):
    """Reporters of one animal at age t."""
    compartment_observe(t, y, p, 1.0, 1.0, 0.0, 0.0, work, obs)


@njit(OBSERVER_SIGNATURE, cache=True)
def well_observe(t, y, p, work, obs):
    """Reporters of one culture well at day t in vitro."""
    mg, ast, a1 = well_glia(p)
    compartment_observe(t, y, p, mg, ast, a1, 1.0, work, obs)


MODELS = {ANIMAL: (animal_rhs, animal_observe), WELL: (well_rhs, well_observe)}


def initial_state() -> np.ndarray:
    """An animal at birth: no misfolded SOD1, surveillant microglia, all MNs and endplates intact."""
    y = np.zeros(N_STATES)
    y[State.M0] = 1.0
    y[[State.A_FF, State.A_FR, State.A_S, State.N_FF, State.N_FR, State.N_S, State.MUSCLE, State.UMN,
       State.A_IN]] = 1.0
    return y


def well_initial_state(microglia: bool, medium_factor: float = 0.0) -> np.ndarray:
    """A freshly plated well: MNs and interneurons without muscle targets (N = 0), surveillant
    microglia if plated, and the toxic factor the medium brings."""
    y = initial_state()
    y[[State.N_FF, State.N_FR, State.N_S, State.MUSCLE]] = 0.0
    y[State.M0] = 1.0 if microglia else 0.0
    y[State.TF_MEDIUM] = medium_factor
    return y
