"""Regenerate the parameter tables of docs/model.md from the model object (``alsim.biology.model.MODEL``).

Usage:  .venv/bin/python scripts/param_table.py

Values, units, ranges, basis and sources come from the parameter file (the
single source of truth), the kernels that read each parameter from the
kernels' compiled code; the mathematical symbol of each parameter is kept from the
existing table (new parameters take theirs from NEW_SYMBOLS). The short
per-section tables (symbol, parameter, value, unit, basis) are refreshed in
place. A test holds the tables to the YAML file, so rerun this after calibrating.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from alsim.biology.model import MODEL

PARAMETERS = MODEL.parameters

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"
HEADER = "| # | parameter | symbol | value | unit | range | basis | conf. | mechanism | read by | source |"
NEW_SYMBOLS = {"microglia_contact_saturation": "$K_{contact}$", "cytokine_receptor_saturation": "$K_{cyt}$",
               "inflammation_type_selectivity": "$\\epsilon$", "toxic_factor_microglial_gain": "$\\gamma_{TF,M}$",
               "culture_astrocyte_neurotoxic_fraction": "$a_{1,c}$"}
ROW = re.compile(r"^\| (\d+) \| `([a-z0-9_]+)` \| ([^|]*) \|")
SECTION_ROW = re.compile(r"^\| ([^|]+) \| `([a-z0-9_]+)` \| [^|]+ \| [^|]+ \| (?:sourced|calibrated) \|$")


def table_rows(symbols: dict[str, str]) -> list[str]:
    rows = [HEADER, "|---|---|---|---|---|---|---|---|---|---|---|"]
    users = MODEL.users()
    for i, p in enumerate(PARAMETERS):
        read_by = ", ".join(f"`{k}`" for k in users[p.name]) or "engine / runner"
        rows.append(f"| {i} | `{p.name}` | {symbols.get(p.name, '')} | {p.value:g} | {p.unit} "
                    f"| {p.range[0]:g} – {p.range[1]:g} | {p.basis} | {p.confidence} | {p.mechanism} | {read_by} "
                    f"| {p.source} |")
    return rows


def table_span(lines: list[str], after: str) -> tuple[int, int]:
    """Line range of the (possibly indented) markdown table at or after the line starting with ``after``."""
    start = next(i for i, line in enumerate(lines) if line.startswith(after))
    while not lines[start].lstrip().startswith("|"):
        start += 1
    end = start
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        end += 1
    return start, end


def replace_table(lines: list[str], after: str, rows: list[str]) -> None:
    start, end = table_span(lines, after)
    lines[start:end] = rows


def calibration_tables(lines: list[str], symbols: dict[str, str]) -> None:
    """The fitting data (scored rows per study, from the claims table) and the calibrated parameters
    of section 21."""
    from alsim.experiments.calibration import studies, targets

    rows = ["| study | rows | published estimates | bands | direction only |", "|---|---|---|---|---|"]
    tgts = targets()
    for study in studies():
        mine = [t for t in tgts if t.study == study]
        rows.append(f"| `{study}` | {len(mine)} | {sum(t.estimate for t in mine)} "
                    f"| {sum(not t.estimate and not t.direction_only for t in mine)} "
                    f"| {sum(t.direction_only for t in mine)} |")
    replace_table(lines, "   | study | rows |", ["   " + r for r in rows])
    cal = [p for p in PARAMETERS if p.basis == "calibrated"]
    replace_table(lines, "Calibrated parameters and their current values:",
                  ["| symbol | parameter | value | unit | basis |", "|---|---|---|---|---|"]
                  + [f"| {symbols.get(p.name, '')} | `{p.name}` | {p.value:g} | {p.unit} | {p.basis} |" for p in cal])


_SECONDS = {"min": 60.0, "h": 3600.0, "day": 86400.0, "1/day": None}


def species_rows() -> list[str]:
    """The soluble species of the model with half-life, diffusion coefficient and decay length."""
    by = {p.name: p for p in PARAMETERS}
    rows = ["| species | unit | half-life | diffusion (µm²/s) | decay length (µm) | made by |",
            "|---|---|---|---|---|---|"]
    for sp in MODEL.species:
        t, d = by[sp.half_life], by[sp.diffusion]
        if t.unit == "1/day":  # a clearance rate (extracellular misfolded SOD1)
            half, seconds = f"ln 2 / {t.value:g} per day", math.log(2) / t.value * 86400.0
        else:
            half, seconds = f"{t.value:g} {t.unit}", t.value * _SECONDS[t.unit]
        length = math.sqrt(d.value * seconds / math.log(2))
        rows.append(f"| {sp.name} | {sp.unit} | {half} (`{t.name}`) | {d.value:g} (`{d.name}`) | {length:.3g} "
                    f"| {sp.made_by} |")
    return rows


def main() -> None:
    lines = DOC.read_text().split("\n")
    start, end = table_span(lines, HEADER)
    symbols = dict(NEW_SYMBOLS)
    symbols.update({m.group(2): m.group(1).strip() for line in lines if (m := SECTION_ROW.match(line))})
    symbols.update({m.group(2): m.group(3).strip() for line in lines[start:end] if (m := ROW.match(line))})
    lines[start:end] = table_rows(symbols)
    calibration_tables(lines, symbols)
    replace_table(lines, "### 3.9 Decay and diffusion", species_rows())
    n_cal = sum(p.basis == "calibrated" for p in PARAMETERS)
    lines = [re.sub(r"^Of the \d+ parameters, \d+ are", f"Of the {len(PARAMETERS)} parameters, {n_cal} are", line)
             for line in lines]
    by_name = {p.name: p for p in PARAMETERS}
    for i, line in enumerate(lines):
        m = SECTION_ROW.match(line)
        if m and m.group(2) in by_name:
            p = by_name[m.group(2)]
            lines[i] = f"| {m.group(1)} | `{p.name}` | {p.value:g} | {p.unit} | {p.basis} |"
    DOC.write_text("\n".join(lines))
    print(f"{DOC.name}: {len(PARAMETERS)} parameters")


if __name__ == "__main__":
    main()
