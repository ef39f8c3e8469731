"""A generic compiled integrator: method, step-size controller, events and dense output as
separate pieces, with the right-hand side, the event and the noise passed in.

Two methods share one loop (``integrate``):

- ``DOPRI5``: adaptive Dormand-Prince 5(4) with FSAL (Dormand & Prince 1980
  J Comput Appl Math 6:19), the deterministic default;
- ``EULER_MARUYAMA``: fixed-step Euler-Maruyama for within-animal noise
  (Kloeden & Platen 1992), seeded per animal.

Both write the save grid from their dense output (Dormand-Prince's own
4th-order continuous extension; the chord for Euler-Maruyama), locate a
terminal event by bisection on it, project onto the state bounds after each
accepted step, and flag failures (non-finite state, step budget exhausted)
in a status code instead of raising, so one failed animal never sinks a cohort.

Time-dependent modulations (drugs, ablation) are one table applied by the
integrator, never by the model: each entry multiplies one parameter by a
piecewise-linear factor of time (breakpoints may repeat for a step change).

Why hand-written: a cohort must be one compiled loop (SciPy's solvers cost a
Python call per right-hand-side evaluation). The model's functions are passed
as Numba first-class functions with fixed signatures, so this module compiles
and caches once, whatever model calls it (passing plain dispatchers would
make Numba recompile it in every process: 15 s instead of 0.7 s at start-up).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

from .._numba_cache import drop_stale
from .assembly import EVENT_SIGNATURE, NOISE_SIGNATURE, RHS_SIGNATURE


def _probe():
    """Locates this module's Numba cache (see ``alsim._numba_cache``)."""


drop_stale(_probe, [])

# status codes
OK, ENDED, FAILED_NONFINITE, FAILED_STEPS = 0, 1, 2, 3
STATUS_TEXT = {OK: "ok (reached end of protocol)", ENDED: "ok (end stage reached)",
               FAILED_NONFINITE: "failed: non-finite state", FAILED_STEPS: "failed: step budget exhausted"}
# methods
DOPRI5, EULER_MARUYAMA = 0, 1

# Dormand-Prince 5(4) tableau
_C2, _C3, _C4, _C5 = 1 / 5, 3 / 10, 4 / 5, 8 / 9
_A21 = 1 / 5
_A31, _A32 = 3 / 40, 9 / 40
_A41, _A42, _A43 = 44 / 45, -56 / 15, 32 / 9
_A51, _A52, _A53, _A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
_A61, _A62, _A63, _A64, _A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
_B1, _B3, _B4, _B5, _B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
_E1, _E3, _E4, _E5, _E6, _E7 = 71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40

_vec = types.float64[::1]
_mat = types.float64[:, ::1]
RHS = types.FunctionType(RHS_SIGNATURE)
EVENT = types.FunctionType(EVENT_SIGNATURE)
NOISE = types.FunctionType(NOISE_SIGNATURE)
_i64 = types.int64
_i64vec = types.int64[::1]


# ------------------------------------------------------------- modulations
@njit(cache=True, inline="always")
def modulation_factor(times, values, t):
    """Piecewise-linear factor at time ``t`` through breakpoints (times, values), constant
    beyond the ends; at a repeated breakpoint the later value holds from that time on."""
    n = times.shape[0]
    lo = 0
    hi = n
    while lo < hi:  # number of breakpoints at or before t
        mid = (lo + hi) // 2
        if times[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return values[0]
    if lo == n:
        return values[n - 1]
    t0 = times[lo - 1]
    f = (t - t0) / (times[lo] - t0)
    return (1.0 - f) * values[lo - 1] + f * values[lo]


@njit(cache=True, inline="always")
def modulate(p, pw, t, mod_idx, mod_t, mod_v):
    """``pw`` = ``p`` with each modulated parameter multiplied by its factors at time ``t``."""
    for j in range(mod_idx.shape[0]):
        pw[mod_idx[j]] = p[mod_idx[j]]
    for j in range(mod_idx.shape[0]):
        pw[mod_idx[j]] *= modulation_factor(mod_t[j], mod_v[j], t)


# ------------------------------------------------------------------ pieces
# Dormand-Prince continuous extension (4th order; Hairer, Norsett & Wanner 1993, contd5 of dopri5)
_D1, _D3, _D4 = -12715105075 / 11282082432, 87487479700 / 32700410799, -10690763975 / 1880347072
_D5, _D6, _D7 = 701980252875 / 199316789632, -1453857185 / 822651844, 69997945 / 29380423


@njit(cache=True, inline="always")
def interpolate(method, y0, y1, k1, k3, k4, k5, k6, k7, h, theta, out):
    """State at fraction ``theta`` of the step from y0 to y1: the method's own 4th-order dense
    output for Dormand-Prince (from the stages k), the chord for Euler-Maruyama."""
    for i in range(y0.shape[0]):
        dy = y1[i] - y0[i]
        if method == DOPRI5:
            r3 = h * k1[i] - dy
            r4 = dy - h * k7[i] - r3
            r5 = h * (_D1 * k1[i] + _D3 * k3[i] + _D4 * k4[i] + _D5 * k5[i] + _D6 * k6[i] + _D7 * k7[i])
            out[i] = y0[i] + theta * (dy + (1.0 - theta) * (r3 + theta * (r4 + (1.0 - theta) * r5)))
        else:
            out[i] = y0[i] + theta * dy


@njit(cache=True, inline="always")
def dopri5_step(rhs, t, y, h, p, pw, mod_idx, mod_t, mod_v, k1, k2, k3, k4, k5, k6, k7, ytmp, y_new, work,
                rtol, atol):
    """One Dormand-Prince 5(4) step from (t, y) with slope k1: fills ``y_new`` and its slope
    ``k7`` and returns the RMS error relative to atol + rtol |y| (inf if not finite)."""
    n = y.shape[0]
    for i in range(n):
        ytmp[i] = y[i] + h * _A21 * k1[i]
    modulate(p, pw, t + _C2 * h, mod_idx, mod_t, mod_v)
    rhs(t + _C2 * h, ytmp, pw, k2, work)
    for i in range(n):
        ytmp[i] = y[i] + h * (_A31 * k1[i] + _A32 * k2[i])
    modulate(p, pw, t + _C3 * h, mod_idx, mod_t, mod_v)
    rhs(t + _C3 * h, ytmp, pw, k3, work)
    for i in range(n):
        ytmp[i] = y[i] + h * (_A41 * k1[i] + _A42 * k2[i] + _A43 * k3[i])
    modulate(p, pw, t + _C4 * h, mod_idx, mod_t, mod_v)
    rhs(t + _C4 * h, ytmp, pw, k4, work)
    for i in range(n):
        ytmp[i] = y[i] + h * (_A51 * k1[i] + _A52 * k2[i] + _A53 * k3[i] + _A54 * k4[i])
    modulate(p, pw, t + _C5 * h, mod_idx, mod_t, mod_v)
    rhs(t + _C5 * h, ytmp, pw, k5, work)
    for i in range(n):
        ytmp[i] = y[i] + h * (_A61 * k1[i] + _A62 * k2[i] + _A63 * k3[i] + _A64 * k4[i] + _A65 * k5[i])
    modulate(p, pw, t + h, mod_idx, mod_t, mod_v)
    rhs(t + h, ytmp, pw, k6, work)
    for i in range(n):
        y_new[i] = y[i] + h * (_B1 * k1[i] + _B3 * k3[i] + _B4 * k4[i] + _B5 * k5[i] + _B6 * k6[i])
    rhs(t + h, y_new, pw, k7, work)
    err = 0.0
    finite = True
    for i in range(n):
        e = h * (_E1 * k1[i] + _E3 * k3[i] + _E4 * k4[i] + _E5 * k5[i] + _E6 * k6[i] + _E7 * k7[i])
        a = abs(y[i])
        b = abs(y_new[i])
        sc = atol + rtol * (a if a > b else b)
        err += (e / sc) ** 2
        if not np.isfinite(y_new[i]):
            finite = False
    if not finite:
        return np.inf
    return np.sqrt(err / n)


@njit(cache=True, inline="always")
def step_factor(err):
    """Step-size factor after a step with relative error ``err`` (order-5 I controller,
    safety 0.9, within [0.2, 5]): below 1 means reject and retry."""
    if err <= 1e-10:
        return 5.0
    fac = 0.9 * err ** -0.2
    if fac > 5.0:
        return 5.0
    if fac < 0.2:
        return 0.2
    return fac


@njit(cache=True, inline="always")
def euler_maruyama_step(rhs, noise, t, y, h, p, pw, mod_idx, mod_t, mod_v, f, g, y_new, work):
    """One Euler-Maruyama step: y_new = y + h f(t, y) + g(y) sqrt(h) N(0, 1); returns 0, or inf
    if the new state is not finite."""
    modulate(p, pw, t, mod_idx, mod_t, mod_v)
    rhs(t, y, pw, f, work)
    noise(y, pw, g)
    sq = np.sqrt(h)
    finite = True
    for i in range(y.shape[0]):
        y_new[i] = y[i] + h * f[i]
        if g[i] != 0.0:
            y_new[i] += g[i] * sq * np.random.standard_normal()
        if not np.isfinite(y_new[i]):
            finite = False
    return 0.0 if finite else np.inf


@njit(cache=True, inline="always")
def project(y, lower, upper):
    """Clip the state onto its bounds (amounts are non-negative)."""
    for i in range(y.shape[0]):
        if y[i] < lower[i]:
            y[i] = lower[i]
        elif y[i] > upper[i]:
            y[i] = upper[i]


@njit(cache=True, inline="always")
def locate_crossing(event, method, y, y_new, k1, k3, k4, k5, k6, k7, h, p, yint):
    """Fraction of the step at which ``event`` crosses zero downward (bisection, 40 halvings,
    on the dense output)."""
    lo = 0.0
    hi = 1.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        interpolate(method, y, y_new, k1, k3, k4, k5, k6, k7, h, mid, yint)
        if event(yint, p) > 0.0:
            lo = mid
        else:
            hi = mid
    return hi


# ------------------------------------------------------------------- loop
@njit(types.Tuple((types.float64, _i64, _i64))(
    RHS, EVENT, NOISE, _vec, _vec, types.float64, types.float64, _vec, _i64, types.float64, types.float64,
    types.float64, _i64, _i64, types.boolean, _vec, _vec, _i64vec, _mat, _mat, _i64, _mat), cache=True)
def integrate(rhs, event, noise, y_init, p, t0, t_end, t_save, method, rtol, atol, dt, seed, max_steps,
              stop_at_event, lower, upper, mod_idx, mod_t, mod_v, n_work, y_save):
    """Integrate one compartment from t0 to t_end; fill ``y_save`` rows at ``t_save``.

    ``method`` DOPRI5 (adaptive, tolerances rtol/atol) or EULER_MARUYAMA (step ``dt``,
    noise from ``noise`` seeded with ``seed``). ``event(y, p)`` falling through zero is
    the terminal event (end stage); ``lower``/``upper`` bound the state (for DOPRI5 only
    the lower bound applies: the deterministic model keeps its own upper bounds).
    ``mod_idx``/``mod_t``/``mod_v`` are the modulation table (see ``modulate``); ``n_work``
    the size of the model's scratch array. Returns (event time or NaN, status, steps taken).
    """
    n = y_init.shape[0]
    pw = p.copy()
    work = np.empty(n_work)
    y = y_init.copy()
    y_new = np.empty(n)
    ytmp = np.empty(n)
    yint = np.empty(n)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
    k7 = np.empty(n)
    no_upper = np.full(n, np.inf)
    up = upper if method == EULER_MARUYAMA else no_upper
    n_save = t_save.shape[0]
    y_save[:, :] = np.nan
    js = 0
    while js < n_save and t_save[js] < t0:
        js += 1
    if js < n_save and t_save[js] == t0:
        for i in range(n):
            y_save[js, i] = y[i]
        js += 1

    t = t0
    h = 0.5 if method == DOPRI5 else dt
    if method == EULER_MARUYAMA:
        np.random.seed(seed)
    else:
        modulate(p, pw, t, mod_idx, mod_t, mod_v)
        rhs(t, y, pw, k1, work)
    steps = 0
    g_old = event(y, p)
    event_time = np.nan
    status = OK
    while t < t_end:
        if steps >= max_steps:
            status = FAILED_STEPS
            break
        if method == EULER_MARUYAMA:
            h = dt
        if t + h > t_end:
            h = t_end - t
        if method == DOPRI5:
            err = dopri5_step(rhs, t, y, h, p, pw, mod_idx, mod_t, mod_v, k1, k2, k3, k4, k5, k6, k7,
                              ytmp, y_new, work, rtol, atol)
        else:
            err = euler_maruyama_step(rhs, noise, t, y, h, p, pw, mod_idx, mod_t, mod_v, k1, k2, y_new, work)
        steps += 1
        if not np.isfinite(err):
            if method == EULER_MARUYAMA or h < 1e-10:
                status = FAILED_NONFINITE
                break
            h *= 0.25
            continue
        if err > 1.0:
            h *= step_factor(err)
            continue
        project(y_new, lower, up)
        t_new = t + h
        g_new = event(y_new, p)
        t_stop = t_new
        hit = g_old > 0.0 and g_new <= 0.0
        if hit:
            event_time = t + locate_crossing(event, method, y, y_new, k1, k3, k4, k5, k6, k7, h, p, yint) * h
            if stop_at_event:
                t_stop = event_time
        while js < n_save and t_save[js] <= t_stop:
            interpolate(method, y, y_new, k1, k3, k4, k5, k6, k7, h, (t_save[js] - t) / h, yint)
            for i in range(n):
                y_save[js, i] = yint[i] if yint[i] > 0.0 else 0.0
            js += 1
        t = t_new
        for i in range(n):
            y[i] = y_new[i]
            k1[i] = k7[i]
        g_old = g_new
        if hit:
            status = ENDED
            if stop_at_event:
                break
        if method == DOPRI5:
            h *= step_factor(err)
    if status >= FAILED_NONFINITE:
        y_save[:, :] = np.nan
        event_time = np.nan
    return event_time, status, steps
