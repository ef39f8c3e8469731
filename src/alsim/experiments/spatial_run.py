"""Animals simulated cell by cell (``engine: spatial``): one tissue per animal, the same readouts.

Each animal's tissue (a ventral-horn section or slab, or a uniform block; the
protocol's ``tissue:``) is built from the animal's own parameter vector, its
Cre and chimera given cell by cell, and stepped by
:class:`alsim.engines.spatial.step.SpatialEngine` until the end of the
protocol or the animal's end stage (loss of righting reflex: the innervated
fraction of the tissue's motor pools, mapped to the animal as the mean field's
fractions are, crossing ``righting_threshold``). The reporters go to the same
readouts as the mean field's (``analysis.readouts``). Each animal also keeps
field and cell snapshots for the run folder's ``spatial/``.
"""

from __future__ import annotations

import dataclasses
import pickle
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .._files import write_whole
from ..biology import genotypes as gt
from ..biology.model import REPORTER_NAMES
from ..engines.spatial.cells import CELL_TYPES, MOTOR_NEURON
from ..engines.spatial.setup import EXPRESSION_OF, Focus, Mosaic, build_engine
from ..engines.spatial.step import FIELDS
from ..engines.spatial.tissue import Tissue, culture_well, uniform_block, ventral_horn_section, ventral_horn_slab
from .modulation import modulation
from .protocol import Group, Protocol, TissueSpec

_CELL_TYPE_OF = {param: ctype for ctype, param in EXPRESSION_OF.items()}


@dataclass(frozen=True)
class TissueRecord:
    """Snapshots of one animal's tissue.

    ``times`` (k,) [day]; ``fields`` (k, species, nz, ny, nx) float32 in the species' units
    (``field_names``); ``cells`` one row per cell and snapshot (time, position, type, state);
    ``region`` (nz, ny, nx) the tissue's region codes; ``dx_um``.
    """

    animal: int
    group: str
    times: np.ndarray
    field_names: tuple[str, ...]
    fields: np.ndarray
    cells: pd.DataFrame
    region: np.ndarray
    dx_um: float
    focus: tuple[float, ...] | None


def make_tissue(spec: TissueSpec) -> Tissue:
    """The tissue a protocol's ``tissue:`` block names."""
    if spec.geometry == "section":
        return ventral_horn_section(spec.dx_um, spec.thickness_um)
    if spec.geometry == "slab":
        return ventral_horn_slab(spec.dx_um, spec.thickness_um)
    if spec.geometry == "well":
        return culture_well(spec.size_um[0], spec.dx_um, shape="square", thickness_um=spec.thickness_um)
    return uniform_block(tuple(spec.size_um), spec.dx_um, spec.thickness_um)


def mosaic_of(group: Group, spec: TissueSpec, p: np.ndarray) -> Mosaic:
    """The group's Cre drivers that excise the mutant transgene, and its chimera, as per-cell transgenes."""
    cre = tuple((_CELL_TYPE_OF[gt.CELL_EXPRESSION[gt.CRE_DRIVERS[c.driver].cell_type]], c.value)
                for c in group.cre if c.gene == "SOD1")
    chimera = None
    if group.chimera is not None:
        ch = group.chimera
        donor = p.copy()
        gt.GENOTYPES[ch.donor].apply(donor)  # the donor line's transgene
        chimera = (ch.cell_type, ch.fraction, donor)
    return Mosaic(cre=cre, chimera=chimera, pattern=spec.chimera_pattern)


def host_modifications(group: Group) -> gt.Modifications:
    """The group's manipulations that act on the whole animal (knockouts, marrow donor, and a Cre deleting
    another floxed gene such as IKBKB, averaged over the cell type as in the mean field: the cells carry
    no per-cell NF-kB); Cre excising the mutant transgene and chimeras are given cell by cell instead."""
    mods = group.modifications
    return dataclasses.replace(mods, cre=tuple(c for c in mods.cre if c[2] != "SOD1"), chimera=None)


def _cell_table(engine, t: float) -> pd.DataFrame:
    c = engine.cells
    n = c.n
    return pd.DataFrame({
        "age_d": np.full(n, t), "cell": np.arange(n), "type": pd.Categorical.from_codes(c.ctype[:n], CELL_TYPES),
        "x_um": c.position_um[:n, 0], "y_um": c.position_um[:n, 1], "z_um": c.position_um[:n, 2],
        "alive": c.alive[:n], "mutant_row": c.genotype[:n], "misfolded_load": c.load[:n],
        "microglia_state": np.where(c.ctype[:n] == 3, c.mg_state[:n], -1).astype(np.int8),
        "astrocyte_reactivity": c.reactive[:n], "axon_connected": c.connected[:n] & (c.ctype[:n] == MOTOR_NEURON),
        "unit_type": c.unit[:n], "pool": c.pool[:n]})


CHECKPOINT_EVERY_DAYS = 5.0  # simulated days between an animal's checkpoints in a checkpointed run
_checkpoint_dir: ContextVar[Path | None] = ContextVar("spatial_checkpoint_dir", default=None)


@contextmanager
def checkpointing(folder: Path):
    """Within this block, spatial animals are checkpointed into ``folder``: each finished animal's
    result, and the animal in progress every ``CHECKPOINT_EVERY_DAYS``; a later run of the same
    protocol with the same folder takes the finished animals as they are and resumes the one in
    progress from its last checkpoint (bit for bit the same as a run straight through)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    token = _checkpoint_dir.set(folder)
    try:
        yield folder
    finally:
        _checkpoint_dir.reset(token)


class _AnimalRun:
    """One animal's tissue being stepped, with what it has recorded so far (picklable whole)."""

    def __init__(self, engine, grid: np.ndarray, spec: TissueSpec):
        self.engine, self.grid, self.spec = engine, grid, spec
        self.obs = np.full((grid.size, len(REPORTER_NAMES)), np.nan)
        self.snaps_t, self.snaps_f, self.snaps_c = [], [], []
        self.next_snap, self.end_stage, self.j = 0.0, np.nan, 0
        self.margin = engine.end_stage_margin()
        self.done = False

    def snapshot(self) -> None:
        e = self.engine
        self.snaps_t.append(e.t)
        self.snaps_f.append(e.fields.reshape((len(FIELDS),) + e.tissue.shape).astype(np.float32))
        self.snaps_c.append(_cell_table(e, e.t))

    def advance(self, duration: float) -> None:
        """Step until ``done`` (end of the protocol, or end stage)."""
        e, grid, spec = self.engine, self.grid, self.spec
        while self.j < grid.size and grid[self.j] <= e.t + 1e-9:
            self.obs[self.j] = e.observe()
            self.j += 1
        if e.t >= self.next_snap - 1e-9:
            self.snapshot()
            self.next_snap += spec.snapshot_every_days
        if self.j >= grid.size or e.t >= duration - 1e-9:
            self.done = True
            return
        e.step()
        if e.in_culture:
            return
        previous, self.margin = self.margin, e.end_stage_margin()
        if self.margin < 0:  # loss of righting reflex between the last two steps
            self.end_stage = e.t - spec.dt_days * self.margin / (self.margin - previous)
            while self.j < grid.size and grid[self.j] <= e.t + 1e-9:
                if grid[self.j] < self.end_stage:
                    self.obs[self.j] = e.observe()
                self.j += 1
            self.snapshot()
            self.done = True


def simulate_animal(protocol: Protocol, group: Group, p: np.ndarray, animal: int,
                    grid: np.ndarray, medium: float | None = None) -> tuple[np.ndarray, float, TissueRecord]:
    """Reporters of one animal (or culture well) on ``grid`` (NaN after end stage), its end-stage age
    (NaN if not reached; wells have none) and its tissue snapshots (checkpointed inside
    :func:`checkpointing`); ``medium``: a well fed conditioned medium holding this much factor
    (changed every ``feeder.refresh_days``)."""
    spec = protocol.tissue or TissueSpec()
    focus = None
    if spec.focus is not None:
        f = spec.focus
        focus = Focus(tuple(f.centre_um), f.radius_um, f.expression_factor, f.microglia == "activated")
    folder = _checkpoint_dir.get()
    done_file = partial_file = None
    if folder is not None:
        done_file, partial_file = folder / f"animal{animal}.done.pkl", folder / f"animal{animal}.partial.pkl"
        if done_file.exists():
            return pickle.loads(done_file.read_bytes())
    if partial_file is not None and partial_file.exists():
        state = pickle.loads(partial_file.read_bytes())
    else:
        seed = int(np.random.SeedSequence([protocol.seed, 2, animal]).generate_state(1, dtype=np.uint64)[0] >> 1)
        engine = build_engine(make_tissue(spec), p, seed, dt_days=spec.dt_days, mosaic=mosaic_of(group, spec, p),
                              focus=focus)
        if medium is not None:
            engine.feed(medium, group.feeder.refresh_days, protocol.duration_days)
        mod = modulation(protocol, np.zeros(0, np.int64))  # drugs and ablation, as the mean field applies them
        if mod is not None:
            gi = [g.name for g in protocol.groups].index(group.name)
            engine.modulate(mod.params, mod.times[gi], mod.values[gi])
        state = _AnimalRun(engine, grid, spec)
    next_save = state.engine.t + CHECKPOINT_EVERY_DAYS
    while not state.done:
        state.advance(protocol.duration_days)
        if partial_file is not None and state.engine.t >= next_save - 1e-9 and not state.done:
            write_whole(partial_file, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
            next_save = state.engine.t + CHECKPOINT_EVERY_DAYS
    engine = state.engine
    record = TissueRecord(animal, group.name, np.array(state.snaps_t), FIELDS, np.array(state.snaps_f),
                          pd.concat(state.snaps_c, ignore_index=True), engine.tissue.region.copy(),
                          engine.tissue.dx_um, None if focus is None else focus.centre_um)
    result = (state.obs, state.end_stage, record)
    if done_file is not None:
        write_whole(done_file, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        partial_file.unlink(missing_ok=True)
    return result


def simulate_tissues(protocol: Protocol, design: pd.DataFrame, P: np.ndarray, grid: np.ndarray,
                     progress: Callable[[int, int], None] | None = None):
    """Every animal of ``design`` (rows of ``P``): (observables (animals, times, reporters), end-stage
    ages, tissue records)."""
    groups = {g.name: g for g in protocol.groups}
    n = len(design)
    obs = np.empty((n, grid.size, len(REPORTER_NAMES)))
    end_stage = np.full(n, np.nan)
    records = []
    for i, row in enumerate(design.itertuples(index=False)):
        obs[i], end_stage[i], rec = simulate_animal(protocol, groups[row.group], P[i], int(row.animal), grid)
        records.append(rec)
        if progress is not None:
            progress(i + 1, n)
    return obs, end_stage, records


def simulate_wells_spatially(protocol: Protocol, group: Group, P: np.ndarray, media: np.ndarray | None,
                             t: np.ndarray, first: int) -> tuple[np.ndarray, list[TissueRecord]]:
    """Observables (wells, times, reporters) of a culture group's wells (rows of ``P``, as
    ``culture.fed_wells`` gives them, numbered from ``first``), each a tissue of cells, and their
    snapshots; ``media``: the factor in each well's conditioned medium (None in co-culture). A
    conditioned medium is made in the mean field's well: the medium is well mixed, so where the
    donor's cells stood does not reach it."""
    obs = np.empty((len(P), t.size, len(REPORTER_NAMES)))
    records = []
    for i, p in enumerate(P):
        obs[i], _, rec = simulate_animal(protocol, group, p, first + i, t, None if media is None else media[i])
        records.append(rec)
    return obs, records
