"""Calibration rows (science/CALIBRATION.md T1, T2): target, simulated value, tolerance, verdict.

Reads the per-animal readout tables of finished runs; never simulates.
Each row names the mechanism responsible for it, so that a test can break
that mechanism and watch the row fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Row:
    """One calibration check and its outcome."""

    id: str
    quantity: str
    target: str
    simulated: float
    low: float
    high: float
    source: str
    mechanism: str

    @property
    def passed(self) -> bool:
        """True when the simulated value lies within [low, high]."""
        return bool(np.isfinite(self.simulated) and self.low <= self.simulated <= self.high)


def _g93a(animals: pd.DataFrame, background: str) -> pd.DataFrame:
    return animals[(animals.genotype == "SOD1-G93A") & (animals.background == background)]


def _finite(df: pd.DataFrame, col: str) -> np.ndarray:
    """Values of the animals that have the readout, or an empty array when fewer than half do.

    Counts at a given age exist only for animals alive at that age, as in the
    labs' tables; a readout most animals lack (e.g. no end stage) is a failure.
    """
    v = df[col].to_numpy(dtype=float)
    ok = np.isfinite(v)
    return v[ok] if v.size and ok.mean() >= 0.5 else np.empty(0)


def _mean(df: pd.DataFrame, col: str) -> float:
    v = _finite(df, col)
    return float(v.mean()) if v.size else float("nan")


def _sd(df: pd.DataFrame, col: str) -> float:
    v = _finite(df, col)
    return float(v.std(ddof=1)) if v.size > 1 else float("nan")


def _sex_gain(df: pd.DataFrame) -> float:
    f = _mean(df[df.sex == "female"], "end_stage_d")
    m = _mean(df[df.sex == "male"], "end_stage_d")
    return f / m - 1.0


def t1_rows(animals: pd.DataFrame) -> list[Row]:
    """T1: SOD1-G93A natural history on B6SJL and C57BL/6 (Wooley 2005; Solomon 2011; MGI; Pfohl 2015)."""
    bj = _g93a(animals, "B6SJL")
    b6 = _g93a(animals, "C57BL/6")
    wool = "Wooley et al. 2005 Muscle Nerve 32:43"
    return [
        Row("T1.1", "survival B6SJL, mean (d)", "128.9 +/- 3 %", _mean(bj, "end_stage_d"),
            128.9 * 0.97, 128.9 * 1.03, wool, "misfolding"),
        Row("T1.2", "survival B6SJL, cohort SD (d)", "9.1 +/- 25 %", _sd(bj, "end_stage_d"),
            9.1 * 0.75, 9.1 * 1.25, wool, "variability"),
        Row("T1.3", "onset (weight peak) B6SJL, mean (d)", "90-110", _mean(bj, "onset_d"),
            90.0, 110.0, "Pfohl et al. 2015 J Neuromuscul Dis 2:137", "weight"),
        Row("T1.4", "survival C57BL/6, mean (d)", "157.1 +/- 3 %", _mean(b6, "end_stage_d"),
            157.1 * 0.97, 157.1 * 1.03, wool, "misfolding"),
        Row("T1.5", "survival C57BL/6, cohort SD (d)", "9.3 +/- 25 %", _sd(b6, "end_stage_d"),
            9.3 * 0.75, 9.3 * 1.25, wool, "variability"),
        Row("T1.6", "female/male survival - 1, B6SJL", "+1 to +7 %", _sex_gain(bj),
            0.01, 0.07, "MGI:4822033", "misfolding"),
        Row("T1.7", "|female/male survival - 1|, C57BL/6", "< 2 %", abs(_sex_gain(b6)),
            0.0, 0.02, wool, "misfolding"),
    ]


T2_ORDER = ("denervation_onset_ff_d", "astrogliosis_onset_d", "microgliosis_onset_d",
            "alpha_mn_loss_onset_d", "end_stage_d")


def t2_rows(animals: pd.DataFrame) -> list[Row]:
    """T2: order of events in SOD1-G93A on B6SJL (Hegedus 2007; Pun 2006; Feeney 2001; Alexianu 2001;
    Lalancette-Hebert 2016; Hall 1998; Zang & Cheema 2002; Jeyachandran 2015)."""
    g = _g93a(animals, "B6SJL")
    means = [_mean(g, c) for c in T2_ORDER]
    ordered = float(all(a < b for a, b in zip(means, means[1:])))
    jey = "Jeyachandran et al. 2015 Front Cell Neurosci"
    return [
        Row("T2.1", "FF denervation onset (d)", "35-60", _mean(g, "denervation_onset_ff_d"), 35, 60,
            "Hegedus et al. 2007 Neurobiol Dis 28:154; Pun et al. 2006", "denervation"),
        Row("T2.2", "astrogliosis onset (d)", "60-90", _mean(g, "astrogliosis_onset_d"), 60, 90,
            "Feeney et al. 2001 Muscle Nerve 24:1510", "astrocytes"),
        Row("T2.3", "microgliosis onset (d)", "70-95", _mean(g, "microgliosis_onset_d"), 70, 95,
            "Alexianu et al. 2001 Neurology 57:1282", "microglia"),
        Row("T2.4", "alpha-MN loss at 100 d", "30-65 %", _mean(g, "alpha_mn_loss_100d"), 0.30, 0.65,
            "Hall et al. 1998 Glia 23:249", "apoptosis"),
        Row("T2.5", "alpha-MN loss at end stage", "50-80 %", _mean(g, "alpha_mn_loss_end_stage"), 0.50, 0.80,
            "Boillee et al. 2006; Lalancette-Hebert 2016", "apoptosis"),
        Row("T2.6", "corticospinal loss at 110 d", "35-70 %", _mean(g, "corticospinal_loss_110d"), 0.35, 0.70,
            "Zang & Cheema 2002", "upper_mn"),
        Row("T2.7", "order FF < astro < micro < MN loss < end stage (1 = exact)", "1", ordered, 1, 1,
            "CALIBRATION.md T2", "denervation"),
        Row("T2.8", "type I - type II cytokine fold change at onset", "> 0",
            _mean(g, "type1_fold_onset") - _mean(g, "type2_fold_onset"), 1e-9, np.inf, jey, "cytokines"),
        Row("T2.9", "type I - type II cytokine fold change at end stage", "> 0",
            _mean(g, "type1_fold_end_stage") - _mean(g, "type2_fold_end_stage"), 1e-9, np.inf, jey, "cytokines"),
    ]


def rows_table(rows: list[Row]) -> pd.DataFrame:
    """The rows as a table with a pass column."""
    return pd.DataFrame([{**r.__dict__, "passed": r.passed} for r in rows])
