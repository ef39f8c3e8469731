"""The posterior machinery: a coverage test on synthetic data, resume, and worker-independence."""

from __future__ import annotations

import numpy as np
import pytest

from alsim.experiments import calibration as cal
from alsim.experiments import posterior as post

pytest.importorskip("emcee")

NAMES = ("hill_n", "righting_threshold")   # two parameters with linear plausible ranges
SIGMA = np.array([0.05, 0.08, 0.06])


class LinearRows:
    """A synthetic model: three rows, linear in the two parameters' places in their ranges."""

    A = np.array([[1.0, 0.3], [0.2, 1.0], [0.6, -0.5]])

    def __call__(self, values, studies):
        u = post.to_unit_cube(NAMES, values)
        return {f"S.{i + 1}": float(v) for i, v in enumerate(self.A @ u)}


def _targets(y: np.ndarray) -> list[cal.Target]:
    """Published estimates y with their sigma, as the fitting targets carry them."""
    half = cal.Z95 * SIGMA
    return [cal.Target(f"S.{i + 1}", "synthetic", y[i] - half[i], y[i] + half[i], False, "mean", True)
            for i in range(len(y))]


def test_credible_intervals_cover_the_true_values_at_the_nominal_rate():
    """Known parameters drawn from the prior, data simulated from them with the rows' errors, the
    posterior sampled: the 90 % intervals hold the truth in ~90 % of (replicate, parameter) pairs
    (40 replicates x 2 parameters; binomial SD of the rate ~3.4 points)."""
    rng = np.random.default_rng(20261203)
    model, hits = LinearRows(), []
    for rep in range(40):
        truth = rng.uniform(0.0, 1.0, 2)
        y = LinearRows.A @ truth + SIGMA * rng.standard_normal(3)
        lp = post.LogPosterior(NAMES, _targets(y), simulate=model)
        chain = post.sample(lp, np.full(2, 0.5), walkers=12, steps=220, seed=rep, spread=0.1)
        lo, hi = post.credible_interval(chain.u[80:].reshape(-1, 2), 0.9)
        hits += list((lo <= truth) & (truth <= hi))
    rate = float(np.mean(hits))
    assert 0.82 <= rate <= 0.97, rate


def test_a_resumed_chain_equals_one_run_straight_through(tmp_path):
    """Stopped after 15 steps (its checkpoint kept) and run again to 30: the same chain, bit for bit,
    as 30 steps in one go; a checkpoint of another run is refused."""
    y = LinearRows.A @ np.array([0.3, 0.6])
    lp = post.LogPosterior(NAMES, _targets(y), simulate=LinearRows())
    straight = post.sample(lp, np.full(2, 0.5), walkers=8, steps=30, seed=5)
    ckpt = tmp_path / "chain.pkl"
    first = post.sample(lp, np.full(2, 0.5), walkers=8, steps=15, seed=5, checkpoint=ckpt)
    assert first.u.shape == (15, 8, 2)
    resumed = post.sample(lp, np.full(2, 0.5), walkers=8, steps=30, seed=5, checkpoint=ckpt)
    assert np.array_equal(resumed.u, straight.u) and np.array_equal(resumed.log_prob, straight.log_prob)
    with pytest.raises(ValueError, match="written by another run"):
        post.sample(lp, np.full(2, 0.5), walkers=8, steps=30, seed=6, checkpoint=ckpt)


def test_the_chain_does_not_depend_on_the_number_of_workers():
    """In process and on a local Dask cluster of two workers: the same chain."""
    pytest.importorskip("distributed")
    from alsim.experiments.distributed import dask_client

    y = LinearRows.A @ np.array([0.4, 0.5])
    lp = post.LogPosterior(NAMES, _targets(y), simulate=LinearRows())
    here = post.sample(lp, np.full(2, 0.5), walkers=6, steps=6, seed=9)
    with dask_client(workers=2) as client:
        there = post.sample(lp, np.full(2, 0.5), walkers=6, steps=6, seed=9, client=client)
    assert np.array_equal(here.u, there.u)


def test_unit_cube_round_trip():
    values = {"misfold_nucleation": 0.0012, "hill_n": 3.5}
    u = post.to_unit_cube(list(values), values)
    back = post.from_unit_cube(list(values), u)
    assert back == pytest.approx(values, rel=1e-12)


def _small(tmp_path):
    import yaml

    proto = {"name": "small-bax", "seed": 4, "duration_days": 320, "control": "G93A", "timeseries": "none",
             "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 8},
                        {"name": "G93A Bax-/-", "genotype": "SOD1-G93A", "n": 8, "knockouts": ["Bax"]}]}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(proto))
    return path


def test_run_under_posterior_draws_reports_intervals(tmp_path, monkeypatch):
    """`alsim run --posterior K`: K draws of the shipped sample, each a cohort of its own; every group
    and comparison gets a median inside a 95 % interval; the same seed gives the same numbers."""
    import pandas as pd
    from typer.testing import CliRunner

    from alsim.cli import app

    monkeypatch.chdir(tmp_path)
    proto = _small(tmp_path)
    res = CliRunner().invoke(app, ["run", str(proto), "--posterior", "4", "--out", "p1"])
    assert res.exit_code == 0, res.output
    assert "G93A Bax-/- vs G93A" in res.output and "intervals over 4 posterior draws" in res.output
    draws = pd.read_csv(tmp_path / "p1" / "posterior_draws.csv")
    assert len(draws) == 4 and set(post.POSTERIOR_PARAMETERS) <= set(draws.columns)
    assert draws.seed.nunique() == 4
    summary = pd.read_csv(tmp_path / "p1" / "posterior_summary.csv").set_index(["group", "readout"])
    end = summary.loc[("G93A", "end_stage_d")]
    assert end.draws == 4 and end.low < end["median"] < end.high and 110 < end["median"] < 150
    change = pd.read_csv(tmp_path / "p1" / "posterior_comparisons.csv")
    gain = change[(change.readout == "end_stage_d") & (change.measure == "change")].iloc[0]
    assert gain.low > 0.1                                  # Bax deletion extends life in every draw
    assert (tmp_path / "p1" / "figures" / "posterior_intervals.png").is_file()
    assert CliRunner().invoke(app, ["run", str(proto), "--posterior", "4", "--out", "p2"]).exit_code == 0
    again = pd.read_csv(tmp_path / "p2" / "posterior_summary.csv").set_index(["group", "readout"])
    pd.testing.assert_frame_equal(summary, again)


def test_posterior_options_refuse_bad_values(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from alsim.cli import app

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["run", str(_small(tmp_path)), "--posterior", "1"])
    assert res.exit_code == 2 and "--posterior: needs at least 2 draws, got 1" in res.output
    res = CliRunner().invoke(app, ["validate", "--posterior", "0"])
    assert res.exit_code == 2 and "--posterior: needs at least 2 draws, got 0" in res.output


def test_validate_prints_pass_probabilities():
    from typer.testing import CliRunner

    from alsim.cli import app

    res = CliRunner().invoke(app, ["validate", "--only", "c6-bax", "--posterior", "2"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "P(pass), 2 draws" in res.output and "the share of 2 posterior draws" in res.output
