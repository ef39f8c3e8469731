"""Speed of the spatial engine: a whole step against the same rules in Mesa, cost against cells and voxels,
a 2-D ventral-horn section through a whole disease course, and 3-D slabs.

    .venv/bin/python bench/bench_spatial.py            # everything (~5 min on 2 cores)
    .venv/bin/python bench/bench_spatial.py --quick    # fewer sizes, shorter runs

Mesa is installed for this benchmark only (``pip install --no-deps --target bench/.mesa mesa==3.3.1 tqdm`` on
first use; alsim does not depend on it). The Mesa model has the same agents (one per cell of the same
tissue), the same voxel grid and fields (the same DCT solves: Mesa has no diffusion solver) and calls
the same kernels of ``alsim.biology.kernels`` (their Python versions) per agent for secretion, stress,
hazards, state changes, migration, misfolding and reactivity; it leaves out division and recruitment
(less work for Mesa). Ratios are measured in the same run, one after the other.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from alsim.biology import genotypes as gt
from alsim.biology import kernels as k
from alsim.biology import parameters as prm
from alsim.biology.parameters import Param
from alsim.engines.spatial.setup import build_engine
from alsim.engines.spatial.step import DAMAGE, FIELDS, IL1B, IL4, IL10, MCP1, ROS, TF, TNF
from alsim.engines.spatial.tissue import uniform_block, ventral_horn_section, ventral_horn_slab

MESA_DIR = Path(__file__).resolve().parent / ".mesa"


def mesa_module():
    """Import Mesa, installing it into bench/.mesa on first use."""
    if str(MESA_DIR) not in sys.path:
        sys.path.append(str(MESA_DIR))  # after the environment's own NumPy, pandas and SciPy
    try:
        import mesa
    except ImportError:
        print("installing mesa into bench/.mesa (benchmark only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(MESA_DIR),
                        "mesa==3.3.1", "tqdm"], check=True)
        import mesa
    return mesa


def animal():
    return gt.animal_vector(prm.default_vector(), "SOD1-G93A", "B6SJL", "male", None)


def timed_steps(engine, steps: int) -> float:
    """Seconds per step over ``steps`` steps."""
    t0 = time.perf_counter()
    for _ in range(steps):
        engine.step()
    return (time.perf_counter() - t0) / steps


def live_cells(engine) -> int:
    c = engine.cells
    return int(np.count_nonzero(c.alive[: c.n]))


# ------------------------------------------------------------- the Mesa model
def mesa_model(engine, mesa):
    """The same tissue as Mesa agents on a MultiGrid of the same voxels; fields from the engine's solvers."""
    py = {name: getattr(k, name).py_func for name in (
        "motor_neuron_stress", "unit_stress", "motor_neuron_hazards", "proinflammatory_microglia_secretion",
        "protective_microglia_secretion", "astrocyte_secretion", "microglia_state_rates", "microglia_migration",
        "astrocyte_reactivity_rate", "motor_neuron_misfolding", "astrocyte_misfolding", "microglia_misfolding",
        "il10_suppression", "cytokine_signal", "mutant_burden", "fold_excess", "interneuron_hazard",
        "reference_levels")}
    p = engine.P[0]
    nz, ny, nx = engine.tissue.shape
    dx = engine.tissue.dx_um
    dt = engine.dt_days
    tnf_wt, il1_wt, il10_wt, il4_wt, mcp_wt = py["reference_levels"](p)
    soluble = p[Param.soluble_mutant_share]

    class Cell(mesa.Agent):
        def __init__(self, model, kind, i):
            super().__init__(model)
            c = engine.cells
            self.kind, self.x, self.y = kind, c.position_um[i, 0], c.position_um[i, 1]
            self.load, self.reactive, self.state = 0.0, 0.0, 0
            self.connected, self.alive, self.unit = kind == 0, True, int(c.unit[i])

        def voxel(self):
            return min(int(self.y / dx), ny - 1) * nx + min(int(self.x / dx), nx - 1)

        def secrete(self):
            m = self.model
            v = self.voxel()
            f = m.fields
            supp = py["il10_suppression"](py["fold_excess"](f[IL10, v], il10_wt), p)
            if self.kind == 3 and self.state == 1:
                b = py["mutant_burden"](self.load, p[Param.mut_expr_mg], soluble)
                for s, r in zip((TNF, IL1B, MCP1, ROS), py["proinflammatory_microglia_secretion"](b, supp, p)):
                    m.source[s, v] += r * m.scale[3, s]
            elif self.kind == 3 and self.state == 2:
                for s, r in zip((IL10, IL4), py["protective_microglia_secretion"](p)):
                    m.source[s, v] += r * m.scale[3, s]
            elif self.kind == 2:
                b = py["mutant_burden"](self.load, p[Param.mut_expr_ast], soluble)
                for s, r in zip((TNF, IL1B, MCP1, TF), py["astrocyte_secretion"](self.reactive, b, 0.0, supp, p)):
                    m.source[s, v] += r * m.scale[2, s]

        def act(self):
            m = self.model
            f = m.fields
            v = self.voxel()
            chi = py["cytokine_signal"](py["fold_excess"](f[TNF, v], tnf_wt), py["fold_excess"](f[IL1B, v], il1_wt), p)
            il10_ex = py["fold_excess"](f[IL10, v], il10_wt)
            rnd = m.random.random
            if self.kind == 0 and self.alive:
                b = py["mutant_burden"](self.load, p[Param.mut_expr_mn], soluble)
                sel, infl = py["motor_neuron_stress"](b, f[TF, v], chi, f[ROS, v], 0.0, il10_ex, p)
                wd, ap = py["motor_neuron_hazards"](py["unit_stress"](sel, infl, 1.0, p), 1.0, p)
                if self.connected and rnd() < 1 - math.exp(-wd * dt):
                    self.connected = False
                elif not self.connected and rnd() < 1 - math.exp(-ap * dt):
                    self.alive = False
                g = py["motor_neuron_misfolding"](self.load, p)
                self.load = min(1.0, self.load + 0.5 * dt * (g + py["motor_neuron_misfolding"](self.load + dt * g, p)))
            elif self.kind == 1 and self.alive:
                if rnd() < 1 - math.exp(-py["interneuron_hazard"](f[TF, v], chi, f[ROS, v], 0.0, il10_ex, p) * dt):
                    self.alive = False
            elif self.kind == 2:
                b = py["mutant_burden"](self.load, p[Param.mut_expr_ast], soluble)
                self.reactive += dt * py["astrocyte_reactivity_rate"](self.reactive, b, chi, 0.0, p)
                g = py["astrocyte_misfolding"](self.load, p)
                self.load = min(1.0, self.load + 0.5 * dt * (g + py["astrocyte_misfolding"](self.load + dt * g, p)))
            elif self.kind == 3:
                b = py["mutant_burden"](self.load, p[Param.mut_expr_mg], soluble)
                rates = py["microglia_state_rates"](b, f[DAMAGE, v], 0.0, py["fold_excess"](f[IL4, v], il4_wt), chi,
                                                    py["il10_suppression"](il10_ex, p), p)
                total = rates[0] + rates[1] + rates[3]
                if rnd() < 1 - math.exp(-total * dt):
                    self.state = 1 if rnd() * total < rates[0] else (2 if self.state == 0 else 0)
                if self.state:
                    speed = py["microglia_migration"](0.0, 0.0, 1.0, p)
                    self.x = min(max(self.x + speed * dt * (rnd() - 0.5), 0.0), nx * dx - 1e-6)
                    m.grid.move_agent(self, (min(int(self.x / dx), nx - 1), min(int(self.y / dx), ny - 1)))
                g = py["microglia_misfolding"](self.load, p)
                self.load = min(1.0, self.load + 0.5 * dt * (g + py["microglia_misfolding"](self.load + dt * g, p)))

    class Tissue(mesa.Model):
        def __init__(self):
            super().__init__(seed=1)
            self.grid = mesa.space.MultiGrid(nx, ny, torus=False)
            self.fields = engine.fields.copy()
            self.scale = engine.scale
            c = engine.cells
            for i in range(c.n):
                if c.alive[i]:
                    a = Cell(self, int(c.ctype[i]), i)
                    self.grid.place_agent(a, (min(int(a.x / dx), nx - 1), min(int(a.y / dx), ny - 1)))

        def step(self):
            self.source = engine.basal.copy()
            self.agents.do("secrete")
            shape = (len(FIELDS),) + engine.tissue.shape
            self.fields = engine.solver.steady(self.source.reshape(shape)).reshape(len(FIELDS), -1)
            self.agents.shuffle_do("act")

    return Tissue()


# --------------------------------------------------------------- the benches
def bench_mesa(quick: bool) -> None:
    mesa = mesa_module()
    for name, tissue in (("2-D ventral-horn section", ventral_horn_section(dx_um=10.0)),
                         ("4 x 4 mm block, Mesa's reference size", uniform_block((4000.0, 4000.0), dx_um=20.0,
                                                                                 thickness_um=5.7)),
                         ("uniform 3.2 x 3.2 mm block", uniform_block((3200.0, 3200.0), dx_um=80.0))):
        engine = build_engine(tissue, animal(), seed=1)
        for _ in range(200):  # into the disease (activated microglia, reactive astrocytes)
            engine.step()
        n = live_cells(engine)
        model = mesa_model(engine, mesa)
        model.step()  # the kernels' first calls from Python compile their dispatchers
        engine.step()
        steps = 3 if quick else 5
        t_alsim, t_mesa = [], []
        for _ in range(3):  # in alternation, so that both see the same load on shared cores
            t_alsim.append(timed_steps(engine, steps))
            t0 = time.perf_counter()
            for _ in range(steps):
                model.step()
            t_mesa.append((time.perf_counter() - t0) / steps)
        t_alsim, t_mesa = min(t_alsim), min(t_mesa)
        nz, ny, nx = engine.tissue.shape
        print(f"whole step, {name}, {nx}x{ny} voxels, {len(FIELDS)} fields, {n} cells (Mesa {mesa.__version__}: "
              f"{len(model.agents)} agents, same grid):")
        print(f"  alsim {1e3 * t_alsim:8.2f} ms/step = {n / t_alsim:12,.0f} agent-updates/s")
        print(f"  Mesa  {1e3 * t_mesa:8.2f} ms/step = {len(model.agents) / t_mesa:12,.0f} agent-updates/s")
        print(f"  ratio Mesa/alsim: {t_mesa / t_alsim:.0f}x")


def bench_scaling(quick: bool) -> None:
    print("cost against voxels (ventral-horn section, same cells):")
    rows = []
    for dx in ((20.0, 10.0) if quick else (20.0, 10.0, 5.0)):
        e = build_engine(ventral_horn_section(dx_um=dx), animal(), seed=1)
        e.step()
        t = min(timed_steps(e, 10) for _ in range(3))
        rows.append((e.nvox, t))
        print(f"  dx {dx:4.0f} um: {e.nvox:8,} voxels, {live_cells(e):6,} cells: {1e3 * t:8.2f} ms/step")
    slope = np.polyfit(np.log([r[0] for r in rows]), np.log([r[1] for r in rows]), 1)[0]
    print(f"  log-log slope (1 = linear): {slope:.2f}")
    print("cost against cells (uniform blocks of 40 x 40 voxels, larger blocks hold more cells):")
    rows = []
    for side in ((800.0, 3200.0) if quick else (800.0, 1600.0, 3200.0)):
        e = build_engine(uniform_block((side, side), dx_um=side / 40.0), animal(), seed=1)
        e.step()
        t = min(timed_steps(e, 10) for _ in range(3))
        rows.append((live_cells(e), t))
        print(f"  {live_cells(e):8,} cells, {e.nvox:6,} voxels: {1e3 * t:8.2f} ms/step = "
              f"{live_cells(e) / t:12,.0f} agent-updates/s")
    slope = np.polyfit(np.log([r[0] for r in rows]), np.log([r[1] for r in rows]), 1)[0]
    print(f"  log-log slope (1 = linear): {slope:.2f}")


def run_course(engine, days: float) -> float:
    t0 = time.perf_counter()
    while engine.t < days and engine.end_stage_margin() > 0:
        engine.step()
    return time.perf_counter() - t0


def bench_course(quick: bool) -> None:
    e = build_engine(ventral_horn_section(dx_um=10.0), animal(), seed=1)
    e.step()
    wall = run_course(e, 200.0)
    print(f"2-D ventral-horn section (dx 10 um, {e.nvox:,} voxels, {live_cells(e):,} cells at the end) through "
          f"the disease course to day {e.t:.0f} ({e.step_index} steps of {e.dt_days} d): {wall:.1f} s")
    sizes = ((20.0, 200.0),) if quick else ((20.0, 200.0), (10.0, 200.0), (10.0, 500.0))
    for dx, th in sizes:
        e = build_engine(ventral_horn_slab(dx_um=dx, thickness_um=th), animal(), seed=1)
        e.step()
        if dx >= 20.0:
            wall = run_course(e, 200.0)
            print(f"3-D slab {th:g} um, dx {dx:g} um ({e.nvox:,} voxels, {live_cells(e):,} cells): whole course to "
                  f"day {e.t:.0f} in {wall:.1f} s")
        else:
            t = timed_steps(e, 5)
            print(f"3-D slab {th:g} um, dx {dx:g} um ({e.nvox:,} voxels, {live_cells(e):,} cells): "
                  f"{1e3 * t:.0f} ms/step, a 160-day course ~{t * 640 / 60:.1f} min")


def bench_enlargement() -> None:
    """The top end: a whole lumbar enlargement (one side, ~6 mm of L1-L6) as one slab at 20 µm voxels."""
    t0 = time.perf_counter()
    e = build_engine(ventral_horn_slab(dx_um=20.0, thickness_um=6000.0), animal(), seed=1)
    built = time.perf_counter() - t0
    e.step()
    t = timed_steps(e, 3)
    print(f"lumbar enlargement, one side, 6 mm slab, dx 20 um ({e.nvox:,} voxels, {live_cells(e):,} cells; built "
          f"in {built:.0f} s): {t:.2f} s/step, a 160-day course ~{t * 640 / 60:.0f} min")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-mesa", action="store_true")
    ap.add_argument("--threads", type=int, default=1,
                    help="Numba threads for alsim (default 1, as Mesa; on shared cores parallel regions stall)")
    args = ap.parse_args()
    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    print(f"alsim on {numba.get_num_threads()} thread(s); timings are the best of 3 rounds (alsim and Mesa in "
          f"alternation)")
    if not args.skip_mesa:
        bench_mesa(args.quick)
    bench_scaling(args.quick)
    bench_course(args.quick)
    if not args.quick:
        bench_enlargement()
