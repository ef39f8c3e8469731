"""Fit the parameters marked ``calibrated`` in parameters.yaml to the claims table.

Usage:  .venv/bin/python scripts/calibrate.py [--write] [--max-steps N] [--only NAME ...]

The data are every scored row of the built-in protocols (the calibration
studies T1-T4 and every claim; ``alsim validate`` prints them), the model the
typical animals of ``alsim.experiments.calibration``: stage 1 is a
least-squares fit of the calibrated parameters to the rows' z-scores
(published estimates weigh by their combined error; bands and directions
count only when missed). Onset is read from twice-weekly weighings, a step
function of the parameters that a finite-difference gradient cannot see, so
the three weight parameters (``WEIGHT``) are set in stage 1b by a grid over
their ranges against the T1 rows. Stage 2 sets the between-animal spread of misfolding
(``individual_cv_b6sjl``, ``individual_cv_b6``) by bisection so that cohorts
of 2,000 reproduce the published end-stage SDs of the T1 rows. With
``--write`` the values are written into parameters.yaml; the fit (values,
z-scores of every row, the parameters' sensitivities) is saved beside as
``scripts/calibration-fit.json`` for ``scripts/crossvalidate.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from alsim.analysis.claims import published_estimate
from alsim.biology import parameters as prm
from alsim.experiments import calibration as cal
from alsim.experiments.distributed import add_cluster_options, dask_client
from alsim.experiments.protocol import load_protocol

SPREAD = ("individual_cv_b6sjl", "individual_cv_b6")
WEIGHT = {"muscle_atrophy_tau": np.linspace(10.0, 25.0, 7), "paralysis_weight_loss": np.linspace(0.5, 0.8, 7),
          "muscle_share_weight": np.linspace(0.3, 0.5, 5)}
FIT_RECORD = Path(__file__).with_name("calibration-fit.json")
PROGRESS_RECORD = Path(tempfile.gettempdir()) / "alsim-calibration-best.json"  # the best point so far


def fitted_names() -> list[str]:
    """The calibrated parameters stage 1 fits (the weight parameters are stage 1b, the cohort spreads
    stage 2)."""
    return [p.name for p in prm.PARAMETERS if p.basis == "calibrated" and p.name not in SPREAD
            and p.name not in WEIGHT]


def weight_grid(values: dict[str, float]) -> dict[str, float]:
    """The weight parameters on the ``WEIGHT`` grid that best meet the T1 rows, given the rest."""
    tgts = cal.targets(["g93a-natural-history"])
    best = (np.inf, {})
    for combo in itertools.product(*WEIGHT.values()):
        trial = dict(zip(WEIGHT, map(float, combo)))
        cost = float(np.sum(cal.z_scores({**values, **trial}, tgts) ** 2))
        if cost < best[0] - 1e-9:
            best = (cost, trial)
    return best[1]


def published_sd(row_label: str) -> float:
    """The published end-stage SD of a T1 cohort-spread row, by its label."""
    p = load_protocol("g93a-natural-history")
    c = next(c for c in p.claim.criteria if c.label == row_label)
    return published_estimate(c, {g.name: g.n for g in p.groups}).value


def write_back(values: dict[str, float]) -> None:
    """Replace the values of the named parameters in parameters.yaml (four significant digits)."""
    path = Path(prm.__file__).with_name("parameters.yaml")
    text = path.read_text()
    for name, value in values.items():
        text = re.sub(rf"(- name: {name}\n  value: )[^\n]+", rf"\g<1>{value:.4g}", text)
    path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write the fitted values into parameters.yaml")
    ap.add_argument("--max-steps", type=int, default=60,
                    help="stage 1 trust-region steps (each costs one evaluation per fitted parameter)")
    ap.add_argument("--only", nargs="*", default=None, metavar="NAME", help="fit only these parameters")
    add_cluster_options(ap)
    args = ap.parse_args()
    names = args.only or fitted_names()
    targets = cal.targets()
    start = time.perf_counter()

    def progress(evaluations: int, cost: float, values: dict[str, float]) -> None:
        print(f"  {time.perf_counter() - start:6.0f} s  evaluation {evaluations:5d}  cost {cost:9.3f}", flush=True)
        PROGRESS_RECORD.write_text(json.dumps({"cost": cost, "values": values}, indent=1))

    with dask_client(args.scheduler, args.workers) as client:
        result = cal.fit(names, targets, max_steps=args.max_steps, progress=progress, client=client)
    print(f"stage 1: cost {result.cost:.3f} after {result.evaluations} evaluations ({len(targets)} rows)")
    for t, z in sorted(zip(result.targets, result.z), key=lambda a: -abs(a[1]))[:12]:
        print(f"  {t.row:7s} {t.study:34s} z {z:+7.2f}")
    values = dict(result.values)
    values.update(weight_grid({**{n: prm.BY_NAME[n].value for n in WEIGHT}, **values}))
    for key, background in (("individual_cv_b6sjl", "B6SJL"), ("individual_cv_b6", "C57BL/6")):
        values[key] = cal.fit_cohort_spread(values, background, published_sd(f"survival {background}, cohort SD (d)"))
    for name in names + list(WEIGHT) + list(SPREAD):
        print(f"  {name:40s} {prm.BY_NAME[name].value:10.4g} -> {values[name]:10.4g}")
    if args.write:
        write_back(values)
        FIT_RECORD.write_text(json.dumps({"values": values, "cost": result.cost, "evaluations": result.evaluations,
                                          "z": {t.row: float(z) for t, z in zip(result.targets, result.z)}},
                                         indent=1))
        print("written to parameters.yaml and", FIT_RECORD.name)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
