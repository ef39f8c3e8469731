"""Mean-field cohort engine: a whole cohort of compartments (animals or wells) at once.

Each compartment has its own parameter vector (one row of ``P``) and is
integrated independently, in parallel over compartments (Numba ``prange``),
by the generic integrator (``engines.integrate``) on the right-hand side the
assembler builds from the per-cell kernels (``engines.assembly``). Reporters
are computed afterwards, only on the save grid.

Failed compartments (non-finite state, or the step budget exhausted) are
flagged in ``status`` and their outputs set to NaN; the rest are unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit, prange, types

from .._numba_cache import drop_stale
from . import assembly as asm
from .integrate import (DOPRI5, ENDED, EULER_MARUYAMA, EVENT, FAILED_NONFINITE, FAILED_STEPS, NOISE, OK, RHS,
                        STATUS_TEXT, integrate, modulate)



def _probe():
    """Locates this module's Numba cache (see ``alsim._numba_cache``)."""


drop_stale(_probe, [Path(__file__).with_name("integrate.py")])

__all__ = ["solve_cohort", "reporter_planes", "CohortSolution", "Modulation", "STATUS_TEXT", "OK", "ENDED",
           "FAILED_NONFINITE", "FAILED_STEPS"]

_vec = types.float64[::1]
_mat = types.float64[:, ::1]
_cube = types.float64[:, :, ::1]
_ivec = types.int64[::1]
_i64 = types.int64
OBSERVER = types.FunctionType(asm.OBSERVER_SIGNATURE)


@njit(types.void(RHS, EVENT, NOISE, _mat, _mat, types.float64, types.float64, _vec, _i64, types.float64,
                 types.float64, types.float64, _ivec, _i64, types.boolean, _vec, _vec, _ivec, _cube, _cube, _ivec,
                 _i64, _cube, _vec, _ivec, _ivec), cache=True, parallel=True, nogil=True)
def _integrate_cohort(rhs, event, noise, Y0, P, t0, t_end, t_save, method, rtol, atol, dt, seeds, max_steps,
                      stop_at_event, lower, upper, mod_idx, mod_t, mod_v, mod_group, n_work, Ysave, end_age,
                      status, nsteps):
    for a in prange(Y0.shape[0]):
        g = mod_group[a]
        e, s, k = integrate(rhs, event, noise, Y0[a], P[a], t0, t_end, t_save, method, rtol, atol, dt, seeds[a],
                            max_steps, stop_at_event, lower, upper, mod_idx, mod_t[g], mod_v[g], n_work, Ysave[a])
        end_age[a] = e
        status[a] = s
        nsteps[a] = k


@njit(types.void(OBSERVER, _vec, _cube, _mat, _ivec, _cube, _cube, _ivec, _i64, types.float64[:, :, :]), cache=True,
      parallel=True, nogil=True)
def _observe_cohort(observe, t_save, Ysave, P, mod_idx, mod_t, mod_v, mod_group, n_work, Obs):
    """``Obs[r, a, j]``: reporter r of compartment a at save point j (reporter-major, each plane
    contiguous in time: the layout the summaries and readouts read, written without a transpose)."""
    n_t = t_save.shape[0]
    for a in prange(Ysave.shape[0]):
        work = np.empty(n_work)
        out = np.empty((n_t, Obs.shape[0]))  # the animal's reporters, then copied plane by plane
        pw = P[a].copy()
        g = mod_group[a]
        for j in range(n_t):
            if np.isnan(Ysave[a, j, 0]):
                out[j] = np.nan
            else:
                modulate(P[a], pw, t_save[j], mod_idx, mod_t[g], mod_v[g])
                observe(t_save[j], Ysave[a, j], pw, work, out[j])
        for r in range(out.shape[1]):
            plane = Obs[r, a]
            for j in range(n_t):
                plane[j] = out[j, r]


_PLANE_PAD = 24  # float64 values between planes: planes a multiple of 4 KiB apart share their cache sets


def reporter_planes(n_planes: int, n_compartments: int, n_times: int) -> np.ndarray:
    """An empty (planes, compartments, times) float64 array, each plane a contiguous
    compartment-by-time matrix (the planes padded apart): the reporters' layout (:func:`solve_cohort`)."""
    size = n_compartments * n_times
    return np.empty((n_planes, size + _PLANE_PAD))[:, :size].reshape(n_planes, n_compartments, n_times)


@dataclass(frozen=True)
class Modulation:
    """Time-dependent multiplicative modulation of parameters (drugs, ablation), per group.

    params: (k,) parameter indices; times, values: (groups, k, K) breakpoints and factors
    (piecewise linear in time, constant beyond the ends; a repeated time is a step);
    group: (compartments,) the group of each compartment.
    """

    params: np.ndarray
    times: np.ndarray
    values: np.ndarray
    group: np.ndarray

    @staticmethod
    def none(n: int) -> "Modulation":
        """No modulation for ``n`` compartments."""
        return Modulation(np.empty(0, np.int64), np.zeros((1, 0, 1)), np.ones((1, 0, 1)), np.zeros(n, np.int64))

    def subset(self, lo: int, hi: int) -> "Modulation":
        """The same table for compartments lo..hi-1."""
        return Modulation(self.params, self.times, self.values, self.group[lo:hi])

    def arrays(self) -> tuple:
        """Contiguous typed arrays in the order the compiled cohort loops take them."""
        return (np.ascontiguousarray(self.params, dtype=np.int64), np.ascontiguousarray(self.times, dtype=np.float64),
                np.ascontiguousarray(self.values, dtype=np.float64),
                np.ascontiguousarray(self.group, dtype=np.int64))


@dataclass(frozen=True)
class CohortSolution:
    """Trajectories of a cohort on the save grid.

    states: (compartments, times, states); observables: (compartments, times, reporters),
    columns in ``biology.model.REPORTER_NAMES`` order (a view of reporter-major planes, see
    :func:`solve_cohort`); NaN after an animal's end stage
    (when the run stops there) and for failed compartments.
    """

    t: np.ndarray
    states: np.ndarray
    observables: np.ndarray
    end_stage_age: np.ndarray
    status: np.ndarray
    n_steps: np.ndarray

    @property
    def failed(self) -> np.ndarray:
        """Boolean mask of compartments whose integration failed."""
        return self.status >= FAILED_NONFINITE

    def reporter(self, name: str) -> np.ndarray:
        """(compartments, times) values of one named reporter."""
        return self.observables[:, :, asm.Reporter[name]]


def solve_cohort(P: np.ndarray, t_save: np.ndarray, *, t_end: float | None = None,
                 y0: np.ndarray | None = None, t0: float = 0.0, rtol: float = 1e-6, atol: float = 1e-9,
                 max_steps: int = 200_000, stop_at_end_stage: bool = True, observables: bool = True,
                 modulation: Modulation | None = None, noise_seeds: np.ndarray | None = None,
                 sde_dt: float = 0.25, compartment: str = "animal", planes: np.ndarray | None = None) -> CohortSolution:
    """Integrate every row of ``P`` (one animal or culture well each) from ``t0`` over ``t_save``.

    Parameters
    ----------
    P : (compartments, parameters) float64 parameter matrix (``biology.parameters`` order).
    t_save : increasing ages [day] at which to record the state.
    t_end : last age [day]; defaults to ``t_save[-1]``.
    y0 : (compartments, states) initial states at ``t0``; defaults to ``assembly.initial_state()``.
    t0 : starting age [day] (default birth).
    rtol, atol : local error tolerances of the step-size controller.
    stop_at_end_stage : stop each animal at loss of righting reflex (humane end point).
    modulation : drugs and ablation (``Modulation``); None for none.
    noise_seeds : one integer seed per compartment: integrate the within-animal stochastic model
        (Euler-Maruyama, step ``sde_dt`` days) instead of the deterministic one.
    compartment : "animal" or "well" (a culture well, ``assembly.well_rhs``).
    planes : (>= reporters, compartments, times) float64 array, rows contiguous, whose first planes
        receive the reporters (``observables`` is then a view of them); default: a new one. Further
        planes are the caller's (e.g. ratios computed from the reporters, ``analysis.bands``).
    """
    rhs, observe = asm.MODELS[asm.COMPARTMENTS[compartment]]
    P = np.ascontiguousarray(P, dtype=np.float64)
    t_save = np.ascontiguousarray(t_save, dtype=np.float64)
    n = P.shape[0]
    if y0 is None:
        y0 = np.tile(asm.initial_state(), (n, 1))
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    t_end = float(t_save[-1] if t_end is None else t_end)
    Ysave = np.empty((n, t_save.shape[0], asm.N_STATES))
    end_age = np.empty(n)
    status = np.empty(n, dtype=np.int64)
    nsteps = np.empty(n, dtype=np.int64)
    mod = (modulation or Modulation.none(n)).arrays()
    lower, upper = asm.state_bounds()
    if noise_seeds is None:
        method, seeds = DOPRI5, np.zeros(n, np.int64)
    else:
        method, seeds = EULER_MARUYAMA, np.ascontiguousarray(noise_seeds, dtype=np.int64)
    _integrate_cohort(rhs, asm.end_stage_margin, asm.misfolding_noise, y0, P, float(t0), t_end, t_save, method,
                      float(rtol), float(atol), float(sde_dt), seeds, int(max_steps), bool(stop_at_end_stage),
                      lower, upper, *mod, asm.N_SIGNALS, Ysave, end_age, status, nsteps)
    if not observables:
        return CohortSolution(t_save, Ysave, np.empty((n, 0, asm.N_REPORTERS)), end_age, status, nsteps)
    if planes is None:
        planes = reporter_planes(asm.N_REPORTERS, n, t_save.shape[0])
    elif planes.dtype != np.float64 or planes.ndim != 3 or planes.shape[0] < asm.N_REPORTERS \
            or planes.shape[1:] != (n, t_save.shape[0]) or planes.strides[2] != 8:
        raise ValueError(f"planes must be float64 of shape (>= {asm.N_REPORTERS}, {n}, {t_save.shape[0]}), each "
                         f"row contiguous; got {planes.dtype} {planes.shape} with strides {planes.strides}")
    _observe_cohort(observe, t_save, Ysave, P, *mod, asm.N_SIGNALS, planes[:asm.N_REPORTERS])
    return CohortSolution(t_save, Ysave, planes[:asm.N_REPORTERS].transpose(1, 2, 0), end_age, status, nsteps)


