"""The model documentation's parameter tables cannot drift from parameters.yaml."""

import re
from pathlib import Path

from alsim.biology.parameters import PARAMETERS

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"


def test_parameter_table_matches_the_parameter_file():
    rows = {}
    for line in DOC.read_text().split("\n"):
        m = re.match(r"^\| (\d+) \| `([a-z0-9_]+)` \| [^|]* \| ([^|]+) \| [^|]* \| [^|]* "
                     r"\| (sourced|calibrated) \|", line)
        if m:
            rows[m.group(2)] = (int(m.group(1)), float(m.group(3)), m.group(4))
    assert len(rows) == len(PARAMETERS), "rerun scripts/param_table.py"
    for i, p in enumerate(PARAMETERS):
        assert rows[p.name] == (i, float(f"{p.value:g}"), p.basis), f"{p.name}: rerun scripts/param_table.py"


def test_section_tables_match_the_parameter_file():
    by_name = {p.name: p for p in PARAMETERS}
    seen = 0
    for line in DOC.read_text().split("\n"):
        m = re.match(r"^\| [^|]+ \| `([a-z0-9_]+)` \| ([^|]+) \| [^|]+ \| (sourced|calibrated) \|$", line)
        if m:
            p = by_name[m.group(1)]
            assert (float(m.group(2)), m.group(3)) == (float(f"{p.value:g}"), p.basis), \
                f"{p.name}: rerun scripts/param_table.py"
            seen += 1
    assert seen > 50
