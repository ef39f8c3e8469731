"""Mechanisms: small compiled rate functions of local state and a flat parameter array.

Each function states the claim (C1-C8 of DESIGN.md) or paper it implements.
Fast signals (cytokines, chemokine, reactive species, glutamate, damage
signals, the astrocyte toxic factor and the short-lived apoptotic
intermediate) live minutes to hours while the disease unfolds over months, so
they are held at quasi-steady state: c = production x t_half / ln 2. That is
what makes the remaining system of slow cell states non-stiff (DESIGN.md,
"Numerics").

State vector (one animal, or one culture well), all dimensionless:

=========  ===================================================================
S_MN       misfolded mutant SOD1 load in motor neurons (0-1)
S_AST      misfolded mutant SOD1 load in astrocytes (0-1)
S_MG       misfolded mutant SOD1 load in microglia (0-1)
M0,M1,M2   surveillant, pro-inflammatory and protective microglia (wild-type density = 1)
AST        reactive fraction of astrocytes (0-1)
ESOD       extracellular misfolded SOD1 released by dying cells (a.u.)
A_*        surviving fraction of FF, FR, S lumbar alpha-MNs
N_*        fraction of FF, FR, S endplates innervated by their own axon
REINN      fraction of all endplates held by collateral sprouts
MUSCLE     innervation-sustained muscle mass (1 = fully innervated adult)
UMN        surviving fraction of corticospinal (upper) motor neurons
A_IN       surviving fraction of ventral-horn (or cultured) interneurons
TF_MEDIUM  astrocyte toxic factor accumulated in culture medium (a.u.; culture only)
=========  ===================================================================

The same state vector and right-hand side serve a culture well
(``context_culture = 1``): no muscle is attached (N = 0), glia are present or
not by flag, nothing is recruited from outside, and the astrocyte factor
accumulates in the medium instead of being cleared from tissue.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .parameters import IDX

# ---------------------------------------------------------------- state layout
STATE_NAMES = (
    "S_MN", "S_AST", "S_MG", "M0", "M1", "M2", "AST", "ESOD",
    "A_FF", "A_FR", "A_S", "N_FF", "N_FR", "N_S", "REINN", "MUSCLE", "UMN", "A_IN", "TF_MEDIUM",
)
(S_MN, S_AST, S_MG, M0, M1, M2, AST, ESOD,
 A_FF, A_FR, A_S, N_FF, N_FR, N_S, REINN, MUSCLE, UMN, A_IN, TF_MEDIUM) = range(len(STATE_NAMES))
N_STATES = len(STATE_NAMES)

# Quasi-steady fast signals (pg/mL for cytokines; fold of wild type or a.u. otherwise).
SIGNAL_NAMES = (
    "tnf_pgml", "il1b_pgml", "mcp1_pgml", "il10_pgml", "il4_pgml", "ros_fold",
    "toxic_factor", "glutamate_excess", "mn_stress", "damage_signal",
    "withdrawal_ff", "withdrawal_fr", "withdrawal_s",
    "apoptosis_ff", "apoptosis_fr", "apoptosis_s", "il10_suppression", "apoptosis_interneuron",
    "burden_mn", "burden_astrocyte", "burden_microglia", "cytokine_signal",
)
(SG_TNF, SG_IL1B, SG_MCP1, SG_IL10, SG_IL4, SG_ROS, SG_TF, SG_GLU, SG_STRESS, SG_DAMP,
 SG_WD_FF, SG_WD_FR, SG_WD_S, SG_AP_FF, SG_AP_FR, SG_AP_S, SG_SUPP, SG_AP_IN,
 SG_B_MN, SG_B_AST, SG_B_MG, SG_CYT) = range(len(SIGNAL_NAMES))
N_SIGNALS = len(SIGNAL_NAMES)

LN2 = math.log(2.0)
MIN_PER_DAY = 1440.0

# Parameter indices are module constants so Numba folds them at compile time.
# parameters.yaml is append-only (frozen by a test) so cached code stays valid.
_P = IDX
P_EXPR_MN, P_EXPR_AST, P_EXPR_MG = _P["mut_expr_mn"], _P["mut_expr_ast"], _P["mut_expr_mg"]
P_BAX, P_TNF_DOSE, P_NOX2 = _P["bax_gene_dose"], _P["tnf_gene_dose"], _P["nox2_gene_dose"]
P_NUC, P_GROW, P_CLEAR = _P["misfold_nucleation"], _P["misfold_growth"], _P["misfold_clearance"]
P_REL_AST, P_REL_MG = _P["misfold_rel_ast"], _P["misfold_rel_mg"]
P_TNF_T, P_TNF_B, P_TNF_M1, P_TNF_A = (_P["tnf_half_life"], _P["tnf_basal_production"],
                                       _P["tnf_per_m1"], _P["tnf_per_astro"])
P_IL1_T, P_IL1_B, P_IL1_M1, P_IL1_A = (_P["il1b_half_life"], _P["il1b_basal_production"],
                                       _P["il1b_per_m1"], _P["il1b_per_astro"])
P_MCP_T, P_MCP_B, P_MCP_A, P_MCP_M1 = (_P["mcp1_half_life"], _P["mcp1_basal_production"],
                                       _P["mcp1_per_astro"], _P["mcp1_per_m1"])
P_IL10_T, P_IL10_B, P_IL10_M2 = _P["il10_half_life"], _P["il10_basal_production"], _P["il10_per_m2"]
P_IL4_B, P_IL4_M2 = _P["il4_basal_production"], _P["il4_per_m2"]
P_IL10_K = _P["il10_suppression_k"]
P_ROS_M1, P_ROS_GAIN = _P["ros_per_m1"], _P["ros_mutant_microglia_gain"]
P_TF_A, P_TF_GAIN = _P["toxic_factor_per_astro"], _P["toxic_factor_reactive_gain"]
P_GLT_LOSS = _P["glt1_loss_max"]
P_DAMP_WD, P_DAMP_DEATH = _P["damp_per_withdrawal"], _P["damp_per_death"]
P_W_CELL, P_W_TF, P_W_CYT = _P["stress_cell_autonomous"], _P["stress_toxic_factor"], _P["stress_cytokine"]
P_W_ROS, P_W_GLU, P_W_PROT = _P["stress_ros"], _P["stress_glutamate"], _P["stress_protection"]
P_WD_MAX, P_WD_THR = _P["withdrawal_rate_max"], _P["withdrawal_threshold_ff"]
P_RATIO_FR, P_RATIO_S = _P["vulnerability_ratio_fr"], _P["vulnerability_ratio_s"]
P_AP_MAX, P_AP_THR = _P["apoptosis_rate_max"], _P["apoptosis_threshold_ff"]
P_HILL, P_CASP_H = _P["hill_n"], _P["caspase_to_death_h"]
P_SHARE_FF, P_SHARE_FR, P_GAMMA = _P["share_ff"], _P["share_fr"], _P["gamma_share_chat"]
P_SPR_RATE, P_SPR_CAP, P_SPR_FF = _P["sprouting_rate"], _P["sprouting_cap"], _P["sprouting_from_ff"]
P_ATROPHY_TAU, P_MUSCLE_SHARE = _P["muscle_atrophy_tau"], _P["muscle_share_weight"]
P_RIGHTING = _P["righting_threshold"]
P_GROWTH_K, P_BIRTH_W, P_ADULT_W = _P["growth_rate"], _P["birth_weight"], _P["adult_weight"]
P_PARALYSIS_LOSS = _P["paralysis_weight_loss"]
P_MG_TURN, P_M1_ACT, P_M2_ACT = _P["microglia_turnover"], _P["m1_activation_rate"], _P["m2_activation_rate"]
P_M2_TO_M1, P_MG_RES = _P["m2_to_m1_rate"], _P["microglia_resolution"]
P_ESOD_W, P_MGMUT_W = _P["esod_activation_weight"], _P["microglia_mutant_activation_weight"]
P_MG_PROLIF, P_MG_CAP, P_MG_REC = (_P["microglia_proliferation"], _P["microglia_capacity"],
                                   _P["microglia_recruitment"])
P_MGI_W = _P["microgliosis_index_activated_weight"]
P_A_RATE, P_A_RES = _P["astro_reactivity_rate"], _P["astro_resolution"]
P_A_MUT, P_A_CYT, P_A_C1Q = _P["astro_mutant_drive"], _P["astro_cytokine_drive"], _P["astro_c1q_drive"]
P_AGI_GAIN = _P["astrogliosis_index_gain"]
P_ESOD_REL, P_ESOD_CLR = _P["esod_release"], _P["esod_clearance"]
P_UMN_MAX, P_UMN_THR, P_UMN_INFL = _P["umn_rate_max"], _P["umn_threshold"], _P["umn_inflammation_weight"]
P_SOLUBLE, P_IN_RATIO = _P["soluble_mutant_share"], _P["interneuron_threshold_ratio"]
P_CULTURE, P_AST_PRESENT, P_MG_PRESENT = _P["context_culture"], _P["astrocytes_present"], _P["microglia_present"]
P_CULT_DENSITY, P_TF_TISSUE_T, P_MEDIUM_T = (_P["culture_glia_density"], _P["toxic_factor_tissue_half_life"],
                                             _P["medium_half_life"])
P_ABL_FRAC, P_ABL_START = _P["microglia_ablation_fraction"], _P["microglia_ablation_start"]
P_BAX_DEP = _P["apoptosis_bax_dependence"]
P_TF_IN, P_WD_BAX = _P["toxic_factor_interneuron_weight"], _P["withdrawal_bax_dependence"]
P_MF_NOISE = _P["misfold_noise"]
P_CONTACT_K, P_CYT_K = _P["microglia_contact_saturation"], _P["cytokine_receptor_saturation"]
P_INFL_SEL = _P["inflammation_type_selectivity"]
P_TF_MG_GAIN, P_CULT_A1 = _P["toxic_factor_microglial_gain"], _P["culture_astrocyte_neurotoxic_fraction"]


# ------------------------------------------------------------ building blocks
@njit(cache=True, inline="always")
def hill(x, k, n):
    """Saturating activation x^n / (x^n + k^n) of a non-negative signal (0 for x <= 0)."""
    if x <= 0.0:
        return 0.0
    xn = x ** n
    return xn / (xn + k ** n)


@njit(cache=True, inline="always")
def misfolding_rate(load, expression, nucleation, growth, clearance):
    """d(load)/dt of misfolded mutant SOD1 in one cell type [1/day].

    Nucleation (pseudo-zeroth order) plus autocatalytic templated growth,
    saturating at full load, minus proteostatic clearance (Workman 2020 Mol
    Cell Biochem; claim C2: the load is tracked per cell type and set by the
    genotype's expression in that cell type).
    """
    return expression * (nucleation + growth * load) * (1.0 - load) - clearance * load


@njit(cache=True, inline="always")
def mutant_burden(load, expression, soluble_share):
    """Toxic mutant SOD1 burden of a cell: misfolded load plus a share of soluble mutant protein.

    Soluble mutant SOD1 already gains toxic functions before aggregates form
    (NOX2 regulation, Harraz et al. 2008 J Clin Invest; astrocytes from
    neonatal or ES-derived mutant cultures are toxic, Nagai et al. 2007).
    """
    return load + soluble_share * expression


@njit(cache=True, inline="always")
def quasi_steady(production_per_min, half_life_min):
    """Concentration at quasi-steady state, c = P t_half / ln 2 (first-order clearance)."""
    return production_per_min * half_life_min / LN2


@njit(cache=True, inline="always")
def saturating(x, k):
    """x / (1 + x/k): linear for x << k, levelling off at k (occupancy of a limited target)."""
    return x / (1.0 + x / k)


@njit(cache=True, inline="always")
def fold_excess(value, wild_type):
    """Fold change above the wild-type level, floored at zero."""
    if wild_type <= 0.0:
        return 0.0
    e = value / wild_type - 1.0
    return e if e > 0.0 else 0.0


@njit(cache=True, inline="always")
def toxic_factor_output(burden_ast, reactive_fraction, neurotoxic_fraction, p):
    """Tissue level (a.u.) of the astrocyte-derived MN-selective toxic factor.

    Astrocytes carrying mutant SOD1 release a soluble factor that kills motor
    neurons and spares interneurons (C4; Nagai et al. 2007 Nat Neurosci;
    Di Giorgio et al. 2007 Nat Neurosci), more when reactive, and most in
    the neurotoxic A1 state (share ``neurotoxic_fraction``) that
    pro-inflammatory microglia induce with IL-1alpha, TNF and C1q
    (Liddelow et al. 2017 Nature; Guttenplan et al. 2020 Nat Commun). This
    ties the astrocytes' harm to the microglial phase after onset (Yamanaka
    et al. 2008 Nat Neurosci).
    """
    return p[P_TF_A] * burden_ast * (1.0 + p[P_TF_GAIN] * reactive_fraction
                                     + p[P_TF_MG_GAIN] * neurotoxic_fraction)


@njit(cache=True, inline="always")
def a1_fraction(m1, contact_k):
    """Share of astrocytes turned neurotoxic (A1) by pro-inflammatory microglia (density ``m1``).

    A1 conversion needs IL-1alpha, TNF and C1q from nearby activated
    microglia (Liddelow et al. 2017 Nature); like a motor neuron, an
    astrocyte is reached by a limited number of them, so the share levels
    off with microglial density at the contact saturation.
    """
    return saturating(m1, contact_k) / contact_k


@njit(cache=True, inline="always")
def glutamate_excess(reactive_fraction, glt1_loss_max):
    """Relative rise of extracellular glutamate when GLT-1 uptake falls.

    Uptake is dominated by astrocytic GLT-1 (Danbolt; Rothstein et al. 1995
    Ann Neurol); at steady release, extracellular glutamate scales as
    1 / uptake, so the excess is 1 / (1 - loss) - 1.
    """
    uptake = 1.0 - glt1_loss_max * reactive_fraction
    if uptake < 0.05:
        uptake = 0.05
    return 1.0 / uptake - 1.0


@njit(cache=True, inline="always")
def mn_stress(s_mn, toxic_factor, cytokine_signal, ros_fold, glu_excess, il10_excess, p):
    """Motor-neuron stress (dimensionless): cell-autonomous plus non-cell-autonomous insults.

    Cell-autonomous misfolded SOD1 (C2, C5), the astrocyte toxic factor (C4),
    TNF-alpha/IL-1beta (C3), NOX2-derived reactive species (Beers 2006 PNAS),
    excitotoxicity from lost GLT-1 (Rothstein 1995), divided by the relief from
    protective microglial signals (IL-10/IL-4/IGF-1; Beers 2008 PNAS).
    ``cytokine_signal`` is the TNF-alpha + IL-1beta excess on saturable
    receptors (``fast_signals``).

    Returns two parts: the insults to which motor-unit
    types differ in vulnerability (mutant SOD1 inside the MN, the astrocyte
    factor, excitotoxicity: FF first, S last; Pun et al. 2006 Nat Neurosci;
    Saxena et al. 2009 Nat Neurosci), and the inflammatory insults
    (cytokines, NOX2-derived oxidants), whose selectivity is a parameter.
    """
    ros_ex = ros_fold - 1.0 if ros_fold > 1.0 else 0.0
    relief = 1.0 + p[P_W_PROT] * il10_excess
    selective = (p[P_W_CELL] * s_mn + p[P_W_TF] * toxic_factor + p[P_W_GLU] * glu_excess) / relief
    inflammatory = (p[P_W_CYT] * cytokine_signal + p[P_W_ROS] * ros_ex) / relief
    return selective, inflammatory


@njit(cache=True, inline="always")
def microglia_transitions(m0, m1, m2, drive_m1, drive_m2, m2_to_m1, resolution, out):
    """Conservative state transitions of microglia (rates per day into ``out[0:3]``).

    Surveillant cells polarise to a pro-inflammatory or protective state under
    damage signals; protective cells convert to pro-inflammatory as disease
    advances (Liao et al. 2012 Exp Neurol: M2-like at onset, M1 at end stage);
    both revert when the stimulus fades. The three rates sum to zero.
    """
    a1 = drive_m1 * m0
    a2 = drive_m2 * m0
    c21 = m2_to_m1 * m2
    r1 = resolution * m1
    r2 = resolution * m2
    out[0] = -a1 - a2 + r1 + r2
    out[1] = a1 + c21 - r1
    out[2] = a2 - c21 - r2


@njit(cache=True, inline="always")
def reinnervation_rate(orphaned, reinnervated, capacity, sprouting_rate, parent_loss_rate):
    """d/dt of endplates held by collateral sprouts of surviving axons.

    Orphaned endplates are adopted up to a cap on motor-unit enlargement (Gordon
    et al. 2010 J Physiol); sprouts beyond the cap retract, and sprouts are lost
    with their parent axons. Compensation is weak in G93A fast muscles
    (Hegedus et al. 2007 Neurobiol Dis), so the cap is small.
    """
    room = capacity - reinnervated
    if room > 0.0:
        gain = sprouting_rate * orphaned * room / (capacity + 1e-9)
    else:
        gain = sprouting_rate * room
    return gain - parent_loss_rate * reinnervated


@njit(cache=True, inline="always")
def dying_fraction(y, p, ap_ff, ap_fr, ap_s):
    """Fraction of all alpha-MNs entering apoptosis per day.

    Dying back (Fischer et al. 2004 Exp Neurol; Gould et al. 2006 J Neurosci):
    only MNs whose axon has already withdrawn from muscle (A - N) lose target
    support and die, by the Bax-dependent hazard ``ap_*``.
    """
    sh_ff = p[P_SHARE_FF]
    sh_fr = p[P_SHARE_FR]
    sh_s = 1.0 - sh_ff - sh_fr
    return (sh_ff * ap_ff * (y[A_FF] - y[N_FF]) + sh_fr * ap_fr * (y[A_FR] - y[N_FR])
            + sh_s * ap_s * (y[A_S] - y[N_S]))


# ---------------------------------------------------------- fast signals (QSS)
@njit(cache=True)
def fast_signals(y, p, sig):
    """All quasi-steady signals and per-type hazards of one compartment into ``sig``; returns
    the wild-type IL-4 level (the reference of the IL-4 drive on protective microglia).

    Sources: pro-inflammatory microglia and reactive astrocytes release TNF-alpha,
    IL-1beta and MCP-1 (C3; Hensley 2006; Henkel 2006), damped by IL-10
    (Moore 2001); protective microglia release IL-10 and IL-4 (Beers 2011);
    NOX2 of pro-inflammatory microglia makes reactive species, more when they
    carry misfolded SOD1 (Beers 2006; Harraz 2008); astrocytes carrying
    misfolded SOD1 release a MN-selective toxic factor, more when reactive
    (C4; Nagai 2007; Di Giorgio 2007). Stress sets Bax-independent axon
    withdrawal and Bax-dependent apoptosis, FF before FR before S (C1, C6;
    Pun 2006; Gould 2006).
    """
    m1 = y[M1]
    m2 = y[M2]
    ast = y[AST]
    b_mn = mutant_burden(y[S_MN], p[P_EXPR_MN], p[P_SOLUBLE])
    b_ast = mutant_burden(y[S_AST], p[P_EXPR_AST], p[P_SOLUBLE])
    b_mg = mutant_burden(y[S_MG], p[P_EXPR_MG], p[P_SOLUBLE])
    tnf_wt = quasi_steady(p[P_TNF_B], p[P_TNF_T])
    il1_wt = quasi_steady(p[P_IL1_B], p[P_IL1_T])
    il10_wt = quasi_steady(p[P_IL10_B], p[P_IL10_T])
    il4_wt = quasi_steady(p[P_IL4_B], p[P_IL10_T])

    if p[P_CULTURE] > 0.5:  # glia of a culture well: present or not, at culture density
        dens = p[P_CULT_DENSITY]
        m1 = m1 * dens * p[P_MG_PRESENT]
        m2 = m2 * dens * p[P_MG_PRESENT]
        ast = ast * dens * p[P_AST_PRESENT]
    il10 = quasi_steady(p[P_IL10_B] + p[P_IL10_M2] * m2, p[P_IL10_T])
    il4 = quasi_steady(p[P_IL4_B] + p[P_IL4_M2] * m2, p[P_IL10_T])
    il10_ex = fold_excess(il10, il10_wt)
    supp = 1.0 / (1.0 + il10_ex / p[P_IL10_K])
    tnf = p[P_TNF_DOSE] * quasi_steady(p[P_TNF_B] + (p[P_TNF_M1] * m1 + p[P_TNF_A] * ast) * supp, p[P_TNF_T])
    il1 = quasi_steady(p[P_IL1_B] + (p[P_IL1_M1] * m1 + p[P_IL1_A] * ast) * supp, p[P_IL1_T])
    mcp = quasi_steady(p[P_MCP_B] + p[P_MCP_A] * ast + p[P_MCP_M1] * m1, p[P_MCP_T])
    # Contact saturation: a MN is reached by a limited number of microglia, so the insult
    # levels off with their density but scales in full with each cell's NOX2 output,
    # which its own mutant SOD1 raises (Harraz et al. 2008; Gowing et al. 2008 null).
    ros = 1.0 + p[P_NOX2] * p[P_ROS_M1] * saturating(m1, p[P_CONTACT_K]) * (1.0 + p[P_ROS_GAIN] * b_mg)
    if p[P_CULTURE] > 0.5:
        tf = y[TF_MEDIUM]  # accumulated in the medium (toxic_factor_output / clearance)
    else:
        tf = toxic_factor_output(b_ast, ast, a1_fraction(m1, p[P_CONTACT_K]), p)
    glu = glutamate_excess(ast, p[P_GLT_LOSS])
    # TNF-alpha and IL-1beta act through NF-kB on saturable receptors, so one stands in for
    # the other (TNF-alpha deletion changes nothing: Gowing et al. 2006 J Neurosci).
    chi = saturating(fold_excess(tnf, tnf_wt) + fold_excess(il1, il1_wt), p[P_CYT_K])
    ros_ex = ros - 1.0
    sel, infl = mn_stress(b_mn, tf, chi, ros, glu, il10_ex, p)
    stress = sel + infl
    # Interneurons: not touched by the MN-selective factor nor by MN-type mutant
    # vulnerability, only by the non-selective insults (Nagai 2007; Di Giorgio 2007).
    stress_in = ((p[P_W_CYT] * chi + p[P_W_ROS] * ros_ex + p[P_W_GLU] * glu + p[P_TF_IN] * tf)
                 / (1.0 + p[P_W_PROT] * il10_ex))

    n = p[P_HILL]
    thr = p[P_WD_THR]
    wd_max = p[P_WD_MAX] * (1.0 - p[P_WD_BAX] + p[P_WD_BAX] * p[P_BAX])  # Bax-independent by default
    # Each type meets its own threshold (thr x ratio); the inflammatory part weighs
    # ratio^(1 - selectivity) times more on resistant types: at selectivity 0 it harms
    # S as much as FF, at 1 it is as type-selective as the intrinsic insults.
    r_fr = p[P_RATIO_FR]
    r_s = p[P_RATIO_S]
    st_ff = sel + infl
    st_fr = sel + infl * r_fr ** (1.0 - p[P_INFL_SEL])
    st_s = sel + infl * r_s ** (1.0 - p[P_INFL_SEL])
    wd_ff = wd_max * hill(st_ff, thr, n)
    wd_fr = wd_max * hill(st_fr, thr * r_fr, n)
    wd_s = wd_max * hill(st_s, thr * r_s, n)
    athr = p[P_AP_THR]
    # C6: the apoptotic hazard runs through Bax (Gould 2006); the Bax-dependent share is a parameter
    bax = (1.0 - p[P_BAX_DEP] + p[P_BAX_DEP] * p[P_BAX]) * p[P_AP_MAX]
    ap_ff = bax * hill(st_ff, athr, n)
    ap_fr = bax * hill(st_fr, athr * r_fr, n)
    ap_s = bax * hill(st_s, athr * r_s, n)
    ap_in = bax * hill(stress_in, athr * p[P_IN_RATIO], n)

    sh_ff = p[P_SHARE_FF]
    sh_fr = p[P_SHARE_FR]
    sh_s = 1.0 - sh_ff - sh_fr
    withdrawn = sh_ff * wd_ff * y[N_FF] + sh_fr * wd_fr * y[N_FR] + sh_s * wd_s * y[N_S]
    dying = dying_fraction(y, p, ap_ff, ap_fr, ap_s)
    damp = p[P_DAMP_WD] * withdrawn + p[P_DAMP_DEATH] * dying

    sig[SG_TNF] = tnf
    sig[SG_IL1B] = il1
    sig[SG_MCP1] = mcp
    sig[SG_IL10] = il10
    sig[SG_IL4] = il4
    sig[SG_ROS] = ros
    sig[SG_TF] = tf
    sig[SG_GLU] = glu
    sig[SG_STRESS] = stress
    sig[SG_DAMP] = damp
    sig[SG_WD_FF] = wd_ff
    sig[SG_WD_FR] = wd_fr
    sig[SG_WD_S] = wd_s
    sig[SG_AP_FF] = ap_ff
    sig[SG_AP_FR] = ap_fr
    sig[SG_AP_S] = ap_s
    sig[SG_SUPP] = supp
    sig[SG_AP_IN] = ap_in
    sig[SG_B_MN] = b_mn
    sig[SG_B_AST] = b_ast
    sig[SG_B_MG] = b_mg
    sig[SG_CYT] = chi
    return il4_wt


# ----------------------------------------------------------------- derivative
@njit(cache=True, inline="always")
def innervated_total(y, p):
    """Fraction of all endplates innervated (own axons plus collateral sprouts)."""
    sh_ff = p[P_SHARE_FF]
    sh_fr = p[P_SHARE_FR]
    return sh_ff * y[N_FF] + sh_fr * y[N_FR] + (1.0 - sh_ff - sh_fr) * y[N_S] + y[REINN]


@njit(cache=True)
def rhs(t, y, p, dy, sig):
    """d(state)/dt [1/day] of one animal: the model assembled from the mechanisms above."""
    il4_wt = fast_signals(y, p, sig)
    mcp_wt = quasi_steady(p[P_MCP_B], p[P_MCP_T])

    # C2: misfolded mutant SOD1 per cell type.
    nuc = p[P_NUC]
    grow = p[P_GROW]
    clr = p[P_CLEAR]
    dy[S_MN] = misfolding_rate(y[S_MN], p[P_EXPR_MN], nuc, grow, clr)
    dy[S_AST] = misfolding_rate(y[S_AST], p[P_EXPR_AST], nuc, grow * p[P_REL_AST], clr)
    dy[S_MG] = misfolding_rate(y[S_MG], p[P_EXPR_MG], nuc, grow * p[P_REL_MG], clr)

    # C3/C7: microglia activated by damage signals, extracellular misfolded
    # SOD1 and their own mutant SOD1 (Zhao 2010; Beers 2006).
    m0 = y[M0]
    m1 = y[M1]
    m2 = y[M2]
    m_tot = m0 + m1 + m2
    damp = sig[SG_DAMP]
    b_mg = sig[SG_B_MG]
    culture = p[P_CULTURE] > 0.5
    # Two hits: damage from injured MNs activates microglia, and mutant SOD1 primes
    # them to respond more and to switch from protective to toxic (Liao et al. 2012:
    # M2-like at onset, M1 at end stage; Boillee et al. 2006: microglial mutant SOD1
    # sets the pace after onset).
    primed = damp * (1.0 + p[P_MGMUT_W] * b_mg)
    activating = primed + p[P_ESOD_W] * y[ESOD]
    drive1 = p[P_M1_ACT] * activating * sig[SG_SUPP]
    drive2 = p[P_M2_ACT] * (damp + fold_excess(sig[SG_IL4], il4_wt))
    # The protective-to-toxic switch needs both hits: mutant SOD1 inside the microglia
    # (wild-type microglia stay protective: Beers et al. 2006 PNAS; Boillee et al. 2006)
    # and damage or pro-inflammatory signals, where TNF-alpha and IL-1beta both act
    # through NF-kB on saturable receptors (the signal of fast_signals; Gowing 2006).
    conv = p[P_M2_TO_M1] * b_mg * (damp + sig[SG_CYT])
    microglia_transitions(m0, m1, m2, drive1, drive2, conv, p[P_MG_RES], dy[M0:M2 + 1])
    room = 1.0 - m_tot / p[P_MG_CAP]
    if room < 0.0:
        room = 0.0
    prolif = p[P_MG_PROLIF] * room * activating / (1.0 + activating)
    if t >= p[P_ABL_START]:
        # CD11b-TK + ganciclovir kills dividing microglia (Gowing et al. 2008 J Neurosci)
        prolif *= 1.0 - p[P_ABL_FRAC]
    turn = p[P_MG_TURN]
    dy[M0] += turn * m0 * (1.0 - m_tot)
    if not culture:  # MCP-1/CCR2 recruitment from surrounding tissue
        dy[M0] += p[P_MG_REC] * fold_excess(sig[SG_MCP1], mcp_wt) * room
    dy[M1] += (prolif - turn) * m1
    dy[M2] += (prolif - turn) * m2

    # C3: astrocyte reactivity from own mutant SOD1 (Feeney 2001; Nagai 2007)
    # and IL-1/TNF (saturable receptors, as above) and C1q from microglia (Liddelow 2017).
    ast = y[AST]
    drive_a = p[P_A_MUT] * sig[SG_B_AST] + p[P_A_CYT] * sig[SG_CYT] + p[P_A_C1Q] * m1
    dy[AST] = p[P_A_RATE] * drive_a * (1.0 - ast) - p[P_A_RES] * ast

    # C1/C6: Bax-dependent apoptosis of somas; Bax-independent axon withdrawal.
    ap_ff = sig[SG_AP_FF]
    ap_fr = sig[SG_AP_FR]
    ap_s = sig[SG_AP_S]
    wd_ff = sig[SG_WD_FF]
    wd_fr = sig[SG_WD_FR]
    wd_s = sig[SG_WD_S]
    # Dying back: connected axons withdraw (Bax-independent); only disconnected
    # somas die, by the Bax-dependent hazard (Fischer 2004; Gould 2006).
    dy[A_FF] = -ap_ff * (y[A_FF] - y[N_FF])
    dy[A_FR] = -ap_fr * (y[A_FR] - y[N_FR])
    dy[A_S] = -ap_s * (y[A_S] - y[N_S])
    dy[N_FF] = -wd_ff * y[N_FF]
    dy[N_FR] = -wd_fr * y[N_FR]
    dy[N_S] = -wd_s * y[N_S]

    sh_ff = p[P_SHARE_FF]
    sh_fr = p[P_SHARE_FR]
    sh_s = 1.0 - sh_ff - sh_fr
    w_ff = sh_ff * y[N_FF] * p[P_SPR_FF]
    w_fr = sh_fr * y[N_FR]
    w_s = sh_s * y[N_S]
    w_sum = w_ff + w_fr + w_s
    if w_sum > 1e-12:
        parent_loss = (w_ff * wd_ff + w_fr * wd_fr + w_s * wd_s) / w_sum
    else:
        parent_loss = 0.0
    connected = sh_ff * y[N_FF] + sh_fr * y[N_FR] + sh_s * y[N_S]
    orphaned = 1.0 - connected - y[REINN]
    if orphaned < 0.0:
        orphaned = 0.0
    dy[REINN] = reinnervation_rate(orphaned, y[REINN], p[P_SPR_CAP] * w_sum, p[P_SPR_RATE], parent_loss)

    # Muscle mass follows innervation with the atrophy time constant (Bodine 2001).
    dy[MUSCLE] = (connected + y[REINN] - y[MUSCLE]) / p[P_ATROPHY_TAU]

    # Damage signals: misfolded SOD1 released by dying MNs (Urushitani 2006).
    dying = dying_fraction(y, p, ap_ff, ap_fr, ap_s)
    dy[ESOD] = p[P_ESOD_REL] * dying * y[S_MN] - p[P_ESOD_CLR] * y[ESOD]

    # C1: corticospinal neurons, same cell-autonomous load plus CNS-wide
    # inflammation, Bax-dependent (Zang & Cheema 2002; Ozdinler 2011).
    s_umn = p[P_W_CELL] * sig[SG_B_MN] + p[P_UMN_INFL] * (ast + m1)
    bax = 1.0 - p[P_BAX_DEP] + p[P_BAX_DEP] * p[P_BAX]
    dy[UMN] = 0.0 if culture else -p[P_UMN_MAX] * bax * hill(s_umn, p[P_UMN_THR], p[P_HILL]) * y[UMN]

    # Interneurons: the control population, spared by the MN-selective factor (C1, C4).
    dy[A_IN] = -sig[SG_AP_IN] * y[A_IN]

    # C4: in a culture well the astrocyte factor accumulates in the medium; production
    # equals the tissue level times its tissue clearance rate (Nagai 2007).
    if culture:
        # Serum-grown astrocytes are already partly A1-like (Foo 2011; Liddelow 2017); plated
        # microglia add their own induction.
        a1 = a1_fraction(m1 * p[P_MG_PRESENT] * p[P_CULT_DENSITY], p[P_CONTACT_K])
        a1 = p[P_CULT_A1] + (1.0 - p[P_CULT_A1]) * a1
        out = toxic_factor_output(sig[SG_B_AST], ast, a1, p) * p[P_AST_PRESENT] * p[P_CULT_DENSITY]
        dy[TF_MEDIUM] = (out * LN2 * 24.0 / p[P_TF_TISSUE_T]
                         - LN2 / p[P_MEDIUM_T] * y[TF_MEDIUM])
    else:
        dy[TF_MEDIUM] = 0.0


def initial_state() -> np.ndarray:
    """State at birth: no misfolded SOD1, surveillant microglia, all MNs and endplates intact."""
    y = np.zeros(N_STATES)
    y[M0] = 1.0
    y[[A_FF, A_FR, A_S, N_FF, N_FR, N_S, MUSCLE, UMN, A_IN]] = 1.0
    return y


def culture_initial_state(microglia: bool, medium_factor: float = 0.0) -> np.ndarray:
    """A freshly plated well: MNs and interneurons without muscle targets (N = 0),
    surveillant microglia if plated, and the toxic factor the medium brings."""
    y = initial_state()
    y[[N_FF, N_FR, N_S, MUSCLE]] = 0.0
    y[M0] = 1.0 if microglia else 0.0
    y[TF_MEDIUM] = medium_factor
    return y


# ----------------------------------------------------------------- observables
OBS_NAMES = (
    "body_weight_g", "motor_function", "innervated_ff", "innervated_fr", "innervated_s",
    "alpha_mn_surviving", "chat_mn_surviving", "umn_surviving",
    "microgliosis_index", "astrogliosis_index",
    "tnf_pgml", "il1b_pgml", "mcp1_pgml", "il10_pgml", "il4_pgml",
    "ros_fold", "toxic_factor", "mn_stress", "apoptotic_fraction",
    "misfolded_sod1_mn", "misfolded_sod1_astrocyte", "misfolded_sod1_microglia",
    "microglia_surveillant", "microglia_proinflammatory", "microglia_protective",
    "astrocyte_reactive_fraction", "muscle_mass", "interneurons_surviving", "toxic_factor_medium",
)
N_OBS = len(OBS_NAMES)


@njit(cache=True, inline="always")
def growth_curve(t, p):
    """Healthy body weight [g] at age t [day], von Bertalanffy: W = Winf (1 - b e^{-k t/3})^3."""
    winf = p[P_ADULT_W]
    b = 1.0 - (p[P_BIRTH_W] / winf) ** (1.0 / 3.0)
    g = 1.0 - b * math.exp(-p[P_GROWTH_K] * t / 3.0)
    return winf * g * g * g


@njit(cache=True, inline="always")
def body_weight(t, muscle, p):
    """Body weight [g]: healthy growth times the mass that innervation sustains.

    Muscle (share ``muscle_share_weight``) follows innervation; the rest
    (fat, viscera) is depleted as the animal becomes paralysed (hypermetabolism
    and reduced intake; Dupuis et al. 2004 PNAS). The weight peak (onset) is
    where this loss overtakes growth.
    """
    f = p[P_MUSCLE_SHARE]
    lost = 1.0 - muscle
    return growth_curve(t, p) * ((1.0 - f) * (1.0 - p[P_PARALYSIS_LOSS] * lost) + f * muscle)


@njit(cache=True)
def observe(t, y, p, sig, obs):
    """What a lab would measure on the animal at age t, into ``obs`` (order OBS_NAMES)."""
    fast_signals(y, p, sig)
    sh_ff = p[P_SHARE_FF]
    sh_fr = p[P_SHARE_FR]
    sh_s = 1.0 - sh_ff - sh_fr
    orphaned = sh_ff * (1.0 - y[N_FF]) + sh_fr * (1.0 - y[N_FR]) + sh_s * (1.0 - y[N_S])
    rho = y[REINN] / orphaned if orphaned > 1e-12 else 0.0
    if rho > 1.0:
        rho = 1.0
    alpha = sh_ff * y[A_FF] + sh_fr * y[A_FR] + sh_s * y[A_S]
    gam = p[P_GAMMA]
    obs[0] = body_weight(t, y[MUSCLE], p)
    obs[1] = innervated_total(y, p)
    obs[2] = y[N_FF] + rho * (1.0 - y[N_FF])
    obs[3] = y[N_FR] + rho * (1.0 - y[N_FR])
    obs[4] = y[N_S] + rho * (1.0 - y[N_S])
    obs[5] = alpha
    obs[6] = gam + (1.0 - gam) * alpha
    obs[7] = y[UMN]
    obs[8] = y[M0] + p[P_MGI_W] * (y[M1] + y[M2])
    obs[9] = 1.0 + p[P_AGI_GAIN] * y[AST]
    obs[10] = sig[SG_TNF]
    obs[11] = sig[SG_IL1B]
    obs[12] = sig[SG_MCP1]
    obs[13] = sig[SG_IL10]
    obs[14] = sig[SG_IL4]
    obs[15] = sig[SG_ROS]
    obs[16] = sig[SG_TF]
    obs[17] = sig[SG_STRESS]
    # Apoptotic MNs persist ~caspase_to_death_h before they vanish (PARAMETERS.md 5).
    dying = dying_fraction(y, p, sig[SG_AP_FF], sig[SG_AP_FR], sig[SG_AP_S])
    obs[18] = max(dying, 0.0) * p[P_CASP_H] / 24.0 / alpha if alpha > 1e-12 else 0.0
    obs[19] = y[S_MN]
    obs[20] = y[S_AST]
    obs[21] = y[S_MG]
    obs[22] = y[M0]
    obs[23] = y[M1]
    obs[24] = y[M2]
    obs[25] = y[AST]
    obs[26] = y[MUSCLE]
    obs[27] = y[A_IN]
    obs[28] = y[TF_MEDIUM]


def _dependencies() -> list:
    from pathlib import Path

    here = Path(__file__)
    return [here, here.with_name("parameters.yaml")]


from .._numba_cache import drop_stale  # noqa: E402

drop_stale(hill, "mechanisms", _dependencies())
