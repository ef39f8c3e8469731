"""Replaying a run's parameter set: alsim run --parameters manifest.json."""

import json

import pandas as pd
from typer.testing import CliRunner

from alsim.cli import app

SMALL = """name: replay
seed: 11
duration_days: 200
groups:
  - {name: G93A, genotype: SOD1-G93A, n: 8}
  - {name: WT, genotype: WT, n: 4}
"""


def _run(*args):
    res = CliRunner().invoke(app, ["run", *args])
    return res


def test_a_manifest_replays_the_run_exactly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(SMALL)
    assert _run("p.yaml", "--out", "a").exit_code == 0
    res = _run("a/protocol.yaml", "--parameters", "a/manifest.json", "--out", "b")
    assert res.exit_code == 0, res.output
    assert pd.read_parquet("a/animals.parquet").equals(pd.read_parquet("b/animals.parquet"))


def test_a_changed_parameter_set_keeps_wild_type_littermates_wild_type(tmp_path, monkeypatch):
    """The manifest lists every parameter, transgene expression included; replayed, the lines still
    apply on top, so wild-type mice carry no mutant SOD1 and lose no motor neurons."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(SMALL)
    assert _run("p.yaml", "--out", "a").exit_code == 0
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    m["parameters"]["misfold_growth"]["value"] *= 1.2
    (tmp_path / "m.json").write_text(json.dumps(m))
    assert _run("p.yaml", "--parameters", "m.json", "--out", "b").exit_code == 0
    a, b = pd.read_parquet("a/animals.parquet"), pd.read_parquet("b/animals.parquet")
    tg = b.group == "G93A"
    assert b.loc[tg, "end_stage_d"].mean() < a.loc[tg, "end_stage_d"].mean() - 5   # faster misfolding
    assert (b.loc[~tg, "alpha_mn_loss_100d"].abs() < 1e-9).all()                    # WT stays WT
    replayed = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert replayed["parameters"]["misfold_growth"]["value"] == m["parameters"]["misfold_growth"]["value"]
    assert replayed["protocol"]["base_parameters"] == {"misfold_growth": m["parameters"]["misfold_growth"]["value"]}


def test_bad_parameter_files_are_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(SMALL)
    (tmp_path / "typo.json").write_text('{"misfold_grwth": 0.02}')
    (tmp_path / "text.yaml").write_text("misfold_growth: fast\n")
    for file, message in (("missing.json", "--parameters: file not found"),
                          ("typo.json", "did you mean 'misfold_growth'?"),
                          ("text.yaml", "misfold_growth: expected a number")):
        res = _run("p.yaml", "--parameters", file, "--out", "x")
        assert res.exit_code == 2 and message in res.output and res.output.count("\n") == 1, res.output
    assert not (tmp_path / "x").exists()
