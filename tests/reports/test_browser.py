"""The demo report and a comparison as a reader sees them: headless Chromium at 1280 px.

Debian's ``chromium`` (``.ci/run`` installs it when absent) is driven by playwright, launched
from its own binary (never ``playwright install``, which downloads). Each page is screenshot
and checked: the scorecard and every chart visible, nothing on the console, no request beyond
the file itself, no horizontal overflow, and no text that is a Python repr, a NaN or a float
printed with more than four decimals.
"""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from auditkit import AuditSpec, run_audit
from auditkit.reports import write_comparison, write_report

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root in a container: no sandbox; no background networking, so the only requests are
# the page's own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH, HEIGHT = 1280, 800
REPR = re.compile(r"\{'|\['|': |\bnp\.\w+\(|object at 0x|\bnan\b|\bNaN\b|\binf\b")
DECIMAL = re.compile(r"\d[\d,]*\.\d+")
LITERALS = {"None", "True", "False", "null"}
TEXT_NODES = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    if (text) texts.push(text);
  }
  return texts;
}"""


def demo_spec(pooling: float) -> AuditSpec:
    data = yaml.safe_load((ROOT / "audit_specs" / "demo.yaml").read_text())
    data["vendor"]["options"]["pooling"] = pooling
    data["inference"] = {"n_resamples": 200}
    return AuditSpec.model_validate(data)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The demo report, and a comparison of the same vendor over two runs."""
    root = tmp_path_factory.mktemp("browser")
    runs = [root / "2026-10", root / "2026-11"]
    run_audit(demo_spec(0.9), out=runs[0])
    run_audit(demo_spec(0.3), out=runs[1])
    # The cooperative suite's results (trend planting, loyalty twins), kept as a fixture.
    cooperative = root / "cooperative"
    cooperative.mkdir()
    shutil.copy(Path(__file__).parent / "golden" / "cooperative" / "results.json", cooperative)
    write_report(cooperative)
    return {
        "report": runs[0] / "report.html",
        "comparison": write_comparison(runs, root / "cmp"),
        "cooperative": cooperative / "report.html",
    }


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'"
    )
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            "no Chromium to render the reports in: apt-get install -y chromium "
            "(.ci/run installs it when absent)"
        )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def open_page(browser, path: Path, shots: Path):
    """Load ``path``; return the page, the console errors and every request it made."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    shots.mkdir(exist_ok=True)
    page.screenshot(path=shots / f"{path.parent.name}-{path.stem}-first-screen.png")
    page.screenshot(path=shots / f"{path.parent.name}-{path.stem}-full.png", full_page=True)
    return page, errors, requests


def unformatted(text: str) -> bool:
    """A decimal with more than four significant digits (``0.4566666667``, ``34.649``)."""
    for number in DECIMAL.findall(text):
        if len(number.replace(",", "").replace(".", "").lstrip("0")) > 4:
            return True
    return False


def bad_texts(page) -> list[str]:
    texts = page.evaluate(TEXT_NODES)
    return [t for t in texts if t in LITERALS or REPR.search(t) or unformatted(t)]


def test_the_checks_catch_reprs_nan_and_raw_floats():
    for text in ("{'shop01': 0.4566666667}", "nan%", "0.4983782369", "None", "34.649"):
        assert text in LITERALS or REPR.search(text) or unformatted(text), text
    for text in ("50%", "0.00343", "2,261", "0.173 bits", "None of the 19 measurements", "3.11.7"):
        assert not (text in LITERALS or REPR.search(text) or unformatted(text)), text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["report", "comparison", "cooperative"])
def test_page_renders_clean_and_self_contained(browser, pages, tmp_path, name):
    page, errors, requests = open_page(browser, pages[name], tmp_path / "shots")
    assert errors == []
    assert requests == [pages[name].as_uri()]  # no network: nothing but the file itself
    assert bad_texts(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH  # no overflow
    charts = page.locator("svg.chart")
    assert charts.count() >= 2
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.is_visible(), f"chart {i} hidden"
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 80, box
    shot = tmp_path / "shots" / f"{pages[name].parent.name}-{pages[name].stem}-full.png"
    assert shot.stat().st_size > 10_000
    page.close()


@pytest.mark.slow
def test_report_leads_with_its_scorecard_and_stays_short(browser, pages, tmp_path):
    page, _, _ = open_page(browser, pages["report"], tmp_path / "shots")
    scorecard = page.locator("#scorecard")
    assert scorecard.is_visible()
    box = scorecard.bounding_box()
    assert box is not None and box["y"] < HEIGHT / 3  # it opens the page
    assert page.locator("#scorecard .card").count() == 5  # three families, two rubrics
    assert "Problem found" in scorecard.inner_text()
    # Long detail is collapsed: a few screens until opened.
    closed = page.evaluate("document.documentElement.scrollHeight")
    assert closed < 8 * HEIGHT, closed
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.evaluate("document.documentElement.scrollHeight") > closed
    assert bad_texts(page) == []
    page.close()


@pytest.mark.slow
def test_report_prints_to_pdf_with_its_details_open(browser, pages, tmp_path):
    page, _, _ = open_page(browser, pages["report"], tmp_path / "shots")
    page.emulate_media(media="print")
    hidden = page.locator("details.metric table").first
    assert hidden.is_visible()  # the print stylesheet shows collapsed numbers
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    page.close()
