"""Cost of repeated dosing: the same cohort with and without 100 daily i.p. doses.

Prints wall time of each and their ratio (target: < 2x). Doses are handled by
the analytic PK solution and enter the solver as a smooth daily-mean
inhibition, so the step count barely changes.

    .venv/bin/python bench/bench_drugs.py [--n 4000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from alsim.biology import genotypes as gt
from alsim.biology import parameters as prm
from alsim.biology.drugs import DRUGS, Schedule, daily_inhibition
from alsim.engines.meanfield import Modulation, solve_cohort


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4000, help="animals")
    args = ap.parse_args()
    base = prm.default_vector()
    seqs = np.random.SeedSequence(7).spawn(args.n)
    P = np.array([gt.animal_vector(base, "SOD1-G93A", "B6SJL", ("male", "female")[i % 2], np.random.default_rng(q))
                  for i, q in enumerate(seqs)])
    t = np.array([0.0, 250.0])
    drug = DRUGS["minocycline"]
    schedule = Schedule("ip", start=40.0, stop=140.0, dose=50.0, interval=1.0)  # 100 daily doses
    t0 = time.perf_counter()
    table = daily_inhibition(drug, schedule, 250.0)
    t_pk = time.perf_counter() - t0
    idx = np.array([prm.IDX[x.parameter] for x in drug.targets])
    days = table.shape[0]
    # factor 1 - daily mean inhibition at each day's centre, linear in between (as the runner builds it)
    times = np.broadcast_to(np.arange(days) + 0.5, (1, idx.size, days))
    values = (1.0 - table.T)[None]
    mod = Modulation(idx, times, values, np.zeros(args.n, np.int64))
    solve_cohort(P[:2], t, observables=False)                                   # compile, untimed
    solve_cohort(P[:2], t, observables=False, modulation=mod.subset(0, 2))

    t0 = time.perf_counter()
    plain = solve_cohort(P, t, observables=False)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    dosed = solve_cohort(P, t, observables=False, modulation=mod)
    t_dosed = time.perf_counter() - t0 + t_pk
    print(f"{args.n} SOD1-G93A animals, birth to end stage; minocycline 50 mg/kg i.p. daily, "
          f"{schedule.dose_times().size} doses")
    print(f"{'cohort':28s} {'wall (s)':>9s} {'steps/animal':>13s} {'mean end stage (d)':>19s}")
    for label, t, sol in (("no drug (baseline)", t_plain, plain), ("100 daily doses", t_dosed, dosed)):
        print(f"{label:28s} {t:9.3f} {sol.n_steps.mean():13.1f} {np.nanmean(sol.end_stage_age):19.2f}")
    print(f"ratio dosed/baseline: {t_dosed / t_plain:.2f}x (target < 2x); PK table {t_pk * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
