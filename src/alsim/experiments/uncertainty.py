"""Predictions with their uncertainty: a protocol run under draws from the posterior.

Each of K draws takes one parameter set from the shipped posterior sample
(``experiments.posterior``) and simulates a fresh cohort of the protocol's own
size with a seed of its own, so the spread of a group mean across draws holds
both what the calibration data leave open and the sampling error of a study
of that size: it is the interval within which a lab running this protocol
should expect its result. The same draws give each claim row of ``alsim
validate`` the probability that it passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from ..analysis.readouts import READOUT_COLUMNS, WELL_READOUT_COLUMNS
from . import posterior as post
from .distributed import map_ordered
from .protocol import Protocol, protocol_from_dict
from .runner import run

LEVEL = 0.95  # the intervals reported


def draw_seed(seed: int, k: int) -> int:
    """The cohort seed of draw ``k`` of a protocol with seed ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([seed, 17, k]).generate_state(1)[0] % (2**31 - 1))


def under_draw(protocol: Protocol, values: Mapping[str, float], seed: int) -> Protocol:
    """The protocol with a posterior draw's parameter values under its own overrides (an override
    the protocol states wins), and a new seed."""
    data = protocol.model_dump()
    data["overrides"] = {**values, **data["overrides"]}
    data["seed"] = seed
    if not protocol.in_culture and protocol.engine != "spatial":
        data["timeseries"] = "none"  # group means of per-animal readouts need no time series
    return protocol_from_dict(data, protocol.name)


@dataclass(frozen=True)
class Prediction:
    """Group means and comparisons with the control under each draw, and their intervals."""

    draws: pd.DataFrame        # draw, seed, one column per posterior parameter
    means: pd.DataFrame        # draw, group, readout, mean (animals with the event)
    summary: pd.DataFrame      # group, readout, median, low, high, draws
    comparisons: pd.DataFrame  # group, reference, readout, measure, median, low, high, draws


def _interval(values: pd.Series) -> pd.Series:
    v = values.dropna().to_numpy()
    tail = 0.5 * (1 - LEVEL)
    if v.size == 0:
        return pd.Series({"median": np.nan, "low": np.nan, "high": np.nan, "draws": 0})
    return pd.Series({"median": np.median(v), "low": np.quantile(v, tail), "high": np.quantile(v, 1 - tail),
                      "draws": v.size})


def _group_means(protocol: Protocol, item: tuple[int, dict, int]) -> pd.DataFrame:
    """Long table (draw, group, readout, mean) of one draw: a pure function of its inputs."""
    i, draw, seed = item
    columns = list(WELL_READOUT_COLUMNS if protocol.in_culture else READOUT_COLUMNS)
    animals = run(under_draw(protocol, draw, seed)).animals
    ok = animals[~animals["status"].str.startswith("failed")]
    means = ok.groupby("group", sort=False)[columns].mean(numeric_only=True)
    long = means.reset_index().melt(id_vars="group", var_name="readout", value_name="mean")
    long.insert(0, "draw", i)
    return long


def predict(protocol: Protocol, k: int, progress: Callable[[int, int], None] | None = None,
            client=None) -> Prediction:
    """Run ``protocol`` under ``k`` posterior draws (see the module docstring); with a Dask
    ``client`` the draws run on its workers (the same numbers)."""
    if k < 2:
        raise ValueError(f"--posterior: needs at least 2 draws, got {k}")
    values = post.draws(k, protocol.seed)
    seeds = [draw_seed(protocol.seed, i) for i in range(k)]
    frames = []
    for long in map_ordered(_group_means, protocol, list(zip(range(k), values, seeds)), client):
        frames.append(long)
        if progress is not None:
            progress(len(frames), k)
    means = pd.concat(frames, ignore_index=True)
    order = {g.name: j for j, g in enumerate(protocol.groups)}
    summary = (means.groupby(["group", "readout"], sort=False)["mean"].apply(_interval).unstack().reset_index())
    summary = summary.sort_values("group", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    comparisons = pd.DataFrame(columns=["group", "reference", "readout", "measure", "median", "low", "high", "draws"])
    if protocol.control is not None:
        wide = means.pivot_table(index=["draw", "readout"], columns="group", values="mean", dropna=False)
        parts = []
        for g in protocol.groups:
            if g.name == protocol.control or g.name not in wide or protocol.control not in wide:
                continue
            diff = (wide[g.name] - wide[protocol.control]).rename("value").reset_index()
            change = (wide[g.name] / wide[protocol.control] - 1.0).rename("value").reset_index()
            for measure, table in (("difference", diff), ("change", change)):
                s = table.groupby("readout", sort=False)["value"].apply(_interval).unstack().reset_index()
                s.insert(0, "measure", measure)
                s.insert(0, "reference", protocol.control)
                s.insert(0, "group", g.name)
                parts.append(s)
        if parts:
            comparisons = pd.concat(parts, ignore_index=True)[list(comparisons.columns)]
    table = pd.DataFrame(values)
    table.insert(0, "seed", seeds)
    table.insert(0, "draw", range(k))
    return Prediction(table, means, summary, comparisons)


def pass_probabilities(k: int, n_transgenic: int, overrides: Mapping[str, float] | None = None,
                       only: list[str] | None = None, progress: Callable[[int, int], None] | None = None,
                       seed: int = 0) -> pd.Series:
    """Share of ``k`` posterior draws under which each row of ``alsim validate`` passes (each draw
    with its own cohort seeds), by row id."""
    from .validation import validate

    passed: dict[str, list[bool]] = {}
    for i, draw in enumerate(post.draws(k, seed)):
        rows = validate(n_transgenic=n_transgenic, overrides={**draw, **(overrides or {})}, only=only,
                        seed_offset=draw_seed(seed, i))
        for r in rows:
            passed.setdefault(r.id, []).append(r.passed)
        if progress is not None:
            progress(i + 1, k)
    return pd.Series({row: float(np.mean(v)) for row, v in passed.items()}, name="pass_probability")
