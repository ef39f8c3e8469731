"""Every T1/T2 calibration row passes with the defaults, and fails when its mechanism is broken."""

import pytest

from alsim.experiments.validation import validate

ROWS = ["T1.1", "T1.2", "T1.3", "T1.4", "T1.5", "T1.6", "T1.7", "T1.8", "T1.9", "T1.10",
        "T2.1", "T2.2", "T2.3", "T2.4", "T2.5", "T2.6", "T2.7", "T2.8", "T2.9"]


@pytest.mark.parametrize("row", ROWS)
def test_default_parameters_reproduce_row(calibration_rows, row):
    r = calibration_rows[row]
    assert r.passed, f"{r.id} {r.quantity}: simulated {r.simulated:.4g} outside [{r.low:.4g}, {r.high:.4g}]"


def test_rows_cover_calibration_md(calibration_rows):
    assert sorted(calibration_rows) == sorted(ROWS)


# row -> overrides that switch off the mechanism the row depends on
BREAKS = {
    "T1.1": {"misfold_nucleation": 0.0, "misfold_growth": 0.0},   # no mutant SOD1 misfolding: no disease
    "T1.2": {"individual_cv_b6sjl": 0.0, "righting_threshold_cv": 0.0},  # no between-animal variation
    "T1.3": {"growth_rate": 0.0},                                 # no growth curve: no weight peak
    "T1.4": {"b6_misfold_factor": 1.0},                           # no background effect
    "T1.5": {"individual_cv_b6": 0.0},
    "T1.6": {"female_misfold_factor_b6sjl": 1.05},                # B6SJL females die first
    "T1.7": {"paralysis_weight_loss": 0.0},                       # paralysis costs only muscle mass
    "T1.8": {"muscle_atrophy_tau": 40.0},                         # muscle wastes too slowly: no late phase
    "T1.9": {"righting_threshold_cv": 0.0},                       # one innervation threshold for every mouse
    "T1.10": {"female_misfold_factor_b6": 0.9},                   # a spurious sex effect on C57BL/6
    "T2.1": {"withdrawal_rate_max": 0.0},                         # no axon withdrawal
    "T2.2": {"astro_reactivity_rate": 0.0},                       # astrocytes cannot become reactive
    "T2.3": {"m1_activation_rate": 0.0, "m2_activation_rate": 0.0, "microglia_recruitment": 0.0},
    "T2.4": {"bax_gene_dose": 0.0},                               # no Bax: somas survive (C6)
    "T2.5": {"bax_gene_dose": 0.0},
    "T2.6": {"umn_rate_max": 0.0},                                # corticospinal neurons spared
    "T2.7": {"withdrawal_rate_max": 0.0},
    "T2.8": {"il10_per_m2": 0.5, "il4_per_m2": 0.5},              # protective signals dominate
    "T2.9": {"il10_per_m2": 0.5, "il4_per_m2": 0.5},
}


@pytest.fixture(scope="module")
def broken_rows():
    cache = {}

    def rows(overrides):
        key = tuple(sorted(overrides.items()))
        if key not in cache:
            cache[key] = {r.id: r for r in validate(n_transgenic=120, overrides=overrides, claims=False)}
        return cache[key]

    return rows


@pytest.mark.parametrize("row", ROWS)
def test_breaking_the_mechanism_fails_the_row(broken_rows, row):
    r = broken_rows(BREAKS[row])[row]
    assert not r.passed, f"{row} still passes with {BREAKS[row]}: {r.simulated:.4g}"
