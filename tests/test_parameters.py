import numpy as np
import pytest

from alsim.biology import parameters as prm

# parameters.yaml is append-only: compiled code folds indices in as constants.
FROZEN_PREFIX = (
    "mut_expr_mn", "mut_expr_ast", "mut_expr_mg", "bax_gene_dose", "tnf_gene_dose", "nox2_gene_dose",
    "misfold_nucleation", "misfold_growth", "misfold_clearance", "misfold_rel_ast", "misfold_rel_mg",
    "b6_misfold_factor", "female_misfold_factor_b6sjl", "female_misfold_factor_b6",
    "individual_cv_b6sjl", "individual_cv_b6",
)


def test_order_is_append_only():
    assert prm.NAMES[: len(FROZEN_PREFIX)] == FROZEN_PREFIX


def test_every_parameter_has_provenance():
    for p in prm.PARAMETERS:
        assert p.unit and p.source and p.mechanism, p.name
        assert p.basis in ("sourced", "calibrated"), p.name
        assert p.confidence in ("H", "M", "L"), p.name
        assert p.range[0] <= p.value <= p.range[1], p.name


def test_calibrated_set_is_small_and_named():
    cal = prm.calibrated_names()
    # of 141: T1-T4 need timing, variability, weight, glia and culture knobs; the null results of
    # the claims table (Gowing 2006, 2008; Scott 2008), GFAP-Cre and wild-type marrow (Beers 2008)
    # need the saturations, selectivity and the wild-type microglial switch
    assert 5 <= len(cal) <= 40
    assert "misfold_growth" in cal and "righting_threshold" in cal


def test_overrides_replace_values_and_reject_bad_input():
    v = prm.apply_overrides(prm.default_vector(), {"hill_n": 3.0})
    assert v[prm.IDX["hill_n"]] == 3.0
    assert prm.default_vector()[prm.IDX["hill_n"]] == prm.BY_NAME["hill_n"].value
    with pytest.raises(KeyError, match="no_such"):
        prm.apply_overrides(prm.default_vector(), {"no_such": 1.0})
    with pytest.raises(ValueError, match="hill_n"):
        prm.apply_overrides(prm.default_vector(), {"hill_n": -1.0})
    with pytest.raises(ValueError, match="hill_n"):
        prm.apply_overrides(prm.default_vector(), {"hill_n": np.nan})


def test_every_parameter_has_a_domain_around_its_range():
    for p in prm.PARAMETERS:
        assert p.value in p.domain and p.range[0] in p.domain and p.range[1] in p.domain, p.name
        assert np.nan not in p.domain and np.inf not in p.domain


def test_domains_parse_as_intervals():
    d = prm.Domain.parse("(0, 20]")
    assert 0.0 not in d and 1e-300 in d and 20.0 in d and 20.0001 not in d
    assert str(d) == "(0, 20]" and str(prm.Domain.parse("[0, inf)")) == "[0, inf)"
    with pytest.raises(ValueError, match="not an interval"):
        prm.Domain.parse(">0")


DIVISORS = ("muscle_atrophy_tau", "il10_suppression_k", "microglia_capacity", "microglia_contact_saturation",
            "cytokine_receptor_saturation", "adult_weight_male_b6sjl", "adult_weight_female_b6sjl",
            "adult_weight_male_b6", "adult_weight_female_b6", "toxic_factor_tissue_half_life", "medium_half_life")


@pytest.mark.parametrize("name", DIVISORS)
def test_a_parameter_the_kernel_divides_by_cannot_be_zero(name):
    assert 0.0 not in prm.BY_NAME[name].domain
    assert "must lie in" in prm.override_error(name, 0.0)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_overrides_are_refused(value):
    assert "finite" in prm.override_error("hill_n", value)


def test_derived_and_unknown_parameters_are_refused_with_a_reason():
    assert "computed by the model from adult_weight_<sex>_<background>" in prm.override_error("adult_weight", 50)
    assert "within_animal_noise" in prm.override_error("misfold_noise", 0.1)
    assert "(did you mean 'misfold_growth'?)" in prm.override_error("misfold_grwth", 0.02)
    assert prm.override_error("misfold_growth", 0.02) is None


def _corner_values(p):
    """The ends of a parameter's domain that the kernel must survive (a large value for an open top)."""
    d = p.domain
    low = np.nextafter(d.low, np.inf) if d.low_open else d.low
    return [low, d.high if np.isfinite(d.high) else 1e6]


def test_no_value_in_a_domain_crashes_the_kernel():
    """At either end of every domain an animal and a culture well integrate (their status may be
    'failed', never an exception such as a division by zero inside the compiled code)."""
    from alsim.biology import genotypes as gt
    from alsim.engines.meanfield import solve_cohort
    from alsim.experiments.culture import simulate_wells, well_vector
    from alsim.experiments.protocol import protocol_from_dict

    corners = [(p.name, v) for p in prm.PARAMETERS if p.derived is None for v in _corner_values(p)]
    animals = np.array([gt.animal_vector(prm.default_vector(), "SOD1-G93A", "B6SJL", "male", None, {name: v})
                        for name, v in corners])
    culture = protocol_from_dict({"name": "w", "duration_days": 14, "groups": [
        {"name": "w", "genotype": "SOD1-G93A", "n": 1, "context": "coculture",
         "feeder": {"cell_type": "astrocytes", "genotype": "SOD1-G93A"}}]})
    group = culture.groups[0]
    # the medium terms divide by half-lives; large values only make a well stiff (and slow)
    lows = [(p.name, _corner_values(p)[0]) for p in prm.PARAMETERS if p.derived is None]
    wells = np.tile(well_vector(prm.default_vector(), culture, group, "SOD1-G93A", None), (len(lows), 1))
    for i, (name, v) in enumerate(lows):
        wells[i, prm.IDX[name]] = v
    with np.errstate(all="ignore"):
        solve_cohort(animals, np.arange(0.0, 201.0, 20.0), max_steps=5_000)
        simulate_wells(wells, group, np.array([0.0, 7.0, 14.0]))
