"""Building a spatial engine: cells placed in a tissue, each with its own transgene.

A genotype per cell: the animal's parameter vector is row 0 of a small table;
a cell whose transgene differs (excised by Cre, a chimera's donor cell, a focus
of higher expression) points at another row. Cre recombines each cell of the
driver's type independently with the driver's efficiency (mosaicism, as in
the animal); a chimera's donor cells are either scattered at random or
gathered in one part of the tissue (``pattern``), at the same overall fraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...biology.parameters import IDX, Param
from .cells import ASTROCYTE, CELL_TYPES, MICROGLIA, MOTOR_NEURON, cell_keys
from .step import M0, M1, CellTable, SpatialEngine
from .tissue import GREY, WELL, Placement, Tissue, populate

__all__ = ["Focus", "Mosaic", "build_engine", "EXPRESSION_OF"]

#: The expression parameter each cell type reads.
EXPRESSION_OF = {MOTOR_NEURON: "mut_expr_mn", ASTROCYTE: "mut_expr_ast", MICROGLIA: "mut_expr_mg"}
_TYPE_OF = {"motor_neurons": MOTOR_NEURON, "astrocytes": ASTROCYTE, "microglia": MICROGLIA}
_EXPRESSION = ("mut_expr_mn", "mut_expr_ast", "mut_expr_mg")


@dataclass(frozen=True)
class Focus:
    """A local onset: cells within ``radius_um`` of ``centre_um`` (x, y[, z]) express ``expression_factor``
    times the mutant SOD1 of the line, and (``microglia_m1``) their microglia start pro-inflammatory."""

    centre_um: tuple[float, ...]
    radius_um: float
    expression_factor: float = 1.0
    microglia_m1: bool = False

    def inside(self, position_um: np.ndarray) -> np.ndarray:
        """Which positions (n, 3) lie in the focus (a disc in a one-layer grid, a ball in 3-D)."""
        c = np.asarray(self.centre_um, dtype=float)
        d2 = ((position_um[:, : len(c)] - c) ** 2).sum(axis=1)
        return d2 <= self.radius_um**2


@dataclass(frozen=True)
class Mosaic:
    """Transgenes cell by cell: ``cre`` (cell type, efficiency) pairs excise the floxed transgene in
    each cell of that type with that probability; ``chimera`` (cell type or "all", fraction,
    donor parameter vector) gives the donor's transgene to that fraction of the cells, scattered
    (``pattern`` "random") or gathered in the medial part of the tissue ("halves": the cells of
    lowest x, so the fraction is exact)."""

    cre: tuple[tuple[int, float], ...] = ()
    chimera: tuple[str, float, np.ndarray] | None = None
    pattern: str = "random"


def _rows(p: np.ndarray, donor: np.ndarray | None, focus: Focus | None) -> list[np.ndarray]:
    """Parameter rows: 0 the animal, 1 no mutant SOD1, 2 the chimera's donor, 3 the focus."""
    none = p.copy()
    none[[IDX[e] for e in _EXPRESSION]] = 0.0
    donor_row = p.copy() if donor is None else p.copy()
    if donor is not None:
        donor_row[[IDX[e] for e in _EXPRESSION]] = donor[[IDX[e] for e in _EXPRESSION]]
    focus_row = p.copy()
    if focus is not None:
        focus_row[[IDX[e] for e in _EXPRESSION]] *= focus.expression_factor
    return [p, none, donor_row, focus_row]


HOST, NO_MUTANT, DONOR, FOCUS = range(4)


def _genotypes(placement: Placement, mosaic: Mosaic, focus: Focus | None, rng: np.random.Generator) -> np.ndarray:
    """Row of the parameter table of every placed cell."""
    t = placement.cell_type
    g = np.full(t.shape[0], HOST, np.int8)
    if focus is not None and focus.expression_factor != 1.0:
        g[focus.inside(placement.position_um)] = FOCUS
    if mosaic.chimera is not None:
        cell_type, fraction, _ = mosaic.chimera
        if cell_type in ("all", "glia"):
            of_type = (t == ASTROCYTE) | (t == MICROGLIA) | ((t == MOTOR_NEURON) & (cell_type == "all"))
        else:
            of_type = t == _TYPE_OF[cell_type]
        rows = np.flatnonzero(of_type)
        if mosaic.pattern == "halves":
            for ct in np.unique(t[rows]):  # per type, the fraction of lowest x
                r = rows[t[rows] == ct]
                order = r[np.argsort(placement.position_um[r, 0], kind="stable")]
                g[order[: int(round(fraction * r.size))]] = DONOR
        else:
            g[rows[rng.random(rows.size) < fraction]] = DONOR
    for ctype, efficiency in mosaic.cre:
        hit = (t == ctype) & (rng.random(t.shape[0]) < efficiency)
        g[hit] = NO_MUTANT
    return g


def build_engine(tissue: Tissue, p: np.ndarray, seed: int, *, dt_days: float = 0.25, mosaic: Mosaic = Mosaic(),
                 focus: Focus | None = None, densities: dict[str, float] | None = None) -> SpatialEngine:
    """A spatial engine for one animal with parameter vector ``p`` (``genotypes.animal_vector``; Cre and
    chimeras are given cell by cell in ``mosaic``, not averaged into ``p``), or for one culture well
    when ``tissue`` is a well (``tissue.culture_well``; ``p`` from ``culture.well_vector``).

    ``seed`` makes the tissue reproducible: placement, cell keys and transgenes are drawn from
    independent streams spawned from it. ``densities`` override the tissue's placement densities.

    A well is the mean field's well compartment cell by cell: glia only if present
    (``astrocytes_present``, ``microglia_present``), standing for ``culture_glia_density`` times
    the ventral horn's; ``culture_astrocyte_neurotoxic_fraction`` of the astrocytes' output
    neurotoxic from the start; neurons without muscle targets; no recruitment; the astrocyte
    factor in the well-mixed medium.
    """
    culture = not tissue.pool_names
    glia = np.ones(len(CELL_TYPES))
    if culture:
        d = p[Param.culture_glia_density]
        glia[ASTROCYTE] = d * p[Param.astrocytes_present]
        glia[MICROGLIA] = d * p[Param.microglia_present]
        densities = {**({"astrocyte_per_mm2": 0.0} if glia[ASTROCYTE] == 0 else {}),
                     **({"microglia_per_mm2": 0.0} if glia[MICROGLIA] == 0 else {}), **(densities or {})}
    ss = np.random.SeedSequence(seed)
    s_place, s_keys, s_geno = ss.spawn(3)
    shares = (p[Param.share_ff], p[Param.share_fr], 1.0 - p[Param.share_ff] - p[Param.share_fr])
    placement = populate(tissue, s_place, unit_shares=shares, densities=densities)
    n = placement.position_um.shape[0]
    rng = np.random.default_rng(s_geno)
    donor = None if mosaic.chimera is None else mosaic.chimera[2]
    P = np.ascontiguousarray(np.vstack(_rows(p, donor, focus)))
    cells = CellTable.empty(n + n // 2 + 16)
    cells.n = n
    cells.position_um[:n] = placement.position_um
    cells.ctype[:n] = placement.cell_type
    cells.voxel[:n] = placement.voxel
    cells.alive[:n] = True
    cells.genotype[:n] = _genotypes(placement, mosaic, focus, rng)
    cells.key[:n] = cell_keys(s_keys, n)
    cells.connected[:n] = (placement.cell_type == MOTOR_NEURON) & (not culture)  # plated MNs have no muscle
    cells.unit[:n] = placement.unit_type
    cells.pool[:n] = placement.pool
    mg = placement.cell_type == MICROGLIA
    if focus is not None and focus.microglia_m1:
        cells.mg_state[:n][mg & focus.inside(placement.position_um)] = M1
    cells.mg_state[:n][mg & (cells.mg_state[:n] != M1)] = M0
    # wild-type density of each type: cells per µm³ of grey matter (or of well floor) at the start
    region = tissue.region.reshape(-1)[placement.voxel]
    home = (region == GREY) | (region == WELL)
    volume = tissue.volume_mm3((tissue.region == GREY) | (tissue.region == WELL)) * 1e9
    counts = np.array([np.count_nonzero(placement.cell_type == c) for c in range(len(CELL_TYPES))])
    rho = np.array([np.count_nonzero(home & (placement.cell_type == c)) / volume for c in range(len(CELL_TYPES))])
    rho = np.where(glia > 0, rho / np.where(glia > 0, glia, 1.0), rho)  # a cell stands for its density
    mn = placement.cell_type == MOTOR_NEURON
    units = np.array([np.count_nonzero(mn & (placement.unit_type == u)) for u in range(3)])
    pools = np.array([np.count_nonzero(mn & (placement.pool == q)) for q in range(max(len(tissue.pool_names), 1))],
                     dtype=np.float64)
    rows, cum = np.array([HOST], np.int8), np.ones(1)
    for ctype, efficiency in mosaic.cre:
        if ctype == MICROGLIA:  # marrow-derived recruits carry the myeloid Cre too
            rows, cum = np.array([NO_MUTANT, HOST], np.int8), np.array([efficiency, 1.0])
    return SpatialEngine(tissue, cells, P, float(dt_days), int(seed), rho, counts, units, pools,
                         placement.cell_type.copy(), placement.voxel.copy(), culture,
                         float(p[Param.culture_astrocyte_neurotoxic_fraction]) if culture else 0.0, glia,
                         recruit_rows=rows, recruit_cum=cum)
