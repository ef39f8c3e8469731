"""Struct-of-arrays cell containers, cell-voxel exchange and per-cell random streams.

A population is one dataclass of NumPy arrays, one row per cell: no Python
object per cell (STYLE.md: "Cells are arrays"). Kernels that touch cells are
Numba-compiled; the ones that run in parallel write disjoint memory, so results
do not depend on the thread count (small calls run on one thread,
:func:`~alsim.engines.spatial.diffusion.threads_for`).

Per-cell randomness is counter-based (the idea of Random123, Salmon et al.
2011 Proc SC'11): a draw is a pure function of (cell key, step, stream), so
cells can draw in any order, on any thread, and the same seed gives the same
numbers. The keys come from ``np.random.SeedSequence``; the hash is the
SplitMix64 output function (Steele, Lea & Flood 2014 OOPSLA) applied to the key
xor-ed with the mixed counter. Not cryptographic; statistically adequate for
simulation (see tests/test_spatial_tissue.py for the checks it passes).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from .diffusion import threads_for

__all__ = ["CELL_TYPES", "UNIT_TYPES", "MOTOR_NEURON", "INTERNEURON", "ASTROCYTE", "MICROGLIA",
           "FF", "FR", "S", "CellPopulation", "apply_cre", "cell_keys", "deposit", "gather", "normals",
           "uniforms", "voxel_index"]

#: Cell type codes (index into CELL_TYPES).
CELL_TYPES = ("motor_neuron", "interneuron", "astrocyte", "microglia")
MOTOR_NEURON, INTERNEURON, ASTROCYTE, MICROGLIA = range(4)
#: Motor-unit type codes of motor neurons (-1 for other cells): fast-fatigable, fast-resistant, slow.
UNIT_TYPES = ("FF", "FR", "S")
FF, FR, S = range(3)


@dataclass
class CellPopulation:
    """One population of cells as parallel arrays (row i = cell i).

    ``position_um`` (n, 3) x, y, z [µm]; ``voxel`` (n,) flat voxel index
    (z·ny + y)·nx + x into the field grid; ``alive`` (n,) bool;
    ``mutant_sod1`` (n,) bool, True where the cell expresses mutant SOD1;
    ``key`` (n,) uint64 per-cell random-stream key (:func:`uniforms`);
    ``state`` (n, k) float64 with column names ``state_names``; ``labels``
    named int8 per-cell arrays (e.g. motor ``pool`` and ``unit_type``).
    """

    kind: str
    position_um: np.ndarray
    voxel: np.ndarray
    alive: np.ndarray
    mutant_sod1: np.ndarray
    key: np.ndarray
    state: np.ndarray
    state_names: tuple[str, ...] = ()
    labels: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        n = self.position_um.shape[0]
        want = {"position_um": ((n, 3), np.float64), "voxel": ((n,), np.int64), "alive": ((n,), np.bool_),
                "mutant_sod1": ((n,), np.bool_), "key": ((n,), np.uint64),
                "state": ((n, len(self.state_names)), np.float64)}
        for name, (shape, dtype) in want.items():
            a = getattr(self, name)
            if a.shape != shape or a.dtype != dtype:
                raise ValueError(f"{self.kind}.{name} must be {np.dtype(dtype).name} of shape {shape}, "
                                 f"got {a.dtype.name} {a.shape}")
        for name, a in self.labels.items():
            if a.shape != (n,):
                raise ValueError(f"{self.kind} label {name!r} must have shape ({n},), got {a.shape}")

    def __len__(self) -> int:
        return self.position_um.shape[0]

    def column(self, name: str) -> np.ndarray:
        """The state column ``name`` (a view: writing to it updates the population)."""
        return self.state[:, self.state_names.index(name)]

    @classmethod
    def create(cls, kind: str, position_um, voxel, seed, state_names=(), mutant_sod1=True,
               labels: dict[str, np.ndarray] | None = None) -> "CellPopulation":
        """A population of live cells at ``position_um`` [µm] in voxels ``voxel``, state zero.

        ``seed`` (int or ``np.random.SeedSequence``) gives the per-cell random
        keys; ``mutant_sod1`` a bool or per-cell bool array (the genotype).
        """
        pos = np.ascontiguousarray(position_um, dtype=np.float64).reshape(-1, 3)
        n = pos.shape[0]
        return cls(kind, pos, np.ascontiguousarray(voxel, dtype=np.int64), np.ones(n, dtype=bool),
                   np.broadcast_to(np.asarray(mutant_sod1, dtype=bool), (n,)).copy(), cell_keys(seed, n),
                   np.zeros((n, len(state_names))), tuple(state_names),
                   {k: np.asarray(v, dtype=np.int8) for k, v in (labels or {}).items()})


def apply_cre(cells: CellPopulation, efficiency: float, rng: np.random.Generator,
              excise: bool = True) -> CellPopulation:
    """Cre recombination in each cell independently with probability ``efficiency``.

    ``excise=True`` (a floxed mutant transgene, e.g. LoxSOD1-G37R × Cre):
    recombined cells stop expressing mutant SOD1. ``excise=False`` (a
    lox-STOP-lox transgene): recombined cells start. Returns a new population
    (the input is not modified); cells are drawn in row order from ``rng``.
    """
    if not 0.0 <= efficiency <= 1.0:
        raise ValueError(f"efficiency must be in [0, 1], got {efficiency}")
    hit = rng.random(len(cells)) < efficiency
    mutant = cells.mutant_sod1 & ~hit if excise else cells.mutant_sod1 | hit
    return dataclasses.replace(cells, mutant_sod1=mutant)


def voxel_index(position_um: np.ndarray, shape: tuple[int, int, int], dx_um: float) -> np.ndarray:
    """Flat voxel index (z·ny + y)·nx + x [int64] of each position (n, 3) [µm] on a grid of
    ``shape`` (nz, ny, nx) with voxel edge ``dx_um``; positions on or beyond the box
    edge go to the edge voxel. A one-layer grid puts every z in layer 0."""
    nz, ny, nx = shape
    idx = np.floor(np.asarray(position_um, dtype=np.float64) / dx_um).astype(np.int64)
    ix = np.clip(idx[:, 0], 0, nx - 1)
    iy = np.clip(idx[:, 1], 0, ny - 1)
    iz = np.clip(idx[:, 2], 0, nz - 1)
    return (iz * ny + iy) * nx + ix


# --- cell <-> voxel exchange ------------------------------------------------------


@njit(cache=True, parallel=True)
def _deposit(source, voxel, rate, alive, scale):
    """source[s, voxel[i]] += rate[i, s]·scale for live cells; parallel over species, serial over cells."""
    for s in prange(source.shape[0]):
        for i in range(voxel.shape[0]):
            if alive[i]:
                source[s, voxel[i]] += rate[i, s] * scale


@njit(cache=True, parallel=True)
def _gather(fields, voxel, out):
    """out[i, s] = fields[s, voxel[i]]; parallel over cells."""
    for i in prange(voxel.shape[0]):
        for s in range(fields.shape[0]):
            out[i, s] = fields[s, voxel[i]]


def deposit(source: np.ndarray, cells: CellPopulation, rate: np.ndarray, voxel_volume_um3: float) -> None:
    """Add the live cells' secretion to a source field, in place.

    ``source`` (species, nz, ny, nx) [concentration/s, i.e. amount/µm³/s];
    ``rate`` (n_cells, species) [amount/s] per cell. Each cell's rate is divided
    by the voxel volume [µm³] (``FieldGrid.voxel_volume_um3``), so that over a
    step dt the grid gains exactly Σ rate·dt of amount.
    """
    S = source.shape[0]
    if not (source.dtype == np.float64 and source.flags.c_contiguous):
        raise ValueError("source must be a C-contiguous float64 array (it is updated in place)")
    rate = np.ascontiguousarray(rate, dtype=np.float64).reshape(len(cells), S)
    with threads_for(rate.size):
        _deposit(source.reshape(S, -1), cells.voxel, rate, cells.alive, 1.0 / voxel_volume_um3)


def gather(fields: np.ndarray, cells: CellPopulation) -> np.ndarray:
    """Concentration of every species in each cell's voxel: array (n_cells, species)."""
    S = fields.shape[0]
    out = np.empty((len(cells), S))
    with threads_for(out.size):
        _gather(np.ascontiguousarray(fields).reshape(S, -1), cells.voxel, out)
    return out


# --- per-cell random streams ------------------------------------------------------

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 2.0**-53
_UNIFORM, _NORMAL_A, _NORMAL_B = 0, 1, 2


@njit(cache=True, inline="always")
def _mix64(z):
    """SplitMix64 output function: a bijective avalanche mix of a uint64."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _u01(key, counter):
    """Uniform double in [0, 1) from (key, counter): 53 high bits of mix(key ^ mix((counter + 1)·γ))."""
    h = _mix64(key ^ _mix64((counter + np.uint64(1)) * _GAMMA))
    return (h >> np.uint64(11)) * _TWO_M53


@njit(cache=True, parallel=True)
def _uniforms(keys, counter, out):
    for i in prange(keys.shape[0]):
        out[i] = _u01(keys[i], counter)


@njit(cache=True, parallel=True)
def _normals(keys, ca, cb, out):
    for i in prange(keys.shape[0]):
        u1 = 1.0 - _u01(keys[i], ca)  # in (0, 1]
        u2 = _u01(keys[i], cb)
        out[i] = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def cell_keys(seed, n: int) -> np.ndarray:
    """n per-cell uint64 keys from ``seed`` (int or ``np.random.SeedSequence``)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return ss.generate_state(n, dtype=np.uint64) if n else np.zeros(0, dtype=np.uint64)


def _counter(step: int, stream: int, kind: int) -> np.uint64:
    """The draw counter: step in the high bits, then the draw kind, then the stream (< 2**16)."""
    if not (0 <= stream < 1 << 16 and 0 <= step < 1 << 44):
        raise ValueError(f"need 0 <= stream < 65536 and 0 <= step < 2**44, got stream={stream}, step={step}")
    return np.uint64((step << 20) | (kind << 16) | stream)


def uniforms(keys: np.ndarray, step: int, stream: int = 0) -> np.ndarray:
    """One uniform draw in [0, 1) per cell for (``step``, ``stream``): a pure function of the key.

    Different steps and streams (up to 65,536 per step, e.g. one per process)
    give independent-looking draws; no state is kept anywhere.
    """
    out = np.empty(keys.shape[0])
    with threads_for(out.size):
        _uniforms(np.ascontiguousarray(keys, dtype=np.uint64), _counter(step, stream, _UNIFORM), out)
    return out


def normals(keys: np.ndarray, step: int, stream: int = 0) -> np.ndarray:
    """One standard normal draw per cell for (``step``, ``stream``) (Box-Muller on two counter draws
    that never coincide with :func:`uniforms` draws)."""
    out = np.empty(keys.shape[0])
    with threads_for(out.size):
        _normals(np.ascontiguousarray(keys, dtype=np.uint64), _counter(step, stream, _NORMAL_A),
                 _counter(step, stream, _NORMAL_B), out)
    return out
