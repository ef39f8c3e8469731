"""The cohort engine against a SciPy reference, and its numerical contracts."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from alsim.biology import genotypes as gt
from alsim.engines import assembly as asm
from alsim.biology import parameters as prm
from alsim.engines.meanfield import ENDED, FAILED_STEPS, OK, reporter_planes, solve_cohort

from conftest import typical


def _cohort(n, seed=3, background="B6SJL"):
    seqs = np.random.SeedSequence(seed).spawn(n)
    return np.array([gt.animal_vector(prm.default_vector(), "SOD1-G93A", background,
                                      ("male", "female")[i % 2], np.random.default_rng(s))
                     for i, s in enumerate(seqs)])


def _scipy_end_stage(p):
    dy = np.empty(asm.N_STATES)
    sig = np.empty(asm.N_SIGNALS)

    def f(t, y):
        asm.animal_rhs(t, y, p, dy, sig)
        return dy.copy()

    def event(t, y):
        return asm.end_stage_margin(y, p)

    event.terminal, event.direction = True, -1
    sol = solve_ivp(f, (0, 300), asm.initial_state(), method="LSODA", rtol=1e-9, atol=1e-12,
                    events=event, dense_output=True)
    return sol.t_events[0][0], sol


def test_end_stage_matches_scipy_lsoda():
    P = _cohort(4)
    sol = solve_cohort(P, np.arange(0, 301.0))
    for a in range(4):
        ref, _ = _scipy_end_stage(P[a])
        assert abs(sol.end_stage_age[a] - ref) < 0.05


def test_dense_output_matches_scipy_trajectory():
    p = typical()
    t = np.arange(0.0, 121.0, 5.0)
    sol = solve_cohort(p[None, :], t)
    _, ref = _scipy_end_stage(p)
    expected = ref.sol(t).T
    assert np.allclose(sol.states[0], expected, rtol=1e-4, atol=1e-5)


def test_tighter_tolerance_converges():
    """The error against a tight reference shrinks with rtol (the step-size control works)."""
    P = _cohort(3)
    t = np.array([0.0, 300.0])
    ref = solve_cohort(P, t, rtol=1e-11, atol=1e-13).end_stage_age
    e_loose = np.abs(solve_cohort(P, t, rtol=1e-4, atol=1e-7).end_stage_age - ref).max()
    e_tight = np.abs(solve_cohort(P, t, rtol=1e-7, atol=1e-10).end_stage_age - ref).max()
    assert e_tight < e_loose
    assert e_tight < 1e-3


def test_states_non_negative_and_finite():
    sol = solve_cohort(_cohort(50), np.arange(0, 301.0))
    alive = ~np.isnan(sol.states[:, :, 0])
    assert np.all(np.isfinite(sol.states[alive]))
    assert np.all(sol.states[alive] >= 0.0)
    assert np.all(sol.status == ENDED)


def test_stops_at_end_stage_or_runs_on():
    p = typical()[None, :]
    t = np.arange(0, 301.0)
    stopped = solve_cohort(p, t)
    k = int(np.ceil(stopped.end_stage_age[0]))
    assert np.isnan(stopped.states[0, k:]).all() and not np.isnan(stopped.states[0, :k]).any()
    onward = solve_cohort(p, t, stop_at_end_stage=False)
    assert not np.isnan(onward.states).any()
    assert onward.end_stage_age[0] == stopped.end_stage_age[0]


def test_failed_animal_is_reported_and_does_not_sink_the_cohort():
    P = _cohort(3)
    good = solve_cohort(P, np.arange(0, 301.0))
    P_bad = P.copy()
    P_bad[1, prm.IDX["astro_reactivity_rate"]] = 1e9  # absurdly stiff: the step budget runs out
    sol = solve_cohort(P_bad, np.arange(0, 301.0), max_steps=5000)
    assert sol.status[1] == FAILED_STEPS and sol.failed.tolist() == [False, True, False]
    assert np.isnan(sol.states[1]).all() and np.isnan(sol.end_stage_age[1])
    assert np.array_equal(sol.end_stage_age[[0, 2]], good.end_stage_age[[0, 2]])


def test_wild_type_never_reaches_end_stage():
    sol = solve_cohort(typical("WT")[None, :], np.arange(0, 501.0))
    assert sol.status[0] == OK and np.isnan(sol.end_stage_age[0])
    assert np.allclose(sol.states[0, -1], asm.initial_state())


def test_cohort_split_does_not_change_results():
    P = _cohort(10)
    t = np.arange(0, 301.0, 7.0)
    whole = solve_cohort(P, t)
    parts = [solve_cohort(P[i:i + 3], t) for i in range(0, 10, 3)]
    assert np.array_equal(whole.end_stage_age, np.concatenate([p.end_stage_age for p in parts]))
    assert np.array_equal(whole.states, np.concatenate([p.states for p in parts]), equal_nan=True)



def test_reporters_are_written_into_the_callers_planes():
    P = _cohort(4)
    t = np.arange(0, 201.0, 5.0)
    default = solve_cohort(P, t)
    planes = reporter_planes(asm.N_REPORTERS + 2, 4, t.size)
    planes[asm.N_REPORTERS:] = 7.0
    sol = solve_cohort(P, t, planes=planes)
    assert sol.observables.shape == (4, t.size, asm.N_REPORTERS)
    assert np.array_equal(sol.observables, default.observables, equal_nan=True)
    assert np.shares_memory(sol.observables, planes)
    assert np.array_equal(planes[asm.REPORTER_NAMES.index("body_weight_g")], sol.reporter("body_weight_g"),
                          equal_nan=True)
    assert np.all(planes[asm.N_REPORTERS:] == 7.0)  # the caller's planes are left alone
    with pytest.raises(ValueError, match=r"planes must be float64 of shape \(>= 29, 4, 41\)"):
        solve_cohort(P, t, planes=np.empty((asm.N_REPORTERS, 4, t.size + 1)))


def test_stochastic_path_without_noise_follows_the_ode():
    P = _cohort(5)
    t = np.arange(0, 301.0)
    ode = solve_cohort(P, t).end_stage_age
    sde = solve_cohort(P, t, noise_seeds=np.arange(5)).end_stage_age
    assert np.abs(sde - ode).max() < 0.5  # Euler-Maruyama, dt = 0.25 d


def test_within_animal_noise_is_reproducible_and_spreads_survival():
    P = np.array([typical()] * 60)
    P[:, prm.IDX["misfold_noise"]] = 0.02
    t = np.arange(0, 401.0)
    a = solve_cohort(P, t, noise_seeds=np.arange(60)).end_stage_age
    b = solve_cohort(P, t, noise_seeds=np.arange(60)).end_stage_age
    assert np.array_equal(a, b)
    assert np.std(a) > 1.0 and np.ptp(solve_cohort(P, t, noise_seeds=np.zeros(60, np.int64)).end_stage_age) == 0
