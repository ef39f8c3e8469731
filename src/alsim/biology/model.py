"""The model as data: parameters, soluble species, processes and reporters in one object.

``MODEL`` is built once from ``parameters.yaml`` and the tables below. The
network diagram (``scripts/draw_network.py``), the parameter tables of the
docs (``scripts/param_table.py``), the "used by" column of ``alsim params``
and the SBML export (``alsim export sbml``) all read it, so none of them can
drift from the code: the parameters a process reads are not written down
here but read off its kernel's compiled code (``Process.reads``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from . import kernels
from .parameters import BY_NAME, NAMES, PARAMETERS, Parameter


@dataclass(frozen=True)
class Reporter:
    """A named measurement of a compartment (Mesa's DataCollector idea, compiled)."""

    name: str
    unit: str
    description: str


REPORTERS: tuple[Reporter, ...] = (
    Reporter("body_weight_g", "g", "body weight: healthy growth times innervation-sustained mass"),
    Reporter("motor_function", "fraction", "innervated fraction of all endplates (own axons and sprouts)"),
    Reporter("innervated_ff", "fraction", "innervated FF endplates (own axons and sprouts)"),
    Reporter("innervated_fr", "fraction", "innervated FR endplates"),
    Reporter("innervated_s", "fraction", "innervated S endplates"),
    Reporter("alpha_mn_surviving", "fraction", "surviving lumbar alpha-motor neurons"),
    Reporter("chat_mn_surviving", "fraction", "surviving ChAT+ motor neurons (alpha and spared gamma)"),
    Reporter("umn_surviving", "fraction", "surviving corticospinal (upper) motor neurons"),
    Reporter("microgliosis_index", "relative to wild type", "microglial activation index (CD11b/Iba1 load)"),
    Reporter("astrogliosis_index", "relative to wild type", "astrocyte activation index (GFAP load)"),
    Reporter("tnf_pgml", "pg/mL", "TNF-alpha in tissue"),
    Reporter("il1b_pgml", "pg/mL", "IL-1beta in tissue"),
    Reporter("mcp1_pgml", "pg/mL", "MCP-1 (CCL2) in tissue"),
    Reporter("il10_pgml", "pg/mL", "IL-10 in tissue"),
    Reporter("il4_pgml", "pg/mL", "IL-4 in tissue"),
    Reporter("ros_fold", "fold of wild type", "NOX2-derived reactive species"),
    Reporter("toxic_factor", "a.u.", "astrocyte-derived MN-selective toxic factor reaching motor neurons"),
    Reporter("mn_stress", "dimensionless", "motor-neuron stress"),
    Reporter("apoptotic_fraction", "fraction", "share of surviving alpha-MNs visibly apoptotic (caspase-3+)"),
    Reporter("misfolded_sod1_mn", "fraction", "misfolded mutant SOD1 load in motor neurons"),
    Reporter("misfolded_sod1_astrocyte", "fraction", "misfolded mutant SOD1 load in astrocytes"),
    Reporter("misfolded_sod1_microglia", "fraction", "misfolded mutant SOD1 load in microglia"),
    Reporter("microglia_surveillant", "density", "surveillant microglia"),
    Reporter("microglia_proinflammatory", "density", "pro-inflammatory microglia"),
    Reporter("microglia_protective", "density", "protective microglia"),
    Reporter("astrocyte_reactive_fraction", "fraction", "reactive astrocytes"),
    Reporter("muscle_mass", "fraction of adult", "innervation-sustained muscle mass"),
    Reporter("interneurons_surviving", "fraction", "surviving interneurons"),
    Reporter("toxic_factor_medium", "a.u.", "astrocyte toxic factor in culture medium (wells only)"),
)
REPORTER_NAMES: tuple[str, ...] = tuple(r.name for r in REPORTERS)


@dataclass(frozen=True)
class Species:
    """A soluble signal: its unit, half-life and diffusion coefficient parameters and source cells."""

    name: str
    unit: str
    half_life: str  # parameter name
    diffusion: str  # parameter name (um^2/s, effective in brain extracellular space)
    made_by: str
    description: str


SPECIES: tuple[Species, ...] = (
    Species("TNF-alpha", "pg/mL", "tnf_half_life", "tnf_diffusion", "pro-inflammatory microglia, reactive astrocytes",
            "pro-inflammatory cytokine (C3)"),
    Species("IL-1beta", "pg/mL", "il1b_half_life", "il1b_diffusion", "pro-inflammatory microglia, reactive astrocytes",
            "pro-inflammatory cytokine (C3)"),
    Species("MCP-1", "pg/mL", "mcp1_half_life", "mcp1_diffusion", "reactive astrocytes, pro-inflammatory microglia",
            "chemokine (CCL2) recruiting microglia (C3)"),
    Species("IL-10", "pg/mL", "il10_half_life", "il10_diffusion", "protective microglia",
            "anti-inflammatory cytokine (C3)"),
    Species("IL-4", "pg/mL", "il4_half_life", "il4_diffusion", "protective microglia",
            "anti-inflammatory cytokine (C3)"),
    Species("reactive species", "fold of wild type", "ros_half_life", "ros_diffusion", "pro-inflammatory microglia",
            "NOX2-derived oxidants (H2O2-equivalent)"),
    Species("toxic factor", "a.u.", "toxic_factor_tissue_half_life", "toxic_factor_diffusion", "astrocytes",
            "MN-selective astrocyte factor (C4)"),
    Species("glutamate", "excess over wild type", "glutamate_half_life", "glutamate_diffusion",
            "neurons (release); astrocytes (GLT-1 uptake)", "excitotoxicity when GLT-1 falls"),
    Species("damage signals", "a.u.", "damage_half_life", "damage_diffusion", "injured motor neurons",
            "ATP/HMGB1-like danger signals activating microglia (C3, C7)"),
    Species("extracellular misfolded SOD1", "a.u.", "esod_clearance", "esod_diffusion", "dying motor neurons",
            "spilled mutant SOD1 activating microglia (slow; a state of the model, cleared per day)"),
)


@dataclass(frozen=True)
class Process:
    """One interaction of the model: ``source`` acts on ``target`` with ``sign`` through
    ``parameter``, computed by the kernel ``kernel`` (a function of ``biology.kernels``)."""

    source: str
    target: str
    sign: str
    parameter: str
    kernel: str
    citation: str

    @property
    def reads(self) -> tuple[str, ...]:
        """Parameters the kernel reads, from its code (names loaded as ``Param.<name>``)."""
        return kernel_reads(self.kernel)


def kernel_reads(kernel: str) -> tuple[str, ...]:
    """Parameters a kernel reads, itself or through kernels it calls, read off its bytecode."""
    seen: set[str] = set()
    found: set[str] = set()

    def walk(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        code = getattr(kernels, name).py_func.__code__
        for n in code.co_names:
            if n in BY_NAME:
                found.add(n)
            elif callable(getattr(kernels, n, None)) and hasattr(getattr(kernels, n), "py_func"):
                walk(n)

    walk(kernel)
    return tuple(n for n in NAMES if n in found)


PROCESSES: tuple[Process, ...] = (
    Process("mutant SOD1 (MN)", "MN stress", "+", "stress_cell_autonomous", "motor_neuron_stress", "C2, C5"),
    Process("mutant SOD1 (astrocyte)", "astrocyte reactivity", "+", "astro_mutant_drive",
            "astrocyte_reactivity_rate", "Feeney 2001"),
    Process("mutant SOD1 (astrocyte)", "toxic factor", "+", "toxic_factor_per_astro", "astrocyte_secretion", "C4"),
    Process("astrocyte reactivity", "toxic factor", "+", "toxic_factor_reactive_gain", "astrocyte_secretion",
            "Liddelow 2017"),
    Process("pro-inflammatory microglia", "toxic factor", "+", "toxic_factor_microglial_gain", "astrocyte_secretion",
            "Liddelow 2017"),
    Process("toxic factor", "MN stress", "+", "stress_toxic_factor", "motor_neuron_stress", "C4"),
    Process("astrocyte reactivity", "glutamate excess", "+", "glt1_loss_max", "astrocyte_glutamate_uptake",
            "Rothstein 1995"),
    Process("glutamate excess", "MN stress", "+", "stress_glutamate", "motor_neuron_stress", "Rothstein 1995"),
    Process("mutant SOD1 (microglia)", "pro-inflammatory microglia", "+", "microglia_mutant_activation_weight",
            "microglia_state_rates", "C5"),
    Process("mutant SOD1 (microglia)", "ROS (NOX2)", "+", "ros_mutant_microglia_gain",
            "proinflammatory_microglia_secretion", "Beers 2006"),
    Process("damage signals", "pro-inflammatory microglia", "+", "m1_activation_rate", "microglia_state_rates",
            "C3, Zhao 2010"),
    Process("damage signals", "protective microglia", "+", "m2_activation_rate", "microglia_state_rates", "Liao 2012"),
    Process("protective microglia", "pro-inflammatory microglia", "+", "m2_to_m1_rate", "microglia_state_rates",
            "Liao 2012"),
    Process("extracellular mutant SOD1", "pro-inflammatory microglia", "+", "esod_activation_weight",
            "microglia_state_rates", "Zhao 2010"),
    Process("damage signals", "pro-inflammatory microglia", "+", "microglia_proliferation", "microglia_proliferation",
            "Gowing 2008"),
    Process("damage signals", "microglial migration", "+", "microglia_migration_speed", "microglia_migration",
            "Haynes 2006"),
    Process("pro-inflammatory microglia", "TNF-a / IL-1b", "+", "tnf_per_m1", "proinflammatory_microglia_secretion",
            "C3"),
    Process("astrocyte reactivity", "TNF-a / IL-1b", "+", "tnf_per_astro", "astrocyte_secretion", "C3"),
    Process("astrocyte reactivity", "MCP-1", "+", "mcp1_per_astro", "astrocyte_secretion", "Henkel 2006"),
    Process("pro-inflammatory microglia", "MCP-1", "+", "mcp1_per_m1", "proinflammatory_microglia_secretion",
            "Sargsyan 2009"),
    Process("MCP-1", "pro-inflammatory microglia", "+", "microglia_recruitment", "microglia_recruitment", "C3"),
    Process("pro-inflammatory microglia", "ROS (NOX2)", "+", "ros_per_m1", "proinflammatory_microglia_secretion",
            "Beers 2006"),
    Process("pro-inflammatory microglia", "astrocyte reactivity", "+", "astro_c1q_drive", "astrocyte_reactivity_rate",
            "Liddelow 2017"),
    Process("TNF-a / IL-1b", "astrocyte reactivity", "+", "astro_cytokine_drive", "astrocyte_reactivity_rate",
            "Liddelow 2017"),
    Process("TNF-a / IL-1b", "pro-inflammatory microglia", "+", "cytokine_receptor_saturation", "cytokine_signal",
            "Gowing 2006"),
    Process("TNF-a / IL-1b", "MN stress", "+", "stress_cytokine", "motor_neuron_stress", "C3"),
    Process("ROS (NOX2)", "MN stress", "+", "stress_ros", "motor_neuron_stress", "C3, Wu 2006"),
    Process("protective microglia", "IL-10 / IL-4", "+", "il10_per_m2", "protective_microglia_secretion", "Liao 2012"),
    Process("IL-10 / IL-4", "MN stress", "-", "stress_protection", "motor_neuron_stress", "Beers 2008"),
    Process("IL-10 / IL-4", "TNF-a / IL-1b", "-", "il10_suppression_k", "il10_suppression", "Moore 2001"),
    Process("MN stress", "axon withdrawal (FF > FR > S)", "+", "withdrawal_rate_max", "motor_neuron_hazards",
            "C1, Pun 2006"),
    Process("MN stress", "Bax apoptosis", "+", "apoptosis_rate_max", "motor_neuron_hazards", "C6, Gould 2006"),
    Process("axon withdrawal (FF > FR > S)", "damage signals", "+", "damp_per_withdrawal", "motor_neuron_release",
            "C7"),
    Process("Bax apoptosis", "damage signals", "+", "damp_per_death", "motor_neuron_release", "C3, C7"),
    Process("Bax apoptosis", "extracellular mutant SOD1", "+", "esod_release", "motor_neuron_release",
            "Urushitani 2006"),
    Process("axon withdrawal (FF > FR > S)", "muscle and body weight", "-", "muscle_atrophy_tau", "muscle_rate",
            "Bodine 2001"),
    Process("MN stress", "upper motor neurons", "-", "umn_rate_max", "corticospinal_hazard", "Zang & Cheema 2002"),
)


@dataclass(frozen=True)
class Model:
    """The whole model as one object: parameters, species, processes, reporters."""

    parameters: tuple[Parameter, ...]
    species: tuple[Species, ...]
    processes: tuple[Process, ...]
    reporters: tuple[Reporter, ...]

    def users(self) -> Mapping[str, tuple[str, ...]]:
        """For each parameter, the kernels that read it (empty for engine and runner settings)."""
        out: dict[str, list[str]] = {p.name: [] for p in self.parameters}
        for name in kernel_names():
            for param in kernel_reads(name):
                out[param].append(name)
        return MappingProxyType({k: tuple(v) for k, v in out.items()})


def kernel_names() -> tuple[str, ...]:
    """Every compiled function of ``biology.kernels``, in source order."""
    return tuple(n for n, f in vars(kernels).items() if hasattr(f, "py_func"))


MODEL = Model(PARAMETERS, SPECIES, PROCESSES, REPORTERS)
