"""What a run of the lab bench produces, and the random streams and overrides every context shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..biology import parameters as prm
from .protocol import Group, Protocol


@dataclass(frozen=True)
class Simulation:
    """Everything one run produced.

    animals: one row per animal or well (group, genotype, background, sex, status and readouts);
    timeseries: tidy, one row per animal and saved age, one column per reporter (animals: with sex),
        or, with series ``summary``, per group, age and reporter: n, mean, SD, min, max and quantiles
        (``analysis.bands``; empty with ``none``);
    weighings: one row per animal and weighing day (measured weight, with scale noise), or its
        group summary like ``timeseries``;
    parameters: one row per animal, one named column per model parameter (the vector it ran with);
    wall_time_s: seconds the simulation took;
    tissues: spatial runs only, one ``spatial_run.TissueRecord`` per animal (field and cell snapshots).
    """

    protocol: Protocol
    animals: pd.DataFrame
    timeseries: pd.DataFrame
    weighings: pd.DataFrame
    parameters: pd.DataFrame
    wall_time_s: float
    tissues: list | None = None


def parameter_table(animal: np.ndarray, P: np.ndarray) -> pd.DataFrame:
    """The parameter matrix ``P`` as a table: an ``animal`` column, then one column per parameter."""
    table = pd.DataFrame(P, columns=list(prm.NAMES))
    table.insert(0, "animal", animal)
    return table


def group_overrides(protocol: Protocol, group: Group) -> dict[str, float]:
    """Parameter overrides of a group: protocol-wide, then the group's own."""
    return {**protocol.overrides, **group.overrides}

