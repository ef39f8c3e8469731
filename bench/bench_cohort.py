"""Benchmark: ``alsim run`` of the natural history end to end against the engine alone.

For each cohort size, the built-in ``g93a-natural-history`` protocol (SOD1-G93A and wild-type
littermates on B6SJL and C57BL/6, both sexes, 250 days, saved daily) is scaled to that many
animals (its group proportions kept) and run as a user runs it: the real command, ``alsim run
PROTOCOL --out DIR``, in a subprocess of its own, with default outputs (``timeseries: auto``: every
animal's time series up to 5,000 animals, group summaries above). Measured: its wall time and peak
resident memory (``os.wait4``: the child's ``ru_maxrss``). Then, in another subprocess, the engine
alone on the same cohort: the same parameter vectors, chunk by chunk, through
``engines.meanfield.solve_cohort`` with the reporters on the run's save grid (what the run needs
from the engine), timing only those calls: the named baseline. Printed: the ratio end-to-end /
engine-only (what the rest of the pipeline, draws, readouts, summaries, writing, statistics and
figures, costs on top), the engine's share of the wall time, the marginal ratio (extra
end-to-end time over extra engine time from the previous size: the pipeline's cost per animal,
without the fixed cost of starting Python, drawing the figures and writing the folder), peak
memory per 1,000 animals and the marginal memory per 1,000 animals over the previous size (near
zero when memory is bounded by the chunk).

Run:
    .venv/bin/python bench/bench_cohort.py                 # 1,000, 10,000 and 30,000 animals
    .venv/bin/python bench/bench_cohort.py --full          # and 100,000
    .venv/bin/python bench/bench_cohort.py --sizes 1000000 # a million
    .venv/bin/python bench/bench_cohort.py --sizes 2000 --workers 2
    .venv/bin/python bench/bench_cohort.py --sizes 10000,100000 --repeat 3   # medians of three runs each

With ``--repeat N`` each size is measured N times, the end-to-end run and the engine alone
alternating, and the medians are printed (peak memory: the largest), with the range of the
per-run ratios: on a machine other jobs share, one run's wall time can be off by a fifth.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

RUN_CHILD = "--engine-only"


def scaled_protocol(n: int, folder: Path) -> Path:
    """The natural-history protocol with ``n`` animals in its group proportions, as a YAML file."""
    from alsim.experiments.protocol import load_protocol

    data = load_protocol("g93a-natural-history").model_dump()
    total = sum(g["n"] for g in data["groups"])
    for g in data["groups"]:
        g["n"] = max(1, round(g["n"] * n / total))
    data["name"] = f"natural-history-{n}"
    path = folder / f"natural-history-{n}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def measured(cmd: list[str]) -> tuple[float, float, str]:
    """(wall time [s], peak resident memory [GiB], stdout) of a command run as a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return wall, usage.ru_maxrss / 2**20, out  # ru_maxrss is in KiB on Linux


def engine_only(protocol_file: str, chunk_size: int) -> None:
    """(child process) Seconds ``solve_cohort`` takes on the protocol's cohort, chunk by chunk."""
    from alsim.engines.meanfield import solve_cohort
    from alsim.experiments.cohort import chunk_animals, make_plan
    from alsim.experiments.protocol import load_protocol

    plan = make_plan(load_protocol(protocol_file))
    solve_cohort(chunk_animals(plan, range(2)).P, plan.grid)  # compiled code loaded, not timed
    spent = 0.0
    for part in plan.chunks(chunk_size):
        a = chunk_animals(plan, part)
        start = time.perf_counter()
        solve_cohort(a.P, plan.grid, modulation=a.modulation, noise_seeds=a.seeds)
        spent += time.perf_counter() - start
    print(f"{spent:.6f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,30000", help="cohort sizes, comma-separated")
    ap.add_argument("--full", action="store_true", help="add the 100,000-animal cohort")
    ap.add_argument("--workers", type=int, default=None, help="alsim run --workers N (local Dask cluster)")
    ap.add_argument("--chunk-size", type=int, default=None, help="alsim run --chunk-size")
    ap.add_argument("--repeat", type=int, default=1,
                    help="measure each size this many times (end to end and engine only, alternating) and "
                         "print the medians, with the range of the ratios: for machines other jobs share")
    args = ap.parse_args()
    from alsim.experiments.limits import CHUNK_ANIMALS
    from alsim.experiments.protocol import load_protocol

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()] + ([100_000] if args.full else [])
    chunk = args.chunk_size or CHUNK_ANIMALS
    extra = [*(["--workers", str(args.workers)] if args.workers else []),
             *(["--chunk-size", str(args.chunk_size)] if args.chunk_size else [])]
    print(f"alsim run g93a-natural-history, scaled; {os.cpu_count()} cores, Numba threads "
          f"{os.environ.get('NUMBA_NUM_THREADS', 'all')}; load average before: {os.getloadavg()[0]:.2f}; "
          f"chunk {chunk} animals{'; --workers ' + str(args.workers) if args.workers else ''}")
    print(f"{'animals':>10} {'series':>8} {'end-to-end (s)':>15} {'engine-only (s)':>16} {'ratio':>6} "
          f"{'engine share':>13} {'marginal ratio':>15} {'animals/s':>10} {'peak RSS (MB)':>14} "
          f"{'MB/1k animals':>14} {'marginal MB/1k':>15}")
    previous: tuple[int, float, float, float] | None = None  # animals, wall, engine, peak MB of the previous size
    with tempfile.TemporaryDirectory(prefix="alsim-bench-") as tmp:
        folder = Path(tmp)
        # a first small run compiles (or loads) Numba's cached machine code: not timed
        for n in (200, 6000):
            measured([sys.executable, "-m", "alsim.cli", "run", str(scaled_protocol(n, folder)), "--out",
                      str(folder / "warm-up"), "--overwrite", *extra])
        for n in sizes:
            path = scaled_protocol(n, folder)
            from alsim.experiments.limits import series_mode

            series = series_mode(load_protocol(path))
            walls, engines, rss = [], [], 0.0
            for _ in range(max(1, args.repeat)):
                w, r, _ = measured([sys.executable, "-m", "alsim.cli", "run", str(path), "--out",
                                    str(folder / f"run-{n}"), "--overwrite", *extra])
                _, _, out = measured([sys.executable, __file__, RUN_CHILD, str(path), str(chunk)])
                walls.append(w)
                engines.append(float(out.strip().splitlines()[-1]))
                rss = max(rss, r)
            wall, engine = statistics.median(walls), statistics.median(engines)
            ratios = [w / e for w, e in zip(walls, engines)]
            spread = f"  (ratio {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} runs)" if len(ratios) > 1 else ""
            mb = rss * 1024
            if previous:
                dn, dwall, dengine, dmb = n - previous[0], wall - previous[1], engine - previous[2], mb - previous[3]
                m_ratio, m_mb = f"{dwall / dengine:>15.2f}", f"{dmb / dn * 1000:>15.2f}"
            else:
                m_ratio, m_mb = f"{'-':>15}", f"{'-':>15}"
            previous = (n, wall, engine, mb)
            print(f"{n:>10,} {series:>8} {wall:>15.1f} {engine:>16.1f} {wall / engine:>6.2f} "
                  f"{engine / wall:>13.0%} {m_ratio} {n / wall:>10.0f} {mb:>14.0f} {mb / n * 1000:>14.1f} {m_mb}"
                  f"{spread}", flush=True)
    print("ratio: end-to-end / engine-only; engine share: engine-only / end-to-end; marginal ratio: extra "
          "end-to-end / extra engine-only time over the previous size; marginal MB/1k: extra peak MB per 1,000 "
          "animals over the previous size")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other jobs share this machine)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == RUN_CHILD:
        engine_only(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    sys.exit(main())
