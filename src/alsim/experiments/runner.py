"""The lab bench: turn a validated protocol into a simulated cohort and its measurements.

``run(protocol) -> Simulation`` is a pure function of the protocol (which carries
its seed). Each animal gets its own random stream spawned from the protocol
seed by its index (``np.random.SeedSequence``), so results do not depend on
how the cohort is split into chunks, nor on which process simulates a chunk.

:func:`simulate` is the cohort loop both consumers share: :func:`run` keeps every
chunk's tables in memory; ``io.stream`` writes them to a run folder as they come.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from ..analysis import bands
from .cohort import SEXES, Chunk, Plan, female_flags, make_plan, pilot_animals, simulate_chunk, with_bins
from .culture import run_culture
from . import limits
from .distributed import map_ordered
from .protocol import Protocol
from .simulation import Simulation

CHUNK = limits.CHUNK_ANIMALS  # animals per chunk: sets the memory a run holds (~0.2 MB per animal, 250 saved days)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def sexes_for(n: int, female_fraction: float) -> list[str]:
    """Sexes of n animals with the stated female fraction, spread evenly through the group."""
    return [SEXES[f] for f in female_flags(np.arange(n), female_fraction).astype(int)]


@dataclass(frozen=True)
class Summaries:
    """Group summaries of a run (``analysis.bands`` tables): of the time series and of the weighings."""

    timeseries: pd.DataFrame
    weighings: pd.DataFrame


def _reduce(plan: Plan, chunks: Iterable[Chunk], stage: str, total: int, progress: Progress | None,
            on_chunk: Callable[[Chunk], None] | None = None) -> tuple[bands.Partial, bands.Partial] | None:
    """Add up the group summaries of ``chunks`` (handing each chunk to ``on_chunk`` first)."""
    merged = None if plan.series == "none" else (bands.Partial.empty(plan.timeseries),
                                                  bands.Partial.empty(plan.weighings))
    done = 0
    for chunk in chunks:
        if on_chunk is not None:
            on_chunk(chunk)
        if merged is not None:
            merged[0].add(chunk.bands[0])
            merged[1].add(chunk.bands[1])
        done += chunk.animals.num_rows
        if progress is not None:
            progress(stage, done, total)
    return merged


def _chunk_threads() -> int:
    """Chunks simulated at once in this process: ``limits.CHUNKS_IN_FLIGHT`` where Numba's threading
    layer lets two threads launch parallel loops (OpenMP, TBB), so that one chunk's single-threaded
    work (draws, readouts, tables) overlaps another's engine; else one."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel loop has run yet (the references and pilot run them first)
        return 1
    return limits.CHUNKS_IN_FLIGHT if layer in ("omp", "tbb") else 1


def simulate(protocol: Protocol, on_chunk: Callable[[Chunk], None], *, chunk_size: int | None = None,
             client=None, progress: Progress | None = None) -> Summaries | None:
    """Simulate an animal protocol chunk by chunk (on Dask workers with ``client``; in this process,
    two chunks at once where Numba allows, :func:`_chunk_threads`) and hand each
    chunk to ``on_chunk`` in animal order. With series ``summary`` a pilot (the first animals of each
    group, simulated once more later) sets the summary bins first. Returns the group summaries
    (None with series ``none``)."""
    plan = make_plan(protocol)
    if protocol.engine == "spatial":  # a few animals, each a tissue of cells: one chunk, in this process
        return _simulate_spatial(plan, on_chunk, progress)
    size = chunk_size or CHUNK
    if plan.needs_pilot:
        pilot = pilot_animals(plan)
        parts = [pilot[i:i + size] for i in range(0, pilot.size, size)]
        plan = with_bins(plan, _reduce(plan, map_ordered(simulate_chunk, plan, parts, client), "pilot",
                                       pilot.size, progress))
    chunks = map_ordered(simulate_chunk, plan, plan.chunks(size), client, _chunk_threads())
    merged = _reduce(plan, chunks, "simulate", plan.n, progress, on_chunk)
    if merged is None:
        return None
    return Summaries(bands.table(plan.timeseries, merged[0]), bands.table(plan.weighings, merged[1]))


def _simulate_spatial(plan: Plan, on_chunk: Callable[[Chunk], None],
                      progress: Progress | None) -> Summaries | None:
    """:func:`simulate` of a spatial protocol: every animal in one chunk (with series ``summary``, the
    pilot's animals are simulated once more first to set the bins)."""
    if plan.needs_pilot:
        plan = with_bins(plan, _reduce(plan, [simulate_chunk(plan, pilot_animals(plan))], "pilot", 0, None))

    def animals_done(done: int, total: int) -> None:
        progress("simulate", done, total)

    chunk = simulate_chunk(plan, range(plan.n), None if progress is None else animals_done)
    merged = _reduce(plan, [chunk], "simulate", plan.n, progress, on_chunk)
    if merged is None:
        return None
    return Summaries(bands.table(plan.timeseries, merged[0]), bands.table(plan.weighings, merged[1]))


def run(protocol: Protocol, progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Simulate every animal (or culture well) of ``protocol`` and compute the labs' readouts, in memory.

    The time series and weighings are tidy tables (series ``all``), group summaries (``summary``)
    or empty (``none``); see ``limits.series_mode``.
    """
    if protocol.in_culture:
        return run_culture(protocol, progress)
    start = time.perf_counter()
    kept: dict[str, list[pa.Table]] = {k: [] for k in ("animals", "parameters", "weighings", "timeseries")}
    tissues: list = []

    def keep(chunk: Chunk) -> None:
        for name, parts in kept.items():
            if getattr(chunk, name) is not None:
                parts.append(getattr(chunk, name))
        if chunk.tissues is not None:
            tissues.extend(chunk.tissues)

    def simulated(stage: str, done: int, total: int) -> None:
        if stage == "simulate":
            progress(done, total)

    summaries = simulate(protocol, keep, progress=None if progress is None else simulated)
    tables = {name: pa.concat_tables(parts).to_pandas() for name, parts in kept.items() if parts}
    if "timeseries" not in tables:  # series summary or none
        tables["timeseries"] = summaries.timeseries if summaries is not None else bands.empty_table()
        tables["weighings"] = summaries.weighings if summaries is not None else bands.empty_table()
    return Simulation(protocol, tables["animals"], tables["timeseries"], tables["weighings"], tables["parameters"],
                      time.perf_counter() - start, tissues if protocol.engine == "spatial" else None)
