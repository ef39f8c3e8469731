"""Figures of docs/spatial.md: the mean-field agreement, the focal spread and the chimera effect.

Usage:  .venv/bin/python scripts/spatial_figures.py     (~1 min; the same set-ups as tests/test_spatial_engine.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_spatial_engine import (FAST, MANY, activation_distance, animal, run_to)  # noqa: E402

from alsim.biology.model import REPORTER_NAMES  # noqa: E402
from alsim.engines.meanfield import solve_cohort  # noqa: E402
from alsim.engines.spatial.setup import Focus, Mosaic, build_engine  # noqa: E402
from alsim.engines.spatial.step import MOTOR_NEURON  # noqa: E402
from alsim.engines.spatial.tissue import uniform_block  # noqa: E402

OUT = ROOT / "docs" / "figures"


def finish(fig, ax, ylabel: str, title: str, name: str) -> None:
    """Label the age axis, title and legend, and write docs/figures/<name>."""
    ax.set_xlabel("age (days)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / name, dpi=110)


def agreement():
    p = animal(**FAST)
    engine = build_engine(uniform_block((2000.0, 2000.0), dx_um=50.0), p, seed=3, densities=MANY)
    s = run_to(engine, 150.0, every=5.0)
    t = np.array(sorted(s))
    s = np.array([s[x] for x in t])
    m = solve_cohort(p[None], t, stop_at_end_stage=False).observables[0]
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, colour in (("alpha_mn_surviving", "C0"), ("motor_function", "C1"), ("microglia_proinflammatory", "C3"),
                         ("microglia_protective", "C2"), ("astrocyte_reactive_fraction", "C4")):
        j = REPORTER_NAMES.index(name)
        ax.plot(t, m[:, j], color=colour, label=name)
        ax.plot(t, s[:, j], "o", ms=3, color=colour)
    finish(fig, ax, "share or density (wild type = 1)",
           "uniform tissue, fast diffusion: cells (dots) vs mean field (lines)", "spatial-meanfield-agreement.png")


def focal_spread():
    focus = Focus((100.0, 200.0), 200.0, expression_factor=2.5, microglia_m1=True)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for seed in (5, 6, 8):
        engine = build_engine(uniform_block((2400.0, 400.0), dx_um=20.0), animal(), seed=seed, focus=focus,
                              densities={"alpha_mn_per_mm3": 1.5e4})
        ts, ds = [], []
        for t in range(10, 121, 10):
            run_to(engine, float(t))
            d, n = activation_distance(engine, focus.centre_um)
            if n:
                ts.append(t)
                ds.append(d)
        ax.plot(ts, ds, "o-", label=f"seed {seed}")
    ax.axhline(1200, ls=":", color="grey", label="strip mean (uniform activation)")
    finish(fig, ax, "mean distance of activated\nmicroglia from the focus (µm)",
           "focal onset at one end of a 2.4 mm strip", "spatial-focal-spread.png")


def chimera():
    p, wt = animal(), animal("WT")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for pattern, style in (("halves", "-"), ("random", "--")):
        engine = build_engine(uniform_block((2400.0, 400.0), dx_um=20.0), p, seed=4,
                              mosaic=Mosaic(chimera=("glia", 0.5, wt), pattern=pattern),
                              densities={"alpha_mn_per_mm3": 1.5e4})
        c = engine.cells
        mn = np.flatnonzero(c.ctype[: c.n] == MOTOR_NEURON)
        west = c.position_um[mn, 0] < 1200.0
        ts, curves = [], {True: [], False: []}
        for t in range(0, 151, 5):
            run_to(engine, float(t))
            ts.append(t)
            for side in (True, False):
                curves[side].append(c.alive[mn][west == side].mean())
        for side, colour in ((True, "C2"), (False, "C3")):
            label = {("halves", True): "among wild-type glia (patterned)",
                     ("halves", False): "among mutant glia (patterned)",
                     ("random", True): "mixed glia, medial half", ("random", False): "mixed glia, lateral half"}
            ax.plot(ts, curves[side], style, color=colour if pattern == "halves" else "grey",
                    label=label[pattern, side])
    finish(fig, ax, "surviving mutant motor neurons", "chimera: half of the glia wild type, all motor neurons mutant",
           "spatial-chimera.png")


if __name__ == "__main__":
    agreement()
    focal_spread()
    chimera()
