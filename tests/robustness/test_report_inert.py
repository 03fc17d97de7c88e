"""Vendor text with script tags, quote breaks, event handlers and javascript: URLs, through a
whole audit into every report format and a comparison: all of it renders inert."""

import json
from pathlib import Path

import inert
import pytest
import support

from auditkit import AuditSpec, load_run, run_audit
from auditkit.reports import dumps_results, scorecard_html, write_comparison, write_report

DEMO = Path(__file__).parents[1] / "reports" / "golden" / "demo" / "results.json"


def test_the_checker_sees_live_script():
    assert inert.live_script("<p>ok &lt;script&gt;</p>") == []
    assert inert.live_script(inert.PAYLOADS[0]) == ["<script>"]
    assert inert.live_script(inert.PAYLOADS[1]) == ["<img onerror=...>"]
    assert inert.live_script(inert.PAYLOADS[3]) == ["<a href=javascript:...>"]
    assert inert.live_script(inert.PAYLOADS[0], markdown=True) == ["<script>"]
    assert inert.live_script("[docs](javascript:alert(1))", markdown=True) == []  # not linked


@pytest.mark.slow
def test_hostile_vendor_text_renders_inert_in_every_report(tmp_path):
    catalogs = {}
    for shop, shared in (("a", 10), ("b", 10)):
        path = tmp_path / f"{shop}.csv"
        support.make_catalog(shop, 30, shared).to_csv(path, index=False)
        catalogs[shop] = path
    spec = AuditSpec.model_validate(inert.hostile_spec(catalogs))
    result = run_audit(spec, out=tmp_path / "run")
    run_audit(spec, out=tmp_path / "again")
    assert any(inert.PAYLOADS[0] in kind for kind in result.data_quality.failures_by_kind)
    write_comparison([tmp_path / "run", tmp_path / "again"], tmp_path / "cmp")
    files = [
        *(tmp_path / "run").glob("report.*"),
        *(tmp_path / "run").glob("opinion.*"),
        *(tmp_path / "cmp").glob("comparison.html"),
    ]
    assert sorted(p.name for p in files) == [
        "comparison.html",
        "opinion.html",
        "opinion.md",
        "report.html",
        "report.md",
    ]
    for path in files:
        text = path.read_text()
        assert "alert(" in text, path.name  # the words are shown ...
        found = inert.live_script(text, markdown=path.suffix == ".md")
        assert found == [], path.name  # ... and none of them runs


def hostile_document() -> dict:
    """The demo's results with vendor text in every string a report or chart shows."""
    document = json.loads(DEMO.read_text())
    evil = inert.EVIL
    document["audit"].update(name=evil, vendor=evil, description=evil)
    document["data_quality"]["failures_by_kind"] = {evil: 3}
    for i, metric in enumerate(document["metrics"]):
        payload = inert.PAYLOADS[i % len(inert.PAYLOADS)]
        metric["summary"] = evil
        for levels in metric["by_group"].values():  # chart bars and table rows
            levels[payload] = 0.5
        if "shop pair" in metric["by_group"]:  # a heatmap's row and column names
            metric["by_group"]["shop pair"][f"{evil} × {payload}"] = 0.5
        details = metric["details"]
        details["note"] = evil
        for comparison in (details.get("comparisons") or {}).values():
            comparison.update(highest=payload, lowest=evil)
        if details.get("comparisons"):  # a segment chart's row label
            details["comparisons"][payload] = next(iter(details["comparisons"].values()))
        for test in details.get("tests") or []:
            test.update(attribute=payload, level=evil)
    for claim in document["claims"]:
        claim.update(stated=evil, measured=evil)
    for score in document["scores"]:
        for item in score["items"]:
            item["description"] = evil
    return document


def test_hostile_text_in_every_chart_and_format_renders_inert(tmp_path):
    document = hostile_document()
    runs = []
    for name in (inert.PAYLOADS[1], inert.PAYLOADS[2]):  # run directories name trend points
        run = tmp_path / name
        run.mkdir()
        (run / "results.json").write_text(dumps_results(document))
        write_report(run)
        runs.append(run)
    comparison = write_comparison(runs, tmp_path / "cmp")
    html = (runs[0] / "report.html").read_text()
    assert html.count('<svg class="chart"') == 7  # every chart drew its hostile labels
    rendered = {
        "report.html": html,
        "report.md": (runs[0] / "report.md").read_text(),
        "comparison.html": comparison.read_text(),
        "scorecard": scorecard_html(load_run(runs[0])),
    }
    assert '<svg class="chart"' in rendered["comparison.html"]  # the trend charts too
    for name, text in rendered.items():
        assert "alert(" in text, name
        assert inert.live_script(text, markdown=name.endswith(".md")) == [], name
    # matplotlib wrote the labels as escaped SVG text, never as markup.
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html or (
        "&lt;script&gt;alert('x')&lt;/script&gt;" in html
    )
