"""Survival statistics against lifelines run directly; simulated power against the analytic formula;
false-positive rates of balanced and litter-clustered designs."""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test

from alsim.analysis.design import analytic_power_normal, logrank_many, n_for_power, resample_power
from alsim.analysis.survival import arm_statistics, durations_events, km_curve


def _table(seed=0, n=40, shift=6.0, other_rate=0.004):
    rng = np.random.default_rng(seed)
    g = np.repeat(["ctrl", "trt"], n)
    end = np.r_[rng.normal(130, 9, n), rng.normal(130 + shift, 9, n)]
    other = rng.exponential(1 / other_rate, 2 * n)
    other[other > 200] = np.nan
    return pd.DataFrame({"group": g, "end_stage_d": end, "onset_d": end - 30, "early_disease_d": end - 10,
                         "non_als_death_d": other})


def test_arm_statistics_match_lifelines():
    a = _table()
    res = arm_statistics(a, "ctrl", "survival", follow_up=200.0).set_index("group")
    t, e = durations_events(a, "survival", 200.0)
    c, m = (a.group == "ctrl").to_numpy(), (a.group == "trt").to_numpy()
    for g, mask in (("ctrl", c), ("trt", m)):
        assert res.loc[g, "median_d"] == KaplanMeierFitter().fit(t[mask], e[mask]).median_survival_time_
    assert res.loc["trt", "logrank_p"] == pytest.approx(logrank_test(t[m], t[c], e[m], e[c]).p_value, rel=1e-12)
    df = pd.DataFrame({"T": np.r_[t[m], t[c]], "E": np.r_[e[m], e[c]].astype(int),
                       "arm": np.r_[np.ones(m.sum()), np.zeros(c.sum())]})
    hr = CoxPHFitter().fit(df, "T", "E").hazard_ratios_["arm"]
    assert res.loc["trt", "hazard_ratio"] == pytest.approx(hr, rel=1e-9)
    assert res.loc["trt", "hr_low"] < hr < res.loc["trt", "hr_high"]


def test_km_curve_is_lifelines_curve_and_band():
    """The curve the figures draw: lifelines' survival function and exponential Greenwood band, at
    every distinct time (ties and censoring included)."""
    t, e = durations_events(_table(seed=3), "survival", 145.0)
    t = np.round(t)  # ties
    kmf = KaplanMeierFitter(alpha=0.05).fit(t, e)
    times, survival, low, high = km_curve(t, e, 0.05)
    np.testing.assert_array_equal(times, kmf.survival_function_.index.to_numpy())
    np.testing.assert_allclose(survival, kmf.survival_function_.iloc[:, 0].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(low, kmf.confidence_interval_.iloc[:, 0].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(high, kmf.confidence_interval_.iloc[:, 1].to_numpy(), rtol=1e-9)
    assert 0 < (~e).sum() < e.size and survival[-1] < 1.0


def test_cox_without_a_finite_estimate_is_reported_not_printed():
    """No events in an arm, or complete separation, has no finite Cox maximum: say so, give no HR."""
    a = _table(other_rate=1e-9)
    sep = a.assign(end_stage_d=np.where(a.group == "trt", a.end_stage_d + 200, a.end_stage_d))
    row = arm_statistics(sep, "ctrl", "survival", follow_up=1000.0).set_index("group").loc["trt"]
    assert np.isnan(row.hazard_ratio) and "separated" in row.hr_note
    row = arm_statistics(sep, "ctrl", "survival", follow_up=200.0).set_index("group").loc["trt"]
    assert np.isnan(row.hazard_ratio) and row.hr_note == "not estimable: no events in this arm"
    row = arm_statistics(a, "ctrl", "survival", follow_up=200.0).set_index("group").loc["trt"]
    assert row.hr_note == "" and np.isfinite(row.hazard_ratio)


def test_non_als_deaths_are_censored_unless_counted():
    a = _table(other_rate=0.01)
    t, e = durations_events(a, "survival", 200.0)
    early_other = (a.non_als_death_d < a.end_stage_d).to_numpy()
    assert early_other.any()
    assert not e[early_other].any()                          # censored at the non-ALS death
    np.testing.assert_allclose(t[early_other], a.non_als_death_d[early_other])
    _, e_naive = durations_events(a, "survival", 200.0, count_non_als=True)
    assert e_naive[early_other].all()


def test_vectorised_logrank_equals_lifelines():
    rng = np.random.default_rng(3)
    ta, tb = rng.normal(128, 9, (20, 15)), rng.normal(134, 10, (20, 15))
    ea, eb = ta < 140, tb < 140
    ta, tb = np.minimum(ta, 140), np.minimum(tb, 140)
    p = logrank_many(ta, ea, tb, eb)
    ref = [logrank_test(ta[s], tb[s], ea[s], eb[s]).p_value for s in range(20)]
    np.testing.assert_allclose(p, ref, rtol=1e-9)


@pytest.mark.parametrize("n", [8, 16, 30])
def test_simulated_power_agrees_with_the_analytic_formula(n):
    rng = np.random.default_rng(n)
    pool_c, pool_t = rng.normal(130, 9, 20000), rng.normal(136, 9, 20000)
    ev = np.ones(20000, bool)
    sim = resample_power(pool_c, ev, pool_t, ev, n, 4000, 0.05, rng, test="t")
    assert abs(sim - analytic_power_normal(6.0, 9.0, n, 0.05)) < 0.03


def test_zero_effect_false_positive_rate_is_alpha():
    rng = np.random.default_rng(11)
    pool = rng.normal(130, 9, 20000)
    ev = np.ones(20000, bool)
    fpr = resample_power(pool[:10000], ev[:10000], pool[10000:], ev[10000:], 10, 5000, 0.05, rng)
    assert abs(fpr - 0.05) < 0.015


def test_n_for_power_interpolates():
    assert n_for_power(np.array([10, 20, 30]), np.array([0.5, 0.7, 0.9])) == 25
    assert np.isnan(n_for_power(np.array([10, 20]), np.array([0.1, 0.2])))


def test_design_study_litters_inflate_false_positives():
    from alsim.experiments.design import design_study
    from alsim.experiments.protocol import load_protocol

    res = design_study(load_protocol("design-minocycline"), [10, 30], studies=2000, litter_cv=0.15)
    fp = res.false_positives.set_index("design").false_positive_rate
    balanced = fp[fp.index.str.startswith("balanced")].iloc[0]
    whole = fp[fp.index.str.contains("whole litters")].iloc[0]
    matched = fp[fp.index.str.contains("litter-matched")].iloc[0]
    assert abs(balanced - 0.05) < 0.025
    assert whole > matched + 0.03
    assert res.power.power.iloc[1] > res.power.power.iloc[0]  # 30 per arm detect more often than 10


def test_t_test_on_censored_survival_warns():
    """Welch's t on ages cannot see censoring (non-ALS deaths): the design result says so."""
    from alsim.experiments.design import design_study
    from alsim.experiments.protocol import load_protocol

    proto = load_protocol("design-minocycline")
    assert proto.background_mortality_per_day > 0
    res = design_study(proto, [10], studies=100, test="t")
    assert len(res.notes) == 1 and "censored" in res.notes[0] and "log-rank" in res.notes[0]
    assert design_study(proto, [10], studies=100).notes == ()


def test_design_tables_and_figure_name_the_test(tmp_path, monkeypatch):
    """power.csv and false_positives.csv record the test; power.png's axis names it."""
    import pandas as pd
    from typer.testing import CliRunner

    from alsim.cli import app
    from alsim.report.plots import plot_power

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["design", "design-minocycline", "--test", "t", "--studies", "50",
                                   "--n", "10", "--out", "d"])
    assert res.exit_code == 0, res.output
    power = pd.read_csv(tmp_path / "d" / "power.csv")
    assert set(power.test) == {"Welch t"} and set(pd.read_csv(tmp_path / "d" / "false_positives.csv").test) == {
        "Welch t"}
    fig = plot_power(power, {}, "x", 0.05, power.test.iloc[0])
    assert "Welch t" in fig.axes[0].get_ylabel() and "log-rank" not in fig.axes[0].get_ylabel()


def test_holm_keeps_the_family_wise_error_of_a_multi_arm_study():
    """Two null arms against one shared control: unadjusted, one study in ~9 finds something;
    Holm-adjusted, about alpha (the log-rank's normal approximation itself runs a little above
    alpha at 30 per arm, ~5.7 % per comparison here)."""
    from alsim.analysis.design import resample_study_pvalues
    from alsim.analysis.survival import holm

    rng = np.random.default_rng(3)
    pool = rng.normal(130.0, 10.0, 30000)
    events = np.ones(10000, bool)
    arms = [(pool[:10000], events), (pool[10000:20000], events), (pool[20000:], events)]
    p = resample_study_pvalues(arms, [(1, 0), (2, 0)], 30, 6000, rng)
    assert p.shape == (6000, 2)
    raw = (p < 0.05).any(axis=1).mean()
    adjusted = (holm(p) < 0.05).any(axis=1).mean()
    assert 0.085 < raw < 0.12
    assert 0.04 < adjusted < 0.062 and adjusted < 0.6 * raw


def test_design_of_several_planned_contrasts(tmp_path, monkeypatch):
    """A protocol with two planned contrasts: one power line per contrast, Holm-adjusted, and the
    power to detect both in one study, never above either."""
    import pandas as pd
    from typer.testing import CliRunner

    from alsim.cli import app

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["design", "g93a-knockouts-sex-adjusted", "--studies", "300",
                                   "--n", "4,8,16", "--out", "d"])
    assert res.exit_code == 0, res.output
    power = pd.read_csv(tmp_path / "d" / "power.csv")
    assert list(dict.fromkeys(power.comparison)) == ["G93A NOX2-/- vs G93A", "G93A Bax-/- vs G93A", "all comparisons"]
    assert set(power.adjustment) == {"Holm"}
    wide = power.pivot(index="n_per_arm", columns="comparison", values="power")
    assert (wide["all comparisons"] <= wide.drop(columns="all comparisons").min(axis=1)).all()
    assert wide["G93A Bax-/- vs G93A"].is_monotonic_increasing
    assert "Holm" in res.output and "G93A Bax-/- vs G93A: simulated effect on mean survival +" in res.output
