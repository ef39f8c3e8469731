"""The Python API: load a protocol, run it, look at the result, save it, read it back.

    import alsim
    r = alsim.run(alsim.load_protocol("c6-bax"))
    r.animals.groupby("group").end_stage_d.mean()
    r.survival()          # Kaplan-Meier medians, log-rank, Cox hazard ratios vs the control
    r.save("runs/c6-bax")
    alsim.read_run("runs/c6-bax").animals
    alsim.run_to_folder("g93a-natural-history", "runs/nh", workers=2)  # large cohorts: streamed to disk

The command line (``alsim run``) is a thin layer over these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import pandas as pd

from .analysis.claims import Row
from .experiments.protocol import Protocol, ProtocolError, protocol_from_dict
from .experiments.limits import in_memory_problem
from .experiments.protocol import load_protocol as _load_protocol
from .experiments.runner import run as _run
from .experiments.simulation import Simulation


@dataclass(frozen=True)
class Result(Simulation):
    """One run: the protocol, per-animal readouts, time series, weighings, parameters and its
    analyses. Tables are pandas DataFrames; ``parameters`` has one named column per parameter."""

    manifest: Mapping | None = None  # set when read back from a run folder

    def compare(self) -> pd.DataFrame:
        """Each group against the protocol's control: differences and ratios of readout means, 95 % CIs."""
        from .analysis.compare import compare_to_control

        return compare_to_control(self.animals, self._control())

    def survival(self) -> pd.DataFrame:
        """Kaplan-Meier medians, log-rank tests and Cox hazard ratios of each arm against the control
        and of each planned contrast (end stage, onset and phases; deaths from other causes
        censored). Animals only."""
        from .analysis.survival import survival_report

        p = self.protocol
        if p.in_culture:
            raise ValueError("survival: a culture protocol has wells, not animals with an end stage")
        return survival_report(self.animals, p.control if p.contrasts else self._control(), p.duration_days,
                               p.contrasts, p.covariates)

    def claims(self) -> list[Row]:
        """The protocol's claim criteria scored on this run (empty without a claim)."""
        from .analysis.claims import claim_rows

        return claim_rows(self.protocol, self.animals) if self.protocol.claim is not None else []

    def timing(self) -> pd.DataFrame:
        """Survival gain by treatment start age and dose (protocols with a sweep)."""
        from .analysis.timing import timing_table

        if self.protocol.sweep is None:
            raise ValueError("timing: the protocol has no sweep")
        return timing_table(self.protocol, self.animals)

    def summary(self) -> str:
        """The run's summary as Markdown: groups, readouts (mean, SD, n) and claim verdicts."""
        from .analysis.summary import summary_markdown

        return summary_markdown(self.protocol, self.animals, self.claims() or None)

    def figures(self) -> dict:
        """The run's figures as open matplotlib Figures, by name (nothing is written)."""
        from .report.plots import make_figures

        return make_figures(self)

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the run folder (tables, manifest, figures, summary) atomically; an existing run
        folder is replaced only with ``overwrite``. Returns the folder."""
        from .io.store import publishing, write_run

        with publishing(Path(path), overwrite) as tmp:
            write_run(self, tmp)
        return Path(path)

    def _control(self) -> str:
        if self.protocol.control is None:
            raise ValueError(f"protocol {self.protocol.name!r} names no control group")
        return self.protocol.control


def load_protocol(ref: str | Path | Mapping) -> Protocol:
    """A validated protocol from a YAML file, a built-in name (``alsim list``) or a mapping."""
    if isinstance(ref, Mapping):
        return protocol_from_dict(dict(ref))
    return _load_protocol(ref)


def _with_seed(protocol: Protocol | str | Path | Mapping, seed: int | None) -> Protocol:
    """The protocol, loaded if need be, with ``seed`` in place of its own."""
    proto = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
    if seed is None:
        return proto
    if seed < 0:
        raise ProtocolError(f"seed: must be non-negative, got {seed}")
    return protocol_from_dict({**proto.model_dump(), "seed": seed}, proto.name)


def run(protocol: Protocol | str | Path | Mapping, *, seed: int | None = None,
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Simulate every animal (or well) of ``protocol`` and hold the result in memory; same protocol
    and seed, same result. A cohort whose tables would not fit in memory is refused
    (:class:`ProtocolError`): stream it to a folder with :func:`run_to_folder`."""
    proto = _with_seed(protocol, seed)
    problem = in_memory_problem(proto)
    if problem is not None:
        raise ProtocolError(problem)
    sim = _run(proto, progress)
    return Result(**{f: getattr(sim, f) for f in Simulation.__dataclass_fields__})


def run_to_folder(protocol: Protocol | str | Path | Mapping, out: str | Path, *, seed: int | None = None,
                  overwrite: bool = False, workers: int | None = None, scheduler: str | None = None,
                  chunk_size: int | None = None, progress: Callable[[str, int, int], None] | None = None) -> Path:
    """Simulate ``protocol`` and write its run folder ``out`` chunk by chunk, as ``alsim run`` does:
    memory is set by the chunk size (``chunk_size`` animals), not by the cohort. ``workers`` starts a
    local Dask cluster of that many processes, ``scheduler`` connects to one (an address); results
    are the same bytes either way. ``progress(stage, done, total)`` hears of each stage (pilot,
    simulate, statistics, figures; the figures, drawn while the statistics are computed, may be
    heard of from another thread). ``read_run(out)`` gives the result back."""
    from .experiments.distributed import dask_client
    from .io.stream import stream_run

    proto = _with_seed(protocol, seed)
    with dask_client(scheduler, workers) as client:
        stream_run(proto, Path(out), overwrite=overwrite, client=client, chunk_size=chunk_size, progress=progress)
    return Path(out)


def read_run(path: str | Path) -> Result:
    """The :class:`Result` of a run folder written by ``alsim run`` or :meth:`Result.save`."""
    from .io.store import read_tables

    tables = read_tables(Path(path))
    return Result(**tables)
