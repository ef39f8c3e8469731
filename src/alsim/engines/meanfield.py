"""Mean-field cohort engine: the model's ODE for a whole cohort at once.

Each animal has its own parameter vector (one row of ``P``) and is integrated
independently, in parallel over animals (Numba ``prange``), by an adaptive
Dormand-Prince 5(4) method (Dormand & Prince 1980 J Comput Appl Math 6:19)
with FSAL, cubic Hermite dense output onto the save grid, and exact
end-stage event location on the interpolant.

Why an explicit method: the fast signals are held at quasi-steady state in
``biology.mechanisms`` (cytokines live minutes, the disease months), which
removes the stiffness; the slowest-to-fastest ratio of what remains is ~1e2,
where an explicit 5th-order method with error control takes far fewer and
cheaper steps than BDF (DESIGN.md, "Numerics"). Written by hand instead of
calling SciPy because a cohort must be one compiled loop: SciPy's solvers
cost a Python call per right-hand-side evaluation.

Failed animals (non-finite state, or the step budget exhausted) are flagged
in ``status`` and their outputs set to NaN; the rest of the cohort is unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ..biology import mechanisms as mech

# status codes
OK, ENDED, FAILED_NONFINITE, FAILED_STEPS = 0, 1, 2, 3
STATUS_TEXT = {OK: "ok (reached end of protocol)", ENDED: "ok (end stage reached)",
               FAILED_NONFINITE: "failed: non-finite state", FAILED_STEPS: "failed: step budget exhausted"}

# Dormand-Prince 5(4) tableau
_C2, _C3, _C4, _C5 = 1 / 5, 3 / 10, 4 / 5, 8 / 9
_A21 = 1 / 5
_A31, _A32 = 3 / 40, 9 / 40
_A41, _A42, _A43 = 44 / 45, -56 / 15, 32 / 9
_A51, _A52, _A53, _A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
_A61, _A62, _A63, _A64, _A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
_B1, _B3, _B4, _B5, _B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
_E1, _E3, _E4, _E5, _E6, _E7 = 71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40


@njit(cache=True, inline="always")
def _hermite(y0, f0, y1, f1, h, theta, out):
    """Cubic Hermite interpolant between two steps at fraction theta of the step."""
    t2 = theta * theta
    t3 = t2 * theta
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = t3 - 2 * t2 + theta
    h01 = -2 * t3 + 3 * t2
    h11 = t3 - t2
    for i in range(y0.shape[0]):
        out[i] = h00 * y0[i] + h10 * h * f0[i] + h01 * y1[i] + h11 * h * f1[i]


@njit(cache=True, inline="always")
def _modulate(p, pw, t, mod_idx, mod_table):
    """Scale the targeted parameters by one minus the drug's daily mean inhibition at age t
    (linear between day centres); no-op without a drug."""
    k = mod_idx.shape[0]
    if k == 0:
        return
    last = mod_table.shape[0] - 1
    x = t - 0.5
    if x < 0.0:
        x = 0.0
    i = int(x)
    if i >= last:
        i = last - 1 if last > 0 else 0
        f = 1.0 if last > 0 else 0.0
    else:
        f = x - i
    for j in range(k):
        e = (1.0 - f) * mod_table[i, j] + f * mod_table[min(i + 1, last), j]
        pw[mod_idx[j]] = p[mod_idx[j]] * (1.0 - e)


@njit(cache=True)
def integrate_one(y_init, p, t0, t_end, t_save, rtol, atol, max_steps, stop_at_end_stage, y_save,
                  mod_idx, mod_table):
    """Integrate one animal from t0 to t_end; fill ``y_save`` rows at ``t_save``.

    ``mod_idx``/``mod_table`` (targets; days x targets) give the daily mean
    fractional inhibition of parameters by a drug (empty for none).
    Returns (end_stage_age, status, n_steps). end_stage_age is NaN when the
    animal did not reach the righting-reflex threshold.
    """
    n = y_init.shape[0]
    pw = p.copy()
    sig = np.empty(mech.N_SIGNALS)
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
    thr = p[mech.P_RIGHTING]
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
    h = 0.5
    _modulate(p, pw, t, mod_idx, mod_table)
    mech.rhs(t, y, pw, k1, sig)
    steps = 0
    g_old = mech.innervated_total(y, p) - thr
    end_age = np.nan
    status = OK
    while t < t_end:
        if steps >= max_steps:
            status = FAILED_STEPS
            break
        if t + h > t_end:
            h = t_end - t
        for i in range(n):
            ytmp[i] = y[i] + h * _A21 * k1[i]
        _modulate(p, pw, t + _C2 * h, mod_idx, mod_table)
        mech.rhs(t + _C2 * h, ytmp, pw, k2, sig)
        for i in range(n):
            ytmp[i] = y[i] + h * (_A31 * k1[i] + _A32 * k2[i])
        _modulate(p, pw, t + _C3 * h, mod_idx, mod_table)
        mech.rhs(t + _C3 * h, ytmp, pw, k3, sig)
        for i in range(n):
            ytmp[i] = y[i] + h * (_A41 * k1[i] + _A42 * k2[i] + _A43 * k3[i])
        _modulate(p, pw, t + _C4 * h, mod_idx, mod_table)
        mech.rhs(t + _C4 * h, ytmp, pw, k4, sig)
        for i in range(n):
            ytmp[i] = y[i] + h * (_A51 * k1[i] + _A52 * k2[i] + _A53 * k3[i] + _A54 * k4[i])
        _modulate(p, pw, t + _C5 * h, mod_idx, mod_table)
        mech.rhs(t + _C5 * h, ytmp, pw, k5, sig)
        for i in range(n):
            ytmp[i] = y[i] + h * (_A61 * k1[i] + _A62 * k2[i] + _A63 * k3[i] + _A64 * k4[i] + _A65 * k5[i])
        _modulate(p, pw, t + h, mod_idx, mod_table)
        mech.rhs(t + h, ytmp, pw, k6, sig)
        for i in range(n):
            y_new[i] = y[i] + h * (_B1 * k1[i] + _B3 * k3[i] + _B4 * k4[i] + _B5 * k5[i] + _B6 * k6[i])
        mech.rhs(t + h, y_new, pw, k7, sig)
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
        steps += 1
        if not finite:
            if h < 1e-10:
                status = FAILED_NONFINITE
                break
            h *= 0.25
            continue
        err = np.sqrt(err / n)
        if err > 1.0:
            fac = 0.9 * err ** -0.2
            h *= fac if fac > 0.2 else 0.2
            continue
        # accepted: project onto the non-negative orthant (all states are amounts)
        for i in range(n):
            if y_new[i] < 0.0:
                y_new[i] = 0.0
        t_new = t + h
        # end-stage event: innervated fraction crosses the righting threshold
        g_new = mech.innervated_total(y_new, p) - thr
        t_stop = t_new
        event = False
        if g_old > 0.0 and g_new <= 0.0:
            lo = 0.0
            hi = 1.0
            glo = g_old
            for _ in range(40):  # bisection on the Hermite interpolant
                mid = 0.5 * (lo + hi)
                _hermite(y, k1, y_new, k7, h, mid, yint)
                gm = mech.innervated_total(yint, p) - thr
                if gm > 0.0:
                    lo = mid
                    glo = gm
                else:
                    hi = mid
            end_age = t + hi * h
            t_stop = end_age
            event = True
        while js < n_save and t_save[js] <= t_stop:
            theta = (t_save[js] - t) / h
            _hermite(y, k1, y_new, k7, h, theta, yint)
            for i in range(n):
                y_save[js, i] = yint[i] if yint[i] > 0.0 else 0.0
            js += 1
        t = t_new
        for i in range(n):
            y[i] = y_new[i]
            k1[i] = k7[i]
        g_old = g_new
        if event:
            status = ENDED
            if stop_at_end_stage:
                break
        fac = 0.9 * err ** -0.2 if err > 1e-10 else 5.0
        if fac > 5.0:
            fac = 5.0
        h *= fac
    if status >= FAILED_NONFINITE:
        y_save[:, :] = np.nan
        end_age = np.nan
    return end_age, status, steps


@njit(cache=True)
def integrate_one_sde(y_init, p, t_end, t_save, dt, seed, stop_at_end_stage, y_save, mod_idx, mod_table):
    """Within-animal stochastic path: Euler-Maruyama with step ``dt`` [day].

    Multiplicative noise ``misfold_noise * sqrt(load) dW`` on the three misfolded-SOD1
    loads (stochastic nucleation and fibrillization; Abdolvahabi et al. 2017); the rest
    of the model is the deterministic right-hand side. The animal's own ``seed`` makes
    the path reproducible whatever thread runs it. End stage is located by linear
    interpolation of the innervated fraction within the step.
    """
    np.random.seed(seed)
    n = y_init.shape[0]
    sig = np.empty(mech.N_SIGNALS)
    pw = p.copy()
    y = y_init.copy()
    f = np.empty(n)
    sigma = p[mech.P_MF_NOISE]
    thr = p[mech.P_RIGHTING]
    n_save = t_save.shape[0]
    y_save[:, :] = np.nan
    js = 0
    t = 0.0
    g_old = mech.innervated_total(y, p) - thr
    end_age = np.nan
    status = OK
    steps = 0
    while js < n_save and t_save[js] <= t:
        for i in range(n):
            y_save[js, i] = y[i]
        js += 1
    while t < t_end - 1e-12:
        h = dt if t + dt <= t_end else t_end - t
        _modulate(p, pw, t, mod_idx, mod_table)
        mech.rhs(t, y, pw, f, sig)
        y_old0 = y.copy()
        for i in range(n):
            y[i] += h * f[i]
        if sigma > 0.0:
            for k in (mech.S_MN, mech.S_AST, mech.S_MG):
                y[k] += sigma * np.sqrt(max(y_old0[k], 0.0) * h) * np.random.standard_normal()
        for i in range(n):
            if y[i] < 0.0:
                y[i] = 0.0
            if not np.isfinite(y[i]):
                status = FAILED_NONFINITE
        for k in (mech.S_MN, mech.S_AST, mech.S_MG):
            if y[k] > 1.0:
                y[k] = 1.0
        steps += 1
        if status == FAILED_NONFINITE:
            break
        t_new = t + h
        g_new = mech.innervated_total(y, p) - thr
        event = g_old > 0.0 and g_new <= 0.0
        if event:
            end_age = t + h * g_old / (g_old - g_new)
        while js < n_save and t_save[js] <= (end_age if event else t_new) + 1e-12:
            w = (t_save[js] - t) / h
            for i in range(n):
                y_save[js, i] = (1.0 - w) * y_old0[i] + w * y[i]
            js += 1
        t = t_new
        g_old = g_new
        if event:
            status = ENDED
            if stop_at_end_stage:
                break
    if status >= FAILED_NONFINITE:
        y_save[:, :] = np.nan
        end_age = np.nan
    return end_age, status, steps


@njit(cache=True, parallel=True)
def _integrate_cohort_sde(Y0, P, t_end, t_save, dt, seeds, stop_at_end_stage, Ysave, end_age, status, nsteps,
                          mod_idx, mod_tables, mod_group):
    for a in prange(Y0.shape[0]):
        e, s, k = integrate_one_sde(Y0[a], P[a], t_end, t_save, dt, seeds[a], stop_at_end_stage, Ysave[a],
                                    mod_idx, mod_tables[mod_group[a]])
        end_age[a] = e
        status[a] = s
        nsteps[a] = k


@njit(cache=True, parallel=True)
def _integrate_cohort(Y0, P, t0, t_end, t_save, rtol, atol, max_steps, stop_at_end_stage,
                      Ysave, end_age, status, nsteps, mod_idx, mod_tables, mod_group):
    for a in prange(Y0.shape[0]):
        e, s, k = integrate_one(Y0[a], P[a], t0, t_end, t_save, rtol, atol, max_steps,
                                stop_at_end_stage, Ysave[a], mod_idx, mod_tables[mod_group[a]])
        end_age[a] = e
        status[a] = s
        nsteps[a] = k


@njit(cache=True, parallel=True)
def _observe_cohort(t_save, Ysave, P, Obs, mod_idx, mod_tables, mod_group):
    for a in prange(Ysave.shape[0]):
        sig = np.empty(mech.N_SIGNALS)
        pw = P[a].copy()
        for j in range(t_save.shape[0]):
            if np.isnan(Ysave[a, j, 0]):
                for k in range(Obs.shape[2]):
                    Obs[a, j, k] = np.nan
            else:
                _modulate(P[a], pw, t_save[j], mod_idx, mod_tables[mod_group[a]])
                mech.observe(t_save[j], Ysave[a, j], pw, sig, Obs[a, j])


@dataclass(frozen=True)
class CohortSolution:
    """Trajectories of a cohort on the save grid.

    states: (animals, times, states); observables: (animals, times, observables);
    NaN after an animal's end stage (when the run stops there) and for failed animals.
    """

    t: np.ndarray
    states: np.ndarray
    observables: np.ndarray
    end_stage_age: np.ndarray
    status: np.ndarray
    n_steps: np.ndarray

    @property
    def failed(self) -> np.ndarray:
        """Boolean mask of animals whose integration failed."""
        return self.status >= FAILED_NONFINITE


def solve_cohort(P: np.ndarray, t_save: np.ndarray, *, t_end: float | None = None,
                 y0: np.ndarray | None = None, t0: float = 0.0, rtol: float = 1e-6, atol: float = 1e-9,
                 max_steps: int = 200_000, stop_at_end_stage: bool = True,
                 observables: bool = True, modulation=None, noise_seeds: np.ndarray | None = None,
                 sde_dt: float = 0.25) -> CohortSolution:
    """Integrate every row of ``P`` (one animal or culture well each) from ``t0`` over ``t_save``.

    Parameters
    ----------
    P : (animals, parameters) float64 parameter matrix (``biology.parameters`` order).
    t_save : increasing ages [day] at which to record the state.
    t_end : last age [day]; defaults to ``t_save[-1]``.
    y0 : (animals, states) initial states at ``t0``; defaults to ``mechanisms.initial_state()``.
    t0 : starting age [day] (default birth).
    rtol, atol : local error tolerances of the step-size controller.
    stop_at_end_stage : stop each animal at loss of righting reflex (humane end point).
    modulation : (parameter indices (k,), tables (groups, days, k), group of each animal (n,)):
        daily mean fractional inhibition of parameters by drugs; None for no drug.
    noise_seeds : one integer seed per animal: integrate the within-animal stochastic model
        (Euler-Maruyama, step ``sde_dt`` days, from birth) instead of the deterministic one.
    """
    P = np.ascontiguousarray(P, dtype=np.float64)
    t_save = np.ascontiguousarray(t_save, dtype=np.float64)
    n = P.shape[0]
    if y0 is None:
        y0 = np.tile(mech.initial_state(), (n, 1))
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    t_end = float(t_save[-1] if t_end is None else t_end)
    Ysave = np.empty((n, t_save.shape[0], mech.N_STATES))
    end_age = np.empty(n)
    status = np.empty(n, dtype=np.int64)
    nsteps = np.empty(n, dtype=np.int64)
    if modulation is None:
        modulation = (np.empty(0, np.int64), np.zeros((1, 1, 0)), np.zeros(n, np.int64))
    mod_idx, mod_tables, mod_group = modulation
    mod = (np.ascontiguousarray(mod_idx, dtype=np.int64), np.ascontiguousarray(mod_tables, dtype=np.float64),
           np.ascontiguousarray(mod_group, dtype=np.int64))
    if noise_seeds is None:
        _integrate_cohort(y0, P, float(t0), t_end, t_save, float(rtol), float(atol), int(max_steps),
                          bool(stop_at_end_stage), Ysave, end_age, status, nsteps, *mod)
    else:
        _integrate_cohort_sde(y0, P, t_end, t_save, float(sde_dt),
                              np.ascontiguousarray(noise_seeds, dtype=np.int64), bool(stop_at_end_stage),
                              Ysave, end_age, status, nsteps, *mod)
    if observables:
        Obs = np.empty((n, t_save.shape[0], mech.N_OBS))
        _observe_cohort(t_save, Ysave, P, Obs, *mod)
    else:
        Obs = np.empty((n, 0, mech.N_OBS))
    return CohortSolution(t_save, Ysave, Obs, end_age, status, nsteps)


from .._numba_cache import drop_stale  # noqa: E402

drop_stale(integrate_one, "meanfield", [__file__, *mech._dependencies()])
