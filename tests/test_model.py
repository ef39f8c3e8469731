"""The model as data cannot drift from the code: processes, reporters and species are checked
against the kernels and the parameter file."""

import numpy as np

from alsim.biology import kernels
from alsim.biology.model import MODEL, PROCESSES, REPORTER_NAMES, SPECIES, kernel_names, kernel_reads
from alsim.biology.parameters import BY_NAME, IDX
from alsim.engines import assembly as asm

from conftest import typical


def test_every_process_parameter_is_read_by_its_kernel():
    for pr in PROCESSES:
        assert pr.parameter in IDX, pr
        assert pr.sign in ("+", "-"), pr
        assert pr.parameter in pr.reads, f"{pr.source} -> {pr.target}: {pr.parameter} not read by {pr.kernel}"


def test_every_stress_insult_has_a_process():
    stress = set(kernel_reads("motor_neuron_stress"))
    assert stress == {"stress_cell_autonomous", "stress_toxic_factor", "stress_glutamate", "stress_cytokine",
                      "stress_ros", "stress_protection"}
    assert stress <= {pr.parameter for pr in PROCESSES}


def test_reads_follow_calls_into_other_kernels():
    """A kernel reads what the kernels it calls read (motor_neuron_misfolding -> misfolding_rate)."""
    assert set(kernel_reads("motor_neuron_misfolding")) == {
        "mut_expr_mn", "misfold_nucleation", "misfold_growth", "misfold_clearance"}


def test_every_biological_parameter_is_read_by_a_kernel_or_the_engine():
    """A parameter no kernel reads must be a setting of the assembler, runner or genetics layer."""
    users = MODEL.users()
    engine_or_runner = {
        "share_ff", "share_fr", "gamma_share_chat", "sprouting_rate", "sprouting_cap", "sprouting_from_ff",
        "righting_threshold", "microgliosis_index_activated_weight", "astrogliosis_index_gain", "esod_clearance",
        "caspase_to_death_h", "soluble_mutant_share", "vulnerability_ratio_fr", "vulnerability_ratio_s",
        "astrocytes_present", "microglia_present", "culture_glia_density", "culture_astrocyte_neurotoxic_fraction",
        "medium_half_life", "misfold_noise",
        # genetics (genotypes.animal_vector) and the runner (weighing, litters, wells)
        "b6_misfold_factor", "female_misfold_factor_b6sjl", "female_misfold_factor_b6", "individual_cv_b6sjl",
        "individual_cv_b6", "adult_weight_male_b6sjl", "adult_weight_female_b6sjl", "adult_weight_male_b6",
        "adult_weight_female_b6", "adult_weight_cv", "weighing_noise_g", "g37r_misfold_factor", "culture_well_cv",
        "litter_cv", "righting_threshold_cv", "g37r_expression",
        # spatial-engine constants (diffusion; glutamate's uptake-limited lifetime; the reach of an
        # astrocyte's domain), no mean-field kernel
        "glutamate_half_life", "astrocyte_domain_radius", *(s.diffusion for s in SPECIES)}
    unread = {name for name, used in users.items() if not used}
    assert unread == engine_or_runner


def test_species_name_their_parameters():
    for s in SPECIES:
        assert BY_NAME[s.half_life].value > 0 and BY_NAME[s.diffusion].unit == "um^2/s", s


def test_reporters_are_all_written_by_both_compartments():
    y = asm.initial_state()
    for observe in (asm.animal_observe, asm.well_observe):
        obs = np.full(len(REPORTER_NAMES), np.nan)
        observe(60.0, y, typical(), np.zeros(asm.N_SIGNALS), obs)
        assert np.isfinite(obs).all(), [n for n, v in zip(REPORTER_NAMES, obs) if not np.isfinite(v)]


def test_every_kernel_is_a_process_or_a_building_block():
    used = {pr.kernel for pr in PROCESSES}
    primitives = {"positive", "at_least", "at_most", "select", "ratio_or_zero", "hill", "fold_excess",
                  "saturating", "decay_rate", "quasi_steady", "reference_levels", "basal_secretion",
                  "misfolding_rate", "mutant_burden", "growth_curve", "body_weight", "reinnervation_rate",
                  "glutamate_excess", "contact_density", "a1_share", "unit_stress", "microglia_room",
                  "microglia_turnover", "interneuron_hazard", "motor_neuron_misfolding", "astrocyte_misfolding",
                  "microglia_misfolding", "a1_inducers", "trophic_deprivation_hazard"}
    assert set(kernel_names()) == used | primitives
    assert all(hasattr(getattr(kernels, n), "py_func") for n in used)
