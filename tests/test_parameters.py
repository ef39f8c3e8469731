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
    # of ~116: T1-T4 need timing, variability, glia and culture knobs; the null results of the
    # claims table (Gowing 2006, 2008; Scott 2008) and GFAP-Cre need the saturations and selectivity
    assert 5 <= len(cal) <= 32
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
