"""Leave one study out: refit without it, predict it, and write docs/validation.md.

Usage:  .venv/bin/python scripts/crossvalidate.py [--parameters K] [--max-steps N] [--only STUDY ...]

The K calibrated parameters the rows are most sensitive to (column norms of
the z-score Jacobian at the current defaults) are moved to the middle of
their plausible ranges, so that the start knows nothing of any study, and
refitted with the fitting path of ``alsim.experiments.calibration`` (typical
animals, the same z-scores, the same step budget): once to every study's
rows (the in-sample fit), and once per study to the rows of all the others,
which then predicts the left-out study. The table gives, per study, how many
rows the defaults, the in-sample refit and the leave-one-out refit meet
(inside their bands, as ``alsim validate`` scores them, but with typical
animals), and for rows with a published estimate the median |z|, the
distance from the estimate in units of its combined error (|z| < 1.96
passes). This is the number to ask for before trusting the fit: how well the
model predicts an experiment it was not fitted to.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from alsim.biology import parameters as prm
from alsim.experiments import calibration as cal
from alsim.experiments.distributed import add_cluster_options, dask_client

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"


def sensitivities(names: list[str], targets: list[cal.Target], step: float = 0.05) -> np.ndarray:
    """Norm over rows of d z / d logit(parameter) at the defaults, one per parameter."""
    base = {n: prm.BY_NAME[n].value for n in names}
    x0 = cal.to_unit(names, base)
    z0 = cal.z_scores(base, targets)
    out = []
    for i in range(len(names)):
        x = x0.copy()
        x[i] += step
        out.append(np.linalg.norm((cal.z_scores(cal.from_unit(names, x), targets) - z0) / step))
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parameters", type=int, default=4, help="refit the K most influential parameters")
    ap.add_argument("--max-steps", type=int, default=6,
                    help="trust-region steps per refit (each costs K + 1 evaluations)")
    ap.add_argument("--diff-step", type=float, default=0.1,
                    help="finite-difference step in logit units (wide: the typical-animal rows move in steps)")
    ap.add_argument("--only", nargs="*", default=None, metavar="STUDY", help="leave out only these studies")
    add_cluster_options(ap)
    args = ap.parse_args()
    with dask_client(args.scheduler, args.workers) as client:
        run(args, client)


def run(args, client) -> None:
    start = time.perf_counter()
    calibrated = [p.name for p in prm.PARAMETERS if p.basis == "calibrated" and not p.name.startswith("individual_cv")]
    targets = cal.targets()
    sens = sensitivities(calibrated, targets)
    names = [calibrated[i] for i in np.argsort(-sens)[: args.parameters]]
    print("refitting:", ", ".join(names), flush=True)
    sim_def = cal.simulate({}, cal.studies())
    start_values = cal.from_unit(names, np.zeros(len(names)))  # the middle of each range
    whole = cal.fit(names, targets, start=start_values, max_steps=args.max_steps, diff_step=args.diff_step,
                    client=client)
    sim_in = cal.simulate(whole.values, cal.studies())
    print(f"in-sample refit: {sum(t.passes(sim_in[t.row]) for t in targets)}/{len(targets)} rows met"
          f"  ({time.perf_counter() - start:.0f} s)", flush=True)
    rows = []
    for study in args.only or cal.studies():
        kept = [t for t in targets if t.study != study]
        held = [t for t in targets if t.study == study]
        if not held:
            continue
        refit = cal.fit(names, kept, start=start_values, max_steps=args.max_steps, diff_step=args.diff_step,
                    client=client)
        sim_out = cal.simulate(refit.values, [study])
        est = [t for t in held if t.estimate]
        rows.append((study, len(held), sum(t.passes(sim_def[t.row]) for t in held),
                     sum(t.passes(sim_in[t.row]) for t in held), sum(t.passes(sim_out[t.row]) for t in held),
                     len(est), median_abs_z(est, sim_in), median_abs_z(est, sim_out)))
        print(f"{study:34s} rows {len(held):2d}  defaults {rows[-1][2]}  in sample {rows[-1][3]}"
              f"  left out {rows[-1][4]}  ({time.perf_counter() - start:.0f} s)", flush=True)
    write(rows, names, args, time.perf_counter() - start, whole.values)


def median_abs_z(tgts: list[cal.Target], simulated: dict[str, float]) -> float:
    """Median |z| of published-estimate rows (NaN when there are none)."""
    return float(np.median([abs(t.z(simulated[t.row])) for t in tgts])) if tgts else float("nan")


def fmt(z: float) -> str:
    return f"{z:.2f}" if np.isfinite(z) else "—"


def write(rows, names, args, seconds: float, refit: dict[str, float]) -> None:
    n = sum(r[1] for r in rows)
    z_in = [r[6] for r in rows if np.isfinite(r[6])]
    z_out = [r[7] for r in rows if np.isfinite(r[7])]
    lines = [
        "# Validation: leave one study out",
        "",
        "Generated by `.venv/bin/python scripts/crossvalidate.py` "
        f"(`--parameters {args.parameters} --max-steps {args.max_steps} --diff-step {args.diff_step:g}`, "
        f"{seconds / 60:.0f} min on two cores shared with other jobs).",
        f"The {len(names)} calibrated parameters the rows are most sensitive to "
        "(" + ", ".join(f"`{n}`" for n in names) + ")",
        "were moved to the middle of their plausible ranges and refitted with the same step budget: once to every",
        "study (in sample) and once per study to all the others, which then predicts the left-out study. Rows are",
        "scored with typical animals (one male, one female per group, no random effects): a row is met when the",
        "value lies inside its band, as `alsim validate` scores it; for rows with a published estimate, |z| is",
        "the distance from the estimate in units of its combined error (passes at |z| < 1.96). The other",
        "calibrated parameters stay at their defaults, which were fitted to every study, so this measures how",
        "much the most influential parameters are pinned by the studies other than the one predicted.",
        "In-sample refit (default in brackets): "
        + ", ".join(f"`{n}` {refit[n]:.4g} ({prm.BY_NAME[n].value:.4g})" for n in names) + ".",
        "",
        f"**Rows met: defaults {sum(r[2] for r in rows)}/{n}, in-sample refit {sum(r[3] for r in rows)}/{n}, "
        f"left out {sum(r[4] for r in rows)}/{n}.** "
        f"Median over studies of the median |z| of published estimates: in sample {np.median(z_in):.2f}, "
        f"left out {np.median(z_out):.2f}.",
        "",
        "| study | rows | met, defaults | met, in-sample refit | met, left out | published estimates "
        "| median \\|z\\| in sample | median \\|z\\| left out |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {s} | {k} | {md}/{k} | {mi}/{k} | {mo}/{k} | {e} | {fmt(zi)} | {fmt(zo)} |"
              for s, k, md, mi, mo, e, zi, zo in rows]
    DOC.write_text("\n".join(lines) + "\n")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
