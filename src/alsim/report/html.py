"""One self-contained HTML page of a run folder: ``report.html``.

The page holds the run's summary (readouts, claims with their verdicts), the
comparison and survival tables, every figure (PNG embedded as data, so the page
opens from disk with no server and no network) and the manifest. It is built
only from the files of the run folder, so ``alsim report RUN_FOLDER`` can
rebuild it at any time.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

TABLES = (("comparisons.csv", "Comparisons with the control"),
          ("survival_stats.csv", "Survival statistics"),
          ("timing.csv", "Treatment timing"))

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
.scroll { overflow-x: auto; }
"""


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{name}">'
            f"<figcaption>figures/{name}</figcaption></figure>")


def _table(path: Path) -> str:
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:  # e.g. comparisons with a control and no other arm
        return "<p>(no rows)</p>"
    return '<div class="scroll">' + frame.to_html(index=False, na_rep="", float_format=lambda x: f"{x:.4g}",
                                                   border=0, escape=True) + "</div>"


def report_html(folder: str | Path) -> str:
    """The report page of the run folder ``folder`` as one HTML string."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    name = html.escape(str(manifest.get("protocol", {}).get("name", folder.name)))
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>alsim: {name}</title>",
             f"<style>{STYLE}</style></head><body>",
             md.render((folder / "summary.md").read_text())]
    for file, title in TABLES:
        if (folder / file).is_file():
            parts += [f"<h2>{html.escape(title)} (<code>{file}</code>)</h2>", _table(folder / file)]
    figures = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [_figure(p) for p in figures]
    parts += ["<h2>Manifest (<code>manifest.json</code>)</h2>",
              "<details><summary>versions, commit, protocol, parameters, seed</summary><pre>",
              html.escape(json.dumps(manifest, indent=1)), "</pre></details>", "</body></html>"]
    return "\n".join(parts)


def write_report(folder: str | Path) -> Path:
    """Write ``report.html`` into the run folder and return its path."""
    out = Path(folder) / "report.html"
    out.write_text(report_html(folder), encoding="utf-8")
    return out
