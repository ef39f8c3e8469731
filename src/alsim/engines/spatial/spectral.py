"""Exact reaction-diffusion solves on a no-flux box by the discrete cosine transform.

On a box of cubic voxels with no-flux faces and a uniform diffusion coefficient
D and decay rate λ per species, the cell-centred finite-volume operator of
:class:`~alsim.engines.spatial.diffusion.FieldGrid`, A = -D∇²_h + λ, is
diagonalised by the type-II DCT: along an axis of n voxels the 1-D Laplacian's
eigenvalues are -(2 - 2 cos(πk/n))/dx², k = 0..n-1, and A's are their sum over
the axes times D, plus λ. So, with ŝ = DCT(s):

- the quasi-steady state A c = s is c = IDCT(ŝ / a_k), exact for the
  discretisation (FieldGrid.steady_state solves the same system by sparse LU);
- a step of length dt with a constant source is exact in time too:
  ĉ ← ĉ e^{-a_k dt} + ŝ (1 - e^{-a_k dt}) / a_k (no splitting, no time error).

Both cost two real FFT-sized transforms per species (scipy.fft, O(N log N)), and
memory stays at the fields' size, so 3-D grids of 10⁶ voxels need no sparse
factorisation. The same solve with D = ℓ² and λ = 1 is the screened-Poisson
smoothing (1 - ℓ²∇²)⁻¹ that spreads a cell's contact over a distance ℓ; it keeps
a uniform field uniform and conserves the total. Faces held at a bath (Dirichlet)
or per-voxel uptake need :class:`FieldGrid` instead.
"""

from __future__ import annotations

from typing import Sequence

import numba
import numpy as np
from scipy import fft

__all__ = ["SpectralSolver", "laplacian_eigenvalues"]


def laplacian_eigenvalues(n: int, dx_um: float) -> np.ndarray:
    """Eigenvalues [1/µm²] of -∇² on n cell-centred voxels with no-flux ends, in DCT-II order."""
    return (2.0 - 2.0 * np.cos(np.pi * np.arange(n) / n)) / dx_um**2


class SpectralSolver:
    """Exact quasi-steady states and time steps of ∂c/∂t = D∇²c - λc + s on a no-flux box.

    ``shape`` (nz, ny, nx); ``dx_um`` voxel edge [µm]; ``D_um2_s`` and
    ``decay_per_s`` one value per species [µm²/s, 1/s]. Fields are arrays
    (species, nz, ny, nx); sources are [concentration/s].
    """

    def __init__(self, shape: Sequence[int], dx_um: float, D_um2_s, decay_per_s):
        self.shape = tuple(int(n) for n in shape)
        self.D = np.asarray(D_um2_s, dtype=np.float64)
        self.decay = np.asarray(decay_per_s, dtype=np.float64)
        if self.D.shape != self.decay.shape or self.D.ndim != 1:
            raise ValueError("D_um2_s and decay_per_s need one value per species")
        if (self.D < 0).any() or (self.decay < 0).any():
            raise ValueError("diffusion coefficients and decay rates must be >= 0")
        nz, ny, nx = self.shape
        lap = (laplacian_eigenvalues(nz, dx_um)[:, None, None] + laplacian_eigenvalues(ny, dx_um)[None, :, None]
               + laplacian_eigenvalues(nx, dx_um)[None, None, :])
        #: a_k [1/s] of every species and mode, shape (species, nz, ny, nx)
        self.rate = self.decay[:, None, None, None] + self.D[:, None, None, None] * lap[None]
        self._axes = tuple(1 + a for a, n in enumerate(self.shape) if n > 1)
        self._step_cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._inverse_cache: dict[tuple | None, np.ndarray] = {}

    def _dct(self, a: np.ndarray) -> np.ndarray:
        if not self._axes:
            return np.array(a, dtype=np.float64)
        return fft.dctn(a, type=2, axes=self._axes, norm="ortho", workers=numba.get_num_threads())

    def _idct(self, a: np.ndarray) -> np.ndarray:
        if not self._axes:
            return a
        return fft.idctn(a, type=2, axes=self._axes, norm="ortho", workers=numba.get_num_threads())

    def _rates(self, species):
        return self.rate if species is None else self.rate[species]

    def _inverse(self, species):
        """1/a_k of the species (0 for a mode without decay), cached per subset."""
        key = None if species is None else tuple(np.atleast_1d(species).tolist())
        inv = self._inverse_cache.get(key)
        if inv is None:
            rate = self._rates(species)
            with np.errstate(divide="ignore"):
                inv = self._inverse_cache.setdefault(key, np.where(rate > 0, 1.0 / np.where(rate > 0, rate, 1.0),
                                                                   0.0))
        return inv

    def steady(self, source: np.ndarray, species=None) -> np.ndarray:
        """The quasi-steady fields A c = s of the sources ``source`` (species, nz, ny, nx) [conc./s].

        ``species`` (indices) says which species the rows of ``source`` are (default: all). A
        species with no decay has no steady state unless its source sums to zero; its mean is
        then left at zero.
        """
        return self._idct(self._dct(source) * self._inverse(species))

    def advance(self, fields: np.ndarray, source: np.ndarray, dt_s: float, species=None) -> np.ndarray:
        """The fields after ``dt_s`` seconds with constant sources, exact in time and space
        (``species`` as in :meth:`steady`)."""
        key = (dt_s, None if species is None else tuple(np.atleast_1d(species).tolist()))
        c = self._step_cache.get(key)
        if c is None:
            rate = self._rates(species)
            e = np.exp(-rate * dt_s)
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(rate > 0, -np.expm1(-rate * dt_s) / np.where(rate > 0, rate, 1.0), dt_s)
            c = self._step_cache.setdefault(key, (e, g))
        e, g = c
        return self._idct(self._dct(fields) * e + self._dct(source) * g)
