"""Pharmacokinetics against the analytic one-compartment solution; PD and schedule validation."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from alsim.biology.drugs import DRUGS, Schedule, brain_concentration, daily_inhibition, plasma_concentration
from alsim.experiments.protocol import ProtocolError, protocol_from_dict

MINO = DRUGS["minocycline"]


def _ode_plasma(drug, schedule, t_end_d):
    """Reference: integrate gut and plasma compartments numerically, restarting at each dose."""
    ka, ke, f, v = drug.ka, drug.ke, drug.bioavailability[schedule.route], drug.volume
    times = list(schedule.dose_times()) + [t_end_d]
    y = np.zeros(2)  # gut amount (mg/kg), plasma concentration (mg/L)
    out_t, out_c = [], []
    for a, b in zip(times[:-1], times[1:]):
        y[0] += f * schedule.dose
        sol = solve_ivp(lambda t, z: [-ka * z[0], ka * z[0] / v - ke * z[1]], (a * 24, b * 24), y,
                        rtol=1e-10, atol=1e-12, dense_output=True)
        tt = np.linspace(a, b, 50)
        out_t.append(tt)
        out_c.append(sol.sol(tt * 24)[1])
        y = sol.y[:, -1].copy()
    return np.concatenate(out_t), np.concatenate(out_c)


def test_single_dose_matches_analytic_bateman():
    s = Schedule("ip", start=10.0, stop=10.5, dose=50.0)
    t = np.linspace(10.0, 12.0, 200)
    ka, ke, f, v = MINO.ka, MINO.ke, MINO.bioavailability["ip"], MINO.volume
    h = (t - 10.0) * 24
    expected = f * 50.0 / v * ka / (ka - ke) * (np.exp(-ke * h) - np.exp(-ka * h))
    np.testing.assert_allclose(plasma_concentration(t, MINO, s), expected, rtol=1e-12, atol=1e-14)
    assert plasma_concentration(np.array([9.99]), MINO, s)[0] == 0.0


@pytest.mark.parametrize("interval", [0.5, 1.0, 3.0])
def test_repeated_doses_match_ode_with_restarts(interval):
    s = Schedule("oral", start=0.0, stop=10.0, dose=20.0, interval=interval)
    t, ref = _ode_plasma(MINO, s, 10.0)
    np.testing.assert_allclose(plasma_concentration(t, MINO, s), ref, rtol=1e-6, atol=1e-9)


def test_diet_reaches_the_infusion_steady_state_and_washes_out():
    s = Schedule("diet", start=0.0, stop=30.0, ppm=1000.0)
    rate = MINO.bioavailability["diet"] * 1000.0 * 0.15 / 24.0
    css = rate / (MINO.volume * MINO.ke)
    assert plasma_concentration(np.array([20.0]), MINO, s)[0] == pytest.approx(css, rel=1e-6)
    assert plasma_concentration(np.array([32.0]), MINO, s)[0] < 1e-3 * css


def test_brain_concentration_uses_penetration_and_molar_mass():
    s = Schedule("ip", start=0.0, stop=1.0, dose=50.0)
    t = np.array([0.1])
    assert brain_concentration(t, MINO, s)[0] == pytest.approx(
        MINO.brain_plasma * plasma_concentration(t, MINO, s)[0] / MINO.molar_mass * 1000)


def test_daily_inhibition_is_bounded_and_zero_before_start():
    s = Schedule("ip", start=60.0, stop=100.0, dose=50.0)
    inh = daily_inhibition(MINO, s, 120.0)
    assert inh.shape == (121, len(MINO.targets))
    assert np.all(inh[:60] == 0.0) and np.all(inh[60:100] > 0.0)
    assert np.all(inh <= max(t.imax for t in MINO.targets))


@pytest.mark.parametrize("treatment, message", [
    ({"drug": "minocycline", "dose_mg_per_kg": -5}, "dose_mg_per_kg: Input should be greater than or equal to 0"),
    ({"drug": "aspirin", "dose_mg_per_kg": 5}, "unknown drug 'aspirin'"),
    ({"drug": "minocycline", "dose_mg_per_kg": 5, "start_day": 300}, "start_day: 300.0 is after the end"),
    ({"drug": "minocycline", "dose_mg_per_kg": 5, "start_day": 90, "stop_day": 60}, "stop_day 60.0 is not after"),
    ({"drug": "minocycline", "route": "diet"}, "ppm: drug in diet needs ppm > 0"),
    ({"drug": "generic", "dose_mg_per_kg": 5}, "target: a generic drug needs"),
    ({"drug": "generic", "dose_mg_per_kg": 5, "target": "nonsense"}, "unknown parameter 'nonsense'"),
])
def test_bad_treatment_is_rejected(treatment, message):
    data = {"name": "p", "duration_days": 200,
            "groups": [{"name": "a", "genotype": "SOD1-G93A", "n": 2, "treatments": [treatment]}]}
    with pytest.raises(ProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        protocol_from_dict(data)


def test_sweep_expands_into_one_group_per_start_and_dose():
    data = {"name": "p", "duration_days": 200, "control": "c",
            "sweep": {"group": "t", "start_days": [30, 60], "doses": [10, 20, 40]},
            "groups": [{"name": "c", "genotype": "SOD1-G93A", "n": 2},
                       {"name": "t", "genotype": "SOD1-G93A", "n": 2,
                        "treatments": [{"drug": "minocycline", "dose_mg_per_kg": 1}]}]}
    p = protocol_from_dict(data)
    arms = [g for g in p.groups if g.sweep_start_day is not None]
    assert len(arms) == 6 and len(p.groups) == 7
    assert sorted({(g.sweep_start_day, g.treatments[0].dose_mg_per_kg) for g in arms}) == \
        [(30.0, 10.0), (30.0, 20.0), (30.0, 40.0), (60.0, 10.0), (60.0, 20.0), (60.0, 40.0)]
    # round trip: a dumped protocol loads to the same groups
    assert protocol_from_dict(p.model_dump()).groups == p.groups


def test_half_life_of_ln2_uses_the_limit_of_the_bateman_function():
    """ka = ke = 1/h for a generic drug with half_life_h = ln 2: concentrations are finite and lie
    between those of the neighbouring half-lives (C = D ka t e^{-kt} there)."""
    from alsim.biology.drugs import generic_drug

    ln2 = float(np.log(2.0))
    at = [generic_drug("tnf_per_m1", 1.0, 0.9, h) for h in (ln2 * (1 - 1e-7), ln2, ln2 * (1 + 1e-7))]
    assert at[1].ka == at[1].ke
    t = np.linspace(10.0, 12.0, 97)
    for schedule in (Schedule("ip", start=10.0, stop=11.0, dose=20.0),
                     Schedule("diet", start=10.0, stop=11.0, ppm=500.0)):
        below, c, above = (plasma_concentration(t, d, schedule) for d in at)
        assert np.isfinite(c).all() and c.max() > 0
        np.testing.assert_allclose(c, below, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(c, above, rtol=1e-6, atol=1e-12)
    h = (t - 10.0) * 24.0
    bolus = plasma_concentration(t, at[1], Schedule("ip", start=10.0, stop=10.5, dose=20.0))
    np.testing.assert_allclose(bolus, 20.0 * 1.0 * h * np.exp(-h), rtol=1e-12, atol=1e-15)
    assert (daily_inhibition(at[1], Schedule("ip", start=10.0, stop=20.0, dose=20.0), 30.0)[10:20] > 0.1).all()
