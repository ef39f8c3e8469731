"""Compiled loops of the analysis layer (Numba), imported on first use so that loading a protocol
does not load Numba."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def interp_rows(t, series, ages, out):
    """``out[i] = np.interp(ages[i], t[m], series[i, m])`` with ``m`` the finite points of row i."""
    tt = np.empty(t.size)
    ss = np.empty(t.size)
    for i in range(series.shape[0]):
        if not np.isfinite(ages[i]):
            continue
        k = 0
        for j in range(t.size):
            if np.isfinite(series[i, j]):
                tt[k] = t[j]
                ss[k] = series[i, j]
                k += 1
        if k:
            out[i] = np.interp(ages[i], tt[:k], ss[:k])


@njit(cache=True, parallel=True, nogil=True)
def ratios(series, src, ratio, ref, ref_index):
    """``series[c, a, t] = series[src[c], a, t] / ref[ref_index[a], t, src[c]]`` where ``ratio[c]``."""
    for a in prange(series.shape[1]):
        r = ref_index[a]
        for c in range(src.shape[0]):
            if ratio[c]:
                k = src[c]
                for t in range(series.shape[2]):
                    series[c, a, t] = series[k, a, t] / ref[r, t, k]


@njit(cache=True, parallel=True, nogil=True)
def accumulate(series, group, t_idx, ages, binned, n_bins, lo, inv, count, sums, vmin, vmax, hist):
    """``analysis.bands.accumulate``: ``series`` is (columns, animals, times), animal a has values at
    its first ``ages[a]`` ages only; the statistics arrays are flat views of (groups, columns, ages)
    (and ``n_bins`` + 2 bins). Columns run in parallel; each animal's row of a column is read in
    order and its ages' slots are adjacent. A column's histogram cells are found first (with the
    moments) and counted in a second pass: an increment whose address waits on the value's
    arithmetic stalls the loop, and the two passes take half the time of one (bench/bench_cohort.py)."""
    n_cols, n_ages = series.shape[0], t_idx.shape[0]
    n_animals = series.shape[1]
    width = n_bins + 2
    for c in prange(n_cols):
        cell = np.empty((n_animals, n_ages) if binned else (0, 0), np.int64)  # flat index into hist, -1: none
        for a in range(n_animals):
            row = series[c, a]
            base = (group[a] * n_cols + c) * n_ages
            for j in range(ages[a]):
                x = row[t_idx[j]]
                if not np.isfinite(x):
                    if binned:
                        cell[a, j] = -1
                    continue
                s = base + j
                count[s] += 1
                sums[2 * s] += x
                sums[2 * s + 1] += x * x
                vmin[s] = min(vmin[s], x)
                vmax[s] = max(vmax[s], x)
                if binned:
                    b = (x - lo[s]) * inv[s]
                    cell[a, j] = s * width + (0 if b < 0.0 else (n_bins + 1 if b >= n_bins else 1 + int(b)))
        if binned:
            for a in range(n_animals):
                for j in range(ages[a]):
                    k = cell[a, j]
                    if k >= 0:
                        hist[k] += 1
