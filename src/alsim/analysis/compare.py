"""Every group against the protocol's control: differences and ratios of readout means, with 95 % CIs.

Difference: Welch's t interval. Ratio: delta method on the log ratio
(valid for positive readouts; NaN otherwise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special  # the t quantile: scipy.stats costs ~1 s to import

_SKIP = {"animal"}


def _summ(v: np.ndarray) -> tuple[int, float, float]:
    v = v[np.isfinite(v)]
    return v.size, (v.mean() if v.size else np.nan), (v.std(ddof=1) if v.size > 1 else np.nan)


def compare_to_control(animals: pd.DataFrame, control: str) -> pd.DataFrame:
    """One row per (group, readout): means, difference and ratio to ``control`` with 95 % CIs."""
    numeric = [c for c in animals.columns if c not in _SKIP and pd.api.types.is_float_dtype(animals[c])]
    ctrl = animals[animals.group == control]
    rows = []
    for group, df in animals.groupby("group", sort=False):
        if group == control:
            continue
        for col in numeric:
            n1, m1, s1 = _summ(df[col].to_numpy(dtype=float))
            n0, m0, s0 = _summ(ctrl[col].to_numpy(dtype=float))
            row = {"group": group, "control": control, "readout": col, "n": n1, "mean": m1,
                   "n_control": n0, "mean_control": m0, "difference": m1 - m0,
                   "difference_low": np.nan, "difference_high": np.nan,
                   "ratio": m1 / m0 if m0 else np.nan, "ratio_low": np.nan, "ratio_high": np.nan}
            if n1 > 1 and n0 > 1:
                v1, v0 = s1 * s1 / n1, s0 * s0 / n0
                se = np.sqrt(v1 + v0)
                if se > 0:
                    dof = (v1 + v0) ** 2 / (v1 * v1 / (n1 - 1) + v0 * v0 / (n0 - 1))
                    q = special.stdtrit(dof, 0.975)
                    row["difference_low"], row["difference_high"] = m1 - m0 - q * se, m1 - m0 + q * se
                if m1 > 0 and m0 > 0:
                    se_log = np.sqrt(v1 / m1**2 + v0 / m0**2)
                    row["ratio_low"] = (m1 / m0) * np.exp(-1.96 * se_log)
                    row["ratio_high"] = (m1 / m0) * np.exp(1.96 * se_log)
            rows.append(row)
    return pd.DataFrame(rows)
