"""Publication-style PNG figures of one run, written into the run folder.

``write_figures(result, out_dir)`` draws one figure per readout named in the
protocol (``protocol.readouts``):

======================  ===============  ==============================================
file                    readout          content
======================  ===============  ==============================================
``weight.png``          weight           body weight vs age (twice-weekly weighings)
``motor_function.png``  motor            % endplates innervated vs age
``mn_counts.png``       mn_counts        lumbar alpha-MNs and corticospinal neurons, % WT
``innervation.png``     innervation      % endplates innervated by motor-unit type
``gliosis.png``         gliosis          micro- and astrogliosis index, fold of WT
``cytokines.png``       cytokines        spinal cytokines, fold of WT
``survival_km.png``     survival         Kaplan-Meier: free of end stage
``onset_km.png``        onset            Kaplan-Meier: free of onset (transgenic groups)
======================  ===============  ==============================================

Culture protocols get ``culture_survival.png`` (MN and interneuron survival per
day, % of the matched control culture) and ``culture_endpoint.png`` (the last
day as bars with wells as dots) instead.

Curves are group means with a +/- SD band across the animals alive at each
age, drawn only while at least half of the group (and ``MIN_ANIMALS``) is alive:
later ages would rest on the few survivors, whose mean hooks upwards; each
time-course figure says so under its axes, and its age axis ends where the
last curve ends. They are drawn from group summaries (``analysis.bands``:
accumulated chunk by chunk during a run, or computed once from a result's tidy
tables), never from per-animal group-bys; Kaplan-Meier curves and the per-animal
figures come from the per-animal table (arms of more than ``MAX_DOTS`` animals are
drawn as densities with their quantiles, not dots). Each group keeps one colour in every figure (tab10,
by its position in the protocol). Figures that need a transgenic group
(innervation, cytokines, onset) are skipped when the protocol has none. Groups
in which every integration failed have no data and are left out of every figure.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from ..analysis import bands as bd  # noqa: E402
from ..analysis.readouts import GLIOSIS_FOLD, weighing_days  # noqa: E402
from ..analysis.survival import km_curve  # noqa: E402

MIN_ANIMALS = 3          # fewest animals alive for a mean +/- SD point
MAX_DOTS = 300           # largest arm drawn as dots in the per-animal plots; above it, densities
DPI = 150
FIGURE_PROCESSES = 4     # most processes that draw a run's figures at once (one per available core)
SIZE = (7.0, 4.5)        # inches, single-panel figures
STYLE = {
    "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 11,
    "axes.labelsize": 10, "legend.fontsize": 8, "legend.frameon": False,
    "xtick.labelsize": 9, "ytick.labelsize": 9,
}
AGE_LABEL = "Age (days)"
MU_TYPES = (("innervated_ff", "FF (fast fatigable)", "#b2182b"),
            ("innervated_fr", "FR (fast fatigue-resistant)", "#ef8a3c"),
            ("innervated_s", "S (slow)", "#2166ac"))
CYTOKINES = (("tnf_pgml_vs_wt", "TNF-α", "#b2182b", "-"),
             ("il1b_pgml_vs_wt", "IL-1β", "#e66101", "-"),
             ("mcp1_pgml_vs_wt", "MCP-1", "#8c510a", "-"),
             ("il10_pgml_vs_wt", "IL-10", "#2166ac", "--"),
             ("il4_pgml_vs_wt", "IL-4", "#5aae61", "--"))


# ------------------------------------------------------------------ inputs
# Time-series columns the figures draw (weighed body weight comes from the weighings).
FIGURE_COLUMNS = ("motor_function", "alpha_mn_surviving_vs_wt", "umn_surviving_vs_wt",
                  *(c for c, *_ in MU_TYPES), "microgliosis_index_vs_wt", "astrogliosis_index_vs_wt",
                  *(c for c, *_ in CYTOKINES))
CULTURE_COLUMNS = ("mn_survival_vs_control", "interneuron_survival_vs_control")


@dataclass(frozen=True)
class FigureInputs:
    """What the figures are drawn from: the protocol, the per-animal table, the group summaries of
    the time series and weighings (``analysis.bands`` long table) and the median loss-of-righting
    threshold (fraction of endplates) of the cohort."""

    protocol: object
    animals: pd.DataFrame
    bands: pd.DataFrame
    righting_threshold: float


def inputs_of(result) -> FigureInputs:
    """The figure inputs of a result held in memory (``alsim.Result`` or a ``Simulation``): its
    summaries as they are, or computed once from its tidy tables."""
    groups = [g.name for g in result.protocol.groups]
    parts = []
    for table, columns in ((result.timeseries, CULTURE_COLUMNS if result.protocol.in_culture else FIGURE_COLUMNS),
                           (result.weighings, ("weight_g",))):
        parts.append(table if bd.is_summary(table) else bd.tidy_table(table, list(columns), groups))
    threshold = result.parameters["righting_threshold"] if "righting_threshold" in result.parameters else []
    kept = [p for p in parts if len(p)] or parts[:1]  # an empty table adds no rows, only dtype warnings
    return FigureInputs(result.protocol, result.animals, pd.concat(kept, ignore_index=True),
                        float(np.median(threshold)) if len(threshold) else float("nan"))


# ------------------------------------------------------------------ helpers
def _band(ax, rows: pd.DataFrame, color, label: str | None, scale: float = 1.0, ls: str | tuple = "-",
          fewest: int = MIN_ANIMALS) -> None:
    """Draw the mean +/- SD over age of one group's summary rows of one column.

    Ages with fewer than ``fewest`` animals are left out (:func:`_group_rows` lowers it to the
    group's size when the group is smaller than ``MIN_ANIMALS``).

    Parameters
    ----------
    ax : matplotlib Axes to draw on.
    rows : summary rows (``age_d``, ``n``, ``mean``, ``sd``) of one group and column.
    color, label, ls : line colour, legend label and line style.
    scale : factor applied to values (e.g. 100 for fractions shown as %).
    """
    s = rows.sort_values("age_d")
    s = s[s["n"] >= fewest]
    if s.empty:
        return
    m, sd = s["mean"].to_numpy() * scale, s["sd"].fillna(0.0).to_numpy() * scale
    ax.fill_between(s["age_d"], m - sd, m + sd, color=color, alpha=0.18, lw=0)
    ax.plot(s["age_d"], m, color=color, ls=ls, lw=1.6, label=label)


def _group_rows(bands: pd.DataFrame, col: str) -> dict:
    """Per group: its summary rows of ``col`` and the fewest animals a point needs: half of the
    group's animals with data (rounded up), and at least ``MIN_ANIMALS`` (or all of them when the
    group has fewer)."""
    out = {}
    for g, rows in bands.groupby("group", sort=False):
        n = int(rows["n"].max())
        out[g] = (rows[rows["reporter"] == col], max(min(MIN_ANIMALS, n), -(-n // 2)))
    return out


def _group_bands(ax, bands: pd.DataFrame, col: str, ctx: dict, groups: list[str], scale: float = 1.0) -> None:
    """One :func:`_band` per group in ``groups`` (protocol order), coloured and labelled by group."""
    parts = _group_rows(bands, col)
    for g in groups:
        if g in parts:
            _band(ax, parts[g][0], ctx["color"][g], ctx["label"][g], scale, ctx["ls"][g], parts[g][1])


def _panels(n: int, height: float = 3.8):
    """A figure with ``n`` panels (at most three per row) sharing both axes; unused cells hidden."""
    nrow = -(-n // 3)
    ncol = -(-n // nrow)
    fig, axes = plt.subplots(nrow, ncol, figsize=(max(SIZE[0], 3.4 * ncol), height * nrow),
                             sharex=True, sharey=True, squeeze=False)
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _label_panels(axes, ylabel: str) -> None:
    """Age label and ticks under the lowest panel of each column, ``ylabel`` on the first column."""
    ncol = axes[0].get_subplotspec().get_gridspec().ncols
    for i, ax in enumerate(axes):
        bottom = i + ncol >= len(axes)
        ax.xaxis.set_tick_params(labelbottom=bottom)
        ax.set_xlabel(AGE_LABEL if bottom else "")
        ax.set_ylabel(ylabel if i % ncol == 0 else "")


def _side_legend(fig, ax, **kw) -> None:
    """One legend for a multi-panel figure, right of the panels (from ``ax``'s handles)."""
    fig.legend(*ax.get_legend_handles_labels(), loc="center left", bbox_to_anchor=(1.0, 0.5), **kw)


def _legend(ax, **kw) -> None:
    """A legend on ``ax`` when something on it is labelled (a group without data draws nothing)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _finish(fig: Figure) -> Figure:
    """The figure, laid out tightly."""
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    """Save ``fig`` at ``DPI`` (canvas grown to hold outside legends) and close it."""
    fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
    return path


def _age_axis(ax, ctx: dict) -> None:
    """Age axis from birth to where the last curve on ``ax`` ends (the follow-up at most)."""
    ends = [float(np.nanmax(line.get_xdata())) for a in ax.get_shared_x_axes().get_siblings(ax)
            for line in a.get_lines() if len(line.get_xdata()) > 2]
    right = min(ctx["duration"], 1.03 * max(ends)) if ends else ctx["duration"]
    ax.set_xlim(0, right)
    ax.set_xlabel(AGE_LABEL)


ALIVE_NOTE = "Mean ± SD of the animals alive at each age; a curve stops when fewer than half of its group remain."


def _alive_note(fig: Figure) -> None:
    """Say under the axes what a time-course curve is made of."""
    fig.text(0.01, 0.0, ALIVE_NOTE, fontsize=7, color="0.35", ha="left", va="top")


def _line_styles(groups) -> dict:
    """Solid lines for transgenic groups; dashed for WT, phase-shifted so coincident WT curves all show."""
    wt = [g.name for g in groups if g.genotype == "WT"]
    gap = 4.0 * (len(wt) - 1) if len(wt) > 1 else 2.0
    style = {g.name: "-" for g in groups}
    style.update({name: (4.0 * i, (4.0, gap)) for i, name in enumerate(wt)})
    return style


# ------------------------------------------------------------------ figures
def plot_weight(result, ctx: dict) -> Figure:
    """Body weight (g) vs age from the twice-weekly weighings, every group."""
    fig, ax = plt.subplots(figsize=SIZE)
    _group_bands(ax, result.bands, "weight_g", ctx, ctx["groups"])
    _age_axis(ax, ctx)
    ax.set_ylabel("Body weight (g)")
    ax.set_title("Body weight (mean ± SD, both sexes)")
    _legend(ax, loc="lower right")
    _alive_note(fig)
    return _finish(fig)


def plot_motor(result, ctx: dict) -> Figure:
    """Motor function (% of endplates innervated) vs age, with the righting-reflex threshold."""
    fig, ax = plt.subplots(figsize=SIZE)
    _group_bands(ax, result.bands, "motor_function", ctx, ctx["groups"], scale=100.0)
    thr = 100.0 * result.righting_threshold
    ax.axhline(thr, color="0.3", ls="--", lw=1, label="loss of righting reflex")
    _age_axis(ax, ctx)
    ax.set_ylim(0, 105)
    ax.set_ylabel("Motor function (% endplates innervated)")
    ax.set_title("Motor function")
    ax.legend(loc="center right")
    _alive_note(fig)
    return _finish(fig)


def plot_mn_counts(result, ctx: dict) -> Figure:
    """Lumbar alpha-MNs and corticospinal neurons surviving, % of age-matched WT."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.2), sharey=True)
    panels = (("alpha_mn_surviving_vs_wt", "Lumbar α-motor neurons"),
              ("umn_surviving_vs_wt", "Corticospinal (upper) motor neurons"))
    for ax, (col, title) in zip(axes, panels):
        _group_bands(ax, result.bands, col, ctx, ctx["groups"], scale=100.0)
        _age_axis(ax, ctx)
        ax.set_title(title)
    axes[0].set_ylabel("Neurons surviving (% of age-matched WT)")
    axes[0].set_ylim(0, 110)
    _side_legend(fig, axes[0])
    _alive_note(fig)
    return _finish(fig)


def plot_innervation(result, ctx: dict) -> Figure:
    """% endplates innervated by motor-unit type (FF, FR, S), one panel per transgenic group."""
    tg = ctx["transgenic"]
    fig, axes = _panels(len(tg))
    for ax, g in zip(axes, tg):
        for col, label, color in MU_TYPES:
            rows, fewest = _group_rows(result.bands, col)[g]
            _band(ax, rows, color, label, scale=100.0, fewest=fewest)
        _age_axis(ax, ctx)
        ax.set_title(g, color=ctx["color"][g])
    _label_panels(axes, "Endplates innervated (%)")
    axes[0].set_ylim(0, 105)
    _side_legend(fig, axes[0], title="Motor-unit type", title_fontsize=8)
    _alive_note(fig)
    return _finish(fig)


def plot_gliosis(result, ctx: dict) -> Figure:
    """Microgliosis and astrogliosis index (fold of WT) vs age, onset criterion dotted."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.2), sharey=True)
    panels = (("microgliosis_index_vs_wt", "Microgliosis"), ("astrogliosis_index_vs_wt", "Astrogliosis"))
    for ax, (col, title) in zip(axes, panels):
        _group_bands(ax, result.bands, col, ctx, ctx["groups"])
        ax.axhline(GLIOSIS_FOLD, color="0.3", ls=":", lw=1.2, label=f"onset criterion ({GLIOSIS_FOLD:g}× WT)")
        _age_axis(ax, ctx)
        ax.set_title(title)
    axes[0].set_ylabel("Activation index (fold of age-matched WT)")
    _side_legend(fig, axes[0])
    _alive_note(fig)
    return _finish(fig)


def plot_cytokines(result, ctx: dict) -> Figure:
    """Spinal cytokines (fold of WT, log scale), one panel per transgenic group."""
    tg = ctx["transgenic"]
    fig, axes = _panels(len(tg))
    for ax, g in zip(axes, tg):
        for col, label, color, ls in CYTOKINES:
            rows, fewest = _group_rows(result.bands, col)[g]
            _band(ax, rows, color, label, ls=ls, fewest=fewest)
        ax.axhline(1.0, color="0.5", lw=0.8)
        _age_axis(ax, ctx)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(g, color=ctx["color"][g])
    _label_panels(axes, "Concentration (fold of age-matched WT, log scale)")
    _side_legend(fig, axes[0], title="type I (solid)\ntype II (dashed)", title_fontsize=8)
    _alive_note(fig)
    return _finish(fig)


def _km(ax, durations: pd.Series, observed: pd.Series, ctx: dict, groups: list[str],
        animals: pd.DataFrame, title: str, ylabel: str) -> None:
    """Draw one Kaplan-Meier curve per group (step curve, 95 % exponential Greenwood band, a tick
    at each distinct censoring time) and, under the axes, the number at risk at each age tick.

    The curve is ``analysis.survival.km_curve`` (lifelines' arithmetic, held to it in the tests),
    drawn here rather than by lifelines' own plotting: vectorised over the distinct times, it
    costs milliseconds at 10^5 animals, and a run's figures need not import lifelines at all."""
    group = animals["group"].to_numpy()
    t_all, e_all = durations.to_numpy(dtype=float), observed.to_numpy(dtype=bool)
    at_risk = {}
    for g in groups:
        t, e = t_all[group == g], e_all[group == g]
        times, survival, low, high = km_curve(t, e)
        color, ls = ctx["color"][g], ctx["ls"][g]
        ax.step(times, survival, where="post", color=color, ls=ls, lw=1.6, label=g)
        ax.fill_between(times, low, high, step="post", color=color, alpha=0.15, lw=0)
        censored = np.unique(t[~e])
        ax.plot(censored, survival[np.searchsorted(times, censored)], ls="none", marker="|", ms=5, color=color)
        at_risk[g] = np.sort(t)
    # Show the span of the events: from 20 d before the first to 20 d after the last, or to
    # the end of follow-up where a group with events still has animals at risk.
    in_plot = animals["group"].isin(groups)
    events = durations[observed & in_plot]
    if len(events):
        with_events = animals["group"].isin(animals.loc[observed & in_plot, "group"])
        right = (ctx["duration"] if (with_events & ~observed).any()
                 else min(ctx["duration"], 10.0 * np.ceil((events.max() + 20.0) / 10.0)))
        ax.set_xlim(max(0.0, 10.0 * np.floor((events.min() - 20.0) / 10.0)), right)
    else:
        ax.set_xlim(0.0, ctx["duration"])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(AGE_LABEL)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower left")
    _at_risk_rows(ax, at_risk)


def _at_risk_rows(ax, sorted_times: dict[str, np.ndarray]) -> None:
    """Under the age axis, one row per group: the animals at risk at each age tick (still followed
    at that age, event or censoring not before it)."""
    lo, hi = ax.get_xlim()
    ticks = [x for x in ax.get_xticks() if lo - 1e-9 <= x <= hi + 1e-9]
    where = ax.get_xaxis_transform()  # x in days, y in axes fractions
    left = {"xycoords": where, "textcoords": "offset points", "xytext": (-14, 0), "ha": "right", "va": "top",
            "fontsize": 9}
    ax.annotate("At risk", (lo, -0.2), **left)
    for row, (g, t) in enumerate(sorted_times.items(), start=1):
        y = -0.2 - 0.055 * row
        ax.annotate(g, (lo, y), **left)
        for x in ticks:
            ax.text(x, y, f"{t.size - np.searchsorted(t, x, side='left')}", transform=where, ha="center", va="top",
                    fontsize=9)


def plot_survival(result, ctx: dict) -> Figure:
    """Kaplan-Meier curves of survival to end stage (loss of righting reflex), every group;
    deaths from other causes are censored (ticks)."""
    from ..analysis.survival import durations_events

    a = result.animals
    fig, ax = plt.subplots(figsize=(SIZE[0], 5.2))
    t, e = durations_events(a, "survival", ctx["duration"])
    _km(ax, pd.Series(t, index=a.index), pd.Series(e, index=a.index), ctx, ctx["groups"], a,
        "Survival (end stage: loss of righting reflex)", "Fraction without end stage")
    return _finish(fig)


def plot_onset(result, ctx: dict) -> Figure:
    """Kaplan-Meier curves of disease onset (peak body weight), transgenic groups only.

    An animal without onset, or whose peak is the last weighing of the protocol
    (weight still rising: onset not yet observed), is censored at the end of follow-up.
    """
    a = result.animals
    fig, ax = plt.subplots(figsize=(SIZE[0], 5.0))
    last_weighing = weighing_days(ctx["duration"]).max(initial=0.0)
    observed = a["onset_d"].notna() & (a["onset_d"] < last_weighing)
    durations = a["onset_d"].where(observed, ctx["duration"])
    _km(ax, durations, observed, ctx, ctx["transgenic"], a,
        "Disease onset (age at peak body weight)", "Fraction without onset")
    return _finish(fig)


def plot_culture_survival(result, ctx) -> Figure:
    """Motor-neuron and interneuron survival per day in vitro, % of the matched control culture."""
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.5), sharey=True)
    for ax, col, title in ((axes[0], "mn_survival_vs_control", "Motor neurons"),
                           (axes[1], "interneuron_survival_vs_control", "Interneurons")):
        _group_bands(ax, result.bands, col, ctx, ctx["groups"], scale=100.0)
        ax.axhline(100.0, color="0.5", lw=0.8)
        ax.set(title=title, xlabel="Days in vitro", xlim=(0, ctx["duration"]), ylim=(0, 110))
    axes[0].set_ylabel("Surviving (% of matched control culture)")
    axes[1].legend(loc="lower left")
    fig.text(0.01, 0.0, "Mean ± SD of the wells of each group.", fontsize=7, color="0.35", ha="left", va="top")
    return _finish(fig)


def plot_culture_endpoint(result, ctx) -> Figure:
    """Survival on the last day in vitro, % of matched control: mean +/- SD of wells, wells as dots."""
    a = result.animals
    fig, ax = plt.subplots(figsize=(max(5.0, 1.8 * len(ctx["groups"]) + 2), 4.5))
    width = 0.38
    x = np.arange(len(ctx["groups"]))
    for k, (col, name, hatch) in enumerate((("mn_survival_vs_control", "motor neurons", None),
                                            ("interneuron_survival_vs_control", "interneurons", "//"))):
        for i, g in enumerate(ctx["groups"]):
            v = 100.0 * a.loc[a.group == g, col].to_numpy(dtype=float)
            xi = x[i] + (k - 0.5) * width
            ax.bar(xi, v.mean(), width, yerr=v.std(ddof=1) if v.size > 1 else 0.0, capsize=3,
                   color=ctx["color"][g], alpha=0.85 if k == 0 else 0.45, hatch=hatch,
                   edgecolor="black", linewidth=0.6)
            ax.plot(np.full(v.size, xi), v, "k.", ms=3)
    ax.axhline(100.0, color="0.5", lw=0.8)
    ax.set_xticks(x, [g.replace(" + ", "\n+ ").replace(" on ", "\non ") for g in ctx["groups"]], fontsize=8)
    ax.set(ylabel="Surviving at last day (% of matched control)", ylim=(0, 115),
           title=f"Day {ctx['duration']:g} in vitro")
    # neutral swatches: the cell type is the fill pattern, the colour is the group
    handles = [Patch(facecolor="0.55", edgecolor="black", lw=0.6, label="motor neurons"),
               Patch(facecolor="0.85", edgecolor="black", lw=0.6, hatch="//", label="interneurons"),
               Line2D([], [], color="black", marker="|", ls="", ms=9, label="mean ± SD of wells"),
               Line2D([], [], color="black", marker=".", ls="", ms=5, label="one well")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return _finish(fig)


def plot_timing(table: pd.DataFrame, title: str) -> Figure:
    """Survival gain over the untreated control against treatment start age, one line per dose,
    with 95 % confidence intervals (Welch)."""
    fig, ax = plt.subplots(figsize=SIZE)
    unit = "ppm" if (table["route"] == "diet").all() else "mg/kg"
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, max(1, table["dose"].nunique())))
    doses = sorted(table["dose"].unique())
    spread = 0.015 * max(1.0, table["start_day"].max() - table["start_day"].min())
    for k, ((dose, df), color) in enumerate(zip(table.groupby("dose"), colors)):
        df = df.sort_values("start_day")
        err = np.vstack([df.gain_d - df.gain_low_d, df.gain_high_d - df.gain_d])
        shift = (k - (len(doses) - 1) / 2) * spread  # side by side, so the intervals stay readable
        ax.errorbar(df.start_day + shift, df.gain_d, yerr=err, marker="o", capsize=3, color=color,
                    label=f"{dose:g} {unit}")
    ax.axhline(0.0, color="0.4", lw=0.8, ls="--")
    ax.set(xlabel="Treatment start (age, days)", ylabel="Survival gain vs untreated (days, 95 % CI)",
           title=title)
    ax.legend(title="dose", loc="best")
    return _finish(fig)


def _violin_stats(v: np.ndarray, points: int = 200, bins: int = 2048) -> dict:
    """``Axes.violin`` statistics of ``v``: a Gaussian kernel density with Scott's bandwidth (what
    ``Axes.violinplot`` draws) at ``points`` ages from the minimum to the maximum.

    Written here for speed: ``violinplot`` sums one kernel per animal at every point (~0.1 s per
    arm of 25,000 animals); this bins the animals first (``bins`` equal bins over their range, each
    a few thousandths of the bandwidth wide) and smooths the counts, which changes the density by
    far less than a line's width (test against SciPy's ``gaussian_kde``)."""
    lo, hi = float(v.min()), float(v.max())
    bw = float(np.std(v, ddof=1)) * v.size ** -0.2  # Scott's rule in one dimension
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    centres = 0.5 * (edges[:-1] + edges[1:])
    coords = np.linspace(lo, hi, points)
    z = (coords[:, None] - centres[None, :]) / bw
    density = np.exp(-0.5 * z * z) @ counts / (v.size * bw * np.sqrt(2.0 * np.pi))
    return {"coords": coords, "vals": density, "mean": float(v.mean()), "median": float(np.median(v)),
            "min": lo, "max": hi}


def plot_distributions(result, ctx) -> Figure:
    """Onset and survival of every animal per transgenic arm, mean +/- SD beside each arm: the
    animals as dots while every arm has at most ``MAX_DOTS``, else each arm as a density (violin)
    with its 5, 25, 50, 75 and 95 % quantiles marked (thousands of dots merge into a blob)."""
    a = result.animals
    arms = ctx["transgenic"]
    fig, axes = plt.subplots(1, 2, figsize=(max(7.0, 1.6 * len(arms) + 4), 4.5), sharey=True)
    rng = np.random.default_rng(0)  # horizontal jitter only
    values = {col: [a.loc[a.group == g, col].dropna().to_numpy() for g in arms] for col in ("onset_d", "end_stage_d")}
    dense = max(v.size for vs in values.values() for v in vs) > MAX_DOTS
    for ax, col, title in ((axes[0], "onset_d", "Onset (peak body weight)"),
                           (axes[1], "end_stage_d", "Survival (end stage)")):
        for i, (g, v) in enumerate(zip(arms, values[col])):
            if v.size == 0:
                continue
            if dense and v.size > 1 and np.ptp(v) > 0:
                body = ax.violin([_violin_stats(v)], positions=[i], widths=0.6, showextrema=False)["bodies"][0]
                body.set(facecolor=ctx["color"][g], edgecolor=ctx["color"][g], alpha=0.5)
                q = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])
                ax.vlines(i, q[0], q[4], color="black", lw=0.8)
                ax.vlines(i, q[1], q[3], color="black", lw=3.0)
                ax.plot(i, q[2], "o", color="white", mec="black", ms=4)
            else:
                ax.plot(i + rng.uniform(-0.15, 0.15, v.size), v, ".", color=ctx["color"][g], alpha=0.6, ms=4)
            ax.errorbar(i + 0.35, v.mean(), yerr=v.std(ddof=1) if v.size > 1 else 0, fmt="s",
                        color="black", capsize=4, ms=4)
        ax.set_xticks(range(len(arms)), arms, rotation=20, ha="right", fontsize=8)
        ax.set(title=title)
    axes[0].set_ylabel("Age (days)")
    shown = ("density per arm; line 5-95 %, bar 25-75 %, dot median" if dense else "one dot per animal")
    fig.text(0.01, 0.0, f"{shown}; square: mean ± SD. Animals without the event are not shown.",
             fontsize=7, color="0.35", ha="left", va="top")
    return _finish(fig)


def plot_phases(result, ctx) -> Figure:
    """Early (onset to -10 % weight) and late (-10 % weight to end stage) phase durations per arm,
    mean with 95 % confidence interval (t), and above each bar the animals it rests on (of the arm):
    an animal that reaches end stage before losing 10 % of its peak weight has neither phase."""
    from scipy import special  # the t quantile (scipy.stats costs ~1 s to import)

    a = result.animals
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(ctx["transgenic"]) + 3), 4.5))
    width = 0.38
    for k, (col, name) in enumerate((("early_phase_d", "early phase"), ("late_phase_d", "late phase"))):
        for i, g in enumerate(ctx["transgenic"]):
            arm = a.loc[a.group == g, col]
            v = arm.dropna().to_numpy()
            if v.size == 0:
                continue
            half = special.stdtrit(v.size - 1, 0.975) * v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0
            xi = i + (k - 0.5) * width
            ax.bar(xi, v.mean(), width, yerr=half, capsize=3, color=ctx["color"][g],
                   alpha=0.9 if k == 0 else 0.45, hatch=None if k == 0 else "//", edgecolor="black",
                   linewidth=0.6)
            ax.annotate(f"{v.size}/{arm.size}", (xi, v.mean() + half), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(ctx["transgenic"])), ctx["transgenic"], rotation=20, ha="right", fontsize=8)
    ax.set(ylabel="Duration (days, mean and 95 % CI)",
           title="Disease phases (above each bar: animals with the phase / in the arm)")
    handles = [Patch(facecolor="0.55", edgecolor="black", lw=0.6, label="early phase"),
               Patch(facecolor="0.85", edgecolor="black", lw=0.6, hatch="//", label="late phase")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.margins(y=0.12)
    return _finish(fig)


def plot_power(power: pd.DataFrame, n80: dict[str, float], title: str, alpha: float, test: str = "log-rank") -> Figure:
    """Simulated power against animals per arm, one line per comparison (``power.comparison``),
    with the 80 % line and the n at which each line reaches it (``test``: the test's name as the
    axis shows it; the axis says when p-values are Holm-adjusted)."""
    fig, ax = plt.subplots(figsize=SIZE)
    labels = list(dict.fromkeys(power.comparison))
    several = len(labels) > 1
    for k, label in enumerate(labels):
        sub = power[power.comparison == label]
        every = label == "all comparisons"
        color = "black" if every else plt.get_cmap("tab10").colors[k % 10]
        ax.plot(sub.n_per_arm, 100 * sub.power, "-." if every else "o-", color=color, lw=1.2, ms=4,
                label=label if several else None)
        n = n80.get(label, float("nan"))
        if np.isfinite(n):
            ax.plot([n], [80.0], "v", color=color, ms=7)
            if not several:
                ax.annotate(f"80 % power at n = {n:.0f} per arm", (n, 80), xytext=(6, -18),
                            textcoords="offset points", color=color, fontsize=9)
    ax.axhline(80.0, color="0.4", ls="--", lw=0.8)
    adjusted = ", Holm-adjusted" if several else ""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="Animals per arm", ylabel=f"Power (%), {test}{adjusted}, alpha = {alpha:g}", ylim=(0, 102),
           title=title)
    if several:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="triangle: 80 % reached",
                  title_fontsize=7)
    return _finish(fig)


FIGURES = (  # (readout, file name, function, needs a transgenic group, needs time-series summaries)
    ("weight", "weight.png", plot_weight, False, True),
    ("motor", "motor_function.png", plot_motor, False, True),
    ("mn_counts", "mn_counts.png", plot_mn_counts, False, True),
    ("innervation", "innervation.png", plot_innervation, True, True),
    ("gliosis", "gliosis.png", plot_gliosis, False, True),
    ("cytokines", "cytokines.png", plot_cytokines, True, True),
    ("survival", "survival_km.png", plot_survival, False, False),
    ("onset", "onset_km.png", plot_onset, True, False),
    ("survival", "distributions.png", plot_distributions, True, False),
    ("onset", "phases.png", plot_phases, True, False),
)


def _groups_with_data(result) -> list:
    """The protocol's groups with at least one animal (or well) whose integration did not fail."""
    a = result.animals
    ok = set(a.loc[~a["status"].str.startswith("failed"), "group"])
    return [g for g in result.protocol.groups if g.name in ok]


def _planned(result) -> list[tuple[str, Callable[[], Figure]]]:
    """[(figure name, draw)]: the figures of the protocol's readouts, in the order of the table in
    the module docstring, not drawn yet."""
    result = result if isinstance(result, FigureInputs) else inputs_of(result)
    protocol = result.protocol
    n = result.animals.groupby("group").size()
    palette = plt.get_cmap("tab10").colors
    drawn = _groups_with_data(result)
    ctx = {
        "groups": [g.name for g in drawn],
        "transgenic": [g.name for g in drawn if g.genotype != "WT"],
        "color": {g.name: palette[i % len(palette)] for i, g in enumerate(protocol.groups)},
        "label": {g.name: f"{g.name} (n={n.get(g.name, 0)})" for g in protocol.groups},
        "ls": _line_styles(protocol.groups),
        "duration": float(protocol.duration_days),
    }
    if not drawn:
        return []
    if protocol.in_culture:
        return [("culture_survival", partial(plot_culture_survival, result, ctx)),
                ("culture_endpoint", partial(plot_culture_endpoint, result, ctx))]
    jobs = [(name.removesuffix(".png"), partial(draw, result, ctx))
            for readout, name, draw, needs_tg, needs_bands in FIGURES
            if (readout in protocol.readouts and (ctx["transgenic"] or not needs_tg)
                and (len(result.bands) or not needs_bands))]
    if protocol.sweep is not None and protocol.control is not None:
        def timing() -> Figure:
            from ..analysis.timing import timing_table

            drug = next(g for g in protocol.groups if g.sweep_start_day is not None).treatments[0].drug
            return plot_timing(timing_table(protocol, result.animals), f"{drug}: survival gain by start age and dose")

        jobs.append(("timing", timing))
    return jobs


def make_figures(result) -> dict[str, Figure]:
    """The figures of the protocol's readouts, by file name (without extension).

    ``result`` is one run held in memory (``alsim.Result`` or ``experiments.simulation.Simulation``)
    or the :class:`FigureInputs` of a run streamed to disk; the figures are open matplotlib
    Figures (close them, or save them with :func:`save_figure`).
    """
    jobs = _planned(result)
    with plt.rc_context(STYLE):
        return {name: draw() for name, draw in jobs}


def _draw_and_save(job: tuple[str, Callable[[], Figure]], out_dir: Path, vector: str | None) -> list[Path]:
    """Draw one figure (``job``: its name and drawing function) and save it (PNG, and ``vector`` if asked)."""
    name, draw = job
    written = []
    with plt.rc_context({**STYLE, "svg.fonttype": "none", "pdf.fonttype": 42}):  # text stays text
        fig = draw()
        if vector is not None:
            fig.savefig(out_dir / f"{name}.{vector}", bbox_inches="tight", pad_inches=0.1)
            written.append(out_dir / f"{name}.{vector}")
        written.append(save_figure(fig, out_dir / f"{name}.png"))
    return written


_WORKER_JOBS: tuple | None = None  # in a forked figure worker only: (jobs, out_dir, vector format)


def _start_figure_worker(jobs, out_dir: Path, vector: str | None) -> None:
    """(in a forked worker) Take the jobs this process inherited (fork: nothing is pickled), and write
    any message to the real standard streams: a progress display's console lock, held by another
    thread at the fork, would never be released here."""
    global _WORKER_JOBS
    _WORKER_JOBS = (jobs, out_dir, vector)
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    warnings.simplefilter("ignore")


def _worker_draw(k: int) -> list[Path]:
    """(in a forked worker) Draw and save job ``k``."""
    jobs, out_dir, vector = _WORKER_JOBS
    return _draw_and_save(jobs[k], out_dir, vector)


def _figure_processes(n_figures: int) -> int:
    """How many processes draw the figures: one per available core (at most ``FIGURE_PROCESSES``,
    at most one per figure) where processes can be forked (Linux), else 1 (this process; also
    inside a daemonic process, such as a multiprocessing pool's worker, which may not have children)."""
    if (sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods()
            or multiprocessing.current_process().daemon):
        return 1
    return max(1, min(FIGURE_PROCESSES, len(os.sched_getaffinity(0)), n_figures))


def write_figures(result, out_dir: Path, progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write the figures of the protocol's readouts into ``out_dir`` (created if missing) as PNG,
    and also as SVG or PDF when the protocol asks (``vector_figures``); returns the files written,
    in the order of the table in the module docstring. ``progress(done, total)`` hears of the
    start and of each figure saved (from another thread where the figures are drawn by forked
    processes). (:func:`drawing_figures` lets the caller work meanwhile.)"""
    with drawing_figures(result, out_dir, progress) as written:
        return written()


@contextmanager
def drawing_figures(result, out_dir: Path,
                    progress: Callable[[int, int], None] | None = None) -> Iterator[Callable[[], list[Path]]]:
    """:func:`write_figures`, begun on entry where the figures are drawn by other processes: the
    block's own work (a run's statistics) overlaps them. Yields the function that waits for the
    figures and returns their files, in order.

    Figures are independent, so on Linux they are drawn by forked processes, one per core: with
    the cores idle once the animals are simulated, the figures of a large run take half the time
    (``bench/bench_cohort.py``), and a small run's statistics (lifelines' import and fits, ~1 s)
    are computed while they are drawn. A forked worker draws from the inputs it inherits
    (matplotlib and pandas only: no Numba threads, which do not survive a fork) and only writes
    its files; the files are the same bytes as when this process draws them all (test). Where
    processes cannot be forked, this process draws them when the function is called.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = _planned(result)
    vector = getattr(result.protocol, "vector_figures", None)
    processes = _figure_processes(len(jobs))
    saved = 0
    lock = threading.Lock()
    if progress is not None:
        progress(0, len(jobs))

    def one_saved() -> None:
        nonlocal saved
        with lock:
            saved += 1
            if progress is not None:
                progress(saved, len(jobs))

    if processes == 1:
        def draw_all() -> list[Path]:
            parts = []
            for job in jobs:
                parts.append(_draw_and_save(job, out_dir, vector))
                one_saved()
            return [path for part in parts for path in part]

        yield draw_all
        return
    errors: list[BaseException] = []  # raised by ``progress`` in the pool's thread, which would only log them

    def done(future) -> None:  # a forked worker's figure, called in the pool's thread
        if not future.cancelled() and future.exception() is None:
            try:
                one_saved()
            except BaseException as exc:
                errors.append(exc)

    # a worker killed (out of memory, a crash) fails the run (BrokenProcessPool) instead of hanging it
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_figure_worker, initargs=(jobs, out_dir, vector)) as pool:
        with warnings.catch_warnings():
            # Python >= 3.12 warns that forking a process with threads (Numba's, Dask's) may deadlock the
            # child; the workers only draw with matplotlib and write files (see _start_figure_worker)
            warnings.filterwarnings("ignore", message=".*use of fork\\(\\) may lead to deadlocks.*")
            futures = [pool.submit(_worker_draw, k) for k in range(len(jobs))]  # forks every worker now
        for future in futures:
            future.add_done_callback(done)
        try:
            yield lambda: [path for future in futures for path in future.result()]
        except BaseException:  # the caller failed (or was interrupted): stop drawing rather than finish every figure
            # ProcessPoolExecutor has no public way to stop running jobs before Python 3.14 (terminate_workers)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if errors:  # every callback has run once the pool is shut down
        raise errors[0]


POSTERIOR_READOUTS = (("onset_d", "Onset (d)"), ("end_stage_d", "Survival (d)"),
                      ("mn_loss_vs_control", "MN loss vs control"),
                      ("mn_survival_vs_control", "MN survival vs control"))


def plot_posterior(summary: pd.DataFrame, comparisons: pd.DataFrame, title: str, k: int) -> Figure:
    """Each group's mean (and each comparison's change) under posterior draws: median and 95 %
    interval per readout of ``POSTERIOR_READOUTS`` the run has."""
    readouts = [(r, lab) for r, lab in POSTERIOR_READOUTS if summary.loc[summary.readout == r, "draws"].sum() > 0]
    change = comparisons[(comparisons.measure == "change") & comparisons.readout.isin([r for r, _ in readouts])]
    panels = [("summary", r, lab) for r, lab in readouts] + [("change", r, lab) for r, lab in readouts
                                                              if (change.readout == r).any()]
    groups = list(dict.fromkeys(summary.group))
    ncol = min(2, max(1, len(panels)))
    nrow = -(-max(1, len(panels)) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(9.0, nrow * (1.3 + 0.5 * len(groups)) + 0.6), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    palette = plt.get_cmap("tab10").colors
    for ax, (kind, readout, label) in zip(axes.flat, panels):
        rows = (summary if kind == "summary" else change)
        rows = rows[rows.readout == readout].set_index("group")
        scale = 100.0 if kind == "change" else 1.0
        for y, g in enumerate(groups):
            if g not in rows.index or not np.isfinite(rows.loc[g, "median"]):
                continue
            r = rows.loc[g]
            ax.plot([scale * r["low"], scale * r["high"]], [y, y], color=palette[y % 10], lw=2.2)
            ax.plot(scale * r["median"], y, "o", color="white", mec=palette[y % 10], ms=6)
        if kind == "change":
            ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
        ax.set_yticks(range(len(groups)), groups, fontsize=8)
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.set_title(label if kind == "summary" else f"{label}: change vs {rows['reference'].iloc[0]} (%)",
                     fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.0, f"Median (dot) and 95 % interval over {k} posterior draws, each a fresh cohort of the "
             f"protocol's size: parameter and cohort uncertainty together. Means over animals with the event.",
             fontsize=7, color="0.35", ha="left", va="top")
    return _finish(fig)
