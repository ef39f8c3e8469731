"""The runner: reproducibility, sex mix, readout definitions."""

import numpy as np
import pandas as pd
import pytest

from alsim.analysis import readouts as ro
from alsim.experiments import runner
from alsim.experiments.protocol import protocol_from_dict

SMALL = {"name": "small", "seed": 11, "duration_days": 220,
         "groups": [{"name": "tg", "genotype": "SOD1-G93A", "n": 12, "female_fraction": 0.25},
                    {"name": "wt", "genotype": "WT", "n": 3}]}


@pytest.fixture(scope="module")
def small():
    return runner.run(protocol_from_dict(SMALL))


def test_same_protocol_and_seed_give_identical_results(small):
    again = runner.run(protocol_from_dict(SMALL))
    pd.testing.assert_frame_equal(small.animals, again.animals)
    pd.testing.assert_frame_equal(small.timeseries, again.timeseries)
    other = runner.run(protocol_from_dict({**SMALL, "seed": 12}))
    assert not np.allclose(other.animals.end_stage_d[:12], small.animals.end_stage_d[:12])


def test_results_do_not_depend_on_chunking(small, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK", 5)
    chunked = runner.run(protocol_from_dict(SMALL))
    pd.testing.assert_frame_equal(small.animals, chunked.animals)


def test_animals_keep_their_stream_when_the_cohort_grows(small):
    """Animal i's random stream is spawned by its index: adding a group after it changes nothing."""
    bigger = {**SMALL, "groups": SMALL["groups"] + [{"name": "more", "genotype": "SOD1-G93A", "n": 5}]}
    res = runner.run(protocol_from_dict(bigger))
    assert np.array_equal(res.animals.end_stage_d[:15], small.animals.end_stage_d, equal_nan=True)


def test_sex_mix_follows_female_fraction(small):
    tg = small.animals[small.animals.group == "tg"]
    assert (tg.sex == "female").sum() == 3
    assert runner.sexes_for(4, 0.5) == ["male", "female", "male", "female"]
    assert runner.sexes_for(3, 0.0) == ["male"] * 3


def test_wild_type_has_no_disease(small):
    wt = small.animals[small.animals.group == "wt"]
    assert wt.end_stage_d.isna().all() and wt.early_disease_d.isna().all()
    assert np.allclose(wt.alpha_mn_loss_100d, 0.0)


def test_readouts_follow_lab_definitions(small):
    tg = small.animals[small.animals.group == "tg"]
    assert tg.end_stage_d.notna().all() and tg.early_disease_d.notna().any()
    tg = tg[tg.early_disease_d.notna()]  # a fast animal can reach end stage before -10 %
    assert (tg.onset_d < tg.early_disease_d).all() and (tg.early_disease_d < tg.end_stage_d).all()
    np.testing.assert_allclose(tg.early_phase_d, tg.early_disease_d - tg.onset_d)
    # onset is one of the twice-weekly weighing days
    days = ro.weighing_days(220)
    assert np.isin(tg.onset_d, days).all()
    # the weight at early disease is <= 90 % of the peak weighing
    w = small.weighings
    for _, a in tg.iterrows():
        wa = w[w.animal == a.animal].set_index("age_d").weight_g
        assert wa[a.early_disease_d] <= 0.9 * wa.max() + 1e-9
        assert wa.idxmax() == a.onset_d


def test_time_series_end_at_death(small):
    ts = small.timeseries
    last = ts.groupby("animal").age_d.max()
    tg = small.animals.set_index("animal")
    for a, end in tg.end_stage_d.dropna().items():
        assert last[a] <= end < last[a] + 1.0


def test_weight_onset_helper():
    days = np.array([21.0, 24.0, 28.0, 31.0, 35.0])
    w = np.array([[10, 12, 13, 12, 11.5], [10, 11, 12, 13, 14]], dtype=float)
    onset, early = ro.weight_onset(days, w)
    assert onset.tolist() == [28.0, 35.0]
    assert early[0] == 35.0 and np.isnan(early[1])


def test_first_crossing_interpolates():
    t = np.array([0.0, 10.0, 20.0])
    s = np.array([[1.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    out = ro.first_crossing(t, s, 1.5)
    assert out[0] == pytest.approx(15.0) and np.isnan(out[1])


def _litter_protocol(assignment, cv=0.2):
    return protocol_from_dict({**SMALL, "litters": {"size": 4, "cv": cv, "assignment": assignment},
                               "groups": [{"name": "a", "genotype": "SOD1-G93A", "n": 8},
                                          {"name": "b", "genotype": "SOD1-G93A", "n": 8}]})


def test_litters_are_split_across_arms_or_kept_whole():
    matched = runner.run(_litter_protocol("litter_matched")).animals
    whole = runner.run(_litter_protocol("random")).animals
    assert set(matched[matched.group == "a"].litter) == set(matched[matched.group == "b"].litter)
    assert not set(whole[whole.group == "a"].litter) & set(whole[whole.group == "b"].litter)
    assert whole.groupby("litter").size().eq(4).all()


def test_littermates_share_their_litter_factor():
    res = runner.run(_litter_protocol("random", cv=0.3))
    rate = res.parameters["misfold_growth"] / res.parameters["misfold_nucleation"]
    assert np.allclose(rate, rate.iloc[0])  # one factor scales both rates
    flat = runner.run(_litter_protocol("random", cv=0.0)).parameters["misfold_growth"]
    ratio = (res.parameters["misfold_growth"] / flat).to_numpy()
    by_litter = pd.Series(ratio).groupby(res.animals.litter.to_numpy())
    assert (by_litter.std() < 1e-12).all() and pd.Series(ratio).std() > 0.05


def test_background_mortality_draws_non_als_deaths():
    res = runner.run(protocol_from_dict({**SMALL, "background_mortality_per_day": 0.01}))
    d = res.animals.non_als_death_d
    assert d.notna().sum() >= 5 and (d.dropna() <= 220).all()
    assert runner.run(protocol_from_dict(SMALL)).animals.non_als_death_d.isna().all()


def test_within_animal_noise_from_the_protocol():
    noisy = runner.run(protocol_from_dict({**SMALL, "within_animal_noise": 0.02}))
    again = runner.run(protocol_from_dict({**SMALL, "within_animal_noise": 0.02}))
    pd.testing.assert_frame_equal(noisy.animals, again.animals)
    plain = runner.run(protocol_from_dict(SMALL)).animals.end_stage_d[:12]
    assert not np.allclose(noisy.animals.end_stage_d[:12], plain)


def test_readout_columns_are_known_before_the_run(small):
    """Claim criteria are checked on load against these names: they must be what a run produces."""
    design = {"animal", "group", "genotype", "background", "sex", "status", "litter", "non_als_death_d"}
    assert list(small.animals.columns.drop(list(design))) == list(ro.READOUT_COLUMNS)
    wells = runner.run(protocol_from_dict({
        "name": "well", "duration_days": 3,
        "groups": [{"name": "w", "genotype": "WT", "n": 1, "context": "coculture",
                    "feeder": {"cell_type": "astrocytes", "genotype": "SOD1-G93A"}}]})).animals
    assert set(ro.WELL_READOUT_COLUMNS) <= set(wells.columns)


def test_follow_up_ending_before_the_first_weighing_has_no_onset():
    res = runner.run(protocol_from_dict({**SMALL, "duration_days": 20, "save_every_days": 5}))
    assert res.weighings.empty and res.animals.onset_d.isna().all() and res.animals.peak_weight_g.isna().all()
