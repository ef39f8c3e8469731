"""Drugs and microglial ablation of a protocol as one table of time-dependent parameter factors,
which the mean-field cohort engine and the spatial engine apply alike."""

from __future__ import annotations

import numpy as np

from ..biology import parameters as prm
from ..engines.meanfield import Modulation
from .protocol import Protocol


def modulation(protocol: Protocol, group_of_animal: np.ndarray) -> Modulation | None:
    """Drugs and microglia ablation of every group as one modulation table (None when no group has either).

    Drugs: one entry per targeted parameter, the factor 1 - daily mean inhibition at each day's
    centre (linear in between); treatments hitting the same parameter combine multiplicatively
    (independent action). Ablation: proliferation of microglia times 1 - fraction from the start
    day (CD11b-TK + ganciclovir kills dividing microglia; Gowing et al. 2008 J Neurosci).
    """
    from ..biology.drugs import daily_inhibition

    groups = protocol.groups
    targets = sorted({prm.IDX[t.parameter] for g in groups for tr in g.treatments for t in tr.compound.targets})
    ablated = any(g.microglia_ablation is not None for g in groups)
    if not targets and not ablated:
        return None
    days = int(np.ceil(protocol.duration_days)) + 1
    params = targets + ([prm.IDX["microglia_proliferation"]] if ablated else [])
    times = np.zeros((len(groups), len(params), days))
    values = np.ones((len(groups), len(params), days))
    times[:, : len(targets)] = np.arange(days) + 0.5
    for gi, g in enumerate(groups):
        for tr in g.treatments:
            inhibition = daily_inhibition(tr.compound, tr.schedule(protocol.duration_days), protocol.duration_days)
            for j, t in enumerate(tr.compound.targets):
                values[gi, targets.index(prm.IDX[t.parameter])] *= 1.0 - inhibition[:days, j]
        if ablated:
            abl = g.microglia_ablation
            times[gi, -1] = abl.start_day if abl is not None else 0.0
            values[gi, -1, 1:] = 1.0 - abl.fraction if abl is not None else 1.0
    return Modulation(np.array(params), times, values, group_of_animal)
