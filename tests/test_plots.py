"""Figures of a run: the files named by the protocol's readouts, as valid PNGs."""

from __future__ import annotations

import pytest

from alsim.experiments.protocol import protocol_from_dict
from alsim.experiments.runner import run
from alsim.report.plots import write_figures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_FIGURES = {"weight.png", "motor_function.png", "mn_counts.png", "innervation.png",
               "gliosis.png", "cytokines.png", "survival_km.png", "onset_km.png", "distributions.png",
               "phases.png"}


def _protocol(**extra):
    return protocol_from_dict({
        "name": "plots-test",
        "seed": 7,
        "duration_days": 200,
        "groups": [
            {"name": "G93A", "genotype": "SOD1-G93A", "background": "B6SJL", "n": 6},
            {"name": "WT", "genotype": "WT", "background": "B6SJL", "n": 6},
        ],
        **extra,
    })


@pytest.fixture(scope="module")
def result():
    return run(_protocol())


@pytest.fixture(autouse=True)
def _close_figures():
    """make_figures returns open figures: close what a test left open."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _assert_png(path):
    assert path.is_file()
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == PNG_SIGNATURE


def test_all_readouts_write_every_figure(result, tmp_path):
    written = write_figures(result, tmp_path / "figs")
    assert {p.name for p in written} == ALL_FIGURES
    assert {p.name for p in (tmp_path / "figs").iterdir()} == ALL_FIGURES
    for path in written:
        _assert_png(path)


def test_survival_only_writes_only_the_km_curve(tmp_path):
    written = write_figures(run(_protocol(readouts=["survival"])), tmp_path)
    assert [p.name for p in written] == ["survival_km.png", "distributions.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["distributions.png", "survival_km.png"]
    _assert_png(written[0])


def test_wild_type_only_skips_transgenic_figures(tmp_path):
    proto = protocol_from_dict({"name": "wt-only", "duration_days": 60,
                                "groups": [{"name": "WT", "genotype": "WT", "n": 3}]})
    written = write_figures(run(proto), tmp_path)
    assert {p.name for p in written} == ALL_FIGURES - {"innervation.png", "cytokines.png", "onset_km.png",
                                                      "distributions.png", "phases.png"}
    for path in written:
        _assert_png(path)


def test_time_courses_stop_when_fewer_than_half_remain(result):
    """The G93A weight curve ends at the last weighing with at least half of the group alive, the
    age axis ends with the last curve, and the figure says what the curves are made of."""
    import numpy as np

    from alsim.report.plots import ALIVE_NOTE, make_figures

    w = result.weighings
    alive = w[w.group == "G93A"].groupby("age_d").size()
    last = alive[alive >= 3].index.max()              # half of 6
    fig = make_figures(result)["weight"]
    ax = fig.axes[0]
    g93a = next(line for line in ax.get_lines() if line.get_label().startswith("G93A"))
    assert np.nanmax(g93a.get_xdata()) == last
    assert alive.index.max() > last                   # the survivors' later weighings are not drawn
    wt_end = max(np.nanmax(line.get_xdata()) for line in ax.get_lines())
    assert ax.get_xlim()[1] == pytest.approx(min(200.0, 1.03 * wt_end))
    assert any(t.get_text() == ALIVE_NOTE for t in fig.texts)


def test_vector_figures_are_written_beside_the_pngs(tmp_path):
    """vector_figures: svg writes each figure also as SVG, with its text as text."""
    res = run(_protocol(readouts=["survival", "weight"], vector_figures="svg"))
    written = {p.name for p in write_figures(res, tmp_path)}
    pngs = {n for n in written if n.endswith(".png")}
    assert {"survival_km.png", "weight.png"} <= pngs and written == pngs | {n[:-4] + ".svg" for n in pngs}
    svg = (tmp_path / "weight.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "Body weight" in svg
    assert all(p.suffix == ".png" for p in write_figures(run(_protocol(readouts=["survival"])), tmp_path / "b"))


def test_large_arms_are_drawn_as_densities_not_dots(monkeypatch):
    """distributions.png: dots while arms are small; above MAX_DOTS animals a violin per arm with
    its quantiles (thousands of dots would merge into a blob), and the note under the axes says which."""
    from matplotlib.collections import PolyCollection

    from alsim.report import plots

    r = run(_protocol(readouts=["survival"]))
    small = plots.make_figures(r)["distributions"]
    assert not [c for ax in small.axes for c in ax.collections if isinstance(c, PolyCollection)]
    assert "one dot per animal" in small.texts[0].get_text()
    monkeypatch.setattr(plots, "MAX_DOTS", 4)   # the 6 mutant animals now count as a large arm
    dense = plots.make_figures(r)["distributions"]
    violins = [c for ax in dense.axes for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(violins) == 2                    # one per panel: onset, survival
    assert "density per arm" in dense.texts[0].get_text()


def test_figures_drawn_in_forked_processes_are_the_same_bytes(result, tmp_path, monkeypatch):
    """write_figures draws in one process per core where it can fork; the files equal one process's,
    and the progress it reports is the same."""
    from alsim.report import plots

    heard = {1: [], 2: []}
    monkeypatch.setattr(plots, "_figure_processes", lambda n: 2)
    forked = write_figures(result, tmp_path / "forked", lambda done, total: heard[2].append((done, total)))
    monkeypatch.setattr(plots, "_figure_processes", lambda n: 1)
    alone = write_figures(result, tmp_path / "alone", lambda done, total: heard[1].append((done, total)))
    assert len(forked) >= 8 and [p.name for p in forked] == [p.name for p in alone]
    # the progress display hears of the start and of each figure saved, in order, either way
    assert heard[1] == heard[2] == [(k, len(forked)) for k in range(len(forked) + 1)]
    for a, b in zip(forked, alone):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_violin_density_matches_a_direct_kernel_density():
    """The binned density of distributions.png equals SciPy's Gaussian KDE (Scott's rule) to within
    0.1 % of its peak, on a bimodal arm and on a small one."""
    import numpy as np
    from scipy.stats import gaussian_kde

    from alsim.report.plots import _violin_stats

    rng = np.random.default_rng(1)
    for v in (np.concatenate([rng.normal(130, 9, 20000), rng.normal(160, 5, 5000)]), rng.normal(130, 9, 301)):
        stats = _violin_stats(v)
        exact = gaussian_kde(v, bw_method="scott")(stats["coords"])
        assert stats["coords"][0] == v.min() and stats["coords"][-1] == v.max() and stats["coords"].size == 200
        assert np.max(np.abs(stats["vals"] - exact)) < 1e-3 * exact.max()
        assert stats["median"] == np.median(v)


def test_a_run_saved_inside_a_pool_worker_draws_its_figures_in_that_worker(tmp_path):
    """A pool's worker is daemonic and may not fork children: its figures are drawn in the worker
    (a fresh interpreter: Numba's threads do not survive a fork of this one)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        names = pool.apply(_save_small_run, (str(tmp_path / "run"),))
    assert names == ["distributions.png", "survival_km.png"]


def _save_small_run(folder: str) -> list[str]:
    from pathlib import Path

    from alsim.report import plots

    assert plots._figure_processes(10) == 1
    return sorted(p.name for p in write_figures(run(_protocol(readouts=["survival"])), Path(folder)))


def test_a_figure_worker_that_dies_fails_the_call_instead_of_hanging(result, tmp_path, monkeypatch):
    """A worker killed while drawing (out of memory, a crash) raises BrokenProcessPool in the run."""
    import os
    import signal
    from concurrent.futures.process import BrokenProcessPool

    from alsim.report import plots

    planned = plots._planned

    def dying(res):
        return [*planned(res)[:2], ("killed", lambda: os.kill(os.getpid(), signal.SIGKILL))]

    monkeypatch.setattr(plots, "_planned", dying)
    monkeypatch.setattr(plots, "_figure_processes", lambda n: 2)
    with pytest.raises(BrokenProcessPool):
        write_figures(result, tmp_path)


def _slow_figures(seconds: float, n: int) -> list:
    """Figure jobs that each take ``seconds`` to draw an empty figure."""
    import time

    from matplotlib.figure import Figure

    def draw() -> Figure:
        time.sleep(seconds)
        return Figure(figsize=(1, 1))

    return [(f"slow{k}", draw) for k in range(n)]


def test_a_failure_while_figures_are_drawn_stops_them(result, tmp_path, monkeypatch):
    """The statistics fail (or the user interrupts) while forked processes draw: the error comes at
    once, no further figure is written and no drawing process is left."""
    import multiprocessing

    from alsim.report import plots

    monkeypatch.setattr(plots, "_planned", lambda res: _slow_figures(1.0, 6))
    monkeypatch.setattr(plots, "_figure_processes", lambda n: 2)
    with pytest.raises(ValueError, match="statistics failed"):
        with plots.drawing_figures(result, tmp_path):
            raise ValueError("statistics failed")
    assert list(tmp_path.iterdir()) == [] and multiprocessing.active_children() == []


def test_an_error_in_the_progress_display_is_raised_not_logged(result, tmp_path, monkeypatch):
    """A progress callback that raises in the pool's thread fails the call, as it does in one process."""
    from alsim.report import plots

    def progress(done, total):
        if done == 2:
            raise RuntimeError("display closed")

    monkeypatch.setattr(plots, "_planned", lambda res: _slow_figures(0.0, 4))
    for processes in (2, 1):
        monkeypatch.setattr(plots, "_figure_processes", lambda n, k=processes: k)
        with pytest.raises(RuntimeError, match="display closed"):
            write_figures(result, tmp_path / str(processes), progress)


def test_km_figure_draws_the_curve_and_the_animals_at_risk(result):
    """Each group's step curve is its Kaplan-Meier estimate, and the row under the axis counts the
    animals still followed at each age tick."""
    import numpy as np

    from alsim.analysis.survival import durations_events, km_curve
    from alsim.report.plots import inputs_of, plot_survival

    inputs = inputs_of(result)
    ctx = {"groups": ["G93A", "WT"], "color": {"G93A": "C0", "WT": "C1"}, "ls": {"G93A": "-", "WT": "--"},
           "duration": 200.0}
    fig = plot_survival(inputs, ctx)
    ax = fig.axes[0]
    t, e = durations_events(result.animals, "survival", 200.0)
    g93a = (result.animals["group"] == "G93A").to_numpy()
    times, survival, _, _ = km_curve(t[g93a], e[g93a])
    curve = next(line for line in ax.get_lines() if line.get_label() == "G93A")
    np.testing.assert_array_equal(curve.get_xdata(), times)
    np.testing.assert_array_equal(curve.get_ydata(), survival)
    texts = [x.get_text() for x in ax.texts]
    row = texts[texts.index("G93A") + 1:texts.index("WT")]
    ticks = [x for x in ax.get_xticks() if ax.get_xlim()[0] <= x <= ax.get_xlim()[1]]
    assert row == [str(int((t[g93a] >= x).sum())) for x in ticks] and row[0] == "6" and row[-1] == "0"


def test_the_modules_a_run_writes_with_load_neither_lifelines_nor_scipy_stats():
    """Each costs ~1 s to import: a large run's statistics and figures need neither (a fresh interpreter)."""
    import subprocess
    import sys

    code = ("import sys, alsim.io.stream, alsim.io.store, alsim.analysis.compare, alsim.analysis.survival, "
            "alsim.report.html, alsim.report.plots; print('lifelines' in sys.modules, 'scipy.stats' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False False"
