"""alsim's one Dask layer: map a pure function over items, here or on a Dask cluster, results in order.

``map_ordered(fn, shared, items, client)`` yields ``fn(shared, item)`` for each item, in the order
of ``items``. Without a client it runs in this process (``threads`` items at once); with one
(``dask_client``), each item is a task on a worker, at most a few per worker thread in flight, so
neither the workers nor this process hold more than a window of results. ``shared`` goes to the
cluster once, as a task of its own: if the worker holding it dies, Dask recomputes it from the
graph. A task lost with its worker is rerun elsewhere (Dask's own bookkeeping; at most
``distributed.scheduler.allowed-failures`` times), and each result is taken exactly once, by
position, so nothing is lost or duplicated. Because ``fn`` is a pure function of its inputs (a
cohort chunk draws each animal's numbers from the animal's own stream), results do not depend on
the number of workers or threads.

The cohort runner maps chunks of animals through it (``experiments.runner.simulate``); calibration
and posterior runs map their own chunk functions through the same function and client.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import Any, Callable, Iterable, Iterator

IN_FLIGHT_PER_THREAD = 2  # tasks queued per worker thread: enough to keep workers busy, few results held


def _identity(x: Any) -> Any:
    """Returns its argument (puts ``shared`` on the cluster as a task Dask can recompute)."""
    return x


def _windowed(submit: Callable[[Any], Any], items: Iterable, window: int) -> Iterator:
    """The results of ``submit(item)`` futures, in the order of ``items``, at most ``window`` in
    flight; each future is released once its result is taken (Dask) and the rest cancelled on exit."""
    todo = iter(items)
    pending = deque(submit(item) for item in islice(todo, window))
    try:
        while pending:
            future = pending.popleft()
            result = future.result()
            if hasattr(future, "release"):  # a Dask future holds its result on the cluster until released
                future.release()
            for item in islice(todo, 1):
                pending.append(submit(item))
            yield result
    finally:
        for future in pending:
            future.cancel()


def map_ordered(fn: Callable[[Any, Any], Any], shared: Any, items: Iterable, client=None,
                threads: int = 1) -> Iterator:
    """``fn(shared, item)`` for each item, yielded in the order of ``items`` (see the module docstring).
    Without a client, ``threads`` > 1 runs that many items at once in threads of this process (for a
    ``fn`` whose compiled loops release the GIL)."""
    if client is None and threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            yield from _windowed(lambda item: pool.submit(fn, shared, item), items, threads)
        return
    if client is None:
        for item in items:
            yield fn(shared, item)
        return
    shared_future = client.submit(_identity, shared, pure=False)
    window = IN_FLIGHT_PER_THREAD * max(1, sum(client.nthreads().values()))
    try:
        yield from _windowed(lambda item: client.submit(fn, shared_future, item, pure=False), items, window)
    finally:
        shared_future.cancel()


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A Dask client: connected to ``scheduler`` (an address such as ``tcp://host:8786``), or to a
    local cluster of ``workers`` processes started here and stopped on exit (each worker one task at
    a time, with this machine's cores shared among them for Numba); None when neither is given."""
    if scheduler is None and workers is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the optional dependency is missing
        raise RuntimeError("--scheduler and --workers need Dask: pip install 'alsim[dask]'") from None
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"NUMBA_NUM_THREADS": str(threads)}) as cluster, Client(cluster) as client:
        yield client


def add_cluster_options(parser, workers: int | None = None) -> None:
    """The scripts' ``--workers N`` (a local cluster; default ``workers``) and ``--scheduler ADDRESS``
    options, which :func:`dask_client` takes."""
    parser.add_argument("--workers", type=int, default=workers, help="evaluate on a local Dask cluster of N processes")
    parser.add_argument("--scheduler", default=None, help="evaluate on the Dask cluster at this address")
