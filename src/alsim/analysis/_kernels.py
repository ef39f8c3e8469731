"""Compiled loops of the analysis layer (Numba), imported on first use so that loading a protocol
does not load Numba."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
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


_AGE_BLOCK = 8  # ages per parallel task; an animal's values for them are adjacent in memory


@njit(cache=True, parallel=True)
def accumulate(values, group, t_idx, src, ratio, ref, ref_index, binned, n_bins, lo, inv, count, sums, vmin, vmax,
               hist):
    """``analysis.bands.accumulate``. The statistics arrays are flat views of (groups, ages, columns)
    (and ``n_bins`` + 2 bins); one loop over the animals per block of ages, so each animal's values
    are read in memory order."""
    n_ages, n_cols = t_idx.shape[0], src.shape[0]
    width = n_bins + 2
    for block in prange((n_ages + _AGE_BLOCK - 1) // _AGE_BLOCK):  # blocks of ages own their slots
        for a in range(values.shape[0]):
            r = ref_index[a]
            for j in range(block * _AGE_BLOCK, min((block + 1) * _AGE_BLOCK, n_ages)):
                t = t_idx[j]
                base = (group[a] * n_ages + j) * n_cols
                for c in range(n_cols):
                    x = values[a, t, src[c]]
                    if ratio[c]:
                        x = x / ref[r, t, src[c]]
                    if not np.isfinite(x):
                        continue
                    s = base + c
                    count[s] += 1
                    sums[2 * s] += x
                    sums[2 * s + 1] += x * x
                    vmin[s] = min(vmin[s], x)
                    vmax[s] = max(vmax[s], x)
                    if binned:
                        b = (x - lo[s]) * inv[s]
                        hist[s * width + (0 if b < 0.0 else (n_bins + 1 if b >= n_bins else 1 + int(b)))] += 1
