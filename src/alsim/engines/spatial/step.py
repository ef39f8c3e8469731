"""The spatial engine's step: every cell calls the per-cell kernels of ``biology.kernels`` on what it sees.

A tissue is one table of cells (struct of arrays, :class:`CellTable`) and a
grid of soluble fields. Each step of ``dt`` days (docs/spatial.md, "The step"):

1. **contact fields**: counts of microglia, of pro-inflammatory (M1) microglia
   and the astrocytes' lost GLT-1 uptake are spread over a cell's reach with the
   screened-Poisson kernel (1 - ℓ²∇²)⁻¹ (ℓ = ``microglia_reach``,
   ``astrocyte_domain_radius``) and divided by the same spread of the cells
   present at the start, so a healthy tissue reads density 1 everywhere;
2. **protective signals**: IL-10 and IL-4 from M2 microglia and basal release,
   at quasi-steady state;
3. **pro-inflammatory signals**: each M1 microglial cell and astrocyte reads
   IL-10 where it stands and secretes TNF-α, IL-1β, MCP-1, reactive species
   and the toxic factor; quasi-steady fields;
4. **neurons**: each motor neuron reads its voxel, computes its stress and
   hazards; axons withdraw and disconnected somas die by draws from its own
   random stream (exact two-stage draw for constant hazards over the step);
   interneurons likewise; damage signals and misfolded SOD1 are released where
   the neuron stands (damage at quasi-steady state, extracellular SOD1 stepped
   exactly in time, its half-life being days);
5. **microglia** switch state, divide, die (competing hazards), move up the
   gradient of damage + MCP-1, and are recruited per voxel by MCP-1;
6. **astrocytes** integrate their reactivity (exactly: the kernel's rate is
   linear in it), every cell its misfolded load (Heun), each motor pool its
   collateral reinnervation, the animal its muscle and corticospinal pool.

Units. Kernels secrete per unit *density* (the wild-type ventral-horn density
of the cell type = 1) in concentration per minute (cytokines) or per day
(reactive species, toxic factor, damage, misfolded SOD1). One cell of type T in a
voxel of volume V adds rate / (ρ_T · V) to the voxel's source, ρ_T being the
wild-type density of T (cells/µm³ of grey matter, counted at placement): a
uniform tissue at wild-type densities then secretes exactly what the mean
field's compartment secretes, and at quasi-steady state with fast diffusion
every voxel holds the mean field's level (the agreement test).

Randomness is counter-based per cell (``cells._u01``): a draw is a function of
(cell key, step, stream), so results do not depend on the thread count or on
the order cells are visited. Cells added (divisions, recruitment) are appended
in a serial pass, in cell (voxel) order.
"""

from __future__ import annotations

import contextlib
import math
import pickle
from dataclasses import dataclass, field, fields as dc_fields
from pathlib import Path

import numpy as np
from numba import njit, prange

from ..._numba_cache import drop_stale
from ...biology import kernels as k
from ...biology.model import REPORTER_NAMES
from ...biology.parameters import Param
from .. import assembly as asm
from ..integrate import modulation_factor
from .cells import ASTROCYTE, INTERNEURON, MICROGLIA, MOTOR_NEURON, _mix64, _u01
from .diffusion import threads_for
from .spectral import SpectralSolver
from .tissue import GREY, OUTSIDE, WELL, Tissue

__all__ = ["FIELDS", "CellTable", "SpatialEngine", "M0", "M1", "M2"]


def _probe():
    """Locates this module's Numba cache (see ``alsim._numba_cache``)."""


# the phases inline the kernels (and fold parameter indices in as constants) and the cells' random draws
drop_stale(_probe, [Path(k.__file__).with_name(n) for n in ("kernels.py", "parameters.py", "parameters.yaml")]
           + [Path(__file__).with_name("cells.py")])

#: Soluble fields of the spatial engine: (name, half-life parameter, its unit [s] (0: the parameter is a
#: rate per day), diffusion parameter, unit [s] of the kernels' secretion rate).
_FIELD_SPECS = (
    ("tnf", "tnf_half_life", 60.0, "tnf_diffusion", 60.0),
    ("il1b", "il1b_half_life", 60.0, "il1b_diffusion", 60.0),
    ("mcp1", "mcp1_half_life", 60.0, "mcp1_diffusion", 60.0),
    ("il10", "il10_half_life", 60.0, "il10_diffusion", 60.0),
    ("il4", "il4_half_life", 60.0, "il4_diffusion", 60.0),
    ("ros", "ros_half_life", 60.0, "ros_diffusion", 86400.0),
    ("toxic_factor", "toxic_factor_tissue_half_life", 3600.0, "toxic_factor_diffusion", 86400.0),
    ("damage", "damage_half_life", 60.0, "damage_diffusion", 86400.0),
    ("esod", "esod_clearance", 0.0, "esod_diffusion", 86400.0),
)
FIELDS = tuple(s[0] for s in _FIELD_SPECS)
TNF, IL1B, MCP1, IL10, IL4, ROS, TF, DAMAGE, ESOD = range(len(FIELDS))
_PER_S = np.array([1.0 / s[4] for s in _FIELD_SPECS])
#: What each phase's cells secrete.
_PROTECTIVE = np.array([IL10, IL4])
_PROINFLAMMATORY = np.array([TNF, IL1B, MCP1, ROS, TF])
_RELEASED = np.array([DAMAGE, ESOD])
#: Contact channels: all microglia, M1 microglia, astrocytes' lost GLT-1 uptake.
_C_MG, _C_M1, _C_GLT = range(3)
#: Microglial states.
M0, M1, M2 = 0, 1, 2
DAY_S = 86400.0
#: Cell loops over fewer cells than this run on one thread: a cell costs 0.1-0.4 µs per phase, and on
#: cores shared with other processes a parallel region's barrier can stall for a scheduler quantum
#: (measured: 40 ms instead of 6 ms per step of 15,000 cells on 2 busy cores).
PARALLEL_MIN_CELLS = 16384
# random streams of one step (cells._counter layout: step << 20 | kind << 16 | stream)
_S_WITHDRAW, _S_DEATH, _S_MG_EVENT, _S_MG_WHICH, _S_PLACE_A, _S_PLACE_B, _S_PLACE_C, _S_RECRUIT, _S_GENO = range(9)


@njit(cache=True, inline="always")
def _draw(key, step, stream):
    """Uniform [0, 1) draw of one cell (or voxel) for (step, stream); see cells.uniforms."""
    return _u01(key, np.uint64((step << 20) | stream))


# ----------------------------------------------------------------- the cells
@dataclass
class CellTable:
    """Every cell of a tissue as parallel arrays, one row per cell (rows ``[:n]`` in use).

    ``position_um`` (cap, 3) [µm]; ``ctype`` int8 cell type; ``voxel`` flat voxel index; ``alive``;
    ``genotype`` int8 row of the engine's parameter table (the cell's own transgene);
    ``key`` uint64 random-stream key; ``load`` misfolded mutant SOD1 (0-1); ``reactive``
    astrocyte reactivity (0-1); ``mg_state`` microglial state (M0, M1, M2); ``connected`` motor
    axon on its muscle; ``unit`` FF/FR/S code and ``pool`` motor pool (-1 otherwise).
    Microglia are the last rows, so divisions and recruits are appended.
    """

    position_um: np.ndarray
    ctype: np.ndarray
    voxel: np.ndarray
    alive: np.ndarray
    genotype: np.ndarray
    key: np.ndarray
    load: np.ndarray
    reactive: np.ndarray
    mg_state: np.ndarray
    connected: np.ndarray
    unit: np.ndarray
    pool: np.ndarray
    n: int = 0

    @classmethod
    def empty(cls, capacity: int) -> "CellTable":
        """A table with room for ``capacity`` cells and none in use."""
        return cls(np.zeros((capacity, 3)), np.full(capacity, -1, np.int8), np.zeros(capacity, np.int64),
                   np.zeros(capacity, bool), np.zeros(capacity, np.int8), np.zeros(capacity, np.uint64),
                   np.zeros(capacity), np.zeros(capacity), np.zeros(capacity, np.int8), np.zeros(capacity, bool),
                   np.full(capacity, -1, np.int8), np.full(capacity, -1, np.int8))

    @property
    def capacity(self) -> int:
        return self.ctype.shape[0]

    def grow(self, need: int) -> None:
        """Make room for at least ``need`` rows (in place; capacity grows by half or more)."""
        if need <= self.capacity:
            return
        cap = max(need, int(self.capacity * 1.5) + 16)
        for f in dc_fields(self):
            if f.name == "n":
                continue
            a = getattr(self, f.name)
            b = np.zeros((cap,) + a.shape[1:], a.dtype)
            if f.name in ("ctype", "unit", "pool"):
                b[:] = -1
            b[: a.shape[0]] = a
            setattr(self, f.name, b)

    def arrays(self) -> tuple:
        """The arrays in the order the compiled phases take them."""
        return (self.position_um, self.ctype, self.voxel, self.alive, self.genotype, self.key, self.load,
                self.reactive, self.mg_state, self.connected, self.unit, self.pool)


# --------------------------------------------------------- compiled phases
@njit(cache=True)
def _contact_counts(n, ctype, voxel, alive, genotype, reactive, mg_state, P, counts):
    """Per voxel: microglia, M1 microglia and Σ (1 - GLT-1 uptake) of astrocytes (serial: deterministic)."""
    for i in range(n):
        if not alive[i]:
            continue
        v = voxel[i]
        if ctype[i] == MICROGLIA:
            counts[_C_MG, v] += 1.0
            if mg_state[i] == M1:
                counts[_C_M1, v] += 1.0
        elif ctype[i] == ASTROCYTE:
            counts[_C_GLT, v] += 1.0 - k.astrocyte_glutamate_uptake(reactive[i], P[genotype[i]])


@njit(cache=True)
def _scatter(n, voxel, alive, rate, scale, ctype, species, source):
    """source[s, voxel[i]] += rate[i, s] · scale[ctype[i], s] for live cells and the ``species`` a phase
    writes (serial over cells: deterministic)."""
    for i in range(n):
        if alive[i] and ctype[i] >= 0:
            v = voxel[i]
            for s in species:
                r = rate[i, s]
                if r != 0.0:
                    source[s, v] += r * scale[ctype[i], s]


@njit(cache=True, parallel=True)
def _protective(n, ctype, alive, genotype, mg_state, P, rate):
    """IL-10 and IL-4 secretion of each protective (M2) microglial cell into ``rate[:, IL10/IL4]``."""
    for i in prange(n):
        for s in range(rate.shape[1]):
            rate[i, s] = 0.0
        if alive[i] and ctype[i] == MICROGLIA and mg_state[i] == M2:
            il10, il4 = k.protective_microglia_secretion(P[genotype[i]])
            rate[i, IL10] = il10
            rate[i, IL4] = il4


@njit(cache=True, parallel=True)
def _proinflammatory(n, ctype, voxel, alive, genotype, load, reactive, mg_state, P, fields, contact, a1_baseline,
                     rate):
    """TNF-α, IL-1β, MCP-1, reactive species (M1 microglia) and the toxic factor (astrocytes) of each cell.

    A cell reads IL-10 at its voxel (suppression); the M1 density around it sets the
    contact saturation of its reactive species (``contact_density``: a neuron is reached by
    a limited number of microglia) and, for an astrocyte, its A1 share (above ``a1_baseline``,
    the share already neurotoxic: serum-grown culture astrocytes).
    """
    p0 = P[0]
    il10_wt = k.reference_levels(p0)[2]
    soluble = p0[Param.soluble_mutant_share]
    for i in prange(n):
        for s in range(rate.shape[1]):
            rate[i, s] = 0.0
        c = ctype[i]
        if not alive[i] or not (c == ASTROCYTE or (c == MICROGLIA and mg_state[i] == M1)):
            continue
        v = voxel[i]
        p = P[genotype[i]]
        supp = k.il10_suppression(k.fold_excess(fields[IL10, v], il10_wt), p)
        if c == MICROGLIA:
            burden = k.mutant_burden(load[i], p[Param.mut_expr_mg], soluble)
            tnf, il1b, mcp1, ros = k.proinflammatory_microglia_secretion(burden, supp, p)
            m1 = k.at_least(contact[_C_M1, v], 1e-9)
            rate[i, TNF] = tnf
            rate[i, IL1B] = il1b
            rate[i, MCP1] = mcp1
            rate[i, ROS] = ros * k.contact_density(m1, p) / m1
        elif c == ASTROCYTE:
            burden = k.mutant_burden(load[i], p[Param.mut_expr_ast], soluble)
            a1 = a1_baseline + (1.0 - a1_baseline) * k.a1_share(k.contact_density(contact[_C_M1, v], p), p)
            tnf, il1b, mcp1, tf = k.astrocyte_secretion(reactive[i], burden, a1, supp, p)
            rate[i, TNF] = tnf
            rate[i, IL1B] = il1b
            rate[i, MCP1] = mcp1
            rate[i, TF] = tf


@njit(cache=True, inline="always")
def _local_signals(fields, contact, v, p0, ref):
    """(cytokine signal, IL-10 fold excess, glutamate excess) at voxel v, as the assembler defines them
    (``ref``: ``reference_levels(p0)``, computed once per phase)."""
    tnf_wt, il1_wt, il10_wt = ref[0], ref[1], ref[2]
    chi = k.cytokine_signal(k.fold_excess(fields[TNF, v], tnf_wt), k.fold_excess(fields[IL1B, v], il1_wt), p0)
    uptake = k.at_least(1.0 - contact[_C_GLT, v], 0.05)  # the kernel's 5 % floor, for a crowded domain
    return chi, k.fold_excess(fields[IL10, v], il10_wt), k.glutamate_excess(uptake)


@njit(cache=True, parallel=True)
def _neurons(n, step, dt, ctype, voxel, alive, genotype, key, load, connected, unit, P, fields, contact,
             in_culture, withdrew, died, wd_hazard, stress, rate):
    """Stress, hazards and events of every motor neuron and interneuron; damage and SOD1 they release.

    Motor neurons: a connected axon withdraws at the withdrawal hazard; a disconnected soma
    dies at the Bax-dependent apoptosis hazard (dying back). For constant hazards over the
    step the draw is exact: the withdrawal time s = -ln(u)/w, then death with probability
    1 - exp(-a·(dt - s)). Released per event: the kernel's release for a flux of one cell per
    dt (``rate[:, DAMAGE/ESOD]`` per unit density, as the mean field's fraction per day). In a
    culture well (``in_culture`` 1) every neuron also carries the basal death of plated neurons
    without target support, as in the mean field's well.
    """
    p0 = P[0]
    ref = k.reference_levels(p0)
    soluble = p0[Param.soluble_mutant_share]
    for i in prange(n):
        withdrew[i] = False
        died[i] = False
        wd_hazard[i] = 0.0
        stress[i] = 0.0
        for s in range(rate.shape[1]):
            rate[i, s] = 0.0
        c = ctype[i]
        if not alive[i] or (c != MOTOR_NEURON and c != INTERNEURON):
            continue
        v = voxel[i]
        p = P[genotype[i]]
        chi, il10_ex, glu = _local_signals(fields, contact, v, p0, ref)
        basal = in_culture * k.trophic_deprivation_hazard(p)
        if c == INTERNEURON:
            h = k.interneuron_hazard(fields[TF, v], chi, fields[ROS, v], glu, il10_ex, p) + basal
            if _draw(key[i], step, _S_DEATH) < -math.expm1(-h * dt):
                died[i] = True
            continue
        burden = k.mutant_burden(load[i], p[Param.mut_expr_mn], soluble)
        sel, infl = k.motor_neuron_stress(burden, fields[TF, v], chi, fields[ROS, v], glu, il10_ex, p)
        ratio = k.select(unit[i] == 0, 1.0, k.select(unit[i] == 1, p[Param.vulnerability_ratio_fr],
                                                      p[Param.vulnerability_ratio_s]))
        wd, ap = k.motor_neuron_hazards(k.unit_stress(sel, infl, ratio, p), ratio, p)
        ap += basal
        stress[i] = sel + infl
        left = dt  # time this step spent disconnected
        if connected[i]:
            wd_hazard[i] = wd
            s_w = -math.log(1.0 - _draw(key[i], step, _S_WITHDRAW)) / k.at_least(wd, 1e-300)
            if s_w < dt:
                withdrew[i] = True
                left = dt - s_w
            else:
                left = 0.0
        if left > 0.0 and _draw(key[i], step, _S_DEATH) < -math.expm1(-ap * left):
            died[i] = True
        damage, esod = k.motor_neuron_release(k.select(withdrew[i], 1.0 / dt, 0.0),
                                              k.select(died[i], 1.0 / dt, 0.0), load[i], p)
        rate[i, DAMAGE] = damage
        rate[i, ESOD] = esod


@njit(cache=True, parallel=True)
def _microglia(n, step, dt, dx, shape, ctype, voxel, alive, genotype, key, load, mg_state, P, fields,
               contact, region, event, move):
    """State switches, division and death (competing hazards) and migration of every microglial cell.

    ``event[i]``: -1 none, 0/1/2 switch to M0/M1/M2, 3 divide, 4 die. ``move[i]``
    displacement [µm] up the gradient of damage + MCP-1 excess (activated cells only).
    """
    p0 = P[0]
    ref = k.reference_levels(p0)
    soluble = p0[Param.soluble_mutant_share]
    il4_wt, mcp_wt = ref[3], ref[4]
    nz, ny, nx = shape[0], shape[1], shape[2]
    for i in prange(n):
        event[i] = -1
        move[i, 0] = 0.0
        move[i, 1] = 0.0
        move[i, 2] = 0.0
        if not alive[i] or ctype[i] != MICROGLIA:
            continue
        v = voxel[i]
        p = P[genotype[i]]
        chi, il10_ex, _ = _local_signals(fields, contact, v, p0, ref)
        burden = k.mutant_burden(load[i], p[Param.mut_expr_mg], soluble)
        to_m1, to_m2, m2_to_m1, resolution, activating = k.microglia_state_rates(
            burden, fields[DAMAGE, v], fields[ESOD, v], k.fold_excess(fields[IL4, v], il4_wt), chi,
            k.il10_suppression(il10_ex, p), p)
        density = contact[_C_MG, v]
        renewal, loss = k.microglia_turnover(density, p)
        prolif = k.microglia_proliferation(activating, k.microglia_room(density, p), p)
        st = mg_state[i]
        h0 = k.select(st == M0, 0.0, resolution)                        # back to surveillant
        h1 = k.select(st == M0, to_m1, k.select(st == M2, m2_to_m1, 0.0))  # to pro-inflammatory
        h2 = k.select(st == M0, to_m2, 0.0)                             # to protective
        hd = k.select(st == M0, k.positive(renewal), prolif)            # divide
        hx = k.select(st == M0, k.positive(-renewal), loss)             # die
        total = h0 + h1 + h2 + hd + hx
        if total > 0.0 and _draw(key[i], step, _S_MG_EVENT) < -math.expm1(-total * dt):
            u = _draw(key[i], step, _S_MG_WHICH) * total
            if u < h0:
                event[i] = M0
            elif u < h0 + h1:
                event[i] = M1
            elif u < h0 + h1 + h2:
                event[i] = M2
            elif u < h0 + h1 + h2 + hd:
                event[i] = 3
            else:
                event[i] = 4
        if st == M0:
            continue
        # migration up the attractant gradient (central differences, one-sided at the box edge)
        gx = _slope(fields, v, 1, v % nx, nx, dx, mcp_wt)
        gy = _slope(fields, v, nx, (v // nx) % ny, ny, dx, mcp_wt)
        gz = _slope(fields, v, ny * nx, v // (ny * nx), nz, dx, mcp_wt)
        norm = math.sqrt(gx * gx + gy * gy + gz * gz)
        if norm > 0.0:
            signal = fields[DAMAGE, v] + k.fold_excess(fields[MCP1, v], mcp_wt)
            d = k.microglia_migration(norm, signal, 1.0, p) * dt / norm
            move[i, 0] = d * gx
            move[i, 1] = d * gy
            move[i, 2] = d * gz


@njit(cache=True, inline="always")
def _slope(fields, v, stride, j, m, dx, mcp_wt):
    """Slope [1/µm] of the attractant (damage + MCP-1 fold excess) along one axis at voxel v (index j of m)."""
    if m == 1:
        return 0.0
    lo = v - stride if j > 0 else v
    hi = v + stride if j < m - 1 else v
    a_hi = fields[DAMAGE, hi] + k.fold_excess(fields[MCP1, hi], mcp_wt)
    a_lo = fields[DAMAGE, lo] + k.fold_excess(fields[MCP1, lo], mcp_wt)
    return (a_hi - a_lo) / ((hi - lo) // stride * dx)


@njit(cache=True, parallel=True)
def _integrate(n, dt, ctype, voxel, alive, genotype, load, reactive, P, fields, contact):
    """Misfolded load of every cell (Heun) and astrocyte reactivity (exact for its linear rate)."""
    p0 = P[0]
    ref = k.reference_levels(p0)
    soluble = p0[Param.soluble_mutant_share]
    for i in prange(n):
        if not alive[i]:
            continue
        c = ctype[i]
        p = P[genotype[i]]
        L = load[i]
        if c == MOTOR_NEURON:
            f0 = k.motor_neuron_misfolding(L, p)
            f1 = k.motor_neuron_misfolding(L + dt * f0, p)
        elif c == ASTROCYTE:
            f0 = k.astrocyte_misfolding(L, p)
            f1 = k.astrocyte_misfolding(L + dt * f0, p)
        elif c == MICROGLIA:
            f0 = k.microglia_misfolding(L, p)
            f1 = k.microglia_misfolding(L + dt * f0, p)
        else:
            continue
        if c == ASTROCYTE:
            v = voxel[i]
            chi, _, _ = _local_signals(fields, contact, v, p0, ref)
            burden = k.mutant_burden(L, p[Param.mut_expr_ast], soluble)
            m1 = contact[_C_M1, v]
            at0 = k.astrocyte_reactivity_rate(0.0, burden, chi, m1, p)  # rate(r) = at0 - (at0 - at1)·r
            at1 = k.astrocyte_reactivity_rate(1.0, burden, chi, m1, p)
            beta = at0 - at1
            if beta > 0.0:
                r_inf = at0 / beta
                reactive[i] = r_inf + (reactive[i] - r_inf) * math.exp(-beta * dt)
            else:
                reactive[i] = reactive[i] + at0 * dt
        load[i] = min(max(L + 0.5 * dt * (f0 + f1), 0.0), 1.0)


@njit(cache=True)
def _apply_microglia(n, step, dx, shape, thickness, position, ctype, voxel, alive, genotype, key, load,
                     mg_state, event, move, region, soma_um):
    """Apply switches, deaths, moves and divisions (serial, in cell order); returns the new row count."""
    nz, ny, nx = shape[0], shape[1], shape[2]
    m = n
    for i in range(n):
        e = event[i]
        if not alive[i] or ctype[i] != MICROGLIA:
            continue
        if e == 4:
            alive[i] = False
            continue
        if 0 <= e <= 2:
            mg_state[i] = e
        if move[i, 0] != 0.0 or move[i, 1] != 0.0 or move[i, 2] != 0.0:
            _move_to(i, position[i, 0] + move[i, 0], position[i, 1] + move[i, 1], position[i, 2] + move[i, 2],
                     dx, nz, ny, nx, thickness, position, voxel, region)
        if e == 3:  # the daughter beside its mother, same genotype, state and load
            theta = 2.0 * math.pi * _draw(key[i], step, _S_PLACE_A)
            cz = 0.0
            if nz > 1:
                cz = 2.0 * _draw(key[i], step, _S_PLACE_B) - 1.0
            r = math.sqrt(1.0 - cz * cz)
            position[m, 0] = position[i, 0]
            position[m, 1] = position[i, 1]
            position[m, 2] = position[i, 2]
            voxel[m] = voxel[i]
            _move_to(m, position[i, 0] + soma_um * r * math.cos(theta), position[i, 1] + soma_um * r * math.sin(theta),
                     position[i, 2] + soma_um * cz, dx, nz, ny, nx, thickness, position, voxel, region)
            ctype[m] = MICROGLIA
            alive[m] = True
            genotype[m] = genotype[i]
            key[m] = _mix64(key[i] ^ _mix64(np.uint64(step) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)))
            load[m] = load[i]
            mg_state[m] = mg_state[i]
            m += 1
    return m


@njit(cache=True, inline="always")
def _move_to(i, x, y, z, dx, nz, ny, nx, thickness, position, voxel, region):
    """Move cell i to (x, y, z) [µm] if that point lies in the box and in tissue; else it stays."""
    if x < 0.0 or y < 0.0 or x >= nx * dx or y >= ny * dx:
        return
    if nz > 1 and (z < 0.0 or z >= nz * dx):
        return
    iz = int(z / dx) if nz > 1 else 0
    v = (iz * ny + int(y / dx)) * nx + int(x / dx)
    if region[v] == OUTSIDE:
        return
    position[i, 0] = x
    position[i, 1] = y
    position[i, 2] = z if nz > 1 else 0.5 * thickness
    voxel[i] = v


@njit(cache=True)
def _recruit(m, step, dt, dx, shape, thickness, voxel_keys, tissue_voxels, expected, fields, contact, P,
             in_animal, geno_rows, geno_cum, geno_load, position, ctype, voxel, alive, genotype, key, load,
             mg_state):
    """Surveillant microglia drawn in by MCP-1 (animals only), per tissue voxel in voxel order.

    A voxel expecting ``expected[v]`` microglia at density 1 gains one with probability
    1 - exp(-recruitment · expected · dt), placed uniformly in it; its genotype row is drawn
    from ``geno_rows`` with cumulative probabilities ``geno_cum`` (e.g. Cre in marrow too), and
    its misfolded load is that of the tissue's microglia of its genotype (``geno_load`` per row:
    the mean field's one load per cell type). Returns the new row count.
    """
    if in_animal == 0:
        return m
    p0 = P[0]
    mcp_wt = k.reference_levels(p0)[4]
    nz, ny, nx = shape[0], shape[1], shape[2]
    for j in range(tissue_voxels.shape[0]):
        v = tissue_voxels[j]
        rate = k.microglia_recruitment(k.fold_excess(fields[MCP1, v], mcp_wt), k.microglia_room(contact[_C_MG, v],
                                                                                               p0), p0)
        if rate <= 0.0:
            continue
        if _draw(voxel_keys[v], step, _S_RECRUIT) >= -math.expm1(-rate * expected[v] * dt):
            continue
        iz = v // (ny * nx)
        iy = (v // nx) % ny
        ix = v % nx
        position[m, 0] = (ix + _draw(voxel_keys[v], step, _S_PLACE_A)) * dx
        position[m, 1] = (iy + _draw(voxel_keys[v], step, _S_PLACE_B)) * dx
        position[m, 2] = (iz + _draw(voxel_keys[v], step, _S_PLACE_C)) * dx if nz > 1 else 0.5 * thickness
        voxel[m] = v
        ctype[m] = MICROGLIA
        alive[m] = True
        u = _draw(voxel_keys[v], step, _S_GENO)
        g = geno_rows[geno_rows.shape[0] - 1]
        for r in range(geno_rows.shape[0]):
            if u < geno_cum[r]:
                g = geno_rows[r]
                break
        genotype[m] = g
        key[m] = _mix64(voxel_keys[v] ^ _mix64(np.uint64(step) * np.uint64(0xD1B54A32D192ED03) + np.uint64(7)))
        load[m] = geno_load[g]
        mg_state[m] = M0
        m += 1
    return m


@njit(cache=True)
def _pools(n, dt, ctype, alive, connected, unit, pool, wd_hazard, n0, reinn, P):
    """Collateral reinnervation of each motor pool by its surviving connected axons (``reinnervation_rate``).

    Per pool, as the mean field per animal: capacity ``sprouting_cap`` per connected endplate
    (FF axons weighted ``sprouting_from_ff``), sprouts lost with their parents at the
    weighted withdrawal hazard. ``n0`` motor neurons per pool at the start; ``reinn`` the
    fraction of the pool's endplates held by sprouts (updated in place, Euler).
    """
    p0 = P[0]
    npool = n0.shape[0]
    w = np.zeros(npool)
    wl = np.zeros(npool)
    conn = np.zeros(npool)
    for i in range(n):
        if ctype[i] == MOTOR_NEURON and alive[i] and connected[i]:
            q = pool[i]
            wi = k.select(unit[i] == 0, p0[Param.sprouting_from_ff], 1.0)
            w[q] += wi
            wl[q] += wi * wd_hazard[i]
            conn[q] += 1.0
    for q in range(npool):
        if n0[q] == 0:
            continue
        parent_loss = k.ratio_or_zero(wl[q], w[q], 1e-12)
        connected_share = conn[q] / n0[q]
        orphaned = k.positive(1.0 - connected_share - reinn[q])
        d = k.reinnervation_rate(orphaned, reinn[q], p0[Param.sprouting_cap] * w[q] / n0[q],
                                 p0[Param.sprouting_rate], parent_loss)
        reinn[q] = k.positive(reinn[q] + dt * d)


# ------------------------------------------------------------------ engine
@dataclass
class SpatialEngine:
    """One tissue (one animal's section, slab or block) advanced in steps of ``dt_days``.

    Build it with :func:`alsim.engines.spatial.setup.build_engine`. ``P`` (genotypes,
    parameters): row 0 is the animal's own vector (tissue-wide values are read from it), other
    rows the same animal with another transgene (a Cre-excised cell, a chimera's donor cells,
    a focus of higher expression); ``cells.genotype`` picks each cell's row.
    """

    tissue: Tissue
    cells: CellTable
    P: np.ndarray
    dt_days: float
    seed: int
    rho_ref: np.ndarray              # cells/µm³ of each type at density 1
    initial_counts: np.ndarray       # cells of each type at the start
    unit_counts: np.ndarray          # (3,) motor neurons of each unit type at the start
    pool_counts: np.ndarray          # motor neurons per pool at the start
    start_types: np.ndarray          # cell type of every cell placed at the start
    start_voxels: np.ndarray         # and its voxel
    in_culture: bool = False         # a culture well: no recruitment, no muscle, the factor in the medium
    a1_baseline: float = 0.0         # share of astrocytes neurotoxic from the start (culture)
    glia_density: np.ndarray = field(default_factory=lambda: np.ones(4))  # density of each type (culture)
    tf_medium: float = 0.0           # astrocyte factor in a well's medium [a.u.]
    # conditioned medium fed to a well: (factor in the fresh medium [a.u.], days between changes or None)
    feeding: tuple[float, float | None] | None = None
    recruit_rows: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int8))
    recruit_cum: np.ndarray = field(default_factory=lambda: np.ones(1))
    t: float = 0.0
    step_index: int = 0
    reinn: np.ndarray = None
    muscle: float = 1.0
    umn: float = 1.0
    fields: np.ndarray = None
    contact: np.ndarray = None
    stress: np.ndarray = None
    deaths: int = 0
    # drugs and ablation: (parameter indices (k,), breakpoint times (k, K), factors (k, K)) applied to
    # the untouched rows ``P0`` at the middle of each step (engines.integrate.modulation_factor)
    modulation: tuple | None = None
    P0: np.ndarray = None

    def __post_init__(self):
        nz, ny, nx = self.tissue.shape
        self.nvox = nz * ny * nx
        if self.reinn is None:
            self.reinn = np.zeros(len(self.pool_counts))
        if self.fields is None:
            self.fields = np.zeros((len(FIELDS), self.nvox))
        self._build()
        if self.contact is None:
            self.contact = np.zeros((3, self.nvox))
            self._contacts()
            self._phases_fields()

    # -- setup that is a pure function of the saved state (rebuilt on resume) ---------
    def _build(self):
        p0 = self.P[0]
        spec = np.array([[p0[Param[h]], unit] for _, h, unit, _, _ in _FIELD_SPECS])
        decay = np.where(spec[:, 1] > 0, math.log(2.0) / (spec[:, 0] * np.where(spec[:, 1] > 0, spec[:, 1], 1.0)),
                         spec[:, 0] / DAY_S)
        D = np.array([p0[Param[d]] for _, _, _, d, _ in _FIELD_SPECS])
        shape = self.tissue.shape
        self.solver = SpectralSolver(shape, self.tissue.dx_um, D, decay)
        reach = [p0[Param.microglia_reach], p0[Param.microglia_reach], p0[Param.astrocyte_domain_radius]]
        self.smoother = SpectralSolver(shape, self.tissue.dx_um, np.square(reach), np.ones(3))
        region = self.tissue.region.reshape(-1)
        self.region = np.ascontiguousarray(region)
        self.tissue_mask = region != OUTSIDE
        self.tissue_voxels = np.flatnonzero(self.tissue_mask).astype(np.int64)
        self.grey = region == GREY
        self.home = (region == GREY) | (region == WELL)  # where the reporters average: grey matter, well floor
        self.voxel_keys = np.random.SeedSequence([self.seed, 7]).generate_state(self.nvox, dtype=np.uint64)
        V = self.tissue.voxel_volume_um3
        # concentration per second in a voxel from one cell secreting one unit per (min | day) per unit density
        with np.errstate(divide="ignore"):
            per_cell = np.where(self.rho_ref > 0, 1.0 / (self.rho_ref * V), 0.0)
        self.scale = np.ascontiguousarray(per_cell[:, None] * _PER_S[None, :])
        basal = np.zeros(len(FIELDS))
        b = k.basal_secretion(p0)  # TNF, IL-1β, MCP-1, IL-10, IL-4 per min; reactive species per day
        basal[[TNF, IL1B, MCP1, IL10, IL4]] = np.array(b[:5]) / 60.0
        basal[ROS] = b[5] / DAY_S
        self.basal = basal[:, None] * self.tissue_mask[None, :]
        self.basal_steady = self.solver.steady(self.basal.reshape((len(FIELDS),) + shape)).reshape(len(FIELDS), -1)
        # contact normalisation: the spread of the cells present at the start (density 1 everywhere)
        start = np.zeros((3, self.nvox))
        mg0 = self._initial_mask(MICROGLIA)
        ast0 = self._initial_mask(ASTROCYTE)
        np.add.at(start[_C_MG], self._initial_voxels(mg0), 1.0)
        start[_C_M1] = start[_C_MG]
        np.add.at(start[_C_GLT], self._initial_voxels(ast0), 1.0)
        spread = self._smooth(start)
        floor = 0.05 * np.array([s[self.tissue_mask].mean() if s.any() else 1.0 for s in spread])
        self.norm = 1.0 / np.maximum(spread, floor[:, None])
        # a well's glia stand for their plating density relative to the ventral horn (culture_glia_density)
        self.norm[[_C_MG, _C_M1]] *= self.glia_density[MICROGLIA]
        self.norm[_C_GLT] *= self.glia_density[ASTROCYTE]
        self.expected_mg = spread[_C_MG]  # microglia a voxel holds at density 1

    def _initial_mask(self, ctype):
        return self.start_types == ctype

    def _initial_voxels(self, mask):
        return self.start_voxels[mask]

    def _smooth(self, counts):
        return self.smoother.steady(counts.reshape((3,) + self.tissue.shape)).reshape(3, -1)

    # -- one step -----------------------------------------------------------------
    def _contacts(self):
        c = self.cells
        counts = np.zeros((3, self.nvox))
        _contact_counts(c.n, c.ctype, c.voxel, c.alive, c.genotype, c.reactive, c.mg_state, self.P, counts)
        active = [j for j in range(3) if counts[j].any()]  # e.g. no M1 cell yet: nothing to spread
        spread = np.zeros_like(counts)
        if active:
            spread[active] = self.smoother.steady(counts[active].reshape((len(active),) + self.tissue.shape),
                                                  active).reshape(len(active), -1)
        self.contact = np.ascontiguousarray(spread * self.norm)

    def _steady(self, which, cell_source):
        """Quasi-steady fields of the species ``which``: the basal release's (computed once) plus the
        cells' ``cell_source`` (all species' rows), transformed only for species some cell secretes."""
        self.fields[which] = self.basal_steady[which]
        active = [s for s in which if cell_source[s].any()]
        if active:
            sub = cell_source[active].reshape((len(active),) + self.tissue.shape)
            self.fields[active] += self.solver.steady(sub, active).reshape(len(active), -1)

    @staticmethod
    def _threads(n):
        """All Numba threads for a cell loop over ``n`` >= PARALLEL_MIN_CELLS cells, else one."""
        return contextlib.nullcontext() if n >= PARALLEL_MIN_CELLS else threads_for(0)

    def _cell_rates(self, fn, *args):
        c = self.cells
        rate = np.empty((c.n, len(FIELDS)))  # every row is written by the phase
        with self._threads(c.n):
            fn(c.n, *args, rate)
        return rate

    def _phases_fields(self):
        """Contact fields, then the protective and pro-inflammatory fields (phases 1-3)."""
        c = self.cells
        src = np.zeros_like(self.fields)
        rate = self._cell_rates(_protective, c.ctype, c.alive, c.genotype, c.mg_state, self.P)
        _scatter(c.n, c.voxel, c.alive, rate, self.scale, c.ctype, _PROTECTIVE, src)
        self._steady([IL10, IL4], src)
        rate = self._cell_rates(_proinflammatory, c.ctype, c.voxel, c.alive, c.genotype, c.load, c.reactive,
                                c.mg_state, self.P, self.fields, self.contact, self.a1_baseline)
        _scatter(c.n, c.voxel, c.alive, rate, self.scale, c.ctype, _PROINFLAMMATORY, src)
        if self.in_culture:  # the factor accumulates in the well-mixed medium (Nagai et al. 2007)
            self._steady([TNF, IL1B, MCP1, ROS], src)
            self.fields[TF] = self.tf_medium
            self._tf_made = float(src[TF][self.tissue_mask].mean()) * DAY_S  # per day, per floor volume
        else:
            self._steady([TNF, IL1B, MCP1, ROS, TF], src)

    def modulate(self, params: np.ndarray, times: np.ndarray, values: np.ndarray) -> None:
        """Multiply parameters ``params`` of every genotype row by time-dependent factors (drugs,
        ablation; the mean field's ``Modulation`` of one group): piecewise linear through
        (``times[j]``, ``values[j]``), taken at the middle of each step."""
        self.P0 = self.P.copy()
        self.modulation = (np.asarray(params, np.int64), np.asarray(times, float), np.asarray(values, float))

    def feed(self, factor: float, refresh_days: float | None, end_days: float = math.inf) -> None:
        """Give the well conditioned medium holding ``factor`` now, and fresh medium every
        ``refresh_days`` (None: never again) before ``end_days`` (the end of the experiment: no
        change then), as the mean field's recipient wells are fed."""
        self.feeding = (float(factor), refresh_days, float(end_days))
        self.tf_medium = float(factor)
        self.fields[TF] = self.tf_medium

    def step(self) -> None:
        """Advance the tissue by one step of ``dt_days``."""
        c = self.cells
        dt = self.dt_days
        n = c.n
        if self.modulation is not None:
            idx, times, values = self.modulation
            for j, i in enumerate(idx):
                self.P[:, i] = self.P0[:, i] * modulation_factor(times[j], values[j], self.t + 0.5 * dt)
        self._contacts()
        self._phases_fields()
        withdrew = np.zeros(n, bool)
        died = np.zeros(n, bool)
        wd = np.zeros(n)
        self.stress = np.zeros(n)
        rate = np.empty((n, len(FIELDS)))  # every row is written by _neurons
        with self._threads(n):
            _neurons(n, self.step_index, dt, c.ctype, c.voxel, c.alive, c.genotype, c.key, c.load, c.connected,
                     c.unit, self.P, self.fields, self.contact, float(self.in_culture), withdrew, died, wd,
                     self.stress, rate)
        src = np.zeros_like(self.fields)
        _scatter(n, c.voxel, c.alive, rate, self.scale, c.ctype, _RELEASED, src)
        self._steady([DAMAGE], src)
        e = ESOD
        if src[e].any() or self.fields[e].any():
            self.fields[e] = self.solver.advance(self.fields[e].reshape((1,) + self.tissue.shape),
                                                 src[e].reshape((1,) + self.tissue.shape), dt * DAY_S,
                                                 [e]).reshape(-1)
        c.connected[:n] &= ~withdrew
        c.alive[:n] &= ~died
        self.deaths = int(np.count_nonzero(died & (c.ctype[:n] == MOTOR_NEURON)))
        # microglia
        event = np.full(n, -1, np.int8)
        move = np.zeros((n, 3))
        shape = np.array(self.tissue.shape, np.int64)
        with self._threads(n):
            _microglia(n, self.step_index, dt, self.tissue.dx_um, shape, c.ctype, c.voxel, c.alive, c.genotype,
                       c.key, c.load, c.mg_state, self.P, self.fields, self.contact, self.region, event, move)
        c.grow(n + int(np.count_nonzero(event == 3)) + 1)
        with self._threads(n):
            _integrate(n, dt, c.ctype, c.voxel, c.alive, c.genotype, c.load, c.reactive, self.P, self.fields,
                       self.contact)
        _pools(n, dt, c.ctype, c.alive, c.connected, c.unit, c.pool, wd, self.pool_counts, self.reinn, self.P)
        m = _apply_microglia(n, self.step_index, self.tissue.dx_um, shape, self.tissue.thickness_um, c.position_um,
                             c.ctype, c.voxel, c.alive, c.genotype, c.key, c.load, c.mg_state, event, move,
                             self.region, 8.0)
        c.grow(m + len(self.tissue_voxels))
        in_animal = 0 if self.in_culture else 1
        m2 = _recruit(m, self.step_index, dt, self.tissue.dx_um, shape, self.tissue.thickness_um, self.voxel_keys,
                      self.tissue_voxels, self.expected_mg, self.fields, self.contact, self.P, in_animal,
                      self.recruit_rows, self.recruit_cum, self._microglia_loads(m), c.position_um, c.ctype,
                      c.voxel, c.alive, c.genotype, c.key, c.load, c.mg_state)
        c.n = m2
        p0 = self.P[0]
        if self.in_culture:  # medium: made by the astrocytes, cleared with the medium half-life, exactly
            lam = k.decay_rate(p0[Param.medium_half_life])
            self.tf_medium = self._tf_made / lam + (self.tf_medium - self._tf_made / lam) * math.exp(-lam * dt)
            if self.feeding is not None and self.feeding[1] is not None:
                every = self.feeding[1]  # a medium change at the end of the step that reaches it
                change = math.floor((self.t + dt) / every + 1e-9)
                if change > math.floor(self.t / every + 1e-9) and change * every < self.feeding[2] - 1e-9:
                    self.tf_medium = self.feeding[0]
            self.fields[TF] = self.tf_medium
        else:  # the animal: muscle follows innervation; the corticospinal pool sees tissue-wide activation
            y = self.state_vector()
            self.muscle += dt * k.muscle_rate(self.muscle, asm.innervated_total(y, p0), p0)
            burden = k.mutant_burden(y[asm.State.S_MN], p0[Param.mut_expr_mn], p0[Param.soluble_mutant_share])
            self.umn -= dt * k.corticospinal_hazard(burden, y[asm.State.AST], y[asm.State.M1], p0) * self.umn
        self.t += dt
        self.step_index += 1

    def _microglia_loads(self, m):
        """Mean misfolded load of the live microglia of each genotype row (0 where there are none)."""
        c = self.cells
        live = (c.ctype[:m] == MICROGLIA) & c.alive[:m]
        rows = c.genotype[:m][live]
        total = np.bincount(rows, weights=c.load[:m][live], minlength=len(self.P))
        count = np.bincount(rows, minlength=len(self.P))
        return np.where(count > 0, total / np.maximum(count, 1), 0.0)

    # -- what a lab would measure -----------------------------------------------------
    def state_vector(self) -> np.ndarray:
        """The tissue coarse-grained into the mean field's state (``assembly.State``)."""
        c = self.cells
        n = c.n
        t, alive = c.ctype[:n], c.alive[:n]
        y = np.zeros(asm.N_STATES)

        def mean(mask, a, default=0.0):
            return float(a[:n][mask].mean()) if mask.any() else default

        mn, ast, mg = t == MOTOR_NEURON, t == ASTROCYTE, t == MICROGLIA
        y[asm.State.S_MN] = mean(mn & alive, c.load, mean(mn, c.load))
        y[asm.State.S_AST] = mean(ast & alive, c.load)
        y[asm.State.S_MG] = mean(mg & alive, c.load)
        n_mg0 = max(self.initial_counts[MICROGLIA], 1)
        for s, name in ((M0, "M0"), (M1, "M1"), (M2, "M2")):
            y[asm.State[name]] = np.count_nonzero(mg & alive & (c.mg_state[:n] == s)) / n_mg0
        y[asm.State.AST] = mean(ast & alive, c.reactive)
        y[asm.State.ESOD] = float(self.fields[ESOD][self.home].mean()) if self.home.any() else 0.0
        for u, (a_name, n_name) in enumerate((("A_FF", "N_FF"), ("A_FR", "N_FR"), ("A_S", "N_S"))):
            of_type = mn & (c.unit[:n] == u)
            total = max(self.unit_counts[u], 1)
            y[asm.State[a_name]] = np.count_nonzero(of_type & alive) / total
            y[asm.State[n_name]] = np.count_nonzero(of_type & alive & c.connected[:n]) / total
        shares = self.pool_counts / max(self.pool_counts.sum(), 1)
        y[asm.State.REINN] = float(shares @ self.reinn)
        y[asm.State.MUSCLE] = self.muscle
        y[asm.State.UMN] = self.umn
        y[asm.State.A_IN] = np.count_nonzero((t == INTERNEURON) & alive) / max(self.initial_counts[INTERNEURON], 1)
        y[asm.State.TF_MEDIUM] = self.tf_medium
        return y

    def observe(self) -> np.ndarray:
        """The reporters (``biology.model.REPORTER_NAMES``) of the tissue now.

        The mean field's observer applied to the coarse-grained state (body weight,
        innervation, MN counts, gliosis), with the signals replaced by their spatial values:
        cytokines and reactive species as grey-matter (well-floor) means, motor-neuron stress as the mean
        over surviving motor neurons, the apoptotic share from this step's deaths.
        """
        y = self.state_vector()
        obs = np.empty(len(REPORTER_NAMES))
        observe = asm.well_observe if self.in_culture else asm.animal_observe
        observe(self.t, y, self.P[0], np.zeros(asm.N_SIGNALS), obs)
        R = asm.Reporter
        grey = self.home if self.home.any() else self.tissue_mask
        for r, f in ((R.tnf_pgml, TNF), (R.il1b_pgml, IL1B), (R.mcp1_pgml, MCP1), (R.il10_pgml, IL10),
                     (R.il4_pgml, IL4), (R.ros_fold, ROS), (R.toxic_factor, TF)):
            obs[r] = self.fields[f][grey].mean()
        c = self.cells
        live_mn = (c.ctype[: c.n] == MOTOR_NEURON) & c.alive[: c.n]
        if self.stress is not None and live_mn[: len(self.stress)].any():
            obs[R.mn_stress] = self.stress[live_mn[: len(self.stress)]].mean()
        alpha = obs[R.alpha_mn_surviving]
        per_day = self.deaths / max(self.initial_counts[MOTOR_NEURON], 1) / self.dt_days
        obs[R.apoptotic_fraction] = k.ratio_or_zero(per_day * self.P[0][Param.caspase_to_death_h] / k.H_PER_DAY,
                                                    alpha, 1e-12)
        return obs

    def end_stage_margin(self) -> float:
        """Innervated fraction above the righting-reflex threshold (the mean field's event)."""
        return float(asm.end_stage_margin(self.state_vector(), self.P[0]))

    # -- checkpoint ----------------------------------------------------------------------
    def __getstate__(self):
        state = dict(self.__dict__)
        for name in ("solver", "smoother"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._build()

    def checkpoint(self, path) -> None:
        """Write the whole state to ``path`` (a pickle); :meth:`resume` continues bit for bit."""
        Path(path).write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def resume(path) -> "SpatialEngine":
        """The engine saved by :meth:`checkpoint` (a trusted file written by alsim)."""
        return pickle.loads(Path(path).read_bytes())
