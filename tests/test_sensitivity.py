"""Global sensitivity (SALib Morris and Sobol) on the scored rows."""

import numpy as np
import pytest

from alsim.biology import parameters as prm
from alsim.experiments import calibration as cal
from alsim.experiments import sensitivity as sa


def test_screened_parameters_leave_out_what_protocols_set():
    names = sa.screened_parameters()
    assert "misfold_growth" in names and "microglia_contact_saturation" in names
    assert not any(n.endswith(("_gene_dose", "_diffusion")) or n.startswith("mut_expr") for n in names)
    assert "individual_cv_b6sjl" not in names and "adult_weight" not in names
    assert 80 <= len(names) <= len(prm.PARAMETERS)


def test_unit_cube_maps_log_over_a_decade_and_linear_otherwise():
    v = sa.from_unit_cube(["misfold_growth", "share_ff"], np.array([0.5, 0.5]))
    lo, hi = prm.BY_NAME["misfold_growth"].range
    assert v["misfold_growth"] == pytest.approx((lo * hi) ** 0.5)
    lo, hi = prm.BY_NAME["share_ff"].range
    assert v["share_ff"] == pytest.approx(0.5 * (lo + hi))


def test_tolerance_is_half_band_or_bound():
    band = cal.Target("X.1", "s", 120.0, 130.0, False, "value", True)
    one_sided = cal.Target("X.2", "s", 0.3, float("inf"), True, "change", False)
    zero = cal.Target("X.3", "s", 0.0, float("inf"), True, "change", False)
    assert sa.tolerance(band) == 5.0 and sa.tolerance(one_sided) == 0.3 and sa.tolerance(zero) == 0.05
    assert sa.tolerance(zero, 0.9) == 0.9 and sa.tolerance(band, 100.0) == 5.0  # one-sided: relative


def test_morris_ranks_the_misfolding_rate_above_an_unread_constant():
    """Survival (T1.1) depends on the misfolding growth rate; it cannot depend on the IL-4
    half-life, which only sets IL-4's spatial reach (fold changes over wild type act)."""
    tgts = [t for t in cal.targets(["g93a-natural-history"]) if t.row == "T1.1"]
    s = sa.morris(["misfold_growth", "il4_half_life"], tgts, trajectories=2)
    assert s.evaluations == 2 * 3 and s.mu_star.shape == (2, 1)
    assert s.mu_star[0, 0] > 1.0          # across its range survival moves by more than a band
    assert s.mu_star[1, 0] < 1e-6
    assert s.uninfluential() == ["il4_half_life"]


def test_a_parameter_whose_effects_a_row_never_defines_is_not_called_uninfluential():
    """Elementary effects are skipped where a row is undefined; a parameter with such a row is
    reported as unmeasured, not as without influence."""
    s = sa.Screening(["a", "b"], ["r1", "r2"], np.array([[0.01, np.nan], [0.01, 0.02]]),
                     np.zeros((2, 2)), 6, np.array([0.0, 0.5]))
    assert s.uninfluential() == ["b"] and s.unmeasured() == ["a"]
    assert s.influence() == pytest.approx([0.01, 0.02])


def test_elementary_effects_follow_the_trajectory_steps():
    # one trajectory of two parameters: x0 -> move parameter 1 -> move parameter 0
    x = np.array([[0.0, 0.0], [0.0, 2 / 3], [2 / 3, 2 / 3]])
    y = np.array([[1.0], [3.0], [np.nan]])
    ee = sa.elementary_effects(x, y, 2)
    assert ee[0, 1, 0] == pytest.approx(3.0) and np.isnan(ee[0, 0, 0])
