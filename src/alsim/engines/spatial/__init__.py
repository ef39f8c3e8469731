"""Spatial engine: every cell of a tissue calls the per-cell kernels, with diffusing signals.

- :mod:`.diffusion`: :class:`FieldGrid` (LOD implicit reaction-diffusion on cubic voxels) and the
  default species table :data:`SPECIES`;
- :mod:`.tissue`: the ventral horn (2-D section, 3-D slab) and culture well, and :func:`populate`;
- :mod:`.cells`: :class:`CellPopulation`, Cre mosaicism, cell-voxel exchange, per-cell random streams;
- :mod:`.spectral`: :class:`SpectralSolver`, exact quasi-steady states and time steps by the DCT;
- :mod:`.step`: :class:`SpatialEngine`, the step (cells call ``biology.kernels``), checkpoint and resume;
- :mod:`.setup`: :func:`build_engine`, cells placed with their own transgenes (:class:`Mosaic`, :class:`Focus`).

Public names are re-exported here; the modules' other names may change. See docs/spatial.md.
"""

from .cells import (ASTROCYTE, CELL_TYPES, FF, FR, INTERNEURON, MICROGLIA, MOTOR_NEURON, S, UNIT_TYPES,
                    CellPopulation, apply_cre, cell_keys, deposit, gather, normals, uniforms, voxel_index)
from .diffusion import SPECIES, DtAdvice, FieldGrid, Reaction, Species, species_table, stokes_einstein_D
from .setup import Focus, Mosaic, build_engine
from .spectral import SpectralSolver
from .step import FIELDS, CellTable, SpatialEngine
from .tissue import (GREY, OUTSIDE, WELL, WHITE, Placement, Tissue, culture_well, populate, uniform_block,
                     ventral_horn_section, ventral_horn_slab)

__all__ = ["ASTROCYTE", "CELL_TYPES", "FF", "FR", "INTERNEURON", "MICROGLIA", "MOTOR_NEURON", "S", "UNIT_TYPES",
           "CellPopulation", "apply_cre", "cell_keys", "deposit", "gather", "normals", "uniforms", "voxel_index",
           "SPECIES", "DtAdvice", "FieldGrid", "Reaction", "Species", "species_table", "stokes_einstein_D",
           "GREY", "OUTSIDE", "WELL", "WHITE", "Placement", "Tissue", "culture_well", "populate",
           "ventral_horn_section", "ventral_horn_slab", "uniform_block", "Focus", "Mosaic", "build_engine",
           "SpectralSolver", "FIELDS", "CellTable", "SpatialEngine"]
