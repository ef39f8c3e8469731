"""Reaction-diffusion of soluble signals on a cubic voxel grid.

All species live in one float64 array ``fields[species, z, y, x]`` (a 2-D
grid has ``nz == 1``). Each species obeys, per voxel,

.. math::  \\partial_t c = D\\,\\nabla^2 c - (\\lambda + u(\\mathbf{x}))\\,c + s(\\mathbf{x})

with a diffusion coefficient ``D`` [µm²/s], a first-order decay rate
``λ`` [1/s], a per-voxel uptake rate ``u`` [1/s] (cells' sinks) and a per-voxel
source ``s`` [concentration/s] (cells' secretion; a cell secreting q amount/s
into a voxel of volume V adds q/V, see :func:`alsim.engines.spatial.cells.deposit`).
The Laplacian is the 7-point (5-point in 2-D) cell-centred finite-volume one;
faces are no-flux (Neumann) unless named in ``dirichlet_faces``, where the
concentration on the face itself is held at a bath value (a culture well's
medium): the face flux is then D (c_bath - c_0)/(dx/2).

One step of length ``dt`` (Lie splitting, first order in time):

1. the reaction part is integrated *exactly* per voxel,
   ``c <- c e^{-k dt} + s (1 - e^{-k dt})/k`` with ``k = λ + u``, so total mass
   obeys dM/dt = S - λM - Σ u c exactly within the step and stays non-negative;
2. diffusion by locally one-dimensional (LOD) backward Euler: one implicit
   tridiagonal solve per axis, x then y then z, as BioFVM does (Ghaffarizadeh,
   Friedman & Macklin 2016 Bioinformatics 32:1256). Each 1-D solve is an
   M-matrix inverse, so the step is unconditionally stable, conserves mass with
   no-flux faces and keeps non-negative data non-negative. The Thomas
   coefficients depend only on (D, dt, dx) and are computed once per
   (species, axis, dt); a step is then pure streaming over memory.

Accuracy (see :meth:`FieldGrid.dt_advice`): backward Euler and the LOD
splitting are each first order in dt. With uniform coefficients on a box the
axis operators commute, and the splitting error is the ``dt²·AxAy`` cross
term, i.e. a relative error ~ dt·(λ + D/ℓ²) on a feature of size ℓ. At a
steady state the LOD fixed point is therefore off by O(λ·dt): species whose
half-life is shorter than the step (NO, ATP, glutamate on a seconds step) are
over-spread; step them with dt ≲ 0.1/λ or take their quasi-steady state with
:meth:`FieldGrid.steady_state` (a direct sparse solve of the spatially
discrete problem, exact up to round-off).

Kernels are Numba-compiled, parallel over the independent lines of each sweep
(``prange``); results do not depend on the thread count. The x-sweep (the
contiguous axis) solves blocks of lines together from a small transposed
buffer, so the serial Thomas recurrences of several lines are interleaved and
vectorised; the y- and z-sweeps walk the line direction in the outer loop and
vectorise across the contiguous axis, chunked so each chunk stays in cache.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Sequence

import numba
import numpy as np
from numba import njit, prange

__all__ = ["FACES", "SPECIES", "Species", "FieldGrid", "DtAdvice", "species_table", "stokes_einstein_D"]

FACES = ("x-", "x+", "y-", "y+", "z-", "z+")
_LN2 = math.log(2.0)

# ---------------------------------------------------------------------------
# Default tissue values of the model's soluble species
# ---------------------------------------------------------------------------

#: Tortuosity of brain extracellular space for small molecules (TMA+): D* = D/λ²
#: (Syková & Nicholson 2008 Physiol Rev 88:1277).
TORTUOSITY_SMALL = 1.6

#: Protein anchor for Stokes-Einstein scaling: NGF (β dimer, 26 kDa) diffuses in
#: rat striatum slices with D_brain = 27.5 µm²/s at 34 °C (free 126 µm²/s,
#: tortuosity 2.14; Stroh et al. 2003 Biophys J 85:581).
NGF_MW_KDA = 26.0
NGF_D_BRAIN_34C_UM2_S = 27.5
#: Stokes-Einstein temperature factor 34 -> 37 °C: (T37/T34)·(η34/η37) with water
#: viscosities 0.7340 and 0.6913 mPa·s (CRC Handbook).
_T_FACTOR_34_TO_37 = (310.15 / 307.15) * (0.7340 / 0.6913)


def stokes_einstein_D(mw_kDa: float) -> float:
    """Effective diffusion coefficient [µm²/s] of a globular protein of mass ``mw_kDa``
    in brain extracellular space at 37 °C.

    Stokes-Einstein with radius ∝ M^(1/3), anchored on NGF measured in brain tissue
    (Stroh et al. 2003), which carries the protein tortuosity (2.14) with it:
    D* = 27.5 µm²/s · 1.07 · (26 kDa / M)^(1/3).
    """
    return NGF_D_BRAIN_34C_UM2_S * _T_FACTOR_34_TO_37 * (NGF_MW_KDA / mw_kDa) ** (1.0 / 3.0)


@dataclass(frozen=True)
class Species:
    """One soluble species' tissue transport values.

    ``D_um2_s`` effective diffusion coefficient in tissue [µm²/s];
    ``half_life_s`` first-order clearance half-life in tissue [s];
    ``D_basis`` / ``half_life_basis``: "measured" or "estimated";
    ``source``: where the numbers come from.
    """

    name: str
    D_um2_s: float
    half_life_s: float
    D_basis: str
    half_life_basis: str
    source: str

    @property
    def decay_per_s(self) -> float:
        """First-order decay rate λ = ln 2 / t½ [1/s]."""
        return _LN2 / self.half_life_s

    @property
    def decay_length_um(self) -> float:
        """Steady-state decay length sqrt(D/λ) [µm] around a source."""
        return math.sqrt(self.D_um2_s / self.decay_per_s)


_MIN = 60.0
_HOUR = 3600.0

#: The model's soluble species with default tissue values. Half-lives follow
#: the model's parameter file where it has the species (tnf_half_life,
#: il1b_half_life, mcp1_half_life, il10_half_life, toxic_factor_tissue_half_life).
SPECIES: tuple[Species, ...] = (
    Species("tnf", stokes_einstein_D(52.0), 20 * _MIN, "estimated", "measured",
            "D: Stokes-Einstein from the NGF anchor (Stroh 2003) for the 52 kDa soluble homotrimer. "
            "t½: 18.2 min in whole blood ex vivo, similar in vivo (Oliver et al. 1993 Lymphokine "
            "Cytokine Res 12:115); 20 min as in the model's tnf_half_life"),
    Species("il1b", stokes_einstein_D(17.5), 20 * _MIN, "estimated", "estimated",
            "D: Stokes-Einstein, mature IL-1β 17.5 kDa. t½: tens of minutes (receptor uptake, "
            "proteolysis; no tissue measurement), as the model's il1b_half_life"),
    Species("mcp1", stokes_einstein_D(13.0), 45 * _MIN, "estimated", "estimated",
            "D: Stokes-Einstein, CCL2 ~13 kDa glycosylated (8.7 kDa core; mouse CCL2 is more heavily "
            "glycosylated, and binding to heparan sulfate slows chemokines further). "
            "t½: prior, as the model's mcp1_half_life"),
    Species("il10", stokes_einstein_D(37.0), 30 * _MIN, "estimated", "estimated",
            "D: Stokes-Einstein, IL-10 homodimer 37 kDa. t½: prior, as the model's il10_half_life"),
    Species("il4", stokes_einstein_D(15.0), 30 * _MIN, "estimated", "estimated",
            "D: Stokes-Einstein, IL-4 ~15 kDa. t½: prior, as IL-10 (the model's il4 uses il10_half_life)"),
    Species("ros", 2200.0, 1.0, "measured", "measured",
            "NO as the diffusing reactive species. D: 2.2e-5 cm²/s in rat cortex in vivo, 14 % below free "
            "(Santos et al. 2011 Neurochem Int); NO crosses membranes, so no ECS tortuosity is applied "
            "(free value 3,300 µm²/s, Malinski et al. 1993 BBRC 193:1076). t½: 0.09 to >2 s depending on "
            "local O2 (Thomas et al. 2001 PNAS 98:355); 1 s used. Superoxide/peroxynitrite are shorter-lived"),
    Species("glutamate", 760.0 / TORTUOSITY_SMALL**2, 0.01, "estimated", "estimated",
            "D: free 0.76 µm²/ms (secondary value; Rusakov & Kullmann 1998 J Neurosci 18:3158) divided by "
            "λ² = 1.6² (Syková & Nicholson 2008). t½: transporter uptake clears synaptic glutamate in "
            "~1-10 ms (Danbolt 2001 Prog Neurobiol 65:1); 10 ms background; astrocytic GLT-1 uptake "
            "belongs in the per-voxel uptake field"),
    Species("toxic_factor", stokes_einstein_D(20.0), 2 * _HOUR, "estimated", "estimated",
            "Unidentified astrocyte factor (Nagai et al. 2007 Nat Neurosci 10:615): treated as a small "
            "protein of 20 kDa (Stokes-Einstein). t½: prior, as the model's toxic_factor_tissue_half_life"),
    Species("atp", 400.0 / TORTUOSITY_SMALL**2, 0.5, "estimated", "estimated",
            "Damage signal, fast (ATP/ADP). D: free 3-5e-6 cm²/s, 4e-6 used, / λ² = 1.6². "
            "t½: hundreds of ms by ectonucleotidases (Dunwiddie et al. 1997 J Neurosci 17:7673); 0.5 s"),
    Species("hmgb1", stokes_einstein_D(25.0), 20 * _MIN, "estimated", "estimated",
            "Damage signal, slow (HMGB1, 25 kDa). D: Stokes-Einstein. t½: no tissue measurement; "
            "taken as the cytokines'"),
    Species("sod1_misfolded", stokes_einstein_D(32.0), 2 * _HOUR, "estimated", "estimated",
            "Extracellular misfolded SOD1 as the 32 kDa dimer (aggregates diffuse slower). D: "
            "Stokes-Einstein. t½: by analogy with interstitial amyloid-β, ~2 h in young mice (Cirrito "
            "et al. 2003 J Neurosci 23:8844); microglial uptake belongs in the uptake field"),
)


def species_table(names: Iterable[str] | None = None) -> tuple[Species, ...]:
    """The default :class:`Species` rows for ``names`` (all of them if None), in that order."""
    by_name = {s.name: s for s in SPECIES}
    if names is None:
        return SPECIES
    names = tuple(names)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown species {unknown}; known: {sorted(by_name)}")
    return tuple(by_name[n] for n in names)


# ---------------------------------------------------------------------------
# Compiled kernels
# ---------------------------------------------------------------------------

#: Steps with fewer voxel-species updates than this run on one thread: a parallel
#: region costs ~10 µs to start, and on cores shared with other processes its
#: barrier can stall for a scheduler quantum (measured: 16 ms per 100×100 step).
PARALLEL_MIN_UPDATES = 1 << 17



@contextmanager
def threads_for(n_items: int):
    """Run the enclosed Numba kernels on one thread if they touch fewer than
    :data:`PARALLEL_MIN_UPDATES` items, else on all of Numba's threads."""
    if n_items >= PARALLEL_MIN_UPDATES:
        yield
        return
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(threads)


_XBLOCK = 32  # lines solved together in the x-sweep (SIMD lanes of the transposed buffer)

# reaction modes of the x-sweep kernel
_DECAY, _SOURCE, _EXACT, _PREPARED = 0, 1, 2, 3


@njit(cache=True, inline="always")
def _react(c, a, b, mode, e0, g0, lam, dt):
    """Concentration after the reaction part of a step, from c.

    mode _DECAY: c·e0; _SOURCE: c·e0 + a·g0 (a = source); _EXACT: exact solution
    of dc/dt = a - (lam + b)·c (a = source, b = uptake); _PREPARED: c·a + b with
    a = exp(-k·dt), b = source·(1 - exp(-k·dt))/k from :func:`_prepare_reaction`.
    """
    if mode == _DECAY:
        return c * e0
    if mode == _SOURCE:
        return c * e0 + a * g0
    if mode == _PREPARED:
        return c * a + b
    k = lam + b
    if k > 0.0:
        em1 = math.expm1(-k * dt)
        return c * (1.0 + em1) - a * em1 / k
    return c + a * dt


@njit(cache=True, parallel=True)
def _prepare_reaction(src, has_src, upt, lam, dt, E, G):
    """Per-voxel factors of the exact reaction step: E = exp(-(lam + u)·dt), G = s·(1 - E)/(lam + u).

    Arrays are (S, nvox); without a source (``has_src`` False) ``src`` is not read.
    """
    S, N = upt.shape
    for t in prange(S * N):
        s, i = t // N, t % N
        k = lam[s] + upt[s, i]
        sv = src[s, i] if has_src else 0.0
        if k > 0.0:
            em1 = math.expm1(-k * dt)
            E[s, i] = 1.0 + em1
            G[s, i] = -sv * em1 / k
        else:
            E[s, i] = 1.0
            G[s, i] = sv * dt


@njit(cache=True, inline="always")
def _react_row(row, arow, brow, mode, e, g, lam, dt):
    """Apply the reaction part of a step to one contiguous line in place (see :func:`_react`)."""
    n = row.shape[0]
    if mode == _DECAY:
        for i in range(n):
            row[i] *= e
    elif mode == _SOURCE:
        for i in range(n):
            row[i] = row[i] * e + arow[i] * g
    elif mode == _PREPARED:
        for i in range(n):
            row[i] = row[i] * arow[i] + brow[i]
    else:
        for i in range(n):
            row[i] = _react(row[i], arow[i], brow[i], _EXACT, e, g, lam, dt)


@njit(cache=True, parallel=True)
def _react_sweep_x(f, A, B, mode, lam, e0, g0, dt, inv, rinv, lo, hi):
    """Reaction step, then the implicit x-solve, on ``f[s, line, x]`` in place.

    ``A``, ``B``: per-voxel arrays of the reaction mode (see :func:`_react`; (1, 1, 1)
    dummies when unused). ``inv[s, i]``: 1/pivot of the Thomas forward sweep;
    ``rinv[s, i] = r[s]·inv[s, i]``; ``lo[s]``, ``hi[s]``: Dirichlet addends 2·r·c_bath of
    the first/last voxel (0 if no-flux). Forward: ``d[i] = d[i]·inv[i] + rinv[i]·d[i-1]``;
    backward: ``x[i] = d[i] + rinv[i]·x[i+1]``.

    A line's recurrence is serial, so blocks of _XBLOCK lines are transposed
    (in 4 × 4 tiles) into a buffer ``buf[x·_XBLOCK + line]`` where the block's
    recurrences run side by side in SIMD lanes, and transposed back.
    """
    S, L, n = f.shape
    nblk = (L + _XBLOCK - 1) // _XBLOCK
    for task in prange(S * nblk):
        s = task // nblk
        l0 = (task % nblk) * _XBLOCK
        nb = min(_XBLOCK, L - l0)
        for b in range(nb):
            _react_row(f[s, l0 + b], A[s, l0 + b] if mode != _DECAY else A[0, 0],
                       B[s, l0 + b] if mode >= _EXACT else B[0, 0], mode, e0[s], g0[s], lam[s], dt)
        buf2 = np.empty((n, _XBLOCK))
        buf = buf2.reshape(n * _XBLOCK)
        _lines_lanes(f[s], l0, nb, buf, True)
        _solve_lanes(buf2, 0, _XBLOCK, inv[s], rinv[s], lo[s], hi[s])
        _lines_lanes(f[s], l0, nb, buf, False)


@njit(cache=True, inline="always")
def _lines_lanes(rows, l0, nb, buf, into_buf):
    """Copy lines ``rows[l0:l0 + nb]`` into lanes ``buf[i·_XBLOCK + b]`` (``into_buf``) or back.

    A full block goes in 4 × 4 tiles (four rows at a time), which compiles to
    far fewer scalar memory operations than one line at a time; unused lanes
    of a partial block are zero.
    """
    n = rows.shape[1]
    if nb == _XBLOCK:
        for b0 in range(0, _XBLOCK, 4):
            r0, r1, r2, r3 = rows[l0 + b0], rows[l0 + b0 + 1], rows[l0 + b0 + 2], rows[l0 + b0 + 3]
            for i in range(n):
                k = i * _XBLOCK + b0
                if into_buf:
                    buf[k], buf[k + 1], buf[k + 2], buf[k + 3] = r0[i], r1[i], r2[i], r3[i]
                else:
                    r0[i], r1[i], r2[i], r3[i] = buf[k], buf[k + 1], buf[k + 2], buf[k + 3]
        return
    if into_buf:
        buf[:] = 0.0
    for b in range(nb):
        row = rows[l0 + b]
        for i in range(n):
            if into_buf:
                buf[i * _XBLOCK + b] = row[i]
            else:
                row[i] = buf[i * _XBLOCK + b]


@njit(cache=True, inline="always")
def _solve_lanes(a, i0, i1, iv, ri, lo, hi):
    """Thomas solve of (I + r·T) along axis 0 of ``a[:, i0:i1]`` in place, all columns at once.

    ``a`` is a C-contiguous (n, m) array; ``iv``/``ri``: precomputed 1/pivots and
    r/pivots; ``lo``/``hi``: Dirichlet addends of the first/last row. Each row's
    columns are a contiguous slice, so the column loops vectorise.
    """
    n = a.shape[0]
    m = i1 - i0
    first = a[0, i0:i1]
    lastrow = a[n - 1, i0:i1]
    for b in range(m):
        first[b] += lo
    for b in range(m):
        lastrow[b] += hi
    for b in range(m):
        first[b] *= iv[0]
    for j in range(1, n):
        cur = a[j, i0:i1]
        prev = a[j - 1, i0:i1]
        w = iv[j]
        rj = ri[j]
        for b in range(m):
            cur[b] = cur[b] * w + rj * prev[b]
    for j in range(n - 2, -1, -1):
        cur = a[j, i0:i1]
        nxt = a[j + 1, i0:i1]
        rj = ri[j]
        for b in range(m):
            cur[b] += rj * nxt[b]


@njit(cache=True, parallel=True)
def _sweep_strided(f, inv, rinv, lo, hi, chunk):
    """Implicit solve along axis 2 of ``f[s, outer, n, inner]`` in place (the y- or z-sweep).

    The line direction is the outer loop and the contiguous ``inner`` axis the
    vectorised inner loop, in chunks of ``chunk`` columns so that a chunk's
    n × chunk block stays in cache between the forward and backward passes.
    Same recurrences as :func:`_react_sweep_x` (:func:`_solve_lanes`).
    """
    S, n_outer, n, M = f.shape
    nch = (M + chunk - 1) // chunk
    for task in prange(S * n_outer * nch):
        s = task // (n_outer * nch)
        o = (task // nch) % n_outer
        i0 = (task % nch) * chunk
        _solve_lanes(f[s, o], i0, min(i0 + chunk, M), inv[s], rinv[s], lo[s], hi[s])


# ---------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------


def axis_operator_diagonal(n: int, dirichlet_lo: bool, dirichlet_hi: bool) -> np.ndarray:
    """Diagonal of the 1-D operator -dx²·∇² on ``n`` cell-centred voxels (off-diagonals are -1).

    Interior 2; a no-flux end 1; a Dirichlet face 3 (its half-voxel distance
    doubles the face conductance). Shared by the Thomas coefficients and the
    sparse steady-state matrix, so the two discretisations are the same.
    """
    d = np.full(n, 2.0)
    d[0] -= 1.0
    d[-1] -= 1.0
    if dirichlet_lo:
        d[0] += 2.0
    if dirichlet_hi:
        d[-1] += 2.0
    return d


def thomas_coefficients(diag: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Precomputed Thomas factors of (I + r·T) for a tridiagonal T with diagonal ``diag`` and off-diagonals -1.

    Returns ``inv`` (1/pivot of each row) and ``rinv = r·inv``; then
    forward ``d[i] = (d[i] + r d[i-1])·inv[i]`` and backward ``x[i] = d[i] + rinv[i]·x[i+1]``.
    """
    n = diag.shape[0]
    inv = np.empty(n)
    cprime = 0.0  # c'_{i-1} = -r·inv[i-1]
    for i in range(n):
        pivot = 1.0 + r * diag[i] + (r * cprime if i > 0 else 0.0)
        inv[i] = 1.0 / pivot
        cprime = -r * inv[i]
    return inv, r * inv


@dataclass(frozen=True)
class DtAdvice:
    """Stability and accuracy of one diffusion step size, per species.

    ``mesh_ratio`` = D·dt/dx² (an explicit scheme would need ≤ 1/(2·ndim));
    ``feature_um`` the scale ℓ that matters (the decay length, at least 4·dx);
    ``rate_error`` ≈ dt·(λ + D/ℓ²)/2, the first-order relative error of the
    decay of such a feature per unit time (backward Euler + LOD splitting);
    ``dt_for_5pct_s`` the step giving 5 %; ``message`` advice text ('' if fine).
    """

    dt_diffusion_s: float
    species: tuple[str, ...]
    mesh_ratio: np.ndarray
    feature_um: np.ndarray
    rate_error: np.ndarray
    dt_for_5pct_s: np.ndarray
    message: str


@dataclass(frozen=True)
class Reaction:
    """Prepared reaction part of a step (from :meth:`FieldGrid.reaction`).

    With uptake: per voxel ``factor`` = e^{-k·dt} and ``gain`` = s·(1 - e^{-k·dt})/k
    (k = λ + u), and the step computes c·factor + gain. Without uptake both are
    None and ``source`` (or None) is used with the species' uniform decay.
    """

    dt_diffusion_s: float
    source: np.ndarray | None
    factor: np.ndarray | None
    gain: np.ndarray | None


_DUMMY = np.zeros((1, 1, 1))


class FieldGrid:
    """Soluble fields on a box of cubic voxels, with precomputed implicit solvers.

    Parameters
    ----------
    shape : (ny, nx) or (nz, ny, nx)
        Voxels per axis; a 2-D grid is one voxel layer (nz = 1).
    dx_um : float
        Voxel edge [µm].
    species : sequence of str
        Species names (order of the first axis of ``fields``).
    D_um2_s, decay_per_s : sequences of float, optional
        Diffusion coefficient [µm²/s] and first-order decay rate [1/s] per
        species; default: :data:`SPECIES` values for those names.
    dirichlet_faces : iterable of {"x-", "x+", "y-", "y+", "z-", "z+"}
        Faces held at ``bath`` concentrations (no-flux elsewhere).
    bath : sequence of float, optional
        Face concentration per species on the Dirichlet faces (default 0).
    thickness_um : float, optional
        For a 2-D grid, the section thickness that a voxel stands for [µm]
        (default dx); it only sets :attr:`voxel_volume_um3`.
    """

    def __init__(self, shape: Sequence[int], dx_um: float, species: Sequence[str],
                 D_um2_s: Sequence[float] | None = None, decay_per_s: Sequence[float] | None = None, *,
                 dirichlet_faces: Iterable[str] = (), bath: Sequence[float] | None = None,
                 thickness_um: float | None = None):
        shape = tuple(int(n) for n in shape)
        if len(shape) == 2:
            shape = (1,) + shape
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"shape must be (ny, nx) or (nz, ny, nx) of positive ints, got {shape}")
        self.species = tuple(species)
        S = len(self.species)
        if D_um2_s is None or decay_per_s is None:
            rows = species_table(self.species)
        self.D_um2_s = np.array([s.D_um2_s for s in rows] if D_um2_s is None else D_um2_s, dtype=np.float64)
        self.decay_per_s = np.array([s.decay_per_s for s in rows] if decay_per_s is None else decay_per_s,
                                    dtype=np.float64)
        if self.D_um2_s.shape != (S,) or self.decay_per_s.shape != (S,):
            raise ValueError(f"D_um2_s and decay_per_s need one value per species ({S})")
        if (self.D_um2_s < 0).any() or (self.decay_per_s < 0).any():
            raise ValueError("diffusion coefficients and decay rates must be >= 0")
        self.dirichlet_faces = frozenset(dirichlet_faces)
        if not self.dirichlet_faces <= set(FACES):
            raise ValueError(f"dirichlet_faces must be among {FACES}, got {sorted(self.dirichlet_faces)}")
        self.bath = np.zeros(S) if bath is None else np.array(bath, dtype=np.float64)
        if self.bath.shape != (S,):
            raise ValueError(f"bath needs one value per species ({S})")
        self.shape = shape
        self.dx_um = float(dx_um)
        self.ndim = 2 if shape[0] == 1 and not ({"z-", "z+"} & self.dirichlet_faces) else 3
        self.thickness_um = self.dx_um if thickness_um is None else float(thickness_um)
        self._coeff_cache: dict[float, tuple] = {}
        self._advised: set[float] = set()

    # -- basic properties -------------------------------------------------
    @property
    def n_species(self) -> int:
        """Number of species."""
        return len(self.species)

    @property
    def fields_shape(self) -> tuple[int, int, int, int]:
        """Shape of a fields array: (species, nz, ny, nx)."""
        return (self.n_species,) + self.shape

    @property
    def n_voxels(self) -> int:
        """Voxels per species."""
        nz, ny, nx = self.shape
        return nz * ny * nx

    @property
    def voxel_volume_um3(self) -> float:
        """Volume one voxel stands for [µm³]: dx³, or dx²·thickness for a one-layer grid."""
        if self.shape[0] == 1:
            return self.dx_um**2 * self.thickness_um
        return self.dx_um**3

    def zeros(self) -> np.ndarray:
        """A zero fields array of :attr:`fields_shape` (float64, C order)."""
        return np.zeros(self.fields_shape)

    def total_amount(self, fields: np.ndarray) -> np.ndarray:
        """Amount of each species in the box: Σ c · voxel volume [concentration·µm³]."""
        return fields.reshape(self.n_species, -1).sum(axis=1) * self.voxel_volume_um3

    def index(self, name: str) -> int:
        """Position of species ``name`` on the first axis of a fields array."""
        return self.species.index(name)

    # -- step-size advice -------------------------------------------------
    def dt_advice(self, dt_diffusion_s: float) -> DtAdvice:
        """How accurate a diffusion step of ``dt_diffusion_s`` seconds is, per species (never an error).

        The scheme is stable for any dt; its first-order error on a feature of
        size ℓ is a relative rate error ≈ dt·(λ + D/ℓ²)/2. ℓ is the species'
        decay length sqrt(D/λ), or 4·dx if that is longer (the smallest feature
        the grid resolves; also used without decay). So the message appears
        when λ·dt > 1/2 for a species whose decay length the grid resolves
        (more than ~0.7 half-lives per step: its decay length is then off by
        > 12 %), or when D·dt/dx² > 16: above 50 % the message says which
        species suffer and what dt gives 5 %.
        """
        dt = float(dt_diffusion_s)
        D, lam, dx = self.D_um2_s, self.decay_per_s, self.dx_um
        with np.errstate(divide="ignore"):
            L = np.where(lam > 0, np.sqrt(D / np.where(lam > 0, lam, 1.0)), 0.0)
        ell = np.maximum(L, 4.0 * dx)
        rate = lam + D / ell**2
        err = 0.5 * dt * rate
        with np.errstate(divide="ignore"):
            dt5 = np.where(rate > 0, 0.1 / np.where(rate > 0, rate, 1.0), np.inf)
        bad = [i for i in range(self.n_species) if err[i] > 0.5]
        msg = ""
        if bad:
            parts = [f"{self.species[i]} (D·dt/dx² = {D[i] * dt / dx**2:.3g}, λ·dt = {lam[i] * dt:.3g}, "
                     f"~{100 * err[i]:.0f} % rate error on {ell[i]:.3g} µm features; dt ≤ {dt5[i]:.3g} s "
                     f"for 5 %)" for i in bad]
            msg = (f"dt_diffusion_s = {dt:g} s is stable but inaccurate for " + "; ".join(parts)
                   + ". Use a smaller dt_diffusion_s for these species, or take their quasi-steady "
                   "state with FieldGrid.steady_state() if they equilibrate much faster than the cells change.")
        return DtAdvice(dt, self.species, D * dt / dx**2, ell, err, dt5, msg)

    # -- time stepping ----------------------------------------------------
    def _coefficients(self, dt: float):
        """Thomas factors per axis and reaction constants for one dt (computed once, then cached).

        Per axis (x, y, z): (active, inv, rinv, lo, hi) with inv/rinv of shape
        (species, n); an axis of one voxel without Dirichlet faces is inactive.
        """
        c = self._coeff_cache.get(dt)
        if c is not None:
            return c
        S = self.n_species
        r = self.D_um2_s * dt / self.dx_um**2
        axes = []
        for ax, n in zip("xyz", self.shape[::-1]):
            lo_d, hi_d = f"{ax}-" in self.dirichlet_faces, f"{ax}+" in self.dirichlet_faces
            diag = axis_operator_diagonal(n, lo_d, hi_d)
            inv = np.empty((S, n))
            rinv = np.empty((S, n))
            for s in range(S):
                inv[s], rinv[s] = thomas_coefficients(diag, r[s])
            lo = 2.0 * r * self.bath if lo_d else np.zeros(S)
            hi = 2.0 * r * self.bath if hi_d else np.zeros(S)
            axes.append((n > 1 or lo_d or hi_d, inv, rinv, lo, hi))
        lam = self.decay_per_s
        e0 = np.exp(-lam * dt)
        g0 = np.where(lam > 0, -np.expm1(-lam * dt) / np.where(lam > 0, lam, 1.0), dt)
        c = (tuple(axes), e0, g0)
        if len(self._coeff_cache) > 8:
            self._coeff_cache.clear()
        self._coeff_cache[dt] = c
        return c

    def _as_rate_field(self, a, what: str) -> np.ndarray | None:
        """A source/uptake argument as a C-contiguous float64 array of :attr:`fields_shape` (None stays None)."""
        if a is None:
            return None
        a = np.asarray(a, dtype=np.float64)
        if a.shape != self.fields_shape:
            try:
                a = np.broadcast_to(a, self.fields_shape)
            except ValueError:
                raise ValueError(f"{what} has shape {a.shape}; it must broadcast to {self.fields_shape}") from None
        return np.ascontiguousarray(a)

    def reaction(self, dt_diffusion_s: float, source=None, uptake=None) -> "Reaction":
        """Prepare the per-voxel exact reaction factors for steps of ``dt_diffusion_s`` seconds.

        ``source`` [concentration/s] and ``uptake`` [1/s] broadcast to the
        fields' shape (None: zero). Costs one expm1 per voxel; reuse the result
        for every diffusion step until the cells change their secretion or
        uptake (``step(fields, dt, reaction=rx)``).
        """
        dt = self._check_dt(dt_diffusion_s)
        src = self._as_rate_field(source, "source")
        upt = self._as_rate_field(uptake, "uptake")
        if upt is None:
            return Reaction(dt, src, None, None)
        S = self.n_species
        E = np.empty(self.fields_shape)
        G = np.empty(self.fields_shape)
        with threads_for(E.size):
            _prepare_reaction(np.zeros((1, 1)) if src is None else src.reshape(S, -1), src is not None,
                              upt.reshape(S, -1), self.decay_per_s, dt, E.reshape(S, -1), G.reshape(S, -1))
        return Reaction(dt, None, E, G)

    def _check_dt(self, dt_diffusion_s, stacklevel: int = 3) -> float:
        """dt as a float > 0; the first use of each dt warns (advice only) if it is inaccurate."""
        dt = float(dt_diffusion_s)
        if not dt > 0:
            raise ValueError(f"dt_diffusion_s must be > 0, got {dt_diffusion_s}")
        if dt not in self._advised:
            self._advised.add(dt)
            msg = self.dt_advice(dt).message
            if msg:
                warnings.warn(msg, RuntimeWarning, stacklevel=stacklevel)
        return dt

    def step(self, fields: np.ndarray, dt_diffusion_s: float, source=None, uptake=None, *,
             reaction: "Reaction | None" = None) -> np.ndarray:
        """Advance ``fields`` (species, nz, ny, nx) by one step of ``dt_diffusion_s`` seconds, in place.

        ``source`` [concentration/s] and ``uptake`` [1/s] broadcast to the
        fields' shape (None: zero); or pass a prepared ``reaction`` (from
        :meth:`reaction` with the same dt) instead of them, which skips the
        per-voxel exponentials. Returns ``fields``.
        """
        if not (isinstance(fields, np.ndarray) and fields.dtype == np.float64 and fields.flags.c_contiguous
                and fields.shape == self.fields_shape):
            raise ValueError(f"fields must be a C-contiguous float64 array of shape {self.fields_shape} "
                             "(make one with FieldGrid.zeros()); it is updated in place")
        dt = self._check_dt(dt_diffusion_s)
        if reaction is not None:
            if source is not None or uptake is not None:
                raise ValueError("pass either source/uptake or a prepared reaction, not both")
            if reaction.dt_diffusion_s != dt:
                raise ValueError(f"the reaction was prepared for dt = {reaction.dt_diffusion_s} s, not {dt} s")
            if reaction.factor is not None:
                mode, A, B = _PREPARED, reaction.factor, reaction.gain
            else:
                mode, A, B = (_DECAY if reaction.source is None else _SOURCE), reaction.source, None
        else:
            A = self._as_rate_field(source, "source")
            B = self._as_rate_field(uptake, "uptake")
            if B is not None:
                mode = _EXACT
                if A is None:
                    A = np.zeros(self.fields_shape)
            else:
                mode = _DECAY if A is None else _SOURCE
        self._step(fields, dt, mode, A, B)
        return fields

    def _step(self, fields, dt, mode, A, B):
        """One split step with prepared arrays (no checks): the reaction + x-sweep kernel, then the
        y- and z-sweeps; small grids run on one thread."""
        with threads_for(fields.size):
            self._sweeps(fields, dt, mode, A, B)

    def _sweeps(self, fields, dt, mode, A, B):
        """The kernels of one step."""
        axes, e0, g0 = self._coefficients(dt)
        S, nz, ny, nx = fields.shape
        L = nz * ny
        dummy = _DUMMY
        xa, ya, za = axes
        _react_sweep_x(fields.reshape(S, L, nx), dummy if A is None else A.reshape(S, L, nx),
                       dummy if B is None else B.reshape(S, L, nx), mode, self.decay_per_s, e0, g0, dt,
                       xa[1], xa[2], xa[3], xa[4])
        if ya[0]:
            _sweep_strided(fields, ya[1], ya[2], ya[3], ya[4], _chunk(ny, nx, S * nz))
        if za[0]:
            _sweep_strided(fields.reshape(S, 1, nz, ny * nx), za[1], za[2], za[3], za[4],
                           _chunk(nz, ny * nx, S))

    def advance(self, fields: np.ndarray, t_s: float, dt_diffusion_s: float, source=None, uptake=None) -> int:
        """Advance ``fields`` in place over ``t_s`` seconds with constant source/uptake, in steps of
        ``dt_diffusion_s`` (the last one shortened to land on t_s); returns the number of steps."""
        n = int(math.floor(t_s / dt_diffusion_s + 1e-9))
        rest = t_s - n * dt_diffusion_s
        if n:
            self._check_dt(dt_diffusion_s)
            rx = self.reaction(dt_diffusion_s, source, uptake)
            for _ in range(n):
                self.step(fields, dt_diffusion_s, reaction=rx)
        if rest > 1e-12 * max(t_s, 1.0):
            self.step(fields, rest, source, uptake)
            n += 1
        return n

    # -- steady state -----------------------------------------------------
    def operator(self, species: int, uptake: np.ndarray | None = None):
        """Sparse matrix A and bath vector b with A·c = s + b at steady state for one species.

        A = -D∇² + λ + u on the voxels (x fastest), from the same 1-D operators
        as the time stepper; b carries the Dirichlet faces' 2·D/dx²·c_bath.
        """
        import scipy.sparse as sp

        nz, ny, nx = self.shape
        D, dx = self.D_um2_s[species], self.dx_um
        mats, bvecs = [], []
        for ax, n in zip("zyx", (nz, ny, nx)):
            lo_d, hi_d = f"{ax}-" in self.dirichlet_faces, f"{ax}+" in self.dirichlet_faces
            d = axis_operator_diagonal(n, lo_d, hi_d)
            mats.append(sp.diags([-np.ones(n - 1), d, -np.ones(n - 1)], [-1, 0, 1], format="csr"))
            b = np.zeros(n)
            b[0] += 2.0 * self.bath[species] if lo_d else 0.0
            b[-1] += 2.0 * self.bath[species] if hi_d else 0.0
            bvecs.append(b)
        Iz, Iy, Ix = (sp.identity(n, format="csr") for n in (nz, ny, nx))
        T = (sp.kron(sp.kron(mats[0], Iy), Ix) + sp.kron(sp.kron(Iz, mats[1]), Ix)
             + sp.kron(sp.kron(Iz, Iy), mats[2]))
        bath = (np.add.outer(np.add.outer(bvecs[0], bvecs[1]), bvecs[2])).ravel()
        k = np.full(self.n_voxels, self.decay_per_s[species])
        if uptake is not None:
            k = k + uptake[species].ravel()
        A = (D / dx**2) * T + sp.diags(k)
        return A.tocsc(), (D / dx**2) * bath

    def steady_state(self, source=None, uptake=None) -> np.ndarray:
        """The steady state of the spatially discrete problem, by a direct sparse solve per species.

        Exact up to round-off for the same discretisation as :meth:`step`
        (time stepping converges to it as dt -> 0; at finite dt the LOD fixed
        point differs by O(λ·dt)). A species with no decay, no uptake and no
        Dirichlet face has no steady state unless its sources sum to zero: that
        raises ValueError. Intended for grids up to ~10⁵-10⁶ voxels.
        """
        from scipy.sparse.linalg import spsolve

        src = self._as_rate_field(source, "source")
        upt = self._as_rate_field(uptake, "uptake")
        out = self.zeros()
        for s in range(self.n_species):
            closed = (self.decay_per_s[s] == 0 and (upt is None or not upt[s].any())
                      and not self.dirichlet_faces)
            if closed:
                raise ValueError(f"species {self.species[s]!r} has no sink (no decay, uptake or Dirichlet "
                                 "face): its steady state is not unique; give it a decay rate or uptake")
            A, b = self.operator(s, upt)
            rhs = b if src is None else b + src[s].ravel()
            out[s] = spsolve(A, rhs).reshape(self.shape)
        return out


def _chunk(n: int, inner: int, planes: int) -> int:
    """Columns per task of a strided sweep over ``planes`` independent n × inner planes.

    At most ~256 KiB per chunk (n × chunk × 8 bytes, stays in L2 between the two
    passes), narrow enough that there are at least 4 tasks per thread, and never
    below 16 columns (the vectorised loop needs some length); a multiple of 8.
    """
    cache_cols = max(16, (32768 // max(n, 1)) // 8 * 8)
    want_tasks = 4 * numba.get_num_threads()
    per_plane = -(-want_tasks // planes)
    balance_cols = max(16, -(-(-(-inner // per_plane)) // 8) * 8)
    return min(cache_cols, balance_cols, inner)
