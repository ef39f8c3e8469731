"""Timing experiments: survival gain of each (start age, dose) arm over the untreated control."""

from __future__ import annotations

import pandas as pd

from .compare import compare_to_control


def timing_table(protocol, animals: pd.DataFrame, readout: str = "end_stage_d") -> pd.DataFrame:
    """One row per swept arm: start age, dose, gain in ``readout`` over the control with 95 % CI."""
    if protocol.sweep is None or protocol.control is None:
        raise ValueError("a timing table needs a protocol with a sweep and a control group")
    arms = {g.name: g for g in protocol.groups if g.sweep_start_day is not None}
    cmp = compare_to_control(animals, protocol.control)
    cmp = cmp[(cmp.readout == readout) & cmp.group.isin(arms)]
    rows = []
    for r in cmp.itertuples(index=False):
        g = arms[r.group]
        rows.append({"group": r.group, "start_day": g.sweep_start_day, "dose": g.sweep_dose,
                     "route": g.treatments[0].route, "drug": g.treatments[0].drug, "n": r.n,
                     "mean": r.mean, "control_mean": r.mean_control, "gain_d": r.difference,
                     "gain_low_d": r.difference_low, "gain_high_d": r.difference_high,
                     "gain_fraction": r.ratio - 1.0})
    return pd.DataFrame(rows).sort_values(["dose", "start_day"], ignore_index=True)
