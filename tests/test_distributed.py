"""Dask: a cohort on 1 or 2 worker processes gives the bytes of the in-process run, and a worker killed
mid-run costs its chunk a rerun, nothing lost or duplicated."""

from __future__ import annotations

import functools
import os
import signal
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

import alsim
from alsim.experiments import cohort, runner
from alsim.experiments.distributed import map_ordered

COHORT = {"name": "dask-cohort", "seed": 8, "duration_days": 150, "save_every_days": 10, "timeseries": "summary",
          "readouts": ["survival"], "control": "WT",
          "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 1600},
                     {"name": "WT", "genotype": "WT", "n": 400}]}
CHUNK = 256
KILLED_CHUNK = 2 * CHUNK  # first animal of the chunk whose worker dies on its first attempt
FILES = ("animals.parquet", "parameters.parquet", "timeseries.parquet", "weighings.parquet")


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("dask") / "in-process"
    alsim.run_to_folder(COHORT, out, chunk_size=CHUNK)
    return _files(out)


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_give_the_bytes_of_the_in_process_run(in_process, tmp_path, workers):
    out = alsim.run_to_folder(COHORT, tmp_path / "run", chunk_size=CHUNK, workers=workers)
    assert _files(out) == in_process


@pytest.mark.parametrize("threads", [1, 2])
def test_chunks_in_threads_give_the_bytes_of_one_at_a_time(in_process, tmp_path, monkeypatch, threads):
    """The in-process run overlaps two chunks in threads where Numba's threading layer allows it; one
    chunk at a time (as with the workqueue layer) gives the same bytes."""
    import numba

    if threads == 2 and numba.threading_layer() not in ("omp", "tbb"):
        pytest.skip(f"Numba's {numba.threading_layer()} layer runs one parallel loop at a time")
    monkeypatch.setattr(runner, "_chunk_threads", lambda: threads)
    out = alsim.run_to_folder(COHORT, tmp_path / "run", chunk_size=CHUNK)
    assert _files(out) == in_process


def test_threads_keep_the_order_a_window_and_the_first_error():
    import threading
    import time

    running, most = set(), [0]
    lock = threading.Lock()

    def slow(shared, k):
        with lock:
            running.add(k)
            most[0] = max(most[0], len(running))
        time.sleep(0.01 * (5 - k % 5))  # later items finish first
        with lock:
            running.discard(k)
        if k == 7:
            raise ValueError("item 7")
        return shared + k

    assert list(map_ordered(slow, 100, range(7), threads=2)) == [100 + k for k in range(7)]
    assert most[0] == 2
    with pytest.raises(ValueError, match="item 7"):
        list(map_ordered(slow, 100, range(12), threads=3))


def _dies_once(plan, animals, marker: str):
    """The chunk task, except that the task of chunk ``KILLED_CHUNK`` kills its worker process
    (SIGKILL, as the kernel's OOM killer would) the first time it runs."""
    if animals[0] == KILLED_CHUNK and not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return cohort.simulate_chunk(plan, animals)


def test_a_killed_worker_costs_a_rerun_not_a_result(in_process, tmp_path, monkeypatch):
    marker = tmp_path / "killed"
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import this test module
    try:
        monkeypatch.setattr(runner, "simulate_chunk", functools.partial(_dies_once, marker=str(marker)))
        out = alsim.run_to_folder(COHORT, tmp_path / "run", chunk_size=CHUNK, workers=2)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert marker.exists()  # the worker did die
    assert _files(out) == in_process


def test_sensitivity_and_the_fit_give_the_same_numbers_on_dask():
    """The calibration's evaluations (a fit's Jacobian columns, Morris points) mapped onto a local
    Dask cluster of two workers: the same numbers as in this process."""
    from alsim.experiments import calibration as cal
    from alsim.experiments import sensitivity as sa
    from alsim.experiments.distributed import dask_client

    tgts = [t for t in cal.targets(["g93a-natural-history"]) if t.row in ("T1.1", "T1.4")]
    names = ["misfold_growth", "b6_misfold_factor"]
    here_fit = cal.fit(names, tgts, max_steps=2)
    here_morris = sa.morris(names, tgts, trajectories=2)
    with dask_client(workers=2) as client:
        there_fit = cal.fit(names, tgts, max_steps=2, client=client)
        there_morris = sa.morris(names, tgts, trajectories=2, client=client)
    assert there_fit.values == here_fit.values and np.array_equal(there_fit.z, here_fit.z)
    assert np.array_equal(there_morris.mu_star, here_morris.mu_star, equal_nan=True)
