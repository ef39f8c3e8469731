"""Spatial engine (numerical core): reaction-diffusion fields, tissue geometry, cell containers.

Public names are re-exported here; the modules' other names may change.
"""

from .diffusion import SPECIES, DtAdvice, FieldGrid, Species, species_table, stokes_einstein_D

__all__ = ["SPECIES", "DtAdvice", "FieldGrid", "Species", "species_table", "stokes_einstein_D"]
