"""End stage of a ventral-horn section with fibrous astrocytes in its white matter (docs/spatial.md).

For each density of white-matter astrocytes (``astrocyte_white_per_mm3``; 0, the default, places
none), a SOD1-G93A B6SJL male's 2-D section (dx 10 µm, 30 µm thick; or with ``--slab UM`` a 3-D
slab of that thickness at dx 20 µm) is run to end stage or day 250 for each seed; every other
cell is placed as by default, so the densities compare like with like. Printed per density:
seeds, how many did not reach end stage, the median end stage (those that did not reach it
counted as later than day 250), and the mean and SD of those that did.

    .venv/bin/python scripts/spatial_white_matter.py                      # 0, 7,500, 15,000, 30,000 /mm³; 20 seeds
    .venv/bin/python scripts/spatial_white_matter.py --densities 0,15000 --seeds 5
    .venv/bin/python scripts/spatial_white_matter.py --densities 0,15000 --seeds 10 --slab 120   # 60 motor neurons
    .venv/bin/python scripts/spatial_white_matter.py --densities 15000 --seeds 10 --slab 120 --set microglia_reach=60
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys

import numpy as np

from alsim.biology import genotypes as gt
from alsim.biology import parameters as prm
from alsim.engines.spatial.setup import build_engine
from alsim.engines.spatial.tissue import ventral_horn_section, ventral_horn_slab
from alsim.experiments.protocol import TissueSpec
from alsim.experiments.spatial_run import _AnimalRun

DURATION_D = 250.0


def end_stage(density: float, seed: int, slab_um: float | None = None, overrides: dict | None = None) -> float:
    """End-stage age [day] of one section, or slab ``slab_um`` thick (NaN if not reached by ``DURATION_D``),
    with parameter ``overrides`` (name: value)."""
    base = prm.default_vector()
    for name, value in (overrides or {}).items():
        base[prm.IDX[name]] = value
    p = gt.animal_vector(base, "SOD1-G93A", "B6SJL", "male", None)
    tissue = ventral_horn_section() if slab_um is None else ventral_horn_slab(dx_um=20.0, thickness_um=slab_um)
    engine = build_engine(tissue, p, seed,
                          densities={"astrocyte_white_per_mm3": density} if density else None)
    run = _AnimalRun(engine, np.arange(0.0, DURATION_D + 1.0, 1.0),
                     TissueSpec(pictures=False, snapshot_every_days=2 * DURATION_D))
    while not run.done:
        run.advance(DURATION_D)
    return float(run.end_stage)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--densities", default="0,7500,15000,30000", help="white-matter astrocytes per mm³")
    ap.add_argument("--seeds", type=int, default=20, help="seeds 1..N per density")
    ap.add_argument("--slab", type=float, default=None, metavar="UM", help="a 3-D slab this thick (dx 20 µm)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a parameter value (e.g. microglia_reach=60); repeatable")
    args = ap.parse_args()
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        if name not in prm.IDX or not value:
            ap.error(f"--set {item!r}: expected NAME=VALUE with a parameter name of parameters.yaml")
        overrides[name] = float(value)
    print(f"{'astrocytes/mm³ WM':>18} {'seeds':>6} {'not reached':>12} {'median (d)':>11} {'mean (d)':>9} "
          f"{'SD (d)':>7}")
    for density in (float(d) for d in args.densities.split(",")):
        ages = [end_stage(density, seed, args.slab, overrides) for seed in range(1, args.seeds + 1)]
        reached = [a for a in ages if math.isfinite(a)]
        median = statistics.median([a if math.isfinite(a) else math.inf for a in ages])
        sd = statistics.stdev(reached) if len(reached) > 1 else float("nan")
        mean = statistics.mean(reached) if reached else float("nan")
        print(f"{density:>18,.0f} {len(ages):>6} {len(ages) - len(reached):>12} {median:>11.1f} {mean:>9.1f} "
              f"{sd:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
