"""The spatial engine's geometry, cell placement, cell containers and per-cell random streams."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.stats import chisquare

from alsim.engines.spatial import cells as C
from alsim.engines.spatial import tissue as T
from alsim.engines.spatial.diffusion import FieldGrid


@pytest.fixture(scope="module")
def section():
    return T.ventral_horn_section(dx_um=10.0, thickness_um=30.0)


@pytest.fixture(scope="module")
def placed(section):
    return T.populate(section, 2024)


# --- geometry -------------------------------------------------------------------

def test_ventral_horn_section_geometry(section):
    nz, ny, nx = section.shape
    assert (nz, ny, nx) == (1, 70, 80) and section.voxel_volume_um3 == 10 * 10 * 30
    grey_mm2 = np.count_nonzero(section.region == T.GREY) * 1e-4
    assert 0.2 < grey_mm2 < 0.35  # mouse ventral horn ~0.2-0.3 mm² per side
    assert set(np.unique(section.region)) == {T.GREY, T.WHITE}
    assert np.all(section.region[:, 0, :] == T.WHITE)  # ventral funiculus along the pial edge
    for k in range(len(section.pool_names)):  # each pool is non-empty lamina IX grey matter
        in_pool = section.pool == k
        assert in_pool.any() and np.all(section.region[in_pool] == T.GREY)
    assert sum(section.pool_shares) == pytest.approx(1.0)


def test_slab_extrudes_the_section_and_culture_well_is_a_disc():
    slab = T.ventral_horn_slab(dx_um=20.0, thickness_um=200.0)
    sec = T.ventral_horn_section(dx_um=20.0)
    assert slab.shape == (10,) + sec.shape[1:] and slab.voxel_volume_um3 == 20.0**3
    assert np.all(slab.region == sec.region) and np.all(slab.pool == sec.pool)
    well = T.culture_well(1000.0, dx_um=10.0)
    area = np.count_nonzero(well.region == T.WELL) * 100.0
    assert area == pytest.approx(math.pi * 500.0**2, rel=0.01)
    assert np.count_nonzero(T.culture_well(500.0, 10.0, "square").region == T.WELL) == 2500
    grid = well.field_grid(["tnf"], dirichlet_faces=("z+",), bath=[1.0])
    assert grid.shape == well.shape and grid.voxel_volume_um3 == well.voxel_volume_um3


# --- placement ------------------------------------------------------------------

def test_counts_follow_the_densities(section, placed):
    c = placed.counts
    assert c["motor_neuron"] == 15
    grey = section.volume_mm3(section.region == T.GREY)
    white = section.volume_mm3(section.region == T.WHITE)
    d = {k: v.value for k, v in T.VENTRAL_HORN_DENSITIES.items()}
    assert c["interneuron"] == round(d["interneuron_per_mm3"] * grey)
    assert c["astrocyte"] == round(d["astrocyte_per_mm3"] * grey)
    assert c["microglia"] == round(d["microglia_grey_per_mm3"] * grey) + round(d["microglia_white_per_mm3"] * white)
    slab = T.populate(T.ventral_horn_slab(dx_um=20.0, thickness_um=120.0), 1)
    assert slab.counts["motor_neuron"] == 60  # 15 per 30 µm


def test_fibrous_astrocytes_are_placed_in_white_matter_only_when_asked(section, placed):
    """White-matter astrocytes are not placed by default; asked for, they come last, in white matter,
    at their density, and every other cell stays where the default placement put it."""
    assert T.VENTRAL_HORN_DENSITIES["astrocyte_white_per_mm3"].value == 0.0
    fibrous = T.populate(section, 2024, densities={"astrocyte_white_per_mm3": 1.5e4})
    n0 = len(placed.cell_type)
    white = section.volume_mm3(section.region == T.WHITE)
    extra = fibrous.cell_type[n0:]
    assert len(extra) == round(1.5e4 * white) > 50 and np.all(extra == C.ASTROCYTE)
    assert np.all(section.region.ravel()[fibrous.voxel[n0:]] == T.WHITE)
    assert np.array_equal(fibrous.position_um[:n0], placed.position_um)
    assert np.array_equal(fibrous.unit_type[:n0], placed.unit_type)


def test_cells_sit_in_their_regions_and_voxels(section, placed):
    region = section.region.ravel()[placed.voxel]
    mn = placed.cell_type == C.MOTOR_NEURON
    assert np.all(section.pool.ravel()[placed.voxel[mn]] == placed.pool[mn])
    assert np.all(placed.pool[~mn] == -1) and np.all(placed.unit_type[~mn] == -1)
    assert np.all(region[(placed.cell_type == C.INTERNEURON) | (placed.cell_type == C.ASTROCYTE)] == T.GREY)
    ix = (placed.position_um[:, 0] // 10).astype(int)
    iy = (placed.position_um[:, 1] // 10).astype(int)
    assert np.array_equal(placed.voxel, iy * section.shape[2] + ix)


def test_minimum_distances_hold(section, placed):
    pos, typ = placed.position_um, placed.cell_type
    radius = np.array([T.SOMA_DIAMETER_UM[t] / 2 for t in range(4)])
    pairs = cKDTree(pos).query_pairs(60.0, output_type="ndarray")
    d = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
    ti, tj = typ[pairs[:, 0]], typ[pairs[:, 1]]
    other = ti != tj
    assert np.all(d[other] >= radius[ti[other]] + radius[tj[other]] - 1e-9)
    same_mn = (ti == tj) & (ti == C.MOTOR_NEURON)
    assert np.all(d[same_mn] >= T.SOMA_DIAMETER_UM[C.MOTOR_NEURON] - 1e-9)
    astro = (ti == tj) & (ti == C.ASTROCYTE)  # tiling: 0.6 × the in-plane mean spacing (47 µm)
    assert d[astro].min() >= 0.6 * (1e9 / (1.5e4 * 30.0)) ** 0.5 - 1e-9


def test_unit_types_have_the_given_shares():
    p = T.populate(T.ventral_horn_slab(dx_um=20.0, thickness_um=300.0), 5, unit_shares=(0.4, 0.35, 0.25))
    mn = p.select(C.MOTOR_NEURON)
    assert mn.size == 150
    # 60, 52.5, 37.5: the tied remainders go to the earlier type
    assert np.bincount(p.unit_type[mn], minlength=3).tolist() == [60, 53, 37]
    with pytest.raises(ValueError, match="sum to 1"):
        T.populate(T.ventral_horn_section(), 5, unit_shares=(0.5, 0.5, 0.5))


def test_placement_is_reproducible_from_the_seed(section, placed):
    again = T.populate(section, 2024)
    seq = T.populate(section, np.random.SeedSequence(2024))
    other = T.populate(section, 2025)
    for name in ("position_um", "cell_type", "voxel", "pool", "unit_type"):
        assert np.array_equal(getattr(placed, name), getattr(again, name))
        assert np.array_equal(getattr(placed, name), getattr(seq, name))
    assert not np.array_equal(placed.position_um, other.position_um)


def test_density_overrides_and_impossible_spacing():
    well = T.culture_well(600.0, dx_um=20.0, shape="square")
    p = T.populate(well, 3, densities={"microglia_per_mm2": 0.0, "mn_per_mm2": 50.0})
    assert p.counts["microglia"] == 0 and p.counts["motor_neuron"] == 18  # 50/mm² × 0.36 mm²
    assert np.all(well.region.ravel()[p.voxel] == T.WELL)
    with pytest.raises(ValueError, match="unknown densities"):
        T.populate(well, 3, densities={"neurons": 1.0})
    with pytest.raises(RuntimeError, match="lower spacing_fraction"):
        T.populate(well, 3, densities={"astrocyte_per_mm2": 3000.0}, spacing_fraction=1.2, max_batches=3)


# --- cell containers ------------------------------------------------------------

def population(placed, cell_type=C.MOTOR_NEURON, seed=7):
    rows = placed.select(cell_type)
    return C.CellPopulation.create(C.CELL_TYPES[cell_type], placed.position_um[rows], placed.voxel[rows], seed,
                                   state_names=("stress", "misfolded"),
                                   labels={"pool": placed.pool[rows], "unit_type": placed.unit_type[rows]})


def test_population_container(placed):
    mn = population(placed)
    assert len(mn) == 15 and mn.state.shape == (15, 2) and mn.alive.all() and mn.mutant_sod1.all()
    mn.column("stress")[:] = 2.0
    assert np.all(mn.state[:, 0] == 2.0)
    with pytest.raises(ValueError, match="voxel must be int64"):
        C.CellPopulation("x", np.zeros((2, 3)), np.zeros(3, dtype=np.int64), np.ones(2, bool), np.ones(2, bool),
                         np.zeros(2, np.uint64), np.zeros((2, 0)))


def test_apply_cre_flips_each_cell_independently_with_the_efficiency():
    n = 20000
    cells = C.CellPopulation.create("microglia", np.zeros((n, 3)), np.zeros(n), 1)
    assert C.apply_cre(cells, 0.0, np.random.default_rng(0)).mutant_sod1.all()
    assert not C.apply_cre(cells, 1.0, np.random.default_rng(0)).mutant_sod1.any()
    out = C.apply_cre(cells, 0.7, np.random.default_rng(0))
    excised = ~out.mutant_sod1
    assert abs(excised.mean() - 0.7) < 4 * math.sqrt(0.7 * 0.3 / n)
    assert abs(np.corrcoef(excised[:-1], excised[1:])[0, 1]) < 4 / math.sqrt(n)  # no runs
    assert cells.mutant_sod1.all()  # the input is untouched
    assert np.array_equal(out.mutant_sod1, C.apply_cre(cells, 0.7, np.random.default_rng(0)).mutant_sod1)
    off = C.CellPopulation.create("astrocyte", np.zeros((n, 3)), np.zeros(n), 1, mutant_sod1=False)
    assert abs(C.apply_cre(off, 0.25, np.random.default_rng(1), excise=False).mutant_sod1.mean() - 0.25) < 0.015


def test_deposit_conserves_secreted_mass_and_gather_reads_the_voxel():
    grid = FieldGrid((12, 15), 10.0, ["tnf", "il10"], thickness_um=30.0)
    rng = np.random.default_rng(4)
    n = 500
    pos = rng.random((n, 3)) * [150.0, 120.0, 30.0]
    cells = C.CellPopulation.create("microglia", pos, C.voxel_index(pos, grid.shape, 10.0), 1)
    cells.alive[::7] = False  # the dead do not secrete
    rate = rng.random((n, 2))  # [amount/s]
    src = grid.zeros()
    C.deposit(src, cells, rate, grid.voxel_volume_um3)
    live_total = rate[cells.alive].sum(axis=0)
    assert np.allclose(src.reshape(2, -1).sum(axis=1) * grid.voxel_volume_um3, live_total, rtol=1e-13)
    f = grid.zeros()
    dt = 2.0
    grid.step(f, dt, src)  # with decay: M = S·(1 - e^{-λdt})/λ; here compare to the no-decay limit
    no_decay = FieldGrid(grid.shape, 10.0, ["a", "b"], [20.0, 20.0], [0.0, 0.0], thickness_um=30.0)
    g = no_decay.zeros()
    no_decay.step(g, dt, src)
    assert np.allclose(no_decay.total_amount(g), live_total * dt, rtol=1e-13)
    local = C.gather(f, cells)
    assert local.shape == (n, 2)
    assert np.array_equal(local, f.reshape(2, -1)[:, cells.voxel].T)


# --- per-cell random streams ----------------------------------------------------

def test_random_streams_are_reproducible_and_independent_of_threads():
    keys = C.cell_keys(11, 50000)
    assert np.array_equal(keys, C.cell_keys(np.random.SeedSequence(11), 50000))
    u = C.uniforms(keys, step=3, stream=2)
    assert np.array_equal(u, C.uniforms(C.cell_keys(11, 50000), 3, 2))
    assert np.array_equal(u[100:200], C.uniforms(keys[100:200], 3, 2))  # a cell's draw ignores the others
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        u1, z1 = C.uniforms(keys, 3, 2), C.normals(keys, 3, 2)
    finally:
        numba.set_num_threads(threads)
    assert np.array_equal(u, u1) and np.array_equal(C.normals(keys, 3, 2), z1)
    with pytest.raises(ValueError, match="stream"):
        C.uniforms(keys, 0, 1 << 16)


def test_random_streams_look_uniform_and_uncorrelated():
    n = 100000
    keys = C.cell_keys(12, n)
    u = C.uniforms(keys, 0)
    tol = 4 / math.sqrt(n)
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 4 * math.sqrt(1 / 180 / n)  # var of U² terms: 1/80 - 1/144 = 1/180
    assert chisquare(np.bincount((u * 50).astype(int), minlength=50)).pvalue > 1e-4
    for other in (C.uniforms(keys, 1), C.uniforms(keys, 0, stream=1), np.roll(u, 1)):
        assert abs(np.corrcoef(u, other)[0, 1]) < tol  # across steps, streams and neighbouring cells
    one_cell = np.array([C.uniforms(keys[:1], step)[0] for step in range(4000)])  # one cell's sequence
    assert abs(one_cell.mean() - 0.5) < 4 * math.sqrt(1 / 12 / 4000)
    assert abs(np.corrcoef(one_cell[:-1], one_cell[1:])[0, 1]) < 4 / math.sqrt(4000)
    z = C.normals(keys, 0)
    assert abs(z.mean()) < tol and abs(z.var() - 1) < 4 * math.sqrt(2 / n)
    assert abs((z**4).mean() - 3) < 4 * math.sqrt(96 / n)  # kurtosis of a normal
    assert abs(np.corrcoef(z, u)[0, 1]) < tol  # normals never reuse the uniform counters
