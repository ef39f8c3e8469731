"""Cohorts in chunks: the same numbers whatever the chunking, streamed folders, group summaries,
and the vectorised survival statistics of large runs held to lifelines."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times

import alsim
from alsim.analysis import bands
from alsim.analysis.survival import cox_binary, km_median, logrank_p
from alsim.engines.meanfield import reporter_planes
from alsim.experiments.streams import pcg64_states

SMALL = {"name": "chunks", "seed": 21, "duration_days": 160, "save_every_days": 5, "control": "WT",
         "background_mortality_per_day": 0.002, "readouts": ["survival", "weight", "mn_counts"],
         "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 300, "female_fraction": 0.3},
                    {"name": "WT", "genotype": "WT", "n": 60}]}
TABLES = ("animals.parquet", "parameters.parquet", "weighings.parquet", "timeseries.parquet", "animals.csv")


@pytest.mark.parametrize("seed", [0, 1994, 2**32, 2**63 - 1])
def test_streams_are_numpys_spawned_generators(seed):
    index = np.array([0, 1, 7, 1000, 2**20 + 3, 2**32 - 1])
    expected = [np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(int(i),))).state["state"] for i in index]
    assert [{"state": s, "inc": inc} for s, inc in pcg64_states(seed, index)] == expected


def test_streamed_tables_do_not_depend_on_the_chunk_size(tmp_path):
    folders = [alsim.run_to_folder(SMALL, tmp_path / f"c{size}", chunk_size=size) for size in (37, 256)]
    for name in TABLES:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    saved = alsim.run(SMALL).save(tmp_path / "saved")  # held in memory, then written: the same bytes
    for name in TABLES:
        assert (saved / name).read_bytes() == (folders[0] / name).read_bytes(), name
    back = alsim.read_run(folders[0])
    assert len(back.animals) == 360 and (back.timeseries.sex == "female").any()


def test_a_run_reports_each_stage_from_its_start_to_its_end(tmp_path):
    """The progress display hears every stage of a run: the animals simulated, each statistics
    table (from 0, before the first is computed) and each figure saved (drawn meanwhile)."""
    heard = []
    small = {**SMALL, "groups": [{**g, "n": 20} for g in SMALL["groups"]]}
    out = alsim.run_to_folder(small, tmp_path / "p", progress=lambda *call: heard.append(call))
    stage = {s: [(d, t) for name, d, t in heard if name == s] for s in ("simulate", "statistics", "figures")}
    assert stage["simulate"][-1] == (40, 40)
    assert stage["statistics"] == [(0, 2), (1, 2), (2, 2)]  # comparisons.csv, survival_stats.csv
    figures = len(list((out / "figures").iterdir()))
    assert figures == 4 and stage["figures"] == [(k, figures) for k in range(figures + 1)]
    assert heard.index(("figures", 0, figures)) < heard.index(("statistics", 0, 2))  # drawing starts first


def test_summary_runs_store_group_quantiles(tmp_path):
    tidy = alsim.run({**SMALL, "timeseries": "all"})
    out = alsim.run_to_folder({**SMALL, "timeseries": "summary"}, tmp_path / "s")
    back = alsim.read_run(out)
    assert bands.is_summary(back.timeseries) and bands.is_summary(back.weighings)
    pd.testing.assert_frame_equal(back.animals, tidy.animals)
    # every (group, age, column) counts exactly the animals with a value there (alive, not failed)
    for summary, table in ((back.timeseries, tidy.timeseries), (back.weighings, tidy.weighings)):
        cols = summary.reporter.unique()
        exact = table.groupby(["group", "age_d"])[list(cols)].count().stack()
        n = summary.set_index(["group", "age_d", "reporter"]).n.reindex(exact.index, fill_value=0)
        assert (n.to_numpy() == exact.to_numpy()).all()
    ts = back.timeseries.set_index(["group", "age_d", "reporter"])
    for (group, age, col), row in ts.sample(200, random_state=0).iterrows():
        x = tidy.timeseries.loc[(tidy.timeseries.group == group) & (tidy.timeseries.age_d == age), col]
        x = x.to_numpy(dtype=float)
        assert row.n == x.size and row["mean"] == pytest.approx(x.mean(), rel=1e-5, abs=1e-9)
        for q, name in zip(bands.QUANTILES, bands.QUANTILE_COLUMNS):
            exact = np.quantile(x, q, method="inverted_cdf")
            assert abs(row[name] - exact) <= row.q_resolution + 1e-6 * (1 + abs(exact)), (group, age, col, q)
    assert {p.name for p in (out / "figures").iterdir()} >= {"weight.png", "mn_counts.png", "survival_km.png"}


def test_no_time_series_keeps_animals_and_survival_figures(tmp_path):
    out = alsim.run_to_folder({**SMALL, "timeseries": "none"}, tmp_path / "n")
    back = alsim.read_run(out)
    assert back.timeseries.empty and back.weighings.empty and len(back.animals) == 360
    assert {p.name for p in (out / "figures").iterdir()} == {"survival_km.png", "distributions.png"}


def test_group_summaries_add_up_chunk_by_chunk():
    rng = np.random.default_rng(2)
    values = rng.lognormal(0.0, 0.3, (2, 900, 12))  # (columns, animals, ages)
    values[:, np.arange(12)[None, :] > rng.integers(3, 14, 900)[:, None]] = np.nan  # deaths
    group = np.repeat([0, 1], [500, 400])
    layout = bands.Layout(("a", "b"), np.arange(12.0), ("x", "y"))
    pilot = bands.Partial.empty(layout)
    bands.accumulate(layout, pilot, values[:, :bands.PILOT], group[:bands.PILOT])
    layout = layout.with_bins(pilot)
    whole, parts = bands.Partial.empty(layout), bands.Partial.empty(layout)
    bands.accumulate(layout, whole, values, group)
    for lo in range(0, 900, 97):
        part = bands.Partial.empty(layout)
        bands.accumulate(layout, part, values[:, lo:lo + 97], group[lo:lo + 97])
        parts.add(part)
    for name in ("count", "vmin", "vmax", "hist"):
        assert np.array_equal(getattr(whole, name), getattr(parts, name))
    np.testing.assert_allclose(parts.sums, whole.sums, rtol=1e-13)
    # a chunk's partial that holds only its own groups adds up to the same bytes as a full one
    rows = bands.Partial.empty(layout)
    for lo in range(0, 900, 97):
        present = np.unique(group[lo:lo + 97])
        part = bands.Partial.empty(layout, present)
        assert part.count.shape[0] == present.size
        bands.accumulate(layout, part, values[:, lo:lo + 97], group[lo:lo + 97])
        rows.add(part)
    for name in ("count", "sums", "vmin", "vmax", "hist"):
        assert np.array_equal(getattr(rows, name), getattr(parts, name))
    with pytest.raises(ValueError, match=r"groups \[1\] are not among the partial's rows \[0\]"):
        bands.accumulate(layout, bands.Partial.empty(layout, np.array([0])), values[:, 490:510], group[490:510])

    # padded planes (the engine's output layout) are read in place and give the same bytes
    padded = reporter_planes(2, 900, 12)
    padded[:] = values
    assert not padded.flags.c_contiguous
    again = bands.Partial.empty(layout)
    bands.accumulate(layout, again, padded, group)
    for name in ("count", "sums", "vmin", "vmax", "hist"):
        assert np.array_equal(getattr(again, name), getattr(whole, name))


def test_group_summaries_of_mixed_groups_on_a_gathered_age_grid_match_numpy():
    """Animals of the groups interleaved, ages at every other saved point, an infinite value and
    deaths: each (group, column, age) slot holds the count, sums, extremes and histogram of exactly
    the finite values of its animals alive at that age."""
    rng = np.random.default_rng(8)
    values = rng.lognormal(0.0, 0.4, (3, 301, 20))  # (columns, animals, saved points)
    values[1, 7, 4] = np.inf
    group = rng.integers(0, 3, 301)
    t_idx = np.arange(0, 20, 2)  # layout age j is saved point 2j
    alive = rng.integers(0, 11, 301)
    assert alive[7] > 2  # the infinite value (animal 7, layout age 2) lies where it is read
    layout = bands.Layout(("a", "b", "c"), np.arange(10.0), ("x", "y", "z"))
    layout = bands.Layout(layout.groups, layout.ages, layout.columns, np.full(layout.shape, 0.5),
                          np.full(layout.shape, 2.0 ** -7))  # an exact bin width: 128 bins per unit
    part = bands.Partial.empty(layout)
    bands.accumulate(layout, part, values, group, time_index=t_idx, alive=alive)
    for g in range(3):
        for c in range(3):
            for j in range(10):
                x = values[c, (group == g) & (alive > j), t_idx[j]]
                x = x[np.isfinite(x)]
                assert part.count[g, c, j] == x.size
                np.testing.assert_allclose(part.sums[g, c, j], [x.sum(), (x * x).sum()], rtol=1e-12)
                assert (part.vmin[g, c, j], part.vmax[g, c, j]) == ((x.min(), x.max()) if x.size else (np.inf, -np.inf))
                k = np.clip(np.floor((x - 0.5) * 128.0) + 1, 0, bands.BINS + 1).astype(int)
                assert np.array_equal(part.hist[g, c, j], np.bincount(k, minlength=bands.BINS + 2))
    # every value an animal has while alive is counted, once, but the infinite one
    assert part.count.sum() == sum(((group == g) & (alive > j)).sum() for g in range(3) for j in range(10)) * 3 - 1


def test_ratio_planes_divide_by_each_animals_reference():
    rng = np.random.default_rng(5)
    series = reporter_planes(4, 7, 5)
    series[:2] = rng.lognormal(0.0, 0.5, (2, 7, 5))
    ref = rng.lognormal(0.0, 0.5, (3, 5, 2))  # (references, times, reporters)
    ref_index = rng.integers(0, 3, 7)
    src, ratio = np.array([0, 1, 1, 0]), np.array([False, False, True, True])
    bands.ratios(series, src, ratio, ref, ref_index)
    np.testing.assert_array_equal(series[2], series[1] / ref[ref_index, :, 1])
    np.testing.assert_array_equal(series[3], series[0] / ref[ref_index, :, 0])
    with pytest.raises(ValueError, match="a ratio column must divide a plain column"):
        bands.ratios(series, np.array([0, 1, 3, 0]), ratio, ref, ref_index)


def _survival_data(rng, tied: bool):
    n1, n0 = rng.integers(20, 400, 2)
    t1, t0 = rng.normal(130, 9, n1), rng.normal(126, 9, n0)
    if tied:  # onsets fall on weighing days
        t1, t0 = np.round(t1 / 3.5) * 3.5, np.round(t0 / 3.5) * 3.5
    e1, e0 = rng.random(n1) < 0.9, rng.random(n0) < 0.85
    return t1, t0, e1, e0


@pytest.mark.parametrize("tied", [False, True])
def test_vectorised_survival_statistics_match_lifelines(tied):
    rng = np.random.default_rng(5 + tied)
    for _ in range(8):
        t1, t0, e1, e0 = _survival_data(rng, tied)
        kmf = KaplanMeierFitter().fit(t1, e1)
        ci = median_survival_times(kmf.confidence_interval_)
        assert km_median(t1, e1) == (kmf.median_survival_time_, ci.iloc[0, 0], ci.iloc[0, 1])
        assert logrank_p(t1, t0, e1, e0) == pytest.approx(logrank_test(t1, t0, e1, e0).p_value, rel=1e-12)
        df = pd.DataFrame({"T": np.r_[t1, t0], "E": np.r_[e1, e0].astype(int),
                           "arm": np.r_[np.ones(t1.size), np.zeros(t0.size)]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph = CoxPHFitter().fit(df, "T", "E", fit_options={"precision": 1e-14})
        lo, hi = np.exp(cph.confidence_intervals_.loc["arm"].to_numpy())
        np.testing.assert_allclose(cox_binary(t1, t0, e1, e0), (cph.hazard_ratios_["arm"], lo, hi), rtol=1e-8)
