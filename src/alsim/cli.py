"""Command line: ``alsim run | list | show | validate | design | drugs | params | export``, a thin
layer over the Python API (:mod:`alsim.api`).

Errors a user can cause (bad protocol, unknown genotype or parameter, bad
value, an output folder alsim will not write) print one line naming the field
and value and exit with status 2, writing nothing; they are all found before
anything is simulated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.markup import escape
from rich.table import Table

from ._files import write_whole
from ._text import shown
from .experiments.protocol import ProtocolError, library_names, library_text, load_protocol, protocol_from_dict

DEFAULT_DESIGN_N = "5,10,15,20,30,40,60,80,120,160"
app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="alsim: the innate immune system in ALS (SOD1 mice), simulated.")
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    """Print ``error: <message>`` on one line of stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(' '.join(message.splitlines()))}", highlight=False)
    raise typer.Exit(code)


def _target(out: Path, overwrite: bool) -> Path:
    """The checked output folder (see ``io.store.check_target``), or exit 2."""
    from .io.store import RunFolderError, check_target

    try:
        return check_target(out, overwrite)
    except RunFolderError as e:
        _fail(str(e))


def _parse_sets(sets: list[str]) -> dict[str, float]:
    out = {}
    for item in sets:
        name, sep, value = item.partition("=")
        if not sep:
            _fail(f"--set: expected NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            _fail(f"--set {name}: value must be a number, got {value!r}")
    return out


STAGES = {"pilot": "pilot (summary bins)", "simulate": "simulate, reduce, write", "statistics": "statistics",
          "figures": "figures"}


class _StageProgress:
    """One Rich display for every stage of a run (bar, count, elapsed time, time left); nothing is
    shown when the console is not a terminal."""

    def __init__(self, total_animals: int):
        self.bar = Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=console,
                            transient=True, disable=not console.is_terminal)
        self.tasks = {"simulate": self.bar.add_task(STAGES["simulate"], total=total_animals)}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(STAGES[stage], total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)

    def __enter__(self) -> "_StageProgress":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)


@app.command("run")
def run_cmd(
    protocol: Annotated[str, typer.Argument(help="protocol YAML file or built-in name (see `alsim list`)")],
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="run folder (default runs/<protocol name>)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="override the protocol's seed")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace an existing run folder")] = False,
    workers: Annotated[Optional[int], typer.Option(help="simulate on a local Dask cluster of N processes")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="simulate on the Dask cluster at this address")] = None,
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", help="animals simulated at once")] = None,
    parameters: Annotated[Optional[str], typer.Option(
        "--parameters", help="start from these parameter values (a run's manifest.json, or a YAML/JSON "
                             "mapping name: value); lines and manipulations still apply on top")] = None,
    posterior: Annotated[Optional[int], typer.Option(
        "--posterior", help="run under K draws from the calibrated posterior and report intervals "
                            "(folder runs/<name>-posterior)")] = None,
) -> None:
    """Simulate a protocol and write its run folder chunk by chunk: tables, manifest, figures, summary."""
    from .api import run_to_folder
    from .experiments.protocol import read_parameter_file, with_base_parameters

    try:
        proto = load_protocol(protocol)
        if parameters is not None:
            proto = with_base_parameters(proto, read_parameter_file(parameters))
        if seed is not None and seed < 0:
            raise ProtocolError(f"--seed: must be non-negative, got {seed}")
    except ProtocolError as e:
        _fail(str(e))
    for name, value in (("--workers", workers), ("--chunk-size", chunk_size)):
        if value is not None and value < 1:
            _fail(f"{name}: must be at least 1, got {value}")
    if workers is not None and scheduler is not None:
        _fail("--workers and --scheduler: give one (a local cluster, or the address of a running one)")
    if chunk_size is not None:
        from .experiments.limits import chunk_problem

        problem = chunk_problem(proto, chunk_size)
        if problem is not None:
            _fail(problem)
    if posterior is not None:
        if chunk_size is not None:
            _fail("--chunk-size: a --posterior run simulates each draw's cohort whole")
        if posterior < 2:
            _fail(f"--posterior: needs at least 2 draws, got {posterior}")
        if seed is not None:
            proto = protocol_from_dict({**proto.model_dump(), "seed": seed}, proto.name)
        out_dir = Path(out) if out is not None else Path("runs") / f"{proto.name}-posterior"
        _target(out_dir, overwrite)
        return _posterior_run(proto, posterior, out_dir, overwrite, workers, scheduler)
    out_dir = Path(out) if out is not None else Path("runs") / proto.name
    _target(out_dir, overwrite)
    unit = "wells" if proto.in_culture else "animals"
    console.print(f"[bold]{escape(proto.name)}[/]: {proto.n_animals} {unit}, {len(proto.groups)} "
                  f"group{'s' if len(proto.groups) != 1 else ''}, {proto.duration_days:g} days, "
                  f"seed {proto.seed if seed is None else seed}")
    with _StageProgress(proto.n_animals) as progress:
        run_to_folder(proto, out_dir, seed=seed, overwrite=overwrite, workers=workers, scheduler=scheduler,
                      chunk_size=chunk_size, progress=progress)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    figures = len(list((out_dir / "figures").glob("*.png")))
    console.print((out_dir / "summary.md").read_text(), highlight=False, soft_wrap=True, markup=False)
    console.print(f"wrote {escape(str(out_dir))}/ ({figures} figures) in {manifest['wall_time_s']:.1f} s of simulation",
                  highlight=False)


def _posterior_run(proto, k: int, out_dir: Path, overwrite: bool, workers, scheduler) -> None:
    """``alsim run --posterior K``: the protocol under K posterior draws, with intervals."""
    import time

    from .experiments import posterior as post
    from .experiments.distributed import dask_client
    from .experiments.uncertainty import LEVEL, predict
    from .io.manifest import posterior_manifest
    from .io.store import publishing, write_manifest
    from .report.plots import plot_posterior, save_figure

    try:
        post.load_sample()
    except FileNotFoundError as e:
        _fail(f"--posterior: {e}")
    unit = "wells" if proto.in_culture else "animals"
    console.print(f"[bold]{escape(proto.name)}[/]: {k} posterior draws x {proto.n_animals} {unit}, seed {proto.seed}")
    start = time.perf_counter()
    with _StageProgress(k) as progress, dask_client(scheduler, workers) as client:
        pred = predict(proto, k, progress=lambda done, total: progress("simulate", done, total), client=client)
    wall = time.perf_counter() - start
    with publishing(out_dir, overwrite) as tmp:
        pred.draws.to_csv(tmp / "posterior_draws.csv", index=False)
        pred.means.to_csv(tmp / "posterior_means.csv", index=False)
        pred.summary.to_csv(tmp / "posterior_summary.csv", index=False)
        pred.comparisons.to_csv(tmp / "posterior_comparisons.csv", index=False)
        (tmp / "figures").mkdir()
        save_figure(plot_posterior(pred.summary, pred.comparisons, f"{proto.name}: predictions with uncertainty", k),
                    tmp / "figures" / "posterior_intervals.png")
        write_manifest(tmp, posterior_manifest(proto, k, wall))
    shown_readouts = ["onset_d", "end_stage_d"] if not proto.in_culture else ["mn_loss_vs_control"]
    if proto.claim is not None:
        shown_readouts += [c.readout for c in proto.claim.criteria if c.readout not in shown_readouts]
    pct = f"{100 * LEVEL:.0f} %"
    table = Table("group", "readout", f"median [{pct} interval]", "draws")
    for r in pred.summary[pred.summary.readout.isin(shown_readouts)].itertuples(index=False):
        table.add_row(escape(r.group), r.readout, f"{r.median:.3g} [{r.low:.3g}, {r.high:.3g}]", str(int(r.draws)))
    console.print(table)
    change = pred.comparisons[(pred.comparisons.measure == "change") & pred.comparisons.readout.isin(shown_readouts)]
    change = change.sort_values("readout", key=lambda r: r.map(shown_readouts.index), kind="stable")
    if len(change):
        comp = Table("comparison", "readout", f"change, median [{pct} interval]", "draws")
        for r in change.itertuples(index=False):
            comp.add_row(escape(f"{r.group} vs {r.reference}"), r.readout,
                         f"{100 * r.median:+.1f} % [{100 * r.low:+.1f}, {100 * r.high:+.1f}]", str(int(r.draws)))
        console.print(comp)
    console.print(f"intervals over {k} posterior draws, each a fresh cohort of the protocol's size "
                  f"(parameter and cohort uncertainty); wrote {escape(str(out_dir))}/ in {wall:.1f} s", highlight=False)


@app.command("report")
def report_cmd(
    folder: Annotated[str, typer.Argument(help="a run folder (written by alsim run)")],
) -> None:
    """Write report.html into a run folder: summary, claims, tables, every figure and the manifest in
    one self-contained page that opens from disk."""
    from .report.html import write_report

    path = Path(folder)
    if not (path / "manifest.json").is_file() or not (path / "summary.md").is_file():
        _fail(f"report: {shown(folder)} is not an alsim run folder (no manifest.json and summary.md)")
    console.print(f"wrote {escape(str(write_report(path)))}", highlight=False)


@app.command("export")
def export_cmd(
    fmt: Annotated[str, typer.Argument(help="format: sbml")],
    genotype: Annotated[str, typer.Option(help="line of the typical animal")] = "SOD1-G93A",
    background: Annotated[str, typer.Option(help="B6SJL or C57BL/6")] = "B6SJL",
    sex: Annotated[str, typer.Option(help="male or female")] = "male",
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="file to write (default: standard output)")] = None,
) -> None:
    """Export the model of one typical animal: SBML Level 3 (states as species with rate rules,
    reporters as assignment rules, parameters with units and sources)."""
    from .biology.genotypes import BACKGROUNDS, GENOTYPES, SEXES

    if fmt != "sbml":
        _fail(f"format: only 'sbml' is supported, got {fmt!r}")
    for field, value, known in (("--genotype", genotype, GENOTYPES), ("--background", background, BACKGROUNDS),
                                ("--sex", sex, SEXES)):
        if value not in known:
            _fail(f"{field}: unknown value {value!r} (known: {', '.join(known)})")
    try:
        from .io.sbml import animal_sbml
    except ImportError:  # pragma: no cover - the optional dependencies are missing
        _fail("export sbml needs the optional dependencies: pip install 'alsim[sbml]'")
    text = animal_sbml(genotype, background, sex)
    if out is None:
        sys.stdout.write(text)
        return
    path = Path(out)
    if path.exists() and (path.is_dir() or path.is_symlink()):
        _fail(f"--out: {escape(out)} is a folder or a link, not a file to write")
    write_whole(path, text)
    console.print(f"wrote {escape(out)}", highlight=False)


@app.command("list")
def list_cmd() -> None:
    """List the built-in protocols."""
    from rich.table import Column

    names = library_names()
    # names never wrap or shorten (they are what `alsim run` takes); descriptions wrap instead
    table = Table(Column("name", no_wrap=True, min_width=max(map(len, names))), "groups", "n",
                  Column("description", ratio=1))
    for name in names:
        p = load_protocol(name)
        text = " ".join(p.description.split())
        short = text if len(text) <= 90 else text[:90].rsplit(" ", 1)[0] + " …"
        table.add_row(name, str(len(p.groups)), str(p.n_animals), escape(short))
    console.print(table)


@app.command("show")
def show_cmd(name: Annotated[str, typer.Argument(help="built-in protocol name")]) -> None:
    """Print a built-in protocol's YAML (copy it to start your own)."""
    try:
        text = library_text(name)
    except ProtocolError as e:
        _fail(str(e))
    sys.stdout.write(text)


@app.command("validate")
def validate_cmd(
    n: Annotated[int, typer.Option(help="animals per transgenic group in T1/T2")] = 400,
    set_: Annotated[list[str], typer.Option("--set", help="parameter override NAME=VALUE (repeatable)")] = [],
    only: Annotated[list[str], typer.Option("--only", help="restrict to these studies (repeatable)")] = [],
    posterior: Annotated[Optional[int], typer.Option(
        "--posterior", help="also score every row under K posterior draws and print the share that pass")] = None,
) -> None:
    """Run the calibration studies (T1-T4) and the claims table (C1-C8, genetics, Scott null), and print
    target, simulated, tolerance and pass/fail per row; exit 1 if any row fails."""
    from .experiments.validation import validate, validation_summary

    if n <= 0:
        _fail(f"--n: must be positive, got {n}")
    overrides = _parse_sets(set_)
    try:
        protocol_from_dict({"name": "check", "overrides": overrides,
                            "groups": [{"name": "g", "genotype": "WT", "n": 1}]}, "--set")
    except ProtocolError as e:
        _fail(str(e).replace("--set: overrides: ", "--set: "))
    from .experiments.validation import CALIBRATION_STUDIES, claim_protocols

    known = [*CALIBRATION_STUDIES, *claim_protocols()]
    for name in only:
        if name not in known:
            _fail(f"--only: unknown study {name!r} (known: {', '.join(known)})")
    if posterior is not None and posterior < 2:
        _fail(f"--posterior: needs at least 2 draws, got {posterior}")
    probability = None
    with console.status("simulating calibration studies and claims") as status:
        rows = validate(n_transgenic=n, overrides=overrides, only=only or None,
                        progress=lambda name: status.update(f"simulating {name}"))
        if posterior is not None:
            from .experiments.uncertainty import pass_probabilities

            try:
                probability = pass_probabilities(posterior, n, overrides, only or None, progress=lambda done, k: (
                    status.update(f"posterior draw {done + 1} of {k}") if done < k else None))
            except FileNotFoundError as e:
                _fail(f"--posterior: {e}")
    wide = Console(width=max(console.width, 150), highlight=False)
    columns = ["row", "quantity", "target", "simulated", "band", "result"]
    columns += [f"P(pass), {posterior} draws"] if probability is not None else []
    table = Table(*columns, "source")
    for r in rows:
        sim = f"{r.simulated:.3g}" if abs(r.simulated) < 1e4 else f"{r.simulated:.3e}"
        tol = f"[{r.low:.3g}, {r.high:.3g}]" + (" direction" if r.direction_only else "")
        extra = [f"{probability.get(r.id, float('nan')):.2f}"] if probability is not None else []
        table.add_row(r.id, escape(r.quantity), escape(r.target), sim, escape(tol),
                      "[green]pass[/]" if r.passed else "[bold red]FAIL[/]", *extra, escape(r.source))
    wide.print(table)
    failed = [r.id for r in rows if not r.passed]
    console.print(validation_summary(rows), highlight=False)
    if probability is not None:
        console.print(f"P(pass): the share of {posterior} posterior draws (each with its own cohorts) under which "
                      f"the row passes; mean over rows {probability.mean():.2f}, rows below 0.5: "
                      f"{', '.join(probability.index[probability < 0.5]) or 'none'}", highlight=False)
    if failed:
        console.print(f"failed: {', '.join(failed)}", highlight=False)
        raise typer.Exit(1)


@app.command("design")
def design_cmd(
    protocol: Annotated[str, typer.Argument(help="protocol with a control or planned contrasts")],
    n: Annotated[str, typer.Option(help="animals per arm to evaluate, comma-separated")] = DEFAULT_DESIGN_N,
    studies: Annotated[int, typer.Option(help="simulated studies per group size")] = 2000,
    alpha: Annotated[float, typer.Option(help="significance level")] = 0.05,
    test: Annotated[str, typer.Option(help="logrank (time-to-event) or t (Welch, on survival ages)")] = "logrank",
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="folder (default runs/<name>-design)")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace an existing design folder")] = False,
) -> None:
    """Power analysis by simulation: power vs animals per arm for each planned comparison
    (Holm-adjusted when there are several), n for 80 % power, and the false-positive rate of
    weak designs (small, sex-unbalanced, litters not matched)."""
    from .experiments.design import ALL, design_study
    from .io.manifest import design_manifest
    from .io.store import publishing, write_manifest
    from .report.plots import plot_power, save_figure

    try:
        ns = sorted({int(x) for x in n.split(",") if x.strip()})
    except ValueError:
        _fail(f"--n: expected comma-separated integers, got {n!r}")
    if not ns or ns[0] < 2:
        _fail(f"--n: group sizes must be at least 2, got {n!r}")
    if studies < 10:
        _fail(f"--studies: must be at least 10, got {studies}")
    if not 0 < alpha < 1:
        _fail(f"--alpha: must be between 0 and 1, got {alpha}")
    if test not in ("logrank", "t"):
        _fail(f"--test: must be logrank or t, got {test!r}")
    try:
        proto = load_protocol(protocol)
    except ProtocolError as e:
        _fail(str(e))
    out_dir = Path(out) if out is not None else Path("runs") / f"{proto.name}-design"
    _target(out_dir, overwrite)
    try:
        with console.status(f"simulating {proto.name} and {studies} studies per group size"):
            res = design_study(proto, ns, studies=studies, alpha=alpha, test=test)
    except (ProtocolError, ValueError) as e:
        _fail(str(e))
    with publishing(out_dir, overwrite) as tmp:
        res.power.to_csv(tmp / "power.csv", index=False)
        res.false_positives.to_csv(tmp / "false_positives.csv", index=False)
        (label, effect), = res.effect_d.items() if len(res.effect_d) == 1 else ((proto.name, None),)
        title = f"{label}: simulated power" if effect is None else f"{label}: simulated effect {effect:+.1f} d"
        save_figure(plot_power(res.power, res.n_for_80, title, alpha, res.power.test.iloc[0]), tmp / "power.png")
        write_manifest(tmp, design_manifest(proto, ns, studies, alpha, test, res.wall_time_s))
    wide = res.power.pivot(index="n_per_arm", columns="comparison", values="power")[list(res.n_for_80)]
    table = Table("animals per arm", *wide.columns)
    for n_arm, row in wide.iterrows():
        table.add_row(str(n_arm), *(f"{100 * v:.1f} %" for v in row))
    console.print(table)
    if len(res.effect_d) > 1:
        console.print(f"power after Holm's correction over the {len(res.effect_d)} comparisons; "
                      f"'{ALL}': every one detected in the same study", highlight=False)
    for label, n80 in res.n_for_80.items():
        n80_text = (f"not reached with {max(ns)} per arm" if not np.isfinite(n80) else
                    f"{n80:g} or fewer (the smallest n tried)" if n80 == ns[0] else f"{n80:g}")
        effect = f"simulated effect on mean survival {res.effect_d[label]:+.1f} d; " if label in res.effect_d else ""
        console.print(f"{escape(label)}: {effect}n per arm for 80 % power: {n80_text}", highlight=False)
    fp = Table("design with no true effect", "false-positive rate")
    for r in res.false_positives.itertuples(index=False):
        fp.add_row(r.design, f"{100 * r.false_positive_rate:.1f} %")
    console.print(fp)
    for note in res.notes:
        console.print(f"[yellow]warning:[/yellow] {note}")
    console.print(f"wrote {escape(str(out_dir))}/ in {res.wall_time_s:.1f} s ({studies} studies per group size)",
                  highlight=False)


@app.command("drugs")
def drugs_cmd() -> None:
    """List the drug library: PK, CNS penetration and targets (plus `generic` for any model rate)."""
    from .biology.drugs import DRUGS

    table = Table("drug", "t1/2 (h)", "ka (1/h)", "V (L/kg)", "brain:plasma", "targets (IC50 uM, Imax)")
    for d in DRUGS.values():
        targets = "; ".join(f"{t.parameter} ({t.ic50:g}, {t.imax:g})" for t in d.targets)
        table.add_row(d.name, f"{d.half_life:g}", f"{d.ka:g}", f"{d.volume:g}", f"{d.brain_plasma:g}", targets)
    table.add_row("generic", "half_life_h", "1", "1", "brain_plasma", "target (ic50, imax) from the protocol")
    console.print(table)


@app.command("params")
def params_cmd(
    mechanism: Annotated[Optional[str], typer.Option(
        help="only parameters of this mechanism, or read by this kernel (e.g. microglia, motor_neuron_stress)")] = None,
) -> None:
    """List the model parameters with unit, plausible range, domain (the values an override may
    take), basis, the kernels that read each (from the model object) and source."""
    from .biology.model import MODEL, kernel_names

    users = MODEL.users()
    known = sorted({p.mechanism for p in MODEL.parameters} | set(kernel_names()))
    if mechanism is not None and mechanism not in known:
        _fail(f"--mechanism: unknown mechanism or kernel {mechanism!r} (known: {', '.join(known)})")
    table = Table("name", "value", "unit", "range", "domain", "basis", "mechanism", "read by", "source")
    table.columns[0].no_wrap = True
    for p in MODEL.parameters:
        if mechanism is None or mechanism in (p.mechanism, *users[p.name]):
            domain = f"derived from {p.derived}" if p.derived else str(p.domain)
            table.add_row(p.name, f"{p.value:g}", escape(p.unit), f"{p.range[0]:g}-{p.range[1]:g}", escape(domain),
                          p.basis, p.mechanism, ", ".join(users[p.name]) or "engine / runner", escape(p.source))
    Console(width=max(console.width, 200)).print(table)


if __name__ == "__main__":  # python -m alsim.cli
    app()
