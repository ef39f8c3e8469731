"""Numerical properties of the generic integrator: convergence orders, event location, dense output,
modulations (DESIGN.md: test numerical properties, as diffrax does)."""

import math

import numpy as np
import pytest
from numba import njit

from alsim.engines.assembly import EVENT_SIGNATURE, NOISE_SIGNATURE, RHS_SIGNATURE
from alsim.engines.integrate import (DOPRI5, ENDED, EULER_MARUYAMA, dopri5_step, euler_maruyama_step,
                                     integrate, modulation_factor)

NO_MOD = (np.empty(0, np.int64), np.zeros((0, 1)), np.ones((0, 1)))


@njit(RHS_SIGNATURE, cache=True)
def gaussian_and_sine(t, y, p, dy, work):
    """y0' = -2 t y0 (y0 = exp(-t^2)); y1' = p0 cos(t) (y1 = p0 sin t)."""
    dy[0] = -2.0 * t * y[0]
    dy[1] = p[0] * math.cos(t)


@njit(RHS_SIGNATURE, cache=True)
def linear_fall(t, y, p, dy, work):
    """y' = -p0: y = 1 - p0 t."""
    dy[0] = -p[0]


@njit(EVENT_SIGNATURE, cache=True)
def below_half(y, p):
    return y[0] - 0.5


@njit(NOISE_SIGNATURE, cache=True)
def no_noise(y, p, amplitude):
    amplitude[:] = 0.0


@njit(cache=True)
def _fixed_steps(method, n, T):
    """Integrate gaussian_and_sine over [0, T] with n equal steps of one method; error at T."""
    y = np.array([1.0, 0.0])
    p = np.array([1.0])
    pw = p.copy()
    k = np.zeros((9, 2))
    y_new = np.empty(2)
    work = np.empty(1)
    h = T / n
    mod_idx = np.empty(0, np.int64)
    mod_t = np.zeros((0, 1))
    mod_v = np.ones((0, 1))
    gaussian_and_sine(0.0, y, p, k[0], work)
    for i in range(n):
        t = i * h
        if method == 0:
            dopri5_step(gaussian_and_sine, t, y, h, p, pw, mod_idx, mod_t, mod_v, k[0], k[1], k[2], k[3], k[4],
                        k[5], k[6], k[7], y_new, work, 1e-6, 1e-9)
            k[0, :] = k[6]
        else:
            euler_maruyama_step(gaussian_and_sine, no_noise, t, y, h, p, pw, mod_idx, mod_t, mod_v, k[1], k[2],
                                y_new, work)
        y[:] = y_new
    return max(abs(y[0] - math.exp(-T * T)), abs(y[1] - math.sin(T)))


@pytest.mark.parametrize("method, order", [(0, 5.0), (1, 1.0)], ids=["Dormand-Prince", "Euler-Maruyama"])
def test_global_convergence_order(method, order):
    """Halving the step divides the global error by 2^order (Dormand-Prince 5, Euler 1)."""
    ns = [8, 16, 32, 64] if method == 0 else [200, 400, 800, 1600]
    errors = np.array([_fixed_steps(method, n, 2.0) for n in ns])
    observed = np.log2(errors[:-1] / errors[1:])
    assert np.all(np.abs(observed - order) < 0.35 * order), observed


def _run(rhs, y0, p, t_save, method=DOPRI5, rtol=1e-8, atol=1e-12, mods=NO_MOD, stop=True):
    y_save = np.empty((t_save.size, y0.size))
    lower, upper = np.zeros(y0.size), np.full(y0.size, np.inf)
    out = integrate(rhs, below_half, no_noise, y0, p, float(t_save[0]), float(t_save[-1]), t_save, method, rtol,
                    atol, 0.01, 0, 100_000, stop, lower, upper, *mods, 1, y_save)
    return out, y_save


def test_adaptive_solution_meets_its_tolerance():
    t = np.linspace(0.0, 2.0, 21)
    (age, status, _), y = _run(gaussian_and_sine, np.array([1.0, 0.0]), np.array([1.0]), t, stop=False)
    # exp(-t^2) = 1/2, located on the 4th-order dense output of the accepted steps
    assert status == ENDED and age == pytest.approx(math.sqrt(math.log(2.0)), abs=1e-7)
    np.testing.assert_allclose(y[:, 0], np.exp(-t ** 2), atol=1e-7)
    np.testing.assert_allclose(y[:, 1], np.sin(t), atol=1e-7)


def test_terminal_event_is_located_on_the_interpolant():
    """y = 1 - 0.3 t crosses 0.5 at t = 5/3; the run stops there and saves NaN afterwards."""
    t = np.linspace(0.0, 4.0, 41)
    for method in (DOPRI5, EULER_MARUYAMA):
        (age, status, _), y = _run(linear_fall, np.array([1.0]), np.array([0.3]), t, method=method)
        assert status == ENDED
        assert abs(age - 5.0 / 3.0) < 1e-9
        assert np.isnan(y[t > age]).all() and not np.isnan(y[t <= age]).any()


def test_modulation_factor_interpolates_clamps_and_steps():
    times = np.array([0.5, 1.5, 2.5])
    values = np.array([1.0, 0.5, 0.0])
    assert modulation_factor(times, values, 0.0) == 1.0
    assert modulation_factor(times, values, 1.0) == pytest.approx(0.75)
    assert modulation_factor(times, values, 9.0) == 0.0
    step_t = np.array([10.0, 10.0])
    step_v = np.array([1.0, 0.4])
    assert modulation_factor(step_t, step_v, 9.999) == 1.0
    assert modulation_factor(step_t, step_v, 10.0) == 0.4


def test_modulation_scales_the_parameter_the_model_sees():
    """A factor 0.5 on p0 from day 1 halves the slope from then on: y(3) = 1 - 0.3 - 2 x 0.15."""
    t = np.linspace(0.0, 3.0, 31)
    mods = (np.array([0]), np.array([[1.0, 1.0]]), np.array([[1.0, 0.5]]))
    (age, status, _), y = _run(linear_fall, np.array([1.0]), np.array([0.3]), t, mods=mods, stop=False)
    # the event was passed; the step change costs accuracy where a step straddles it
    assert status == ENDED and age == pytest.approx(1.0 + 0.2 / 0.15, abs=1e-5)
    assert y[-1, 0] == pytest.approx(0.4, abs=1e-5)
