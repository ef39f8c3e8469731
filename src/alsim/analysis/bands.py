"""Group summaries of per-animal time series, accumulated chunk by chunk.

What the figures draw (mean +/- SD across the animals alive at each age) and what a large run
stores instead of every animal's trajectory (``timeseries: summary``, docs/protocols.md §12):
for each group, age and column (a reporter, a reporter over its wild-type reference, or the
weighed body weight), the number of animals with a value, their mean, SD, minimum, maximum and
quantiles. Chunks of animals are reduced where they are simulated (in this process or on a Dask
worker) into a :class:`Partial`, and partials are added up; nothing needs the whole cohort's
time series at once. A chunk's values come as one animal-by-time matrix per column
(``engines.meanfield.reporter_planes``), so the compiled reduction reads them in memory order.

- counts, minima, maxima and histograms are integers or order statistics: they do not depend on
  how the cohort is split into chunks, bit for bit; sums and sums of squares (hence mean and SD)
  are float64, added chunk by chunk in animal order: the same for any number of workers, and
  equal to rounding (~1e-15 relative) for other chunk sizes;
- quantiles come from exact per-(group, age, column) histograms: ``BINS`` equal bins over the
  range of a pilot (the first ``PILOT`` animals of each group, widened by ``WIDEN`` of that
  range on each side) plus one bin below and one above them, whose outer edges are the exact
  minimum and maximum. A quantile is the inverse of the empirical distribution function (NumPy's
  ``method="inverted_cdf"``), interpolated linearly within its bin: it lies in the bin of the
  exact one, so ``q_resolution`` (the width of the widest bin used) bounds its error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_COLUMNS = tuple(f"q{round(100 * q):02d}" for q in QUANTILES)
KEYS = ("group", "age_d", "reporter")
MOMENT_COLUMNS = ("n", "mean", "sd", "min", "max")
BINS = 256          # equal bins between the widened pilot range (plus one below, one above)
PILOT = 128         # animals per group whose range sets the bins
WIDEN = 0.25        # the pilot range is widened by this share of itself on each side


@dataclass(frozen=True)
class Layout:
    """What is summarised: ``groups`` (names, in protocol order), ``ages`` [day] and ``columns``;
    with ``lo``/``width`` ((groups, columns, ages) left edge and width of the equal bins) the
    summary has quantiles, without them moments only."""

    groups: tuple[str, ...]
    ages: np.ndarray
    columns: tuple[str, ...]
    lo: np.ndarray | None = None
    width: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """(groups, columns, ages): the shape of every per-slot statistic."""
        return len(self.groups), len(self.columns), len(self.ages)

    def with_bins(self, pilot: "Partial") -> "Layout":
        """This layout with the bins set from a pilot's minimum and maximum: the pilot range widened
        by ``WIDEN`` on each side; where the pilot has no value (its animals were dead at that age),
        the range of the group's column over all ages, else of the column over all groups."""
        lo, hi = pilot.vmin.copy(), pilot.vmax.copy()
        with np.errstate(all="ignore"):
            for axes in ((2,), (0, 2)):  # the group's column over all ages, then the column
                fill = ~np.isfinite(lo)
                lo = np.where(fill, np.nanmin(pilot.vmin, axis=axes, keepdims=True), lo)
                hi = np.where(fill, np.nanmax(pilot.vmax, axis=axes, keepdims=True), hi)
        none = ~np.isfinite(lo)
        lo, hi = np.where(none, 0.0, lo), np.where(none, 1.0, hi)
        span = hi - lo
        span = np.where(span > 0, span, np.maximum(np.abs(lo), 1.0) * 1e-6)
        lo = lo - WIDEN * span
        return Layout(self.groups, self.ages, self.columns, lo, (1.0 + 2.0 * WIDEN) * span / BINS)


@dataclass
class Partial:
    """Mergeable statistics of some animals, per (group, age, column): ``count`` of values, their
    ``sums`` and sums of squares (last axis), ``vmin``/``vmax`` and the histogram ``hist`` (bin 0
    below the equal bins, bin BINS + 1 above; None without bins). ``rows``: the layout groups the
    first axis holds, in order (None: every group). A chunk's partial holds only the groups of its
    animals (a chunk of a large run rarely spans more than two), so it costs what its animals fill."""

    count: np.ndarray
    sums: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    hist: np.ndarray | None
    rows: np.ndarray | None = None

    @staticmethod
    def empty(layout: Layout, rows: np.ndarray | None = None) -> "Partial":
        """No animals yet (of the layout groups ``rows``, sorted and distinct; default: of every group)."""
        shape = layout.shape if rows is None else (len(rows), *layout.shape[1:])
        hist = None if layout.lo is None else np.zeros((*shape, BINS + 2), np.uint32)
        return Partial(np.zeros(shape, np.int64), np.zeros((*shape, 2)), np.full(shape, np.inf),
                       np.full(shape, -np.inf), hist, None if rows is None else np.asarray(rows, np.int64))

    def add(self, other: "Partial") -> None:
        """Add ``other``'s animals to these (which hold every group)."""
        at = slice(None) if other.rows is None else other.rows
        self.count[at] += other.count
        self.sums[at] += other.sums
        self.vmin[at] = np.minimum(self.vmin[at], other.vmin)
        self.vmax[at] = np.maximum(self.vmax[at], other.vmax)
        if self.hist is not None:
            self.hist[at] += other.hist


def alive_ages(first: np.ndarray) -> np.ndarray:
    """Per row of ``first`` (animals, ages), the number of values before its first NaN."""
    if first.shape[1] == 0:  # no ages (a follow-up that ends before the first weighing)
        return np.zeros(first.shape[0], np.int64)
    missing = np.isnan(first)
    return np.where(missing.any(axis=1), missing.argmax(axis=1), first.shape[1])


def ratios(series: np.ndarray, src: np.ndarray, ratio: np.ndarray, ref: np.ndarray, ref_index: np.ndarray) -> None:
    """Fill the ratio planes of ``series`` (columns, animals, times) in place: where ``ratio[c]``,
    ``series[c] = series[src[c]] / ref[ref_index[animal], time, src[c]]`` (``src[c]`` a plain column)."""
    from ._kernels import ratios as _ratios  # compiled on first use: importing bands stays light

    src, ratio = np.asarray(src, np.int64), np.asarray(ratio, np.bool_)
    if ratio[src[ratio]].any():
        raise ValueError("a ratio column must divide a plain column")
    _ratios(series, src, ratio, np.ascontiguousarray(ref, dtype=np.float64), np.asarray(ref_index, np.int64))


def accumulate(layout: Layout, into: Partial, series: np.ndarray, group: np.ndarray,
               time_index: np.ndarray | None = None, alive: np.ndarray | None = None) -> None:
    """Add animals to ``into``: ``series`` (columns, animals, times) with NaN where an animal has no
    value (dead, failed), ``group`` the layout group of each animal (``into`` must hold them all);
    age j of the layout is time ``time_index[j]`` (default: j). ``alive`` (optional) is the number
    of layout ages each animal has values for, all at the start (the rest are NaN and not read)."""
    from ._kernels import accumulate as _accumulate  # compiled on first use: importing bands stays light

    t_idx = np.arange(len(layout.ages)) if time_index is None else time_index
    binned = layout.lo is not None
    at = slice(None) if into.rows is None else into.rows
    lo = layout.lo[at].ravel() if binned else np.zeros(1)
    inv = 1.0 / layout.width[at].ravel() if binned else np.zeros(1)
    if into.rows is not None:  # each animal's group as a row of ``into`` (the compiled loop does not check bounds)
        row = np.minimum(np.searchsorted(into.rows, group), len(into.rows) - 1)
        if not np.array_equal(into.rows[row], group):
            raise ValueError(f"groups {sorted(set(np.asarray(group).tolist()) - set(into.rows.tolist()))} "
                             f"are not among the partial's rows {into.rows.tolist()}")
        group = row
    hist = into.hist.reshape(-1) if binned else np.zeros(1, np.uint32)
    ages = np.full(len(group), len(t_idx), np.int64) if alive is None else np.asarray(alive, np.int64)
    # each plane of ``series`` is read in place (``reporter_planes`` pads them apart: not one block to copy)
    _accumulate(np.asarray(series, dtype=np.float64), np.asarray(group, np.int64),
                np.asarray(t_idx, np.int64), ages, binned, BINS, lo, inv, into.count.reshape(-1), into.sums.reshape(-1),
                into.vmin.reshape(-1), into.vmax.reshape(-1), hist)


def table(layout: Layout, part: Partial) -> pd.DataFrame:
    """The summary as a long table, one row per (group, age, column) with at least one value:
    ``group``, ``age_d``, ``reporter``, ``n``, ``mean``, ``sd``, ``min``, ``max`` and, with bins,
    the quantiles ``q05`` ... ``q95`` and ``q_resolution`` (the width of the widest bin they came
    from: their error is at most about that)."""
    n = part.count.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = part.sums[..., 0] / n
        var = np.maximum(part.sums[..., 1] - part.sums[..., 0] * mean, 0.0) / (n - 1.0)
    cols = {"n": part.count, "mean": np.where(part.count > 0, mean, np.nan),
            "sd": np.where(part.count > 1, np.sqrt(var), np.nan),
            "min": np.where(part.count > 0, part.vmin, np.nan), "max": np.where(part.count > 0, part.vmax, np.nan)}
    if part.hist is not None:
        qs, resolution = _quantiles(layout, part)
        cols.update(zip(QUANTILE_COLUMNS, qs))
        cols["q_resolution"] = resolution
    g, c, j = np.indices(layout.shape).reshape(3, -1)
    order = np.lexsort((c, j, g))  # rows by group, age, column
    g, c, j = g[order], c[order], j[order]
    keep = part.count.ravel()[order] > 0
    out = pd.DataFrame({"group": np.asarray(layout.groups, dtype=object)[g[keep]],
                        "age_d": np.asarray(layout.ages, dtype=float)[j[keep]],
                        "reporter": np.asarray(layout.columns, dtype=object)[c[keep]],
                        **{k: np.asarray(v).ravel()[order][keep] for k, v in cols.items()}})
    return out


def _quantiles(layout: Layout, part: Partial) -> tuple[list[np.ndarray], np.ndarray]:
    """Each quantile of ``QUANTILES`` per (group, age, column) from the histogram, and the width of
    the widest bin used. Bin k spans [vmin, lo] (k = 0), the k-th equal bin, or [hi, vmax] (k = BINS + 1)."""
    cum = np.cumsum(part.hist, axis=-1, dtype=np.int64)
    found = part.count > 0
    out, resolution = [], np.zeros(layout.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        for q in QUANTILES:
            p = q * part.count
            k = np.argmax(cum >= p[..., None], axis=-1)
            in_bin = np.take_along_axis(part.hist, k[..., None], axis=-1)[..., 0]
            before = np.take_along_axis(cum, k[..., None], axis=-1)[..., 0] - in_bin
            a = np.where(k == 0, part.vmin, layout.lo + (k - 1) * layout.width)
            b = np.where(k == BINS + 1, part.vmax, layout.lo + np.minimum(k, BINS) * layout.width)
            a, b = np.maximum(a, part.vmin), np.minimum(b, part.vmax)
            value = np.clip(a + (p - before) / in_bin * (b - a), part.vmin, part.vmax)
            out.append(np.where(found, value, np.nan))
            resolution = np.maximum(resolution, b - a)
    return out, np.where(found, resolution, np.nan)


def empty_table() -> pd.DataFrame:
    """A summary without rows (a run that keeps no time series)."""
    return pd.DataFrame({"group": pd.Series(dtype=object), "age_d": pd.Series(dtype=float),
                         "reporter": pd.Series(dtype=object), "n": pd.Series(dtype=np.int64),
                         **{k: pd.Series(dtype=float) for k in MOMENT_COLUMNS[1:]}})


def is_summary(frame: pd.DataFrame) -> bool:
    """Whether a time-series table is a summary (this module's long table) rather than tidy rows."""
    return set(KEYS).issubset(frame.columns) and set(MOMENT_COLUMNS).issubset(frame.columns)


def tidy_table(frame: pd.DataFrame, columns: list[str], groups: list[str]) -> pd.DataFrame:
    """The moments of :func:`table` (no quantiles) from a tidy table (``group``, ``age_d`` and
    ``columns``, one row per animal and age), for results that hold every animal's rows."""
    present = [c for c in columns if c in frame]
    if frame.empty or not present:
        return pd.DataFrame(columns=[*KEYS, *MOMENT_COLUMNS])
    values = frame[present].astype(float)
    by = [frame["group"], frame["age_d"]]
    parts = {"n": values.groupby(by, sort=False).count(), "mean": values.groupby(by, sort=False).mean(),
             "sd": values.groupby(by, sort=False).std(), "min": values.groupby(by, sort=False).min(),
             "max": values.groupby(by, sort=False).max()}
    long = pd.concat({k: v.stack(future_stack=True) for k, v in parts.items()}, axis=1)
    long.index.names = list(KEYS)
    long = long.reset_index()
    long = long[long["n"] > 0]
    rank = {**{g: i for i, g in enumerate(groups)}, **{c: i for i, c in enumerate(present)}}
    long = long.sort_values(["group", "age_d", "reporter"], key=lambda s: s if s.name == "age_d" else s.map(rank),
                            kind="stable")
    return long.astype({"n": np.int64}).reset_index(drop=True)
