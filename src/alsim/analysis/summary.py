"""Group summaries of per-animal readouts: what a paper's table 1 would show."""

from __future__ import annotations

import numpy as np
import pandas as pd

SUMMARY_READOUTS = (
    ("end_stage_d", "survival (d)"),
    ("onset_d", "onset, weight peak (d)"),
    ("early_disease_d", "early disease, -10 % weight (d)"),
    ("early_phase_d", "early phase (d)"),
    ("late_phase_d", "late phase (d)"),
    ("denervation_onset_ff_d", "FF denervation onset (d)"),
    ("astrogliosis_onset_d", "astrogliosis onset (d)"),
    ("microgliosis_onset_d", "microgliosis onset (d)"),
    ("alpha_mn_loss_100d", "alpha-MN loss at 100 d"),
    ("alpha_mn_loss_end_stage", "alpha-MN loss at end stage"),
    ("corticospinal_loss_110d", "corticospinal loss at 110 d"),
    ("mn_survival_vs_control", "MN survival vs matched control"),
    ("interneuron_survival_vs_control", "interneuron survival vs matched control"),
    ("apoptotic_fraction", "MNs in apoptosis, last day"),
)


def _present(animals: pd.DataFrame) -> list[tuple[str, str]]:
    return [(c, label) for c, label in SUMMARY_READOUTS if c in animals]


def group_summary(animals: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD and n of each readout per group (animals lacking a readout are left out of it)."""
    rows = []
    for group, df in animals.groupby("group", sort=False):
        for col, label in _present(animals):
            v = df[col].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            rows.append({"group": group, "readout": label, "n": v.size,
                         "mean": v.mean() if v.size else np.nan,
                         "sd": v.std(ddof=1) if v.size > 1 else np.nan,
                         "median": np.median(v) if v.size else np.nan})
    return pd.DataFrame(rows)


def _failures(animals: pd.DataFrame, unit: str, listed: int = 100) -> list[str]:
    """Lines on failed integrations: the count, groups in which every one failed, and the first
    ``listed`` failed animals."""
    failed = animals["status"].str.startswith("failed")
    lines = [f"{unit}: {len(animals)}; failed integrations: {int(failed.sum())}."]
    for group, f in failed.groupby(animals["group"], sort=False):
        if f.all():
            lines.append(f"group {group}: all {len(f)} integrations failed.")
    ids = animals.loc[failed, "animal"].astype(str).tolist()
    if ids:
        more = f" and {len(ids) - listed} more" if len(ids) > listed else ""
        lines.append("Failed animals: " + ", ".join(ids[:listed]) + more)
    return lines


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a literal '|' (e.g. an absolute value) must not end the cell."""
    return str(text).replace("|", "\\|")


def summary_markdown(protocol, animals: pd.DataFrame, claim_rows=None) -> str:
    """A short Markdown report: the protocol, mean +/- SD (n) of each readout per group, and
    the claim's criteria with their verdicts when the protocol carries a claim."""
    s = group_summary(animals)
    groups = list(dict.fromkeys(animals["group"]))
    lines = [f"# {protocol.name}", "", protocol.description.strip(), ""]
    if protocol.citation:
        lines += [f"Sources: {protocol.citation.strip()}", ""]
    lines += ["| readout | " + " | ".join(_cell(g) for g in groups) + " |", "|---|" + "---|" * len(groups)]
    for _, label in _present(animals):
        cells = []
        for g in groups:
            r = s[(s.group == g) & (s.readout == label)].iloc[0]
            if r.n == 0:
                cells.append("-")
            elif "loss" in label or "vs matched" in label or "apoptosis" in label:
                cells.append(f"{100 * r['mean']:.0f} +/- {100 * (r.sd if r.n > 1 else 0):.0f} % ({r.n})")
            else:
                cells.append(f"{r['mean']:.1f} +/- {(r.sd if r.n > 1 else 0):.1f} ({r.n})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    unit = "Wells" if protocol.in_culture else "Animals"
    lines += ["", *_failures(animals, unit)]
    if claim_rows:
        c = protocol.claim
        lines += ["", f"## Claim {c.id}: {c.statement}", "", f"Source: {c.citation}", "",
                  "| criterion | required | simulated | verdict |", "|---|---|---|---|"]
        for r in claim_rows:
            lines.append(f"| {_cell(r.quantity)} | {_cell(r.target)} | {r.simulated:.3g} | "
                         f"{'pass' if r.passed else 'FAIL'} |")
    return "\n".join(lines) + "\n"
