"""What a protocol may ask for, checked when it is loaded, before anything runs.

Every limit is a named constant here, so they can be relaxed in one place.
:func:`resource_problem` estimates a run's memory and work from the protocol alone: the memory
of ``alsim run``, which streams the cohort to disk chunk by chunk and holds one row per animal,
two chunks' trajectories and the group summaries. :func:`in_memory_problem` is the larger
estimate of ``alsim.run``, which also holds every animal's parameters and, with series ``all``,
every animal's time series.
"""

from __future__ import annotations

import math

from ..analysis.readouts import READOUT_COLUMNS, weighing_days
from ..biology.drugs import SAMPLES_PER_DAY
from ..biology.model import REPORTER_NAMES
from ..biology.parameters import N_PARAMS

# --- protocol files -----------------------------------------------------------------
MAX_PROTOCOL_BYTES = 1_000_000  # real protocols are a few kB
MAX_YAML_DEPTH = 50             # nesting of mappings and lists; protocols need about 6
MAX_INT_DIGITS = 4300           # longest integer literal (Python's own str -> int limit)

# --- names ----------------------------------------------------------------------------
MAX_NAME_CHARS = 128            # protocol name: one path component, the default run folder
MAX_GROUP_NAME_CHARS = 120      # group name: labels in tables and figures

# --- one run, in the memory of one process ---------------------------------------------
MAX_ANIMALS = 10_000_000        # animals or wells over all groups
MAX_GROUPS = 200                # groups after sweep expansion
MAX_MEMORY_BYTES = 4 * 2**30    # estimated peak memory of a run (see memory_estimate)
CHUNK_ANIMALS = 2048            # animals simulated together (the runner's chunk)
CHUNKS_IN_FLIGHT = 2            # chunks a run simulates at once in one process (experiments.runner)
MAX_DOSES = 100_000             # boluses over all treatments of all groups
MAX_DOSE_EVALUATIONS = 10**9    # boluses x PK samples of the follow-up (~25 s of NumPy)
MAX_MEDIUM_CHANGES = 10_000     # conditioned-medium refreshes over all culture groups
MAX_SPATIAL_WORK = 2e11         # spatial runs: animals x voxels x cell steps (~1 h on 2 cores)

# --- what a run keeps -------------------------------------------------------------------
TIMESERIES_ALL_MAX_ANIMALS = 5_000  # `timeseries: auto` keeps every animal's rows up to here, a summary above

_ANIMAL_ROW_BYTES = 2 * 8 * (len(READOUT_COLUMNS) + 9)  # per-animal row (numbers, string pointers), twice while
#                                                        # Arrow pieces become one DataFrame
_SUMMARY_COLUMNS = len(REPORTER_NAMES) + 9              # reporters and their *_vs_wt ratios
_MOMENT_BYTES = 8 * 5                                    # count, sum, sum of squares, min, max per summary slot
_TIDY_ROW_BYTES = 4 * _SUMMARY_COLUMNS + 8 * 4           # float32 reporters, animal, age, group and sex pointers


def size_text(n_bytes: float) -> str:
    """Bytes in binary units, e.g. '1.5 TiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def series_mode(protocol) -> str:
    """What a run keeps of the time series: ``all``, ``summary`` or ``none`` (``auto``: all up to
    ``TIMESERIES_ALL_MAX_ANIMALS`` animals, a summary above)."""
    if protocol.timeseries != "auto":
        return protocol.timeseries
    return "all" if protocol.n_animals <= TIMESERIES_ALL_MAX_ANIMALS else "summary"


def time_points(protocol) -> tuple[int, int]:
    """(saved time points, points of the integration grid) of a run, without building either."""
    saved = math.floor(protocol.duration_days / protocol.save_every_days + 1e-9) + 1
    if protocol.in_culture:
        return saved, saved + 1
    return saved, saved + len(weighing_days(protocol.duration_days))


def memory_estimate(protocol, save_every_days: float | None = None, chunk_size: int | None = None) -> int:
    """Bytes held at the peak of ``alsim run`` (streamed; ``save_every_days`` replaces the protocol's):
    one row per animal; the states and reporter planes on the integration grid of each of the
    ``CHUNKS_IN_FLIGHT`` chunks simulated at once (counted as twice the reporters: the ratio planes,
    the states and the readouts' temporaries) and their tidy rows (series ``all``); the group
    summaries: moments per group, saved age and column, and with series ``summary`` their
    histograms (the total and one chunk's). ``chunk_size`` replaces the
    default animals per chunk (``CHUNK_ANIMALS``)."""
    if save_every_days is not None:
        protocol = protocol.model_copy(update={"save_every_days": save_every_days})
    saved, grid = time_points(protocol)
    n = protocol.n_animals
    chunk = min(n, chunk_size or CHUNK_ANIMALS)
    series = "all" if protocol.in_culture else series_mode(protocol)
    total = n * _ANIMAL_ROW_BYTES + CHUNKS_IN_FLIGHT * 8 * chunk * grid * 2 * len(REPORTER_NAMES)
    if series == "all":
        total += CHUNKS_IN_FLIGHT * chunk * saved * _TIDY_ROW_BYTES
    if series != "none":
        slots = len(protocol.groups) * saved * _SUMMARY_COLUMNS
        total += slots * _MOMENT_BYTES
    if series == "summary":
        from ..analysis.bands import BINS

        total += slots * 2 * 4 * (BINS + 2)
    return total


def in_memory_estimate(protocol) -> int:
    """Bytes ``alsim.run`` holds: :func:`memory_estimate` plus every animal's parameters and, with
    series ``all``, every animal's tidy time series and weighings (twice while assembled)."""
    saved, _ = time_points(protocol)
    n = protocol.n_animals
    total = memory_estimate(protocol) + 2 * 8 * n * (N_PARAMS + 1)
    if protocol.in_culture or series_mode(protocol) == "all":
        total += 2 * n * (saved * _TIDY_ROW_BYTES + 4 * 8 * len(weighing_days(protocol.duration_days)))
    return total


def in_memory_problem(protocol) -> str | None:
    """Why ``alsim.run`` cannot hold this protocol's result in memory (one line), or None."""
    memory = in_memory_estimate(protocol)
    if memory <= MAX_MEMORY_BYTES:
        return None
    return (f"groups: alsim.run would hold about {size_text(memory)} in memory ({protocol.n_animals:,} animals), "
            f"over the limit of {size_text(MAX_MEMORY_BYTES)}; stream the run to a folder instead "
            f"(alsim run, or alsim.run_to_folder), or keep a summary of the time series (timeseries: summary)")


def _doses(treatment, duration: float) -> int:
    """Boluses a treatment gives (the length of ``Schedule.dose_times``; 0 in the diet)."""
    schedule = treatment.schedule(duration)
    if schedule.route == "diet":
        return 0
    return max(0, math.ceil((schedule.stop - 1e-9 - schedule.start) / schedule.interval))


def _drug_problem(protocol) -> str | None:
    """Too many boluses, or too much work computing their concentrations."""
    days = math.ceil(protocol.duration_days) + 1
    counts = {f"groups.{g.name}.treatments.{k}.interval_days": _doses(t, protocol.duration_days)
              for g in protocol.groups for k, t in enumerate(g.treatments)}
    if not counts:
        return None
    field = max(counts, key=counts.get)
    total = sum(counts.values())
    if total > MAX_DOSES:
        return f"{field}: {total:,} doses in all, over the limit of {MAX_DOSES:,}"
    work = total * days * SAMPLES_PER_DAY
    if work > MAX_DOSE_EVALUATIONS:
        return (f"{field}: {total:,} doses over {days:,} days need {work:.2e} concentration evaluations, "
                f"over the limit of {MAX_DOSE_EVALUATIONS:.0e}")
    return None


def _medium_problem(protocol) -> str | None:
    """Too many medium changes in conditioned-medium cultures."""
    changes = {f"groups.{g.name}.feeder.refresh_days": math.ceil(protocol.duration_days / g.feeder.refresh_days)
               for g in protocol.groups
               if g.context == "conditioned_medium" and g.feeder.refresh_days is not None}
    total = sum(changes.values())
    if total > MAX_MEDIUM_CHANGES:
        return (f"{max(changes, key=changes.get)}: {total:,} medium changes in all, "
                f"over the limit of {MAX_MEDIUM_CHANGES:,}")
    return None


def resource_problem(protocol) -> str | None:
    """Why a validated protocol cannot run within the limits above (field, estimate and
    limit in one line), or None when it can."""
    n = protocol.n_animals
    if n > MAX_ANIMALS:
        return f"groups: {n:,} animals in all, over the limit of {MAX_ANIMALS:,}"
    memory = memory_estimate(protocol)
    if memory > MAX_MEMORY_BYTES:
        # blame the saving interval when saving as rarely as allowed (every 30 days) would fit
        fits = memory_estimate(protocol, min(30.0, protocol.duration_days)) <= MAX_MEMORY_BYTES
        field = "save_every_days" if fits else "groups"
        return (f"{field}: the run would hold about {size_text(memory)} in memory ({n:,} animals x "
                f"{time_points(protocol)[1]:,} time points), over the limit of {size_text(MAX_MEMORY_BYTES)}; "
                f"simulate fewer animals, save less often or keep less of the time series (timeseries)")
    return _drug_problem(protocol) or _medium_problem(protocol) or _spatial_problem(protocol)


def chunk_problem(protocol, chunk_size: int) -> str | None:
    """Why ``alsim run --chunk-size`` of this protocol would exceed the memory limit, or None."""
    memory = memory_estimate(protocol, chunk_size=chunk_size)
    if memory <= MAX_MEMORY_BYTES:
        return None
    return (f"--chunk-size: {chunk_size:,} animals at once would hold about {size_text(memory)} in memory, "
            f"over the limit of {size_text(MAX_MEMORY_BYTES)}; use a smaller chunk (default {CHUNK_ANIMALS:,})")


def spatial_voxels(tissue) -> int:
    """Voxels of a spatial run's tissue (a protocol's ``tissue:``; None for the default section), without
    building it: the ventral horn box is 800 x 700 µm."""
    geometry = getattr(tissue, "geometry", "section")
    dx = getattr(tissue, "dx_um", 10.0)
    w, h = (800.0, 700.0) if geometry in ("section", "slab") else tissue.size_um
    if geometry == "well":
        h = w
    layers = max(2, round(tissue.thickness_um / dx)) if geometry == "slab" else 1
    return round(w / dx) * round(h / dx) * layers


def _spatial_problem(protocol) -> str | None:
    """A spatial run too large to finish in reasonable time."""
    if protocol.engine != "spatial":
        return None
    voxels = spatial_voxels(protocol.tissue)
    steps = protocol.duration_days / getattr(protocol.tissue, "dt_days", 0.25)
    work = protocol.n_animals * voxels * steps
    if work > MAX_SPATIAL_WORK:
        return (f"tissue: {protocol.n_animals:,} animals x {voxels:,} voxels x {steps:,.0f} steps = {work:.2e}, "
                f"over the limit of {MAX_SPATIAL_WORK:.0e}; use fewer animals, a coarser dx_um or a longer dt_days")
