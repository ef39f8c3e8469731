"""Per-cell kernels: what one cell does, given its own state and the concentrations where it stands.

The kernel contract (DESIGN.md): a kernel takes one cell's state, the local
concentrations it sees and the flat parameter array ``p``; it returns that
cell's rates (state changes, hazards) and what it secretes or takes up per
unit time. A kernel never computes a tissue concentration, never counts
cells and knows nothing of animal or culture: whoever owns space does that
(the mean-field assembler in ``engines.assembly`` sums secretion into
quasi-steady tissue levels and treats a culture well as one more compartment;
a spatial engine puts secretion into voxels).

Units. Cytokine secretion is in pg/mL/min per unit cell density (the density
of the cell type in wild-type ventral horn = 1); other signals are in
"level" units (fold of wild type or a.u.) per day per unit density. A
species' quasi-steady level is its summed secretion divided by its decay
rate (``decay_rate`` of ``species``), so the same kernel feeds both engines.

Kernels are branch-free: every value-dependent choice goes through the
primitives below (``hill``, ``positive``, ``at_least``, ``at_most``,
``select``, ``fold_excess``, ``ratio_or_zero``), so that ``io.sbml`` can trace
the same functions with symbols and export the model without a second
transcription of its equations. Parameters are read by name through the
``Param`` enumeration (Numba folds each index to a constant).

Every kernel names the claim (C1-C8 of the design brief) or the paper it
implements.
"""

from __future__ import annotations

import math
from pathlib import Path

from numba import njit

from .._numba_cache import drop_stale

from .parameters import Param


def _probe():
    """Locates this module's Numba cache (see ``alsim._numba_cache``)."""


drop_stale(_probe, [Path(__file__).with_name("parameters.yaml"), Path(__file__).with_name("parameters.py")])

LN2 = math.log(2.0)
MIN_PER_DAY = 1440.0
H_PER_DAY = 24.0


# ------------------------------------------------------------------ primitives
@njit(cache=True, inline="always")
def positive(x):
    """max(x, 0)."""
    return x if x > 0.0 else 0.0


@njit(cache=True, inline="always")
def at_least(x, low):
    """max(x, low)."""
    return x if x > low else low


@njit(cache=True, inline="always")
def at_most(x, high):
    """min(x, high)."""
    return x if x < high else high


@njit(cache=True, inline="always")
def select(condition, if_true, if_false):
    """``if_true`` where ``condition`` holds, else ``if_false`` (both already evaluated)."""
    return if_true if condition else if_false


@njit(cache=True, inline="always")
def ratio_or_zero(numerator, denominator, eps):
    """numerator / denominator, or 0 when the denominator is at most ``eps``."""
    return numerator / denominator if denominator > eps else 0.0


@njit(cache=True, inline="always")
def hill(x, k, n):
    """Saturating activation x^n / (x^n + k^n) of a non-negative signal (0 for x <= 0).

    Computed as 1 / (1 + (k/x)^n): one power instead of two (powers are about half the cost of
    a right-hand-side evaluation; docs/performance.md).
    """
    if x <= 0.0:
        return 0.0
    return 1.0 / (1.0 + (k / x) ** n)


@njit(cache=True, inline="always")
def fold_excess(value, reference):
    """Fold change above a reference (wild-type) level, floored at zero; 0 without a reference."""
    if reference <= 0.0:
        return 0.0
    e = value / reference - 1.0
    return e if e > 0.0 else 0.0


@njit(cache=True, inline="always")
def saturating(x, k):
    """x / (1 + x/k): linear for x << k, levelling off at k (occupancy of a limited target)."""
    return x / (1.0 + x / k)


# ------------------------------------------------------------ soluble species
@njit(cache=True, inline="always")
def decay_rate(half_life):
    """First-order decay rate [1/(unit of the half-life)] of a species with half-life ``half_life``."""
    return LN2 / half_life


@njit(cache=True, inline="always")
def quasi_steady(secretion, half_life):
    """Level at quasi-steady state, c = secretion t_half / ln 2 (first-order clearance)."""
    return secretion * half_life / LN2


@njit(cache=True, inline="always")
def reference_levels(p):
    """Wild-type tissue levels of TNF-alpha, IL-1beta, IL-10, IL-4 and MCP-1 [pg/mL].

    What basal production alone sustains (Hensley et al. 2003 Neurobiol Dis;
    Henkel et al. 2006 Ann Neurol): the denominators of every fold change.
    """
    return (quasi_steady(p[Param.tnf_basal_production], p[Param.tnf_half_life]),
            quasi_steady(p[Param.il1b_basal_production], p[Param.il1b_half_life]),
            quasi_steady(p[Param.il10_basal_production], p[Param.il10_half_life]),
            quasi_steady(p[Param.il4_basal_production], p[Param.il4_half_life]),
            quasi_steady(p[Param.mcp1_basal_production], p[Param.mcp1_half_life]))


@njit(cache=True, inline="always")
def basal_secretion(p):
    """Basal tissue secretion of TNF-alpha, IL-1beta, MCP-1, IL-10, IL-4 [pg/mL/min] and of
    reactive species [fold of wild type per day]: what healthy resident cells release.

    Each cytokine's share goes with its gene dose (a knockout makes none: TNF-alpha, Gowing
    et al. 2006 J Neurosci; IL-1beta, Meissner et al. 2010 PNAS).
    """
    return (p[Param.tnf_gene_dose] * p[Param.tnf_basal_production],
            p[Param.il1b_gene_dose] * p[Param.il1b_basal_production],
            p[Param.ccl2_gene_dose] * p[Param.mcp1_basal_production],
            p[Param.il10_gene_dose] * p[Param.il10_basal_production], p[Param.il4_basal_production],
            decay_rate(p[Param.ros_half_life]) * MIN_PER_DAY)


# ---------------------------------------------------------- every cell: SOD1
@njit(cache=True, inline="always")
def misfolding_rate(load, expression, nucleation, growth, clearance):
    """d(load)/dt of misfolded mutant SOD1 in one cell [1/day].

    Nucleation (pseudo-zeroth order) plus autocatalytic templated growth,
    saturating at full load, minus proteostatic clearance (Workman 2020 Mol
    Cell Biochem; claim C2: the load is tracked per cell type and set by the
    genotype's expression in that cell type).
    """
    return expression * (nucleation + growth * load) * (1.0 - load) - clearance * load


@njit(cache=True, inline="always")
def motor_neuron_misfolding(load, p):
    """Misfolding rate [1/day] in a motor neuron (C2)."""
    return misfolding_rate(load, p[Param.mut_expr_mn], p[Param.misfold_nucleation],
                           p[Param.misfold_growth], p[Param.misfold_clearance])


@njit(cache=True, inline="always")
def astrocyte_misfolding(load, p):
    """Misfolding rate [1/day] in an astrocyte: templated growth scaled by ``misfold_rel_ast`` (C2)."""
    return misfolding_rate(load, p[Param.mut_expr_ast], p[Param.misfold_nucleation],
                           p[Param.misfold_growth] * p[Param.misfold_rel_ast], p[Param.misfold_clearance])


@njit(cache=True, inline="always")
def microglia_misfolding(load, p):
    """Misfolding rate [1/day] in a microglial cell: templated growth scaled by ``misfold_rel_mg`` (C2)."""
    return misfolding_rate(load, p[Param.mut_expr_mg], p[Param.misfold_nucleation],
                           p[Param.misfold_growth] * p[Param.misfold_rel_mg], p[Param.misfold_clearance])


@njit(cache=True, inline="always")
def mutant_burden(load, expression, soluble_share):
    """Toxic mutant SOD1 burden of a cell: misfolded load plus a share of soluble mutant protein.

    Soluble mutant SOD1 already gains toxic functions before aggregates form
    (NOX2 regulation, Harraz et al. 2008 J Clin Invest; astrocytes from
    neonatal or ES-derived mutant cultures are toxic, Nagai et al. 2007).
    """
    return load + soluble_share * expression


# ------------------------------------------------- receiving cells: receptors
@njit(cache=True, inline="always")
def il10_suppression(il10_excess, p):
    """Factor (0-1] by which IL-10 at the cell lowers its TNF-alpha/IL-1beta output and its
    pro-inflammatory activation (Moore et al. 2001 Annu Rev Immunol)."""
    return 1.0 / (1.0 + il10_excess / p[Param.il10_suppression_k])


@njit(cache=True, inline="always")
def cytokine_signal(tnf_excess, il1b_excess, p):
    """TNF-alpha + IL-1beta signal a cell receives through saturable receptors.

    Both act through NF-kB on receptors that saturate, so one stands in for
    the other (TNF-alpha deletion changes nothing: Gowing et al. 2006 J Neurosci).
    """
    return saturating(tnf_excess + il1b_excess, p[Param.cytokine_receptor_saturation])


# ---------------------------------------------------------------- microglia
@njit(cache=True, inline="always")
def proinflammatory_microglia_secretion(burden, il10_suppression_factor, p):
    """Secretion of one pro-inflammatory (M1) microglial cell: (TNF-alpha, IL-1beta, MCP-1
    [pg/mL/min per unit density]; NOX2-derived reactive species [fold of wild type per day]).

    Pro-inflammatory microglia release TNF-alpha, IL-1beta (Hensley et al. 2003
    Neurobiol Dis 14:74) and MCP-1 (Sargsyan et al. 2009 Glia), transcribed through
    NF-kB (Frakes et al. 2014 Neuron) and less under IL-10 (Moore et al. 2001); their
    NOX2 makes reactive species, more when they carry mutant SOD1 (C3; Beers et al.
    2006 PNAS; Harraz et al. 2008 J Clin Invest). Gene doses scale each product.
    """
    nfkb = p[Param.nfkb_microglia_dose]
    tnf = p[Param.tnf_gene_dose] * p[Param.tnf_per_m1] * il10_suppression_factor * nfkb
    il1b = p[Param.il1b_gene_dose] * p[Param.il1b_per_m1] * il10_suppression_factor * nfkb
    mcp1 = p[Param.ccl2_gene_dose] * p[Param.mcp1_per_m1] * nfkb
    ros = (p[Param.nox2_gene_dose] * p[Param.ros_per_m1] * (1.0 + p[Param.ros_mutant_microglia_gain] * burden)
           * decay_rate(p[Param.ros_half_life]) * MIN_PER_DAY)
    return tnf, il1b, mcp1, ros


@njit(cache=True, inline="always")
def protective_microglia_secretion(p):
    """Secretion of one protective (M2) microglial cell: (IL-10, IL-4) [pg/mL/min per unit
    density] (Liao et al. 2012 Exp Neurol: M2-like microglia early in G93A)."""
    return p[Param.il10_gene_dose] * p[Param.il10_per_m2], p[Param.il4_per_m2]


@njit(cache=True, inline="always")
def microglia_turnover(density, p):
    """(net renewal rate of a surveillant cell, loss rate of an activated cell) [1/day].

    Resident microglia renew themselves towards their homeostatic density
    (Askew et al. 2017 Cell Rep); activated cells are lost at the same turnover rate.
    """
    turn = p[Param.microglia_turnover]
    return turn * (1.0 - density), turn


@njit(cache=True, inline="always")
def microglia_state_rates(burden, damage, esod, il4_excess, cytokine, il10_suppression_factor, p):
    """State changes of one microglial cell [1/day]: (surveillant -> pro-inflammatory,
    surveillant -> protective, protective -> pro-inflammatory, back to surveillant,
    and the activation signal that drives proliferation).

    Damage signals from injured motor neurons activate microglia, and mutant
    SOD1 primes them to respond more (two hits; Zhao et al. 2010 Glia); IL-10
    at the cell damps the pro-inflammatory drive, which runs through NF-kB (microglial
    IKKbeta deletion impairs pro-inflammatory activation: Frakes et al. 2014 Neuron).
    Damage and IL-4 polarise to
    the protective state. The protective-to-toxic switch is driven by damage or
    TNF-alpha/IL-1beta (Liao et al. 2012 Exp Neurol: M2-like at onset, M1 at end
    stage) and made faster by mutant SOD1 inside the cell (mutant microglia are more
    neurotoxic: Xiao et al. 2007 J Neurochem; Boillee et al. 2006 Science); wild-type
    microglia in a mutant cord switch too, more slowly (``m2_to_m1_wildtype_share``:
    wild-type marrow only modestly prolongs survival, Beers et al. 2008 PNAS). Both
    activated states resolve when the stimulus fades (C3, C5, C7).
    """
    primed = damage * (1.0 + p[Param.microglia_mutant_activation_weight] * burden)
    activating = primed + p[Param.esod_activation_weight] * esod
    to_m1 = p[Param.m1_activation_rate] * activating * il10_suppression_factor * p[Param.nfkb_microglia_dose]
    to_m2 = p[Param.m2_activation_rate] * (damage + il4_excess)
    m2_to_m1 = p[Param.m2_to_m1_rate] * (p[Param.m2_to_m1_wildtype_share] + burden) * (damage + cytokine)
    return to_m1, to_m2, m2_to_m1, p[Param.microglia_resolution], activating


@njit(cache=True, inline="always")
def microglia_proliferation(activating, room, p):
    """Division rate [1/day] of an activated microglial cell: driven by the activating
    signal, limited by the room left below the tissue's capacity (Gowing et al. 2008
    J Neurosci: microglia proliferate in the lumbar cord of G93A mice)."""
    return p[Param.microglia_proliferation] * room * activating / (1.0 + activating)


@njit(cache=True, inline="always")
def microglia_room(density, p):
    """Room for more microglia where the local density is ``density`` (0 at capacity)."""
    return positive(1.0 - density / p[Param.microglia_capacity])


@njit(cache=True, inline="always")
def microglia_recruitment(mcp1_excess, room, p):
    """Influx of surveillant microglia [density per day] that MCP-1/CCR2 draws in from
    surrounding tissue and blood (Henkel et al. 2006 Ann Neurol)."""
    return p[Param.microglia_recruitment] * mcp1_excess * room


@njit(cache=True, inline="always")
def microglia_migration(gradient, signal, activated, p):
    """Speed [um/day] at which one microglial cell moves up the gradient of its chemoattractants.

    Activated microglia (``activated`` 1, surveillant 0) migrate towards damage
    signals (ATP through P2Y12; Haynes et al. 2006 Nat Neurosci 9:1512) and
    MCP-1 (CCR2; Henkel et al. 2006 Ann Neurol), while surveillant somata hold
    their place (Nimmerjahn et al. 2005 Science). ``signal`` is the attractant
    level at the cell (fold excess over wild type, so 1 + signal is the level
    relative to a healthy tissue) and ``gradient`` its slope [1/um]; the speed
    saturates at ``microglia_migration_speed`` once the level changes by its
    own size over one reach of the cell's processes. A spatial engine moves the
    cell along the gradient's direction; the well-mixed model has no gradients.
    """
    x = gradient * p[Param.microglia_reach] / (1.0 + signal)
    return activated * p[Param.microglia_migration_speed] * x / (1.0 + x)


@njit(cache=True, inline="always")
def contact_density(m1, p):
    """Effective density of pro-inflammatory microglia a cell is in contact with.

    A motor neuron or astrocyte is reached by a limited number of microglia,
    so the insult levels off with density (Gowing et al. 2008 null of halving
    proliferating microglia).
    """
    return saturating(m1, p[Param.microglia_contact_saturation])


# --------------------------------------------------------------- astrocytes
@njit(cache=True, inline="always")
def astrocyte_reactivity_rate(reactive, burden, cytokine, m1_local, p):
    """d(reactive)/dt [1/day] of an astrocyte: driven by its own mutant SOD1 (Feeney et al.
    2001 Muscle Nerve), TNF-alpha/IL-1beta (through its NF-kB) and C1q from microglia
    (Liddelow et al. 2017 Nature), resolving when the drive fades (C3)."""
    drive = (p[Param.astro_mutant_drive] * burden
             + p[Param.astro_cytokine_drive] * cytokine * p[Param.nfkb_astrocyte_dose]
             + p[Param.astro_c1q_drive] * m1_local * p[Param.c1q_gene_dose])
    return p[Param.astro_reactivity_rate] * drive * (1.0 - reactive) - p[Param.astro_resolution] * reactive


@njit(cache=True, inline="always")
def a1_inducers(p):
    """How fully the A1 inducers are present (1 in wild type, 0 without all three).

    Pro-inflammatory microglia induce A1 astrocytes with IL-1alpha, TNF and C1q
    (Liddelow et al. 2017 Nature). In SOD1 mice each is dispensable alone (TNF:
    Gowing et al. 2006 J Neurosci; C1q: Lobsiger et al. 2013 PNAS) but losing all three
    markedly slows disease (Guttenplan et al. 2020 Nat Commun), so they act redundantly
    on a saturable switch: the mean of the three gene doses, saturated at
    ``a1_inducer_redundancy`` and scaled to 1 in wild type.
    """
    k = p[Param.a1_inducer_redundancy]
    mean = (p[Param.il1a_gene_dose] + p[Param.tnf_gene_dose] + p[Param.c1q_gene_dose]) / 3.0
    return saturating(mean, k) / saturating(1.0, k)


@njit(cache=True, inline="always")
def a1_share(m1_contact, p):
    """Share of an astrocyte's output in the neurotoxic A1 state that pro-inflammatory
    microglia induce with IL-1alpha, TNF and C1q (Liddelow et al. 2017 Nature), from the
    contact density of those microglia (``contact_density``) and the inducers present."""
    return m1_contact / p[Param.microglia_contact_saturation] * a1_inducers(p)


@njit(cache=True, inline="always")
def astrocyte_secretion(reactive, burden, a1, il10_suppression_factor, p):
    """Secretion of one astrocyte of reactivity ``reactive``.

    Returns (TNF-alpha, IL-1beta, MCP-1 [pg/mL/min per unit density]; the
    MN-selective toxic factor [a.u. per day]). Reactive astrocytes release
    TNF-alpha and IL-1beta (less under IL-10) and MCP-1 (C3; Henkel et al.
    2006 Ann Neurol). Astrocytes carrying mutant SOD1 release a soluble factor
    that kills motor neurons and spares interneurons (C4; Nagai et al. 2007
    Nat Neurosci; Di Giorgio et al. 2007 Nat Neurosci), more when reactive and
    most in the A1 state (Liddelow et al. 2017 Nature; Guttenplan et al. 2020
    Nat Commun), which ties the astrocytes' harm to the microglial phase after
    onset (Yamanaka et al. 2008 Nat Neurosci). The cytokines are transcribed through
    the astrocyte's NF-kB (Crosio et al. 2011 PLoS One); the factor is not (astrocytic
    NF-kB inhibition does not rescue motor neurons: Frakes et al. 2014 Neuron).
    """
    nfkb = p[Param.nfkb_astrocyte_dose]
    tnf = p[Param.tnf_gene_dose] * p[Param.tnf_per_astro] * reactive * il10_suppression_factor * nfkb
    il1b = p[Param.il1b_gene_dose] * p[Param.il1b_per_astro] * reactive * il10_suppression_factor * nfkb
    mcp1 = p[Param.ccl2_gene_dose] * p[Param.mcp1_per_astro] * reactive * nfkb
    factor = (p[Param.toxic_factor_per_astro] * burden
              * (1.0 + p[Param.toxic_factor_reactive_gain] * reactive + p[Param.toxic_factor_microglial_gain] * a1)
              * decay_rate(p[Param.toxic_factor_tissue_half_life]) * H_PER_DAY)
    return tnf, il1b, mcp1, factor


@njit(cache=True, inline="always")
def astrocyte_glutamate_uptake(reactive, p):
    """Glutamate uptake of an astrocyte relative to a healthy one (GLT-1; Rothstein et al.
    1995 Ann Neurol): reactive astrocytes lose GLT-1; floored at 5 % of normal."""
    return at_least(1.0 - p[Param.glt1_loss_max] * reactive, 0.05)


@njit(cache=True, inline="always")
def glutamate_excess(uptake):
    """Relative rise of extracellular glutamate at steady release when uptake (1 = healthy)
    falls: release / uptake - 1 (Danbolt 2001 Prog Neurobiol)."""
    return 1.0 / uptake - 1.0


# ----------------------------------------------------------- motor neurons
@njit(cache=True, inline="always")
def motor_neuron_stress(burden, toxic_factor, cytokine, ros_fold, glu_excess, il10_excess, p):
    """Stress of a motor neuron (dimensionless): (type-selective part, inflammatory part).

    Cell-autonomous mutant SOD1 (C2, C5), the astrocyte toxic factor (C4) and
    excitotoxicity from lost GLT-1 (Rothstein 1995) are insults to which
    motor-unit types differ in vulnerability (FF first, S last; Pun et al. 2006
    Nat Neurosci; Saxena et al. 2009 Nat Neurosci); TNF-alpha/IL-1beta (C3) and
    NOX2-derived oxidants (Beers et al. 2006 PNAS) are the inflammatory part.
    Both are divided by the relief from protective signals (IL-10/IL-4;
    Beers et al. 2008 PNAS).
    """
    relief = 1.0 + p[Param.stress_protection] * il10_excess
    selective = (p[Param.stress_cell_autonomous] * burden + p[Param.stress_toxic_factor] * toxic_factor
                 + p[Param.stress_glutamate] * glu_excess) / relief
    inflammatory = (p[Param.stress_cytokine] * cytokine + p[Param.stress_ros] * positive(ros_fold - 1.0)) / relief
    return selective, inflammatory


@njit(cache=True, inline="always")
def unit_stress(selective, inflammatory, vulnerability_ratio, p):
    """Stress a motor neuron of a unit type with threshold ratio ``vulnerability_ratio`` feels.

    The inflammatory part weighs ratio^(1 - selectivity) times more on resistant
    types: at selectivity 0 it harms S units as much as FF units, at 1 it is
    as type-selective as the intrinsic insults.
    """
    return selective + inflammatory * vulnerability_ratio ** (1.0 - p[Param.inflammation_type_selectivity])


@njit(cache=True, inline="always")
def motor_neuron_hazards(stress, vulnerability_ratio, p):
    """(axon withdrawal hazard, apoptosis hazard) [1/day] of a motor neuron under ``stress``.

    Each unit type meets its own thresholds (FF x1, FR x ratio_fr, S x ratio_s;
    C1; Pun et al. 2006). Axons withdraw from muscle without Bax, somas die by
    the Bax-dependent hazard (C6; Gould et al. 2006 J Neurosci); the Bax-dependent
    shares of each are parameters.
    """
    n = p[Param.hill_n]
    bax_dose = p[Param.bax_gene_dose]
    wd_max = p[Param.withdrawal_rate_max] * (1.0 - p[Param.withdrawal_bax_dependence]
                                             + p[Param.withdrawal_bax_dependence] * bax_dose)
    ap_max = (1.0 - p[Param.apoptosis_bax_dependence] + p[Param.apoptosis_bax_dependence] * bax_dose) \
        * p[Param.apoptosis_rate_max]
    withdrawal = wd_max * hill(stress, p[Param.withdrawal_threshold_ff] * vulnerability_ratio, n)
    apoptosis = ap_max * hill(stress, p[Param.apoptosis_threshold_ff] * vulnerability_ratio, n)
    return withdrawal, apoptosis


@njit(cache=True, inline="always")
def trophic_deprivation_hazard(p):
    """Death hazard [1/day] of a plated neuron without target support (culture only).

    Neurons deprived of target-derived trophic factors die by the Bax-dependent
    pathway (Deckwerth et al. 1996 Neuron 17:401), so control wells lose neurons too and
    their apoptotic fraction is not zero.
    """
    bax = 1.0 - p[Param.apoptosis_bax_dependence] + p[Param.apoptosis_bax_dependence] * p[Param.bax_gene_dose]
    return bax * p[Param.culture_basal_death_rate]


@njit(cache=True, inline="always")
def motor_neuron_release(withdrawal_flux, death_flux, load, p):
    """What injured motor neurons release [per day]: (damage signals, misfolded SOD1).

    Withdrawing axons and dying somas release damage signals that activate
    microglia (C3, C7; Zhao et al. 2010 Glia); dying motor neurons spill their
    misfolded mutant SOD1 (Urushitani et al. 2006 Nat Neurosci). ``withdrawal_flux``
    and ``death_flux`` are fractions of the cell's own endplates and soma lost per day.
    """
    k = decay_rate(p[Param.damage_half_life]) * MIN_PER_DAY
    damage = (p[Param.damp_per_withdrawal] * withdrawal_flux + p[Param.damp_per_death] * death_flux) * k
    return damage, p[Param.esod_release] * death_flux * load


@njit(cache=True, inline="always")
def interneuron_hazard(toxic_factor, cytokine, ros_fold, glu_excess, il10_excess, p):
    """Apoptosis hazard [1/day] of a ventral-horn interneuron, the control population.

    Not touched by the MN-selective factor nor by MN-type mutant vulnerability,
    only by the non-selective insults (C1, C4; Nagai et al. 2007; Di Giorgio et al. 2007).
    """
    stress = ((p[Param.stress_cytokine] * cytokine + p[Param.stress_ros] * (ros_fold - 1.0)
               + p[Param.stress_glutamate] * glu_excess + p[Param.toxic_factor_interneuron_weight] * toxic_factor)
              / (1.0 + p[Param.stress_protection] * il10_excess))
    bax = (1.0 - p[Param.apoptosis_bax_dependence] + p[Param.apoptosis_bax_dependence] * p[Param.bax_gene_dose]) \
        * p[Param.apoptosis_rate_max]
    return bax * hill(stress, p[Param.apoptosis_threshold_ff] * p[Param.interneuron_threshold_ratio], p[Param.hill_n])


@njit(cache=True, inline="always")
def corticospinal_hazard(burden, reactive_astrocytes, m1, p):
    """Death hazard [1/day] of a corticospinal (upper) motor neuron: the same cell-autonomous
    mutant SOD1 plus CNS-wide glial activation, Bax-dependent (C1; Zang & Cheema 2002
    Neurosci Lett; Ozdinler et al. 2011 J Neurosci)."""
    stress = p[Param.stress_cell_autonomous] * burden + p[Param.umn_inflammation_weight] * (reactive_astrocytes + m1)
    bax = 1.0 - p[Param.apoptosis_bax_dependence] + p[Param.apoptosis_bax_dependence] * p[Param.bax_gene_dose]
    return p[Param.umn_rate_max] * bax * hill(stress, p[Param.umn_threshold], p[Param.hill_n])


# --------------------------------------------------- motor pool and muscle
@njit(cache=True, inline="always")
def reinnervation_rate(orphaned, reinnervated, capacity, sprouting_rate, parent_loss_rate):
    """d/dt of endplates held by collateral sprouts of a pool's surviving axons.

    Orphaned endplates are adopted up to a cap on motor-unit enlargement (Gordon
    et al. 2010 J Physiol); sprouts beyond the cap retract, and sprouts are lost
    with their parent axons. Compensation is weak in G93A fast muscles
    (Hegedus et al. 2007 Neurobiol Dis), so the cap is small.
    """
    room = capacity - reinnervated
    gain = select(room > 0.0, sprouting_rate * orphaned * room / (capacity + 1e-9), sprouting_rate * room)
    return gain - parent_loss_rate * reinnervated


@njit(cache=True, inline="always")
def muscle_rate(muscle, innervated, p):
    """d(muscle mass)/dt [1/day]: muscle follows its innervation with the atrophy time
    constant (Bodine et al. 2001 Science)."""
    return (innervated - muscle) / p[Param.muscle_atrophy_tau]


@njit(cache=True, inline="always")
def growth_curve(t, p):
    """Healthy body weight [g] at age t [day], von Bertalanffy: W = Winf (1 - b e^{-k t/3})^3
    (JAX growth charts)."""
    winf = p[Param.adult_weight]
    b = 1.0 - (p[Param.birth_weight] / winf) ** (1.0 / 3.0)
    g = 1.0 - b * math.exp(-p[Param.growth_rate] * t / 3.0)
    return winf * g * g * g


@njit(cache=True, inline="always")
def body_weight(t, muscle, p):
    """Body weight [g]: healthy growth times the mass that innervation sustains.

    Muscle (share ``muscle_share_weight``) follows innervation; the rest
    (fat, viscera) is depleted as the animal becomes paralysed (hypermetabolism
    and reduced intake; Dupuis et al. 2004 PNAS). The weight peak (onset) is
    where this loss overtakes growth.
    """
    f = p[Param.muscle_share_weight]
    lost = 1.0 - muscle
    return growth_curve(t, p) * ((1.0 - f) * (1.0 - p[Param.paralysis_weight_loss] * lost) + f * muscle)
