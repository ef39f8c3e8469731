"""report.html: one self-contained page per run folder."""

import base64
import json
import re
import shutil
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from alsim.cli import app

PROTOCOL = """name: page
seed: 3
duration_days: 220
control: G93A
claim:
  id: P1
  statement: Bax deletion spares the somas
  citation: Gould et al. 2006 J Neurosci 26:8774
  criteria:
    - {label: alpha-MN loss at end stage without Bax, readout: alpha_mn_loss_end_stage, group: Bax, low: 0.0, high: 0.1,
       mechanism: apoptosis}
groups:
  - {name: G93A, genotype: SOD1-G93A, n: 6}
  - {name: Bax, genotype: SOD1-G93A, n: 6, knockouts: [Bax]}
"""


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.external, self.tables = [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "table":
            self.tables += 1
        for key in ("src", "href"):
            if a.get(key, "").startswith(("http:", "https:", "//")):
                self.external.append(a[key])


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    (root / "p.yaml").write_text(PROTOCOL)
    res = CliRunner().invoke(app, ["run", str(root / "p.yaml"), "--out", str(root / "run")])
    assert res.exit_code == 0, res.output
    return root / "run"


def test_alsim_run_writes_a_self_contained_page(run_folder):
    text = (run_folder / "report.html").read_text()
    page = _Page()
    page.feed(text)
    pngs = sorted(p.name for p in (run_folder / "figures").glob("*.png"))
    assert len(page.images) == len(pngs) >= 5
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.external == []                                   # opens from disk, no network
    assert page.tables >= 3                                      # readouts, claim, comparisons, survival
    assert "Bax deletion spares the somas" in text and re.search(r"<td>pass</td>", text)
    seed = json.loads((run_folder / "manifest.json").read_text())["seed"]
    assert f"&quot;seed&quot;: {seed}" in text


def test_alsim_report_rebuilds_the_page_and_refuses_other_folders(run_folder, tmp_path):
    (run_folder / "report.html").unlink()
    res = CliRunner().invoke(app, ["report", str(run_folder)])
    assert res.exit_code == 0 and (run_folder / "report.html").is_file()
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "is not an alsim run folder" in res.output


def test_the_page_loads_in_a_headless_browser(run_folder):
    """Every figure is displayed and the console stays clean (needs Playwright and a Chromium)."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no Chromium on this machine")
    errors = []
    with playwright.sync_playwright() as p:
        # offline machines: no background connections, no component or sync updates
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((run_folder / "report.html").as_uri())
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        browser.close()
    assert errors == []
    assert len(widths) >= 5 and min(widths) > 100


def test_an_empty_table_is_shown_as_no_rows(tmp_path):
    from alsim.report.html import _table

    (tmp_path / "comparisons.csv").write_text("")
    assert _table(tmp_path / "comparisons.csv") == "<p>(no rows)</p>"
