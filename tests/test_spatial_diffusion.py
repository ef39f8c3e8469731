"""The spatial engine's reaction-diffusion solver against analytic solutions.

Reference solutions used here:

- On a box with no-flux faces the 1-D cell-centred Laplacian is diagonalised by
  the orthonormal DCT-II, eigenvalues -(4D/dx²)·sin²(πk/2n). The exact
  semi-discrete solution (continuous time) is then IDCT(e^{μt}·DCT(c0)), and
  N backward-Euler steps give IDCT((1 - μ·dt)^{-N}·DCT(c0)). LOD on a box is a
  product of such 1-D operators, so a point source's exact numerical answer is
  an outer product of 1-D vectors.
- For a point source, backward Euler adds exactly 2·D·dt to the variance per
  step (per axis), so the second moment is 2·D·t for any dt; the first-order
  time error shows in the fourth cumulant: κ4 = 2·D·t·dx² (lattice) + 12·D²·t·dt.
- Steady state of a 1-D slab with a source in the first voxel, decay λ and a
  no-flux far wall: exactly c_i = A·cosh(θ(n - ½ - i)) with cosh θ = 1 + λdx²/2D;
  continuous limit c(x) = (J·L/D)·cosh((ℓ - x)/L)/sinh(ℓ/L), L = sqrt(D/λ).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy.fft import dct, idct
from scipy.linalg import solve_banded

from alsim.engines.spatial.diffusion import (
    PARALLEL_MIN_UPDATES, SPECIES, FieldGrid, axis_operator_diagonal, species_table, stokes_einstein_D)

D, DX = 100.0, 5.0  # [µm²/s], [µm]


def be_and_exact_1d(n, i0, D, dx, dt, nsteps):
    """1-D no-flux point-source profiles: after nsteps backward-Euler steps, and exact at t = nsteps·dt."""
    mu = -(4 * D / dx**2) * np.sin(np.pi * np.arange(n) / (2 * n)) ** 2
    u0 = np.zeros(n)
    u0[i0] = 1.0
    U0 = dct(u0, norm="ortho")
    return (idct((1 - dt * mu) ** (-nsteps) * U0, norm="ortho"),
            idct(np.exp(mu * dt * nsteps) * U0, norm="ortho"))


def point_source(shape, dt, t, D_um2_s=(D,)):
    """Fields after t seconds from unit mass in the centre voxel (no decay)."""
    g = FieldGrid(shape, DX, [f"s{i}" for i in range(len(D_um2_s))], D_um2_s, [0.0] * len(D_um2_s))
    f = g.zeros()
    f[(slice(None),) + tuple(n // 2 for n in g.shape)] = 1.0
    g.advance(f, t, dt)
    return g, f


# --- species table -----------------------------------------------------------

def test_species_table_has_units_sources_and_plausible_decay_lengths():
    names = {s.name for s in SPECIES}
    assert {"tnf", "il1b", "mcp1", "il10", "il4", "ros", "glutamate", "toxic_factor", "atp", "hmgb1",
            "sod1_misfolded"} <= names
    for s in SPECIES:
        assert s.D_um2_s > 0 and s.half_life_s > 0 and s.source
        assert s.D_basis in ("measured", "estimated") and s.half_life_basis in ("measured", "estimated")
    # the protein scaling reproduces its anchor (NGF 26 kDa, 27.5 µm²/s at 34 °C, ×1.07 to 37 °C)
    assert stokes_einstein_D(26.0) == pytest.approx(27.5 * 1.0722, rel=1e-3)
    tnf, ros = species_table(["tnf", "ros"])
    assert 100 < tnf.decay_length_um < 300  # cytokine gradients span ~10-30 voxels of 10 µm
    assert 20 < ros.decay_length_um < 100
    with pytest.raises(ValueError, match="unknown species"):
        species_table(["tnf-alpha"])


# --- point source: moments, profile, convergence -------------------------------

@pytest.mark.parametrize("shape,dt,t", [((121, 121), 0.1, 10.0), ((61, 61, 61), 0.1, 2.0)])
def test_point_source_second_moment_is_2Dt_per_axis(shape, dt, t):
    g, f = point_source(shape, dt, t, D_um2_s=(D, 0.5 * D))
    for s, Ds in enumerate((D, 0.5 * D)):
        assert f[s].sum() == pytest.approx(1.0, rel=1e-13)
        for axis in range(3):
            n = f.shape[1 + axis]
            if n == 1:
                continue
            x = (np.arange(n) - n // 2) * DX
            p = f[s].sum(axis=tuple(a for a in range(3) if a != axis))
            assert abs((p * x).sum()) < 1e-10 * DX
            # exact for backward Euler on an unbounded lattice; here only the far boundary contributes
            assert (p * x**2).sum() / (2 * Ds * t) == pytest.approx(1.0, abs=1e-6)


def test_point_source_profile_is_the_gaussian():
    t = 10.0
    g, f = point_source((121, 121), 0.05, t)
    x = (np.arange(121) - 60) * DX
    gauss = DX**2 / (4 * np.pi * D * t) * np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (4 * D * t))
    # σ = 45 µm = 9 voxels; residual 0.7 % of the peak, at the peak (space and time error)
    assert np.abs(f[0, 0] - gauss).max() / gauss.max() < 0.01


def test_lod_step_equals_the_exact_discrete_operator_and_converges_at_first_order():
    n, c, t = 81, 40, 4.0
    errors = []
    for dt in (0.4, 0.2, 0.1, 0.05):
        g, f = point_source((n, n), dt, t)
        be, exact = be_and_exact_1d(n, c, D, DX, dt, round(t / dt))
        # LOD = tensor product of 1-D backward-Euler operators, to round-off
        assert np.abs(f[0, 0] - np.outer(be, be)).max() < 1e-13
        errors.append(np.abs(f[0, 0] - np.outer(exact, exact)).max() / exact.max() ** 2)
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 0.95) & (orders < 1.1)), orders  # observed 1.056, 1.027, 1.013


def test_time_error_shows_in_the_fourth_cumulant_as_12_D2_t_dt():
    n, c, t = 81, 40, 4.0
    x = (np.arange(n) - c) * DX
    for dt in (0.4, 0.1):
        g, f = point_source((n, n), dt, t)
        p = f[0, 0].sum(axis=0)
        m2, m4 = (p * x**2).sum(), (p * x**4).sum()
        kappa4_time = (m4 - 3 * m2**2) - 2 * D * t * DX**2
        assert kappa4_time == pytest.approx(12 * D**2 * t * dt, rel=1e-4)


# --- steady state: decay length, Dirichlet bath -------------------------------

def slab(n=200, lam=0.01, faces=(), bath=(0.0,)):
    """A 1-D slab of n voxels (dx = 5 µm) along x."""
    return FieldGrid((1, n), DX, ["a"], [D], [lam], dirichlet_faces=faces, bath=bath)


def test_steady_state_of_a_boundary_source_decays_with_length_sqrt_D_over_lambda():
    n, lam, s0 = 200, 0.01, 1.0
    L = math.sqrt(D / lam)  # 100 µm = 20 voxels; the slab is 10 L long
    g = slab(n, lam)
    src = g.zeros()
    src[0, 0, 0, 0] = s0
    c = g.steady_state(src)[0, 0, 0]
    i = np.arange(n)
    theta = math.acosh(1 + lam * DX**2 / (2 * D))
    prof = np.cosh(theta * (n - 0.5 - i))
    exact_discrete = s0 / (lam * prof[0] - D / DX**2 * (prof[1] - prof[0])) * prof
    assert np.abs(c - exact_discrete).max() / c.max() < 1e-12
    x = (i + 0.5) * DX
    continuous = s0 * DX * L / D * np.cosh((n * DX - x) / L) / np.sinh(n * DX / L)
    assert np.abs(c - continuous).max() / c.max() < (DX / L) ** 2 / 10  # observed 3.9e-5
    L_fit = -1 / np.polyfit(x[10:100], np.log(c[10:100]), 1)[0]
    assert L_fit / L - 1 == pytest.approx((DX / L) ** 2 / 24, rel=0.1)  # discrete decay length dx/θ


def test_time_stepping_reaches_the_steady_state_with_first_order_lod_offset():
    lam = 0.01
    g = slab(200, lam)
    src = g.zeros()
    src[0, 0, 0, 0] = 1.0
    c_direct = g.steady_state(src)[0, 0, 0]
    errors = []
    for dt in (2.0, 1.0):
        f = g.zeros()
        g.advance(f, 1500.0, dt, src)  # 15 decay times
        errors.append(np.abs(f[0, 0, 0] - c_direct).max() / c_direct.max())
    assert errors[0] == pytest.approx(lam * 2.0 / 4, rel=0.05)  # decay length off by λ·dt/4
    assert 0.9 < math.log2(errors[0] / errors[1]) < 1.1


@pytest.mark.filterwarnings("ignore:dt_diffusion_s")
def test_dirichlet_bath_face():
    n, lam, cb = 200, 0.01, 2.0
    L = math.sqrt(D / lam)
    # no decay: the slab fills up to the bath value (40 voxels: relaxation time ℓ²/D = 400 s)
    g0 = slab(40, 0.0, faces=("x-",), bath=(cb,))
    assert np.allclose(g0.steady_state()[0], cb, rtol=1e-12)
    f = g0.zeros()
    g0.advance(f, 1e4, 20.0)
    assert np.allclose(f, cb, rtol=1e-9)
    # with decay: c = cb·cosh((ℓ - x)/L)/cosh(ℓ/L), face value held at x = 0
    g = slab(n, lam, faces=("x-",), bath=(cb,))
    c = g.steady_state()[0, 0, 0]
    x = (np.arange(n) + 0.5) * DX
    continuous = cb * np.cosh((n * DX - x) / L) / np.cosh(n * DX / L)
    assert np.abs(c - continuous).max() / cb < (DX / L) ** 2
    f = g.zeros()
    g.advance(f, 1500.0, 0.5)
    assert np.abs(f[0, 0, 0] - c).max() / cb < 2e-3


def test_a_closed_species_has_no_steady_state():
    with pytest.raises(ValueError, match="no sink"):
        slab(10, 0.0).steady_state(np.ones((1, 1, 1, 10)))


# --- conservation and positivity ----------------------------------------------

def random_grid(shape=(6, 9, 11), faces=(), seed=0):
    """Three species with different D and decay on a small 3-D grid, and random data."""
    rng = np.random.default_rng(seed)
    g = FieldGrid(shape, 4.0, ["a", "b", "c"], [50.0, 300.0, 5.0], [0.0, 0.02, 0.3],
                  dirichlet_faces=faces, bath=[1.0, 0.5, 2.0])
    return g, rng


def test_mass_is_conserved_to_round_off_without_sources_or_decay():
    g, rng = random_grid()
    g = FieldGrid(g.shape, 4.0, ["a", "b"], [50.0, 300.0], [0.0, 0.0])  # D·dt/dx² = 0.9 and 5.6
    f = rng.random(g.fields_shape)
    m0 = g.total_amount(f)
    for _ in range(2000):
        g.step(f, 0.3)
    # observed 2.4e-14 and 3.3e-14, flat after the first hundred steps
    assert np.abs(g.total_amount(f) / m0 - 1).max() < 1e-12


def test_mass_balance_with_source_decay_and_uptake_is_exact_per_step():
    g, rng = random_grid()
    f = rng.random(g.fields_shape)
    src = rng.random(g.fields_shape)
    dt = 0.7
    lam = g.decay_per_s
    e, gain = np.exp(-lam * dt), -np.expm1(-lam * dt) / np.where(lam > 0, lam, 1)
    gain[lam == 0] = dt
    for _ in range(20):  # uniform decay: M' = M·e^{-λdt} + S·(1 - e^{-λdt})/λ, i.e. dM/dt = S - λM
        m = g.total_amount(f)
        g.step(f, dt, src)
        expected = m * e + g.total_amount(src) * gain
        assert np.abs(g.total_amount(f) / expected - 1).max() < 1e-13
    upt = rng.random(g.fields_shape) * 0.5
    k = lam[:, None, None, None] + upt
    after_reaction = f * np.exp(-k * dt) + src * -np.expm1(-k * dt) / k
    g.step(f, dt, src, upt)  # diffusion moves but never creates or destroys
    assert np.abs(g.total_amount(f) / g.total_amount(after_reaction) - 1).max() < 1e-13


def test_non_negative_data_stays_non_negative_even_at_huge_steps():
    g, rng = random_grid(faces=("x-", "z+"))
    f = rng.random(g.fields_shape) * (rng.random(g.fields_shape) < 0.05)  # sparse spikes, zeros elsewhere
    src = rng.random(g.fields_shape) * (rng.random(g.fields_shape) < 0.05)
    upt = rng.random(g.fields_shape) * 10
    with pytest.warns(RuntimeWarning, match="stable but inaccurate"):
        for _ in range(50):
            g.step(f, 1e3, src, upt)  # D·dt/dx² up to 2e4
    assert f.min() >= 0.0


# --- the compiled path against a plain NumPy/SciPy reference -------------------

def reference_step(g, f, dt, src, upt):
    """One split step in NumPy/SciPy: exact reaction, then solve_banded along x, y, z."""
    out = f.copy()
    k = g.decay_per_s[:, None, None, None] + upt
    out = out * np.exp(-k * dt) + src * -np.expm1(-k * dt) / k
    for ax, axis in zip("xyz", (3, 2, 1)):
        n = out.shape[axis]
        lo, hi = f"{ax}-" in g.dirichlet_faces, f"{ax}+" in g.dirichlet_faces
        if n == 1 and not (lo or hi):
            continue
        diag = axis_operator_diagonal(n, lo, hi)
        for s in range(g.n_species):
            r = g.D_um2_s[s] * dt / g.dx_um**2
            ab = np.zeros((3, n))
            ab[0, 1:], ab[1], ab[2, :-1] = -r, 1 + r * diag, -r
            lines = np.moveaxis(out[s], axis - 1, -1).copy()
            lines[..., 0] += 2 * r * g.bath[s] * lo
            lines[..., -1] += 2 * r * g.bath[s] * hi
            sol = solve_banded((1, 1), ab, lines.reshape(-1, n).T).T.reshape(lines.shape)
            out[s] = np.moveaxis(sol, -1, axis - 1)
    return out


@pytest.mark.parametrize("shape,faces", [((6, 9, 37), ()), ((1, 7, 45), ("x-", "y+")), ((5, 1, 1), ("z+",)),
                                         ((1, 1, 1), ())])
def test_numba_step_equals_the_scipy_reference(shape, faces):
    g, rng = random_grid(shape, faces)
    f, src, upt = (rng.random(g.fields_shape) for _ in range(3))
    ref = reference_step(g, f, 0.9, src, upt)
    inline = g.step(f.copy(), 0.9, src, upt)
    prepared = g.step(f.copy(), 0.9, reaction=g.reaction(0.9, src, upt))
    for out in (inline, prepared):
        assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-12


def test_results_do_not_depend_on_the_thread_count():
    g = FieldGrid((256, 256), 10.0, ["tnf", "il1b", "mcp1"])
    assert np.prod(g.fields_shape) >= PARALLEL_MIN_UPDATES  # the parallel path
    rng = np.random.default_rng(3)
    f, src, upt = (rng.random(g.fields_shape) for _ in range(3))
    threads = numba.get_num_threads()
    out = []
    try:
        for k in sorted({1, threads}):
            numba.set_num_threads(k)
            out.append(g.step(f.copy(), 6.0, src, upt))
    finally:
        numba.set_num_threads(threads)
    assert all(np.array_equal(out[0], o) for o in out)


# --- step-size advice and input checks -----------------------------------------

def test_dt_advice_is_quiet_for_cytokines_and_warns_for_fast_species():
    assert FieldGrid((20, 20), 10.0, ["tnf", "il10"]).dt_advice(60.0).message == ""
    g = FieldGrid((20, 20), 10.0, ["tnf", "il10", "ros"])
    assert g.dt_advice(0.05).message == ""
    adv = g.dt_advice(6.0)  # NO: λ·dt = 4.2
    assert "ros" in adv.message and "tnf" not in adv.message and "steady_state" in adv.message
    assert adv.dt_for_5pct_s[2] < 0.1 < adv.dt_for_5pct_s[0]
    assert adv.mesh_ratio[2] == pytest.approx(2200.0 * 6.0 / 100.0)
    with pytest.warns(RuntimeWarning, match="ros"):
        g.step(g.zeros(), 6.0)


def test_step_refuses_a_fields_array_it_cannot_update_in_place():
    g = FieldGrid((4, 4), 10.0, ["tnf"])
    with pytest.raises(ValueError, match="C-contiguous float64"):
        g.step(np.zeros(g.fields_shape, dtype=np.float32), 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        g.step(g.zeros(), 1.0, source=np.zeros(3))


def test_the_docs_species_table_matches_the_code():
    from pathlib import Path
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "spatial.md").read_text()
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^\| `([a-z0-9_]+)` \| ([0-9.]+) \| (\w+) \| ([0-9.]+) \| (\w+) \| ([0-9.]+) \|", doc, re.M)}
    assert set(rows) == {s.name for s in SPECIES}
    for s in SPECIES:
        D, D_basis, t_half, t_basis, L = rows[s.name]
        assert (float(D), D_basis, float(t_half), t_basis) == (float(f"{s.D_um2_s:.3g}"), s.D_basis,
                                                               s.half_life_s, s.half_life_basis), s.name
        assert float(L) == pytest.approx(s.decay_length_um, rel=0.02), s.name
