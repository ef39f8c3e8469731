"""Fuzzing `alsim run` with mutated built-in protocols: every input runs or is refused cleanly.

Each example takes a built-in protocol, makes it cheap (at most two animals per group, no
figures), mutates it (drops, replaces and retypes values, adds keys, scales numbers, puts odd
strings, huge and non-finite numbers and nested junk anywhere), sometimes corrupts the bytes of
the file, and runs it through the command line in-process. Whatever the input: the exit status
is 0 or 2, never a traceback; a refusal is one line naming the file and the field and leaves
nothing behind; a run leaves its folder complete and no staging leftovers.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alsim.cli import app
from alsim.experiments.protocol import library_names, library_text
from alsim.io.store import TXN_PREFIX

ODD_STRINGS = ["", ".", "..", "../x", "/abs", "a\nb", "a\x00b", "\ud800", "[red]x[/]", "café", "x" * 300, "1e999",
               "WT", "SOD1-G93A", "minocycline", "generic", "end_stage_d", "hill_n", "survival", "diet", "a"]
ODD_NUMBERS = [0, -1, 1, 2, 10**30, 2**63, 0.0, -0.0, 1e-300, 1e308, 0.6931471805599453,
               float("nan"), float("inf"), float("-inf")]
FIELDS = ["name", "n", "genotype", "duration_days", "save_every_days", "seed", "overrides", "control", "groups",
          "treatments", "sweep", "claim", "litters", "readouts", "female_fraction", "interval_days", "hill_n",
          "muscle_atrophy_tau", "adult_weight", "background_mortality_per_day", "context", "feeder", "cre", "bogus"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                    st.sampled_from(ODD_STRINGS), st.sampled_from(ODD_NUMBERS))
junk = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3)),
                    max_leaves=6)


def cheap(doc: dict) -> dict:
    """The protocol at a size that runs in a fraction of a second: <= 2 animals per group, no figures."""
    doc = copy.deepcopy(doc)
    doc["readouts"] = []
    doc["save_every_days"] = max(float(doc.get("save_every_days", 1)), 10.0)
    for g in doc["groups"]:
        g["n"] = min(g["n"], 2)
    if doc.get("engine") == "spatial":  # a coarse tissue, a month, no snapshots to speak of
        doc["tissue"] = {**doc.get("tissue", {}), "dx_um": 20.0, "snapshot_every_days": 1000.0, "pictures": False}
        doc["duration_days"] = min(float(doc.get("duration_days", 200)), 30.0)
        for g in doc["groups"]:
            g["n"] = 1
    if "sweep" in doc:
        doc["sweep"]["start_days"] = doc["sweep"]["start_days"][:2]
        doc["sweep"]["doses"] = doc["sweep"]["doses"][:1]
    return doc


LIBRARY = {name: cheap(yaml.safe_load(library_text(name))) for name in library_names()}


def odd_value(draw, value):
    """A value of the same kind that is likely to sit on an edge: numbers scaled or replaced by
    extremes and non-finite values, strings by odd or near-valid ones."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if draw(st.booleans()):
            return value * draw(st.sampled_from(ODD_NUMBERS + [0.5, 1e6, 1e-6, 1000]))
        return draw(st.sampled_from(ODD_NUMBERS))
    return draw(st.sampled_from(ODD_STRINGS))


def mutate(draw, node):
    """One random change somewhere inside ``node`` (a dict or list), in place."""
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            node_key = draw(st.sampled_from(FIELDS))
            if isinstance(node, dict):
                node[node_key] = draw(junk)
            return
        inner = [k for k in keys if isinstance(node[k], (dict, list)) and node[k]]
        if inner and draw(st.integers(0, 3)) > 0:  # mostly deeper: groups, treatments, claims, overrides
            node = node[draw(st.sampled_from(inner))]
            continue
        key = draw(st.sampled_from(keys))
        child = node[key]
        action = draw(st.sampled_from(["drop", "junk", "retype", "odd", "odd", "add"]))
        if action == "drop":
            del node[key]
        elif action == "junk":
            node[key] = draw(junk)
        elif action == "retype":
            node[key] = draw(st.sampled_from([[child], {"value": child}, str(child)]))
        elif action == "odd":
            node[key] = odd_value(draw, child)
        elif isinstance(node, dict):
            node[draw(st.sampled_from(FIELDS))] = draw(junk)
        else:
            node.append(draw(junk))
        return


@st.composite
def protocol_files(draw) -> bytes:
    """The bytes of a mutated built-in protocol."""
    doc = copy.deepcopy(LIBRARY[draw(st.sampled_from(sorted(LIBRARY)))])
    if draw(st.booleans()):
        doc.pop("control", None)  # spares half the runs the (slow) survival statistics
    for _ in range(draw(st.integers(1, 3))):
        mutate(draw, doc)
    data = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode()
    if draw(st.integers(0, 9)) == 0:  # corrupt the file itself now and then
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\x00", b"&a ", b"*a", b": :", b"[", b"\n  - "])) + data[at:]
    return data


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=protocol_files())
def test_any_protocol_runs_or_is_refused_in_one_line(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "p.yaml"
        path.write_bytes(data)
        out = root / "out"
        res = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
        assert res.exit_code in (0, 2), f"{res.output}\n{res.exception!r}"
        if res.exit_code == 2:
            lines = res.output.splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), res.output
            problem = lines[0][len(f"error: {path}: "):]
            assert ": " in problem or problem.startswith("not UTF-8 text"), res.output  # the field, then what
            assert sorted(p.name for p in root.iterdir()) == ["p.yaml"]
        else:
            assert (out / "manifest.json").is_file() and (out / "summary.md").is_file()
            assert not list(root.glob(f"{TXN_PREFIX}*"))
