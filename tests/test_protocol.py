"""Protocol validation: one message naming the field and value, exit status 2, nothing written."""

import pytest
from pydantic import ValidationError
import yaml
from typer.testing import CliRunner

import alsim
from alsim.cli import app
from alsim.experiments.protocol import ProtocolError, library_names, load_protocol, protocol_from_dict

GOOD = {"name": "p", "groups": [{"name": "a", "genotype": "SOD1-G93A", "n": 4}]}


def _with(path, value):
    import copy

    d = copy.deepcopy(GOOD)
    target = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return d


@pytest.mark.parametrize("data, message", [
    (_with(("groups", 0, "n"), -3), "groups.0.n: Input should be greater than 0 (got -3)"),
    (_with(("groups", 0, "n"), "4"), "groups.0.n: Input should be a valid integer (got '4')"),
    (_with(("groups", 0, "genotype"), "SOD1-G39A"), "groups.0.genotype: unknown genotype 'SOD1-G39A'"),
    (_with(("groups", 0, "background"), "FVB"), "groups.0.background: Input should be 'B6SJL' or 'C57BL/6'"),
    (_with(("groups", 0, "female_fraction"), 1.5), "groups.0.female_fraction: Input should be less than or equal to 1"),
    (_with(("groups", 0, "overrides"), {"no_such_rate": 1.0}), "groups.0.overrides: unknown parameter 'no_such_rate'"),
    (_with(("overrides",), {"hill_n": -2.0}), "overrides: parameter 'hill_n' must lie in (0, 20], got -2.0"),
    (_with(("colour",), "blue"), "colour: unknown key (value 'blue')"),
    (_with(("groups", 0, "dose"), 3), "groups.0.dose: unknown key (value 3)"),
    (_with(("duration_days",), -10), "duration_days: Input should be greater than 0"),
    (_with(("readouts",), ["survival", "telepathy"]), "readouts: unknown readout 'telepathy'"),
    (_with(("control",), "b"), "control 'b' is not a group"),
    ({"name": "p", "groups": []}, "groups: List should have at least 1 item"),
    ({"groups": GOOD["groups"]}, "name: required field is missing"),
])
def test_bad_protocol_names_field_and_value(data, message):
    with pytest.raises(ProtocolError) as err:
        protocol_from_dict(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_protocol_is_frozen():
    p = protocol_from_dict({**GOOD, "overrides": {"hill_n": 3.0}})
    with pytest.raises(ValidationError, match="frozen"):
        p.seed = 3
    with pytest.raises(TypeError, match="does not support item assignment"):
        p.overrides["hill_n"] = 4.0
    with pytest.raises(TypeError, match="does not support item assignment"):
        p.groups[0].overrides["hill_n"] = 4.0
    assert p.model_dump()["overrides"] == {"hill_n": 3.0}
    assert protocol_from_dict(p.model_dump()) == p


def test_builtin_library_loads():
    assert {"g93a-natural-history", "t2-time-course"} <= set(library_names())
    for name in library_names():
        assert load_protocol(name).n_animals > 0


def test_cli_rejects_bad_protocol_with_status_2_and_writes_nothing(tmp_path):
    bad = _with(("groups", 0, "genotype"), "SOD1-G39A")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    assert res.exit_code == 2
    assert "groups.0.genotype: unknown genotype 'SOD1-G39A'" in res.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


@pytest.mark.parametrize("args, message", [
    (["run", "no-such-protocol"], "no built-in protocol named 'no-such-protocol'"),
    (["run", "missing.yaml"], "file not found: 'missing.yaml'"),
    (["run", "x" * 300 + ".yaml"], "file not found: 'xxxx"),
    (["run", "a\0b.yaml"], "contains a NUL character"),
    (["run", "g93a-natural-histry"], "(did you mean 'g93a-natural-history'?)"),
    (["run", "."], "cannot read the file"),
    (["show", "nope"], "no built-in protocol named 'nope'"),
    (["validate", "--set", "hill_n=-1"], "must lie in (0, 20]"),
    (["validate", "--set", "bogus=1"], "unknown parameter 'bogus'"),
    (["validate", "--set", "hill_n"], "expected NAME=VALUE"),
    (["validate", "--n", "0"], "--n: must be positive"),
    (["run", "t2-time-course", "--seed", "-1"], "--seed: must be non-negative"),
])
def test_cli_usage_errors_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert list(tmp_path.iterdir()) == []


def test_malformed_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ProtocolError, match="not valid YAML"):
        load_protocol(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ProtocolError, match="must be a mapping"):
        load_protocol(path)


@pytest.mark.parametrize("name", ["p", "My study 2.0", "g93a_natural-history", "x" * 128])
def test_run_names_that_are_one_safe_folder_name_are_accepted(name):
    assert protocol_from_dict({**GOOD, "name": name}).name == name


@pytest.mark.parametrize("name", [".", "..", ".hidden", "a/b", "a\\b", "a\nb", "a\0b", "x" * 129, "é"])
def test_other_run_names_are_refused(name):
    with pytest.raises(ProtocolError, match="name: must be one folder name"):
        protocol_from_dict({**GOOD, "name": name})


@pytest.mark.parametrize("name", ["a\tb", "a\u2028b", "\u202eevil", "   ", "x" * 121])
def test_group_names_are_one_printable_line(name):
    with pytest.raises(ProtocolError, match="groups.0.name: "):
        protocol_from_dict(_with(("groups", 0, "name"), name))


def test_huge_values_are_shortened_in_messages():
    with pytest.raises(ProtocolError) as err:
        protocol_from_dict(_with(("groups", 0, "genotype"), "G" * 100_000))
    assert len(str(err.value)) < 300 and "..." in str(err.value)


CULTURE = {"name": "c", "duration_days": 14,
           "groups": [{"name": "w", "genotype": "WT", "n": 2, "context": "conditioned_medium",
                       "feeder": {"cell_type": "astrocytes", "genotype": "SOD1-G93A"}}]}


def test_culture_criteria_name_culture_readouts():
    claim = {"id": "X", "statement": "s", "citation": "c",
             "criteria": [{"label": "l", "readout": "end_stage_d", "group": "w"}]}
    with pytest.raises(ProtocolError, match="claim.criteria.0.readout: 'end_stage_d' is not a readout column"):
        protocol_from_dict({**CULTURE, "claim": claim})
    claim["criteria"] = [{"label": "l", "readout": "mn_loss_vs_control", "group": "w", "measure": "late_share",
                          "vs": "w"}]
    with pytest.raises(ProtocolError, match="'late_share' needs animals"):
        protocol_from_dict({**CULTURE, "claim": claim})


def test_medium_changes_are_limited():
    data = {**CULTURE, "duration_days": 1000, "save_every_days": 30}
    data["groups"] = [{**data["groups"][0], "feeder": {**data["groups"][0]["feeder"], "refresh_days": 0.01}}]
    with pytest.raises(ProtocolError, match=r"groups.w.feeder.refresh_days: 100,000 medium changes in all"):
        protocol_from_dict(data)


def test_memory_estimate_grows_with_animals_and_saved_points():
    from alsim.experiments.limits import MAX_MEMORY_BYTES, in_memory_estimate, memory_estimate

    small = protocol_from_dict(GOOD)
    assert 0 < memory_estimate(small) < memory_estimate(protocol_from_dict(_with(("save_every_days",), 0.5)))
    assert memory_estimate(small) < memory_estimate(protocol_from_dict(_with(("groups", 0, "n"), 100_000)))
    # streamed, two million animals fit in memory; held in memory by alsim.run they do not
    two_million = protocol_from_dict(_with(("groups", 0, "n"), 2_000_000))
    assert memory_estimate(two_million) < MAX_MEMORY_BYTES / 2 < MAX_MEMORY_BYTES < in_memory_estimate(two_million)
    with pytest.raises(ProtocolError, match=r"alsim.run would hold about .* stream the run to a folder"):
        alsim.run(two_million)
    with pytest.raises(ProtocolError, match=r"groups: the run would hold about .* over the limit of 4 GiB"):
        protocol_from_dict(_with(("groups", 0, "n"), 9_000_000))


@pytest.mark.parametrize("args, message", [
    (["validate", "--set", "adult_weight=50"], "--set: parameter 'adult_weight' is computed by the model"),
    (["validate", "--set", "muscle_atrophy_tau=0"], "must lie in (0, inf), got 0.0"),
    (["validate", "--set", "hill_n=nan"], "finite number"),
    (["validate", "--set", "misfold_grwth=1"], "did you mean 'misfold_growth'?"),
])
def test_validate_set_checks_the_domain(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and message in res.output and res.output.count("\n") == 1, res.output


def test_validate_prints_evidence_tags_and_bands_verbatim(tmp_path, monkeypatch):
    """Targets such as '... [read]' and bands such as '[-0.05, 0.05]' are text, not console markup."""
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["validate", "--only", "c3-inflammation"])
    assert res.exit_code == 0, res.output
    assert "[read]" in res.output and "[-0.05, 0.05]" in res.output
