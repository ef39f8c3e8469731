"""Planned contrasts with covariate-adjusted Cox models and a multiplicity correction."""

import numpy as np
import pandas as pd
import pytest

from alsim.analysis.survival import holm
from alsim.experiments.protocol import ProtocolError, load_protocol, protocol_from_dict
from alsim.experiments.runner import run


def test_holm_matches_the_step_down_rule():
    # p sorted 0.01, 0.02, 0.04 with m = 3: 0.03, 0.04, 0.04 (monotone), back in input order
    assert holm(np.array([0.04, 0.01, 0.02])) == pytest.approx([0.04, 0.03, 0.04])
    assert holm(np.array([0.5, 0.6])) == pytest.approx([1.0, 1.0])


@pytest.fixture(scope="module")
def stats():
    from alsim.analysis.survival import survival_report

    p = load_protocol("g93a-knockouts-sex-adjusted")
    animals = run(p).animals
    return animals, survival_report(animals, p.control, p.duration_days, p.contrasts, p.covariates)


def test_the_built_in_protocol_reports_two_adjusted_contrasts(stats):
    _, table = stats
    surv = table[table.endpoint == "survival"]
    assert list(zip(surv.group, surv.reference)) == [("G93A NOX2-/-", "G93A"), ("G93A Bax-/-", "G93A")]
    assert set(surv.adjusted_for) == {"sex + litter (clustered SE)"}
    assert (surv.logrank_p_holm >= surv.logrank_p).all()
    # Bax deletion postpones end stage (Gould et al. 2006): hazard far below 1, interval excludes 1
    bax = surv[surv.group == "G93A Bax-/-"].iloc[0]
    assert bax.hazard_ratio < 0.1 and bax.hr_high < 1.0


def test_the_sex_adjusted_ratio_is_the_lifelines_cox_fit_with_sex(stats):
    from lifelines import CoxPHFitter

    from alsim.analysis.survival import durations_events

    animals, table = stats
    sub = animals[animals.group.isin(["G93A NOX2-/-", "G93A"])]
    t, e = durations_events(sub, "survival", 300.0)
    df = pd.DataFrame({"T": t, "E": e.astype(int), "arm": (sub.group == "G93A NOX2-/-").astype(float).to_numpy(),
                       "sex": (sub.sex == "female").astype(float).to_numpy(), "litter": sub.litter.to_numpy()})
    cph = CoxPHFitter().fit(df, "T", "E", cluster_col="litter")
    row = table[(table.endpoint == "survival") & (table.group == "G93A NOX2-/-")].iloc[0]
    assert row.hazard_ratio == pytest.approx(np.exp(cph.params_["arm"]), rel=1e-9)


@pytest.mark.parametrize("contrasts, message", [
    ([["G93A", "nope"]], "contrasts.0: 'nope' is not a group"),
    ([["G93A", "G93A"]], "contrasts.0: compares 'G93A' with itself"),
    ([["G93A", "WT"], ["G93A", "WT"]], "contrasts: a comparison is listed twice"),
    ([["G93A"]], "contrasts.0"),
])
def test_bad_contrasts_are_refused(contrasts, message):
    data = {"name": "c", "duration_days": 100, "contrasts": contrasts,
            "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 2}, {"name": "WT", "genotype": "WT", "n": 2}]}
    with pytest.raises(ProtocolError, match=message):
        protocol_from_dict(data)


def _factorial_cohort(male_gain: float, female_gain: float, n: int = 60, seed: int = 1) -> pd.DataFrame:
    """A synthetic 2 x 2 (treatment x sex) cohort: survival ~ N(130, 8) d plus each sex's gain."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, treated in (("drug", True), ("vehicle", False)):
        for sex, gain in (("male", male_gain), ("female", female_gain)):
            for t in 130 + (gain if treated else 0.0) + 8.0 * rng.standard_normal(n):
                rows.append({"group": group, "sex": sex, "end_stage_d": t, "onset_d": t - 30,
                             "early_disease_d": t - 10, "non_als_death_d": np.nan})
    return pd.DataFrame(rows)


def test_a_factorial_analysis_finds_a_drug_that_works_in_one_sex_only():
    """Covariates [sex, arm:sex]: the hazard ratio is the drug's in males, and the ratio of the
    females' hazard ratio to the males' exposes an effect confined to males; with the same effect in
    both sexes that ratio's interval holds 1."""
    from alsim.analysis.survival import contrast_statistics

    males_only = contrast_statistics(_factorial_cohort(20.0, 0.0), [["drug", "vehicle"]],
                                     covariates=["sex", "arm:sex"]).iloc[0]
    assert males_only.hazard_ratio < 0.2
    assert males_only.sex_interaction_ratio > 5 and males_only.sex_interaction_p < 1e-4
    assert "arm x sex (hazard ratio: males)" in males_only.adjusted_for
    both = contrast_statistics(_factorial_cohort(20.0, 20.0), [["drug", "vehicle"]],
                               covariates=["sex", "arm:sex"]).iloc[0]
    assert both.sex_interaction_low < 1.0 < both.sex_interaction_high
    plain = contrast_statistics(_factorial_cohort(20.0, 0.0), [["drug", "vehicle"]], covariates=["sex"])
    assert "sex_interaction_ratio" not in plain.columns


def test_the_interaction_needs_its_main_effect():
    data = {"name": "c", "duration_days": 100, "contrasts": [["G93A", "WT"]], "covariates": ["arm:sex"],
            "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 2}, {"name": "WT", "genotype": "WT", "n": 2}]}
    with pytest.raises(ProtocolError, match="covariates: 'arm:sex' \\(the interaction\\) needs 'sex' as well"):
        protocol_from_dict(data)
