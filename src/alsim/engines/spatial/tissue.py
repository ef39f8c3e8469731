"""Tissue geometry and cell placement: a lumbar ventral horn (2-D section or 3-D slab) and a culture well.

Coordinates are µm: x mediolateral (0 = the medial edge of the box, towards the
ventral median fissure), y ventrodorsal (0 = the ventral pial edge), z rostro-
caudal. The grid is the diffusion grid (cubic voxels of edge dx); every voxel
carries a region code and, in lamina IX, a motor-pool id.

What is approximated (one side of an L4-L5 transverse section): the ventral
horn grey matter is an ellipse 600 µm wide and 660 µm high centred 450 µm
above the ventral edge of an 800 × 700 µm box, cut off dorsally by the box
(where it continues into the intermediate grey, lamina VII); the rest of the
box is white matter (ventral and lateral funiculi, ≥ 100 µm). Mouse ventral
horn per side is ~0.4-0.6 mm across (area ~0.2-0.3 mm², shared/science/
docs/science/parameters.md §1, [M]). The motor pools of lamina IX are three ellipses at the
grey-matter border: the medial motor column (axial muscles) ventromedially,
and the lateral motor column ventrolaterally (proximal hindlimb) and
dorsolaterally (distal hindlimb: TA, gastrocnemius, soleus), as in the
columnar organisation of McHanwell & Biscoe 1981 Phil Trans R Soc B 293:477.
Shapes and positions are schematic (no atlas was fitted). The 3-D slab
extrudes the section along z.

Placement is random sequential adsorption ("dart throwing", Poisson-disk):
candidates are drawn uniformly in a population's region (a voxel of the region
at random, then a uniform point inside it) and accepted in order if they keep
a minimum distance from every cell already placed: the population's own
spacing from cells of its type (tiling: astrocyte and microglial domains barely
overlap, Bushong et al. 2002 J Neurosci 22:183) and the sum of soma radii from
other cells. Candidates are generated vectorised from the seed; the acceptance
loop is one compiled pass with a hash grid. Counts are density × region volume,
rounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .cells import ASTROCYTE, CELL_TYPES, INTERNEURON, MICROGLIA, MOTOR_NEURON, voxel_index
from .diffusion import FieldGrid

__all__ = ["OUTSIDE", "GREY", "WHITE", "WELL", "REGIONS", "Density", "Tissue", "Placement",
           "VENTRAL_HORN_DENSITIES", "CULTURE_DENSITIES", "SOMA_DIAMETER_UM",
           "BLOCK_DENSITIES", "ventral_horn_section", "ventral_horn_slab", "uniform_block", "culture_well",
           "populate"]

#: Region codes of the voxels.
OUTSIDE, GREY, WHITE, WELL = 0, 1, 2, 3
REGIONS = ("outside", "grey matter", "white matter", "culture well floor")


@dataclass(frozen=True)
class Density:
    """One placement number with its unit, basis ('measured', 'derived' or 'estimated') and source."""

    value: float
    unit: str
    basis: str
    source: str


#: Default cell numbers for the ventral horn.
VENTRAL_HORN_DENSITIES: dict[str, Density] = {
    "alpha_mn_per_30um_section": Density(
        15.0, "α-MNs per ventral horn per 30 µm section", "estimated",
        "WT L4-L5 counts of large ChAT+ MNs are ~15-25 per ventral horn per 20-30 µm section in SOD1-G93A "
        "histology (docs/science/parameters.md §1, [M]); γ-MNs (36 % of ChAT+, Lalancette-Hébert et al. 2016) are not "
        "placed, hence the low end. Counted as cell centres (no Abercrombie correction)"),
    "interneuron_per_mm3": Density(
        2.35e4, "cells/mm³ of grey matter", "derived",
        "Bjugn 1993 Brain Res 627:25: 0.9e6 lumbar grey-matter neurons, 8-9 % of them in the ventral horns "
        "-> 7.7e4 (both sides), over ~6 mm of lumbar cord (estimate) and ~0.25 mm² of ventral horn per side "
        "(docs/science/parameters.md §1, [M]): 2.55e4 neurons/mm³, less the α-MNs (~2e3/mm³)"),
    "astrocyte_per_mm3": Density(
        1.5e4, "cells/mm³ of grey matter", "estimated",
        "no spinal count retrieved (the atlas of Emsley & Macklis 2006 Neuron Glia Biol 2:175 was not read); "
        "one protoplasmic astrocyte per ~66,000 µm³ domain (Bushong et al. 2002 J Neurosci 22:183, rat CA1) "
        "gives 1.5e4/mm³. Grey matter only: fibrous white-matter astrocytes are not placed"),
    "astrocyte_white_per_mm3": Density(
        0.0, "cells/mm³ of white matter", "estimated",
        "fibrous astrocytes of the white matter, not placed by default (0): the section's signals dilute into a "
        "white matter without astrocytes. No spinal count was retrieved; in the human brain astrocytes are denser "
        "in white than in grey matter (qualitative). Set it (e.g. to the grey-matter 1.5e4) to place them: "
        "docs/spatial.md gives the effect on the section's course"),
    "microglia_grey_per_mm3": Density(
        8.0e3, "cells/mm³ of grey matter", "estimated",
        "mouse brain mean ~8,500/mm³ (Keller et al. 2018 Front Neuroanat, secondary); regional variation "
        "> 5-fold (Lawson et al. 1990 Neuroscience 39:151); no spinal value retrieved"),
    "microglia_white_per_mm3": Density(
        4.0e3, "cells/mm³ of white matter", "estimated",
        "half the grey-matter value: fewer in white than grey matter (Lawson et al. 1990, qualitative)"),
}

#: Default cell numbers for a culture well (all estimates: plating densities vary by protocol).
CULTURE_DENSITIES: dict[str, Density] = {
    "mn_per_mm2": Density(100.0, "cells/mm²", "estimated",
                          "ES-derived MNs plated on a glial monolayer (~1e4/cm², Nagai et al. 2007 methods order)"),
    "interneuron_per_mm2": Density(200.0, "cells/mm²", "estimated",
                                   "the non-MN neurons plated with them (estimate)"),
    "astrocyte_per_mm2": Density(1000.0, "cells/mm²", "estimated", "a confluent astrocyte monolayer, ~1e5/cm²"),
    "microglia_per_mm2": Density(100.0, "cells/mm²", "estimated",
                                 "co-cultured microglia at ~10 % of the glia (estimate; set 0 for none)"),
}

#: Soma diameters [µm] used for exclusion between cells of different types.
SOMA_DIAMETER_UM = {
    MOTOR_NEURON: 27.0,  # sphere of 10,000 µm³: most lumbar α-MNs are larger (Weber et al. 1997 J Anat 191:347)
    INTERNEURON: 12.0,   # estimate
    ASTROCYTE: 8.0,      # estimate
    MICROGLIA: 8.0,      # estimate
}


@dataclass(frozen=True)
class Tissue:
    """A box of cubic voxels with a region code and motor-pool id per voxel.

    ``shape`` (nz, ny, nx); ``dx_um`` voxel edge [µm]; ``thickness_um`` the z
    extent [µm] (for a one-layer grid the section thickness a voxel stands for);
    ``region`` int8 (nz, ny, nx) of :data:`REGIONS` codes; ``pool`` int8
    (nz, ny, nx), motor pool index or -1; ``pool_names``/``pool_shares`` the
    pools and the share of motor neurons each holds; ``densities`` the
    defaults :func:`populate` uses; ``description`` what is approximated.
    """

    name: str
    dx_um: float
    shape: tuple[int, int, int]
    thickness_um: float
    region: np.ndarray
    pool: np.ndarray
    pool_names: tuple[str, ...]
    pool_shares: tuple[float, ...]
    densities: dict[str, Density] = field(repr=False)
    description: str = ""

    @property
    def voxel_volume_um3(self) -> float:
        """Volume one voxel stands for [µm³]."""
        return self.dx_um**2 * (self.thickness_um if self.shape[0] == 1 else self.dx_um)

    def volume_mm3(self, mask: np.ndarray) -> float:
        """Volume [mm³] of the voxels in ``mask``."""
        return float(np.count_nonzero(mask)) * self.voxel_volume_um3 * 1e-9

    def field_grid(self, species, **kwargs) -> FieldGrid:
        """A :class:`FieldGrid` on this tissue's voxels (keyword arguments go to FieldGrid)."""
        return FieldGrid(self.shape, self.dx_um, species, thickness_um=self.thickness_um, **kwargs)


@dataclass(frozen=True)
class Placement:
    """Placed cells as parallel arrays (row i = cell i).

    ``position_um`` (n, 3) [µm]; ``cell_type`` int8 codes of
    :data:`~alsim.engines.spatial.cells.CELL_TYPES`; ``voxel`` int64 flat voxel
    index; ``pool`` int8 motor pool (-1: not a motor neuron); ``unit_type`` int8
    FF/FR/S code (-1: not a motor neuron); ``counts`` cells per type name.
    """

    position_um: np.ndarray
    cell_type: np.ndarray
    voxel: np.ndarray
    pool: np.ndarray
    unit_type: np.ndarray

    @property
    def counts(self) -> dict[str, int]:
        """Number of cells of each type."""
        return {name: int(np.count_nonzero(self.cell_type == code)) for code, name in enumerate(CELL_TYPES)}

    def select(self, cell_type: int) -> np.ndarray:
        """Row indices of the cells of one type."""
        return np.flatnonzero(self.cell_type == cell_type)


# --- geometry ---------------------------------------------------------------------

_VH_BOX_UM = (800.0, 700.0)                    # x (mediolateral), y (ventrodorsal)
_VH_GREY = ((400.0, 450.0), (300.0, 330.0))    # centre, semi-axes of the grey-matter ellipse
_VH_POOLS = (                                  # name, centre, semi-axes [µm], share of MNs (estimate)
    ("MMC", (185.0, 265.0), (45.0, 55.0), 0.2),
    ("LMC-ventrolateral", (585.0, 235.0), (70.0, 55.0), 0.35),
    ("LMC-dorsolateral", (640.0, 365.0), (55.0, 75.0), 0.45),
)


def _centres(n: int, dx: float) -> np.ndarray:
    """Voxel-centre coordinates [µm] along one axis."""
    return (np.arange(n) + 0.5) * dx


def _in_ellipse(x, y, centre, axes) -> np.ndarray:
    """Points (broadcast x, y) inside an axis-aligned ellipse."""
    return ((x - centre[0]) / axes[0]) ** 2 + ((y - centre[1]) / axes[1]) ** 2 <= 1.0


def _ventral_horn(dx_um: float, nz: int, thickness_um: float, name: str) -> Tissue:
    """The ventral-horn section on a grid of dx_um, repeated over nz layers."""
    nx, ny = (int(round(L / dx_um)) for L in _VH_BOX_UM)
    x = _centres(nx, dx_um)[None, :]
    y = _centres(ny, dx_um)[:, None]
    grey = _in_ellipse(x, y, *_VH_GREY)
    region2 = np.where(grey, GREY, WHITE).astype(np.int8)
    pool2 = np.full((ny, nx), -1, dtype=np.int8)
    for k, (_, c, a, _) in enumerate(_VH_POOLS):
        pool2[_in_ellipse(x, y, c, a) & grey] = k
    if min(np.count_nonzero(pool2 == k) for k in range(len(_VH_POOLS))) == 0:
        raise ValueError(f"dx_um = {dx_um} is too coarse to resolve the motor pools; use dx_um <= 20")
    return Tissue(name, float(dx_um), (nz, ny, nx), float(thickness_um),
                  np.repeat(region2[None], nz, axis=0), np.repeat(pool2[None], nz, axis=0),
                  tuple(p[0] for p in _VH_POOLS), tuple(p[3] for p in _VH_POOLS), VENTRAL_HORN_DENSITIES,
                  __doc__.split("What is approximated")[1].split("\n\n")[0].strip(" :\n"))


def ventral_horn_section(dx_um: float = 10.0, thickness_um: float = 30.0) -> Tissue:
    """One side of a lumbar (L4-L5) ventral horn as a 2-D transverse section.

    One layer of voxels standing for a section ``thickness_um`` thick (cell
    counts scale with it); see the module docstring for the shapes.
    """
    return _ventral_horn(dx_um, 1, thickness_um, f"ventral horn section ({thickness_um:g} µm)")


def ventral_horn_slab(dx_um: float = 10.0, thickness_um: float = 200.0) -> Tissue:
    """The ventral-horn section extruded over ``thickness_um`` along the rostro-caudal axis (3-D)."""
    nz = int(round(thickness_um / dx_um))
    if nz < 2:
        raise ValueError("a slab needs at least two voxel layers; use ventral_horn_section for 2-D")
    return _ventral_horn(dx_um, nz, nz * dx_um, f"ventral horn slab ({nz * dx_um:g} µm)")


#: Densities of the uniform block: the ventral horn's, with α-MNs at their mean density over its grey matter.
BLOCK_DENSITIES: dict[str, Density] = {
    "alpha_mn_per_mm3": Density(
        1.7e3, "α-MNs per mm³ of grey matter", "derived",
        "15 α-MNs per 30 µm section (see alpha_mn_per_30um_section) over the section's 0.29 mm² of grey matter"),
    **{k: v for k, v in VENTRAL_HORN_DENSITIES.items() if k != "alpha_mn_per_30um_section"},
}


def uniform_block(size_um: tuple[float, float] = (400.0, 400.0), dx_um: float = 20.0, thickness_um: float = 30.0,
                  layers: int = 1) -> Tissue:
    """A box of uniform grey matter, one motor pool throughout: the well-mixed compartment of the mean
    field given a size (``layers`` > 1 makes it 3-D with ``thickness_um`` = layers · dx).

    Not anatomy: the geometry in which spatial means must reproduce the mean field (every cell type
    everywhere at its ventral-horn density, no white matter).
    """
    nx, ny = (int(round(L / dx_um)) for L in size_um)
    nz = int(layers)
    thickness = float(thickness_um) if nz == 1 else nz * float(dx_um)
    return Tissue(f"uniform block ({size_um[0]:g} × {size_um[1]:g} µm)", float(dx_um), (nz, ny, nx), thickness,
                  np.full((nz, ny, nx), GREY, dtype=np.int8), np.zeros((nz, ny, nx), dtype=np.int8), ("block",),
                  (1.0,), BLOCK_DENSITIES, "uniform grey matter (test geometry)")


def culture_well(size_um: float = 1000.0, dx_um: float = 10.0, shape: str = "disc",
                 thickness_um: float | None = None) -> Tissue:
    """A monolayer culture: a disc (diameter ``size_um``) or square (side) of well floor, 2-D.

    Voxels outside the disc are OUTSIDE (no cells; they still carry medium in
    the field grid). ``thickness_um``: the layer of medium a voxel stands for
    (default dx). A culture's medium bath can be given to :meth:`Tissue.field_grid`
    as a Dirichlet face, e.g. ``dirichlet_faces=("z+",), bath=[...]``.
    """
    n = int(round(size_um / dx_um))
    x = _centres(n, dx_um)
    if shape == "disc":
        floor = _in_ellipse(x[None, :], x[:, None], (size_um / 2, size_um / 2), (size_um / 2, size_um / 2))
    elif shape == "square":
        floor = np.ones((n, n), dtype=bool)
    else:
        raise ValueError(f"shape must be 'disc' or 'square', got {shape!r}")
    region = np.where(floor, WELL, OUTSIDE).astype(np.int8)[None]
    return Tissue(f"culture well ({shape}, {size_um:g} µm)", float(dx_um), (1, n, n),
                  float(dx_um if thickness_um is None else thickness_um), region,
                  np.full((1, n, n), -1, dtype=np.int8), (), (), CULTURE_DENSITIES,
                  "a monolayer on the well floor; glia, neurons and microglia at areal densities")


# --- placement --------------------------------------------------------------------


@njit(cache=True)
def _dart_throw(pos, ptype, npos, cand, ctype, n_want, same_um, radius_um, cell_um, lo, ncell):
    """Accept candidates in order while they keep their distances; returns the number accepted.

    ``pos[:npos]``/``ptype[:npos]``: cells already placed (accepted ones are
    appended in place); a candidate of type ``ctype`` needs distance ≥ ``same_um``
    from cells of its type and ≥ radius_um[ctype] + radius_um[other] from others.
    A hash grid of cubes ``cell_um`` wide (≥ every interaction distance) from
    corner ``lo`` with ``ncell`` cubes per axis finds the neighbours.
    """
    nxc, nyc, nzc = ncell[0], ncell[1], ncell[2]
    head = np.full(nxc * nyc * nzc, -1, dtype=np.int64)
    nxt = np.full(pos.shape[0], -1, dtype=np.int64)

    def cube(p):
        cx = min(max(int((p[0] - lo[0]) / cell_um), 0), nxc - 1)
        cy = min(max(int((p[1] - lo[1]) / cell_um), 0), nyc - 1)
        cz = min(max(int((p[2] - lo[2]) / cell_um), 0), nzc - 1)
        return cx, cy, cz

    for i in range(npos):
        cx, cy, cz = cube(pos[i])
        h = (cz * nyc + cy) * nxc + cx
        nxt[i] = head[h]
        head[h] = i
    accepted = 0
    for j in range(cand.shape[0]):
        if accepted == n_want:
            break
        p = cand[j]
        cx, cy, cz = cube(p)
        ok = True
        for nbr in range(27):  # the 3 × 3 × 3 cubes around the candidate's
            x, y, z = cx + nbr % 3 - 1, cy + (nbr // 3) % 3 - 1, cz + nbr // 9 - 1
            if x < 0 or x >= nxc or y < 0 or y >= nyc or z < 0 or z >= nzc:
                continue
            q = head[(z * nyc + y) * nxc + x]
            while q >= 0:
                need = same_um if ptype[q] == ctype else radius_um[ctype] + radius_um[ptype[q]]
                d2 = (pos[q, 0] - p[0]) ** 2 + (pos[q, 1] - p[1]) ** 2 + (pos[q, 2] - p[2]) ** 2
                if d2 < need * need:
                    ok = False
                    break
                q = nxt[q]
            if not ok:
                break
        if ok:
            k = npos + accepted
            pos[k] = p
            ptype[k] = ctype
            h = (cz * nyc + cy) * nxc + cx
            nxt[k] = head[h]
            head[h] = k
            accepted += 1
    return accepted


def _candidates(tissue: Tissue, mask: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform random points [µm] in the voxels of ``mask`` (a one-layer grid puts z mid-section)."""
    flat = np.flatnonzero(mask.ravel())
    v = flat[rng.integers(0, flat.size, size=n)]
    nz, ny, nx = tissue.shape
    iz, rem = np.divmod(v, ny * nx)
    iy, ix = np.divmod(rem, nx)
    u = rng.random((n, 3))
    dx = tissue.dx_um
    pts = np.empty((n, 3))
    pts[:, 0] = (ix + u[:, 0]) * dx
    pts[:, 1] = (iy + u[:, 1]) * dx
    pts[:, 2] = (iz + u[:, 2]) * dx if nz > 1 else 0.5 * tissue.thickness_um
    return pts


def _round_shares(n: int, shares) -> np.ndarray:
    """Split n into integer counts proportional to ``shares`` (largest remainder)."""
    shares = np.asarray(shares, dtype=np.float64)
    if np.any(shares < 0) or not math.isclose(shares.sum(), 1.0, rel_tol=1e-9):
        raise ValueError(f"shares must be non-negative and sum to 1, got {tuple(shares)}")
    exact = n * shares
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    return counts


def _plan(tissue: Tissue, d: dict[str, float]) -> tuple[list[tuple[int, np.ndarray, int, float, int]], int]:
    """Placement groups in order: (cell type, region mask, count, density, motor pool or -1), and how
    many of them, last, are optional (placed only when asked for: fibrous astrocytes).

    The density is per mm³ (tissue) or per mm² (culture); it sets the spacing.
    """
    groups = []
    if tissue.pool_names:
        if "alpha_mn_per_mm3" in d:
            n_mn = int(round(d["alpha_mn_per_mm3"] * tissue.volume_mm3(tissue.pool >= 0)))
        else:
            n_mn = int(round(d["alpha_mn_per_30um_section"] * tissue.thickness_um / 30.0))
        for k, n in enumerate(_round_shares(n_mn, tissue.pool_shares)):
            mask = tissue.pool == k
            groups.append((MOTOR_NEURON, mask, int(n), n / max(tissue.volume_mm3(mask), 1e-30), k))
        grey, white = tissue.region == GREY, tissue.region == WHITE
        for ctype, mask, key in ((INTERNEURON, grey, "interneuron_per_mm3"), (ASTROCYTE, grey, "astrocyte_per_mm3"),
                                 (MICROGLIA, grey, "microglia_grey_per_mm3"),
                                 (MICROGLIA, white, "microglia_white_per_mm3")):
            groups.append((ctype, mask, int(round(d[key] * tissue.volume_mm3(mask))), d[key], -1))
        fibrous = d.get("astrocyte_white_per_mm3", 0.0)
        if fibrous > 0:  # last, and only when asked: the default tissue's streams and cells stay as they are
            groups.append((ASTROCYTE, white, int(round(fibrous * tissue.volume_mm3(white))), fibrous, -1))
            return groups, 1
    else:
        floor = tissue.region == WELL
        area_mm2 = np.count_nonzero(floor) * tissue.dx_um**2 * 1e-6
        for ctype, key in ((MOTOR_NEURON, "mn_per_mm2"), (INTERNEURON, "interneuron_per_mm2"),
                           (ASTROCYTE, "astrocyte_per_mm2"), (MICROGLIA, "microglia_per_mm2")):
            groups.append((ctype, floor, int(round(d[key] * area_mm2)), d[key], -1))
    return groups, 0


def _same_type_spacing(tissue: Tissue, ctype: int, density: float, spacing_fraction: float) -> float:
    """Minimum distance [µm] between two cells of one type.

    Motor neurons: their soma diameter. Other types: ``spacing_fraction`` of the
    mean spacing at their density (in 3-D (1/ρ)^(1/3); on a one-layer grid the
    in-plane spacing (1/ρ_area)^(1/2) with ρ_area = ρ·thickness, or the areal
    density of a culture), but never below the soma diameter.
    """
    soma = SOMA_DIAMETER_UM[ctype]
    if ctype == MOTOR_NEURON or density <= 0:
        return soma
    if tissue.shape[0] > 1:
        mean = (1e9 / density) ** (1 / 3)
    elif tissue.pool_names:
        mean = (1e9 / (density * tissue.thickness_um)) ** 0.5
    else:
        mean = (1e6 / density) ** 0.5
    return max(spacing_fraction * mean, soma)


def populate(tissue: Tissue, seed, *, unit_shares=(0.3, 0.35, 0.35), densities: dict[str, float] | None = None,
             spacing_fraction: float = 0.6, max_batches: int = 50) -> Placement:
    """Place every cell of ``tissue``: motor neurons, interneurons, astrocytes, microglia, in that order.

    ``seed`` (int or ``np.random.SeedSequence``) makes it reproducible: one
    spawned stream per placement group, one for the unit types. ``unit_shares``
    are the FF, FR, S shares of motor neurons (exact counts by largest
    remainder, assigned at random). ``densities`` override entries of
    ``tissue.densities`` by name (plain numbers in their units).
    ``spacing_fraction``: same-type minimum distance as a fraction of the mean
    spacing (0.6 keeps random sequential adsorption far from jamming).
    Raises RuntimeError if a group cannot be placed with these distances.
    """
    d = {k: v.value for k, v in tissue.densities.items()}
    unknown = set(densities or {}) - set(d)
    if unknown:
        raise ValueError(f"unknown densities {sorted(unknown)}; known: {sorted(d)}")
    d.update(densities or {})
    groups, optional = _plan(tissue, d)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    # the default groups' streams and the unit types' stream first, then the optional groups':
    # asking for those leaves every other draw as it was
    n_base = len(groups) - optional
    base = [np.random.default_rng(s) for s in ss.spawn(n_base + 1)]
    streams = base[:n_base] + [np.random.default_rng(s) for s in ss.spawn(len(groups) - n_base)] + base[n_base:]
    total = sum(g[2] for g in groups)
    pos = np.empty((total, 3))
    ptype = np.empty(total, dtype=np.int64)
    pool = np.full(total, -1, dtype=np.int8)
    radius = np.array([SOMA_DIAMETER_UM[t] / 2 for t in range(len(CELL_TYPES))])
    spacings = [_same_type_spacing(tissue, t, dens, spacing_fraction) for t, _, _, dens, _ in groups]
    cell_um = max(max(spacings), 2 * radius.max())
    nz, ny, nx = tissue.shape
    extent = np.array([nx, ny, nz], dtype=np.float64) * tissue.dx_um
    ncell = np.maximum(1, np.ceil(extent / cell_um)).astype(np.int64)
    lo = np.zeros(3)
    npos = 0
    for (ctype, mask, n, _, pool_id), same, rng in zip(groups, spacings, streams):
        placed = 0
        for _ in range(max_batches):
            if placed == n:
                break
            cand = _candidates(tissue, mask, max(64, 4 * (n - placed)), rng)
            placed += _dart_throw(pos, ptype, npos + placed, cand, ctype, n - placed, same, radius, cell_um, lo,
                                  ncell)
        if placed < n:
            raise RuntimeError(f"placed only {placed} of {n} {CELL_TYPES[ctype]} cells with {same:.3g} µm between "
                               f"them; lower spacing_fraction ({spacing_fraction}) or the density")
        pool[npos:npos + n] = pool_id
        npos += n
    cell_type = ptype.astype(np.int8)
    unit = np.full(total, -1, dtype=np.int8)
    mn = np.flatnonzero(cell_type == MOTOR_NEURON)
    codes = np.repeat(np.arange(3, dtype=np.int8), _round_shares(mn.size, unit_shares))
    unit[mn] = streams[-1].permutation(codes)
    return Placement(pos, cell_type, voxel_index(pos, tissue.shape, tissue.dx_um), pool, unit)
