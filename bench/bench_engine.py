"""Benchmark: the compiled cohort engine against a SciPy per-animal loop.

Measures how many SOD1-G93A B6SJL mice (half male, half female, each with its
own random effects) per second the mean-field engine
(``alsim.engines.meanfield.solve_cohort``, Numba, parallel over animals)
integrates from birth to end stage, and compares it with the usual baseline:
the IDENTICAL compiled right-hand side (``engines.assembly.animal_rhs``) driven by
SciPy ``solve_ivp(method="LSODA")`` in a Python loop, one animal at a time,
with a terminal event at loss of righting reflex. Both use rtol=1e-6,
atol=1e-9. Compilation is warmed up before timing. As a correctness check,
each animal's end-stage age must agree between the two within 0.5 d (exit
status 1 otherwise). Wall-clock numbers are reported, never asserted.

Run:
    .venv/bin/python bench/bench_engine.py [--n 10000] [--n-scipy 200] [--threads K]
"""

from __future__ import annotations

import argparse
import sys
import time

import numba
import numpy as np
from scipy.integrate import solve_ivp

from alsim.engines import assembly as asm
from alsim.biology.genotypes import animal_vector
from alsim.biology.parameters import default_vector
from alsim.engines.meanfield import solve_cohort

RTOL, ATOL = 1e-6, 1e-9
T_END = 250.0  # [day]; every G93A B6SJL animal reaches end stage well before this
TOL_DAYS = 0.5
BASELINE = "SciPy solve_ivp LSODA (per-animal loop)"


def cohort(n: int, seed: int) -> np.ndarray:
    """Parameter matrix of n SOD1-G93A B6SJL animals, alternating male/female."""
    base = default_vector()
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]
    return np.array([animal_vector(base, "SOD1-G93A", "B6SJL", ("male", "female")[i % 2], rng)
                     for i, rng in enumerate(rngs)])


def engine(P: np.ndarray) -> np.ndarray:
    """End-stage ages [day] from the compiled cohort engine."""
    sol = solve_cohort(P, t_save=np.array([0.0, T_END]), rtol=RTOL, atol=ATOL, observables=False)
    return sol.end_stage_age


def scipy_one(p: np.ndarray) -> float:
    """End-stage age [day] of one animal from SciPy LSODA on the same compiled rhs (NaN if none)."""
    dy = np.empty(asm.N_STATES)
    sig = np.empty(asm.N_SIGNALS)

    def f(t, y):
        asm.animal_rhs(t, y, p, dy, sig)
        return dy.copy()

    def end_stage(t, y):
        return asm.end_stage_margin(y, p)

    end_stage.terminal = True
    end_stage.direction = -1
    sol = solve_ivp(f, (0.0, T_END), asm.initial_state(), method="LSODA", rtol=RTOL, atol=ATOL,
                    events=end_stage)
    if sol.status < 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return float(sol.t_events[0][0]) if sol.t_events[0].size else np.nan


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="animals for the engine")
    ap.add_argument("--n-scipy", type=int, default=200, help="animals for the SciPy loop")
    ap.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    n_scipy = min(args.n_scipy, args.n)

    P = cohort(args.n, args.seed)
    engine(P[:2])           # compile / load cache, not timed
    scipy_one(P[0])         # compile the Python-callable rhs, not timed

    t0 = time.perf_counter()
    age_engine = engine(P)
    t_engine = time.perf_counter() - t0

    t0 = time.perf_counter()
    age_scipy = np.array([scipy_one(p) for p in P[:n_scipy]])
    t_scipy = time.perf_counter() - t0

    # Survival agreement on the SciPy subset (both NaN = neither reached end stage: agree).
    a, b = age_engine[:n_scipy], age_scipy
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    diff = np.where(np.isnan(diff), np.inf, diff)  # end stage in one method only
    max_diff = float(diff.max()) if diff.size else 0.0
    ok = max_diff <= TOL_DAYS

    rate_engine = args.n / t_engine
    rate_scipy = n_scipy / t_scipy
    print(f"SOD1-G93A B6SJL, half male/half female, seed {args.seed}; rtol={RTOL:g}, atol={ATOL:g}; "
          f"Numba threads: {numba.get_num_threads()}")
    print(f"engine end stage: median {np.nanmedian(age_engine):.1f} d, "
          f"{int(np.isnan(age_engine).sum())} of {args.n} not reached by {T_END:g} d")
    print()
    print(f"{'method':<42}{'animals':>9}{'wall (s)':>11}{'animals/s':>12}")
    print(f"{'alsim meanfield engine (Numba, prange)':<42}{args.n:>9}{t_engine:>11.3f}{rate_engine:>12.1f}")
    print(f"{BASELINE:<42}{n_scipy:>9}{t_scipy:>11.3f}{rate_scipy:>12.1f}")
    print(f"ratio engine/SciPy (animals/s): {rate_engine / rate_scipy:.0f}x")
    if args.n != 10_000:
        print(f"engine, extrapolated to 10,000 animals: {10_000 / rate_engine:.2f} s")
    print(f"SciPy, extrapolated to 10,000 animals: {10_000 / rate_scipy:.1f} s")
    print()
    print(f"survival agreement on {n_scipy} animals: max |engine - SciPy| end-stage age = "
          f"{max_diff:.2e} d (tolerance {TOL_DAYS} d): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
