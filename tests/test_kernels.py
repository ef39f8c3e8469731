"""Kernel and assembled-model invariants: positivity, conservation, monotone responses (Hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alsim.biology import kernels as k
from alsim.biology.parameters import Param
from alsim.engines import assembly as asm
from alsim.engines.assembly import Signal, State

from conftest import typical

unit = st.floats(0.0, 1.0, allow_nan=False)
SETTINGS = settings(deadline=None, max_examples=150)


@st.composite
def states(draw):
    """Consistent states: fractions in [0, 1], microglia up to capacity, N_k <= A_k."""
    y = np.array([draw(unit) for _ in range(asm.N_STATES)])
    for m in (State.M0, State.M1, State.M2):
        y[m] *= 1.3
    y[State.ESOD] *= 2.0
    for a, n in UNITS:
        y[n] *= y[a]
    connected = 0.40 * y[State.N_FF] + 0.35 * y[State.N_FR] + 0.25 * y[State.N_S]
    y[State.REINN] *= 1.0 - connected
    return y


UNITS = ((State.A_FF, State.N_FF), (State.A_FR, State.N_FR), (State.A_S, State.N_S))


def _rhs(y, p, rhs=asm.animal_rhs):
    dy = np.empty(asm.N_STATES)
    rhs(0.0, y, p, dy, np.empty(asm.N_SIGNALS))
    return dy


def _signals(y, p):
    work = np.zeros(asm.N_SIGNALS)
    asm.animal_rhs(0.0, y, p, np.empty(asm.N_STATES), work)
    return work


@SETTINGS
@given(states(), st.integers(0, asm.N_STATES - 1))
def test_state_space_is_forward_invariant(y, i):
    """A state at zero never has a negative rate: the non-negative orthant is invariant."""
    y = y.copy()
    y[i] = 0.0
    if i in (State.A_FF, State.A_FR, State.A_S):
        y[i + 3] = 0.0  # N_k <= A_k
    dy = _rhs(y, typical())
    assert np.all(np.isfinite(dy))
    assert dy[i] >= -1e-12


@SETTINGS
@given(states())
def test_denervated_somas_never_exceed_survivors(y):
    """N_k <= A_k is preserved: at N_k = A_k, d(A_k - N_k)/dt >= 0."""
    p = typical()
    for a, n in UNITS:
        z = y.copy()
        z[n] = z[a]
        dy = _rhs(z, p)
        assert dy[a] - dy[n] >= -1e-12


@SETTINGS
@given(states())
def test_microglial_state_changes_conserve_cells(y):
    """Without proliferation, turnover and recruitment, microglia only change state: the three
    derivatives sum to zero."""
    p = typical(microglia_proliferation=0.0, microglia_turnover=0.0, microglia_recruitment=0.0)
    dy = _rhs(y, p)
    assert abs(dy[State.M0] + dy[State.M1] + dy[State.M2]) < 1e-12


@SETTINGS
@given(unit, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_misfolding_rises_with_mutant_expression(load, e1, e2):
    lo, hi = sorted((e1, e2))
    r_lo = k.misfolding_rate(load, lo, 0.005, 0.003, 0.003)
    r_hi = k.misfolding_rate(load, hi, 0.005, 0.003, 0.003)
    assert r_hi >= r_lo - 1e-15


@SETTINGS
@given(st.sampled_from(range(5)), unit, st.floats(0.0, 2.0), st.floats(0.0, 2.0))
def test_stress_is_monotone_in_each_insult(which, s_mn, a, b):
    """More toxic factor, cytokine, ROS, glutamate or misfolded SOD1 never lowers MN stress;
    more protective IL-10 never raises it (C2-C4; Beers 2008)."""
    p = typical()
    lo, hi = sorted((a, b))

    def stress(x):
        args = [s_mn, 0.3, 0.5, 1.5, 0.2]
        args[which] = x if which != 3 else 1.0 + x
        return sum(k.motor_neuron_stress(*args, 0.5, p))

    assert stress(hi) >= stress(lo) - 1e-12
    assert (sum(k.motor_neuron_stress(s_mn, 0.3, 0.5, 1.5, 0.2, hi, p))
            <= sum(k.motor_neuron_stress(s_mn, 0.3, 0.5, 1.5, 0.2, lo, p)) + 1e-12)


@SETTINGS
@given(st.floats(0.0, 5.0), st.floats(0.0, 5.0), st.floats(0.05, 3.0), st.floats(1.0, 6.0))
def test_hill_is_monotone_and_bounded(x1, x2, kd, n):
    lo, hi = sorted((x1, x2))
    assert 0.0 <= k.hill(lo, kd, n) <= k.hill(hi, kd, n) + 1e-15 <= 1.0 + 1e-15


def test_wild_type_birth_state_is_at_rest():
    """Without mutant SOD1 nothing misfolds, no glia activate, no MN is lost."""
    dy = _rhs(asm.initial_state(), typical("WT"))
    assert np.allclose(dy, 0.0, atol=1e-14)


def test_bax_knockout_spares_somas_not_axons():
    """C6 (Gould et al. 2006): without Bax the apoptosis hazard is zero but withdrawal is not."""
    y = asm.initial_state()
    y[State.S_MN] = 0.8
    y[State.N_FF] = 0.5
    sig = _signals(y, typical(bax_gene_dose=0.0))
    assert sig[Signal.apoptosis_ff] == 0.0 and sig[Signal.withdrawal_ff] > 0.0
    assert _signals(y, typical())[Signal.apoptosis_ff] > 0.0


def test_toxic_factor_is_motor_neuron_selective_input():
    """C4: the astrocyte factor enters MN stress only through stress_toxic_factor."""
    p = typical(stress_toxic_factor=0.0)
    with_factor = k.motor_neuron_stress(0.2, 5.0, 0.0, 1.0, 0.0, 0.0, p)
    assert with_factor == k.motor_neuron_stress(0.2, 0.0, 0.0, 1.0, 0.0, 0.0, p)


def _ros_excess(m1, expr_mg):
    p = typical()
    p[Param.mut_expr_mg] = expr_mg
    y = asm.initial_state()
    y[State.M1] = m1
    y[State.S_MG] = 0.5
    sig = _signals(y, p)
    return sig[Signal.ros_fold] - 1.0, sig[Signal.burden_microglia]


def test_microglial_insult_saturates_with_density_but_not_with_mutant_sod1_per_cell():
    """Contact saturation: doubling activated microglia adds little oxidant insult (Gowing et al.
    2008 J Neurosci: halving microglia changed nothing), while each cell's output scales with its
    own mutant SOD1 (Harraz et al. 2008 J Clin Invest; Boillee et al. 2006 Science)."""
    one, b1 = _ros_excess(1.0, 1.0)
    two, _ = _ros_excess(2.0, 1.0)
    assert one < two < 1.15 * one
    low, b0 = _ros_excess(1.0, 0.0)
    gain = typical()[Param.ros_mutant_microglia_gain]
    np.testing.assert_allclose(one / low, (1 + gain * b1) / (1 + gain * b0), rtol=1e-12)


def test_tnf_and_il1_stand_in_for_each_other():
    """Saturable receptors: removing TNF-alpha's share of the cytokine signal (TNF-/-) lowers the
    MN cytokine insult by much less than half at disease levels (Gowing et al. 2006 J Neurosci)."""
    p = typical()
    both, il1_only = k.cytokine_signal(4.0, 4.0, p), k.cytokine_signal(0.0, 4.0, p)
    assert il1_only > 0.6 * both


def _tissue_factor(m1, **overrides):
    """Tissue toxic factor and astrocyte burden with non-reactive astrocytes and ``m1`` microglia."""
    p = typical(**overrides)
    y = asm.initial_state()
    y[State.M1] = m1
    y[State.S_AST] = 0.3
    sig = _signals(y, p)
    return sig[Signal.toxic_factor], sig[Signal.burden_astrocyte], p


def test_astrocyte_factor_waits_for_pro_inflammatory_microglia():
    """A1 conversion (Liddelow et al. 2017 Nature): without pro-inflammatory microglia the factor
    is the basal output of mutant astrocytes; with them it rises and levels off at the full-A1
    output, which is what makes GFAP-Cre act after onset (Yamanaka et al. 2008 Nat Neurosci)."""
    basal, b_ast, p = _tissue_factor(0.0)
    np.testing.assert_allclose(basal, p[Param.toxic_factor_per_astro] * b_ast, rtol=1e-12)
    kc = p[Param.microglia_contact_saturation]
    at_k, _, _ = _tissue_factor(kc)
    np.testing.assert_allclose(at_k, basal * (1.0 + 0.5 * p[Param.toxic_factor_microglial_gain]), rtol=1e-12)
    many, _, _ = _tissue_factor(100.0 * kc)
    assert basal < at_k < many < basal * (1.0 + p[Param.toxic_factor_microglial_gain])
    off, _, _ = _tissue_factor(100.0 * kc, toxic_factor_microglial_gain=0.0)
    np.testing.assert_allclose(off, basal, rtol=1e-12)


def test_culture_astrocytes_alone_release_the_a1_share():
    """Serum-grown astrocytes are partly A1-like without microglia (Foo et al. 2011 Neuron), so a
    well of astrocytes alone produces the factor at the culture A1 share."""
    p = typical(astrocytes_present=1.0, microglia_present=0.0)
    y = asm.well_initial_state(microglia=False)
    y[State.S_AST] = 0.3
    dy = np.empty(asm.N_STATES)
    sig = np.zeros(asm.N_SIGNALS)
    asm.well_rhs(0.0, y, p, dy, sig)
    a1c = p[Param.culture_astrocyte_neurotoxic_fraction]
    expected = (p[Param.toxic_factor_per_astro] * sig[Signal.burden_astrocyte]
                * (1.0 + p[Param.toxic_factor_microglial_gain] * a1c)
                * p[Param.culture_glia_density] * k.LN2 * 24.0 / p[Param.toxic_factor_tissue_half_life])
    np.testing.assert_allclose(dy[State.TF_MEDIUM], expected, rtol=1e-12)
