import json
import os
import re
from pathlib import Path

import pytest

from auditkit.errors import ResultsError
from auditkit.reports import (
    RESULTS_SCHEMA,
    dumps_results,
    read_results,
    render_html,
    results_document,
    write_report,
    write_results,
)
from auditkit.results import AuditResult, DataQuality, MetricResult, Threshold

EVIL = "<script>alert('x')</script>"


def make_result(name: str = "trial") -> AuditResult:
    metric = MetricResult(
        id="homogenization.cross_shop_jaccard",
        family="homogenization",
        value=0.4213456789123,
        ci=(0.35, 0.49),
        n=24,
        unit="match group",
        verdict="warn",
        threshold=Threshold(warn=0.3, fail=0.5),
        p_value=None,
        by_group={"persona": {EVIL: 0.5, "tea": float("nan")}},
        details={"note": EVIL},
        summary=f"Summary naming {EVIL}",
    )
    return AuditResult(
        name=name,
        metrics=[metric],
        data_quality=DataQuality(
            probes_planned=10,
            probes_answered=9,
            attempts=11,
            failures_by_kind={"error: TimeoutError": 2},
        ),
        provenance={
            "vendor": EVIL,
            "adapter": "python",
            "seed": 1,
            "spec_sha256": "a" * 64,
            "evidence_sha256": "b" * 64,
            "description": "",
        },
    )


def test_results_document_is_plain_deterministic_json():
    document = results_document(make_result())
    assert document["schema"] == RESULTS_SCHEMA
    metric = document["metrics"][0]
    assert metric["value"] == 0.4213456789  # 10 significant digits
    assert metric["by_group"]["persona"]["tea"] is None  # NaN is null
    assert document["summary"]["verdicts"] == {
        "pass": 0,
        "warn": 1,
        "fail": 0,
        "inconclusive": 0,
        "reported": 0,
    }
    assert dumps_results(document) == dumps_results(results_document(make_result()))
    json.loads(dumps_results(document))


def test_html_escapes_everything_from_outside():
    html = render_html(results_document(make_result(name=EVIL)))
    assert EVIL not in html
    assert "&lt;script&gt;" in html
    assert "<script" not in html


def test_report_re_renders_from_results(tmp_path):
    write_results(make_result(), tmp_path)
    path = write_report(tmp_path)
    html = path.read_text()
    assert "Convergence across shops" in html and "Worth a look" in html
    assert "http://" not in html and "https://" not in html  # self-contained


def test_missing_or_foreign_results_are_clear_errors(tmp_path):
    with pytest.raises(ResultsError, match="no such file"):
        read_results(tmp_path)
    (tmp_path / "results.json").write_text('{"schema": "other"}')
    with pytest.raises(ResultsError, match=r"schema is not auditkit\.results/1"):
        read_results(tmp_path)


def test_markdown_report_escapes_outside_text(tmp_path):
    from auditkit.reports import MARKDOWN_REPORT_FILE, escape_markdown

    assert escape_markdown("[click](http://x) | <b>*bold*</b>\nnext") == (
        r"\[click\](http://x) \| \<b\>\*bold\*\</b\> next"
    )
    write_results(make_result(name="![logo](http://tracker.example/p.png)"), tmp_path)
    write_report(tmp_path)
    markdown = (tmp_path / MARKDOWN_REPORT_FILE).read_text()
    assert markdown.startswith(r"# Recommendation audit: !\[logo\](http://tracker.example/p.png)")
    assert "<script>" not in markdown and r"\<script\>" in markdown
    row = (
        "| Same products for the same customer across shops (`homogenization.cross_shop_jaccard`)"
        " | Worth a look | 42% | 35% to 49% |"
    )
    assert row in markdown


GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", ["report.html", "report.md"])
def test_reports_match_their_golden_files(tmp_path, name):
    # Set AUDITKIT_UPDATE_GOLDEN=1 to rewrite them after a deliberate change; review the diff.
    write_results(make_result(), tmp_path)
    (tmp_path / "manifest.json").write_text('{"versions": {"auditkit": "VERSION"}}')
    write_report(tmp_path)
    rendered = (tmp_path / name).read_text()
    golden = GOLDEN / name
    if os.environ.get("AUDITKIT_UPDATE_GOLDEN"):
        golden.write_text(rendered)
    assert rendered == golden.read_text()


@pytest.mark.parametrize("name", ["report.html", "report.md"])
def test_the_demo_results_always_render_the_same_bytes(tmp_path, name):
    # The demo's results.json, kept as a fixture: every chart and table of a full report.
    (tmp_path / "results.json").write_bytes((GOLDEN / "demo" / "results.json").read_bytes())
    (tmp_path / "manifest.json").write_text('{"versions": {"auditkit": "VERSION"}}')
    write_report(tmp_path)
    first = (tmp_path / name).read_bytes()
    write_report(tmp_path)
    assert (tmp_path / name).read_bytes() == first  # no state carried between renders
    golden = GOLDEN / "demo" / name
    if os.environ.get("AUDITKIT_UPDATE_GOLDEN"):
        golden.write_bytes(first)
    assert first == golden.read_bytes()


def test_demo_report_text_is_plain():
    html = (GOLDEN / "demo" / "report.html").read_text()
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'' in html
    assert "<h2" in html and "homogenization.cross_shop_jaccard</span>" in html
    assert "Same products for the same customer across shops" in html
    assert "{'" not in html and not re.search(r"\bnan\b", html, re.IGNORECASE)
    assert "Contradicted: " not in html and "and the statement holds (" not in html
    assert html.count('<svg class="chart"') == 7


def test_nothing_measured_prints_no_nan_in_any_format(tmp_path):
    nan = float("nan")
    metrics = [
        MetricResult(
            id=metric_id,
            family=metric_id.split(".")[0],
            value=nan,
            ci=(nan, nan),
            n=0,
            unit="customer",
            verdict="inconclusive",
            threshold=Threshold(warn=0.1, fail=0.2),
            p_value=nan,
            by_group={"persona": {"a": nan}, "shop": {}},
            details={"comparisons": {"age": {"ratio": nan, "ratio_ci": [nan, nan]}}, "x": nan},
            summary="could not be measured",
        )
        for metric_id in (
            "homogenization.cross_shop_jaccard",
            "homogenization.signature_retention",
            "popularity.lift",
            "segment.price_gap",
        )
    ]
    result = AuditResult(
        name="empty",
        metrics=metrics,
        data_quality=DataQuality(probes_planned=0, probes_answered=0, attempts=0),
        provenance={"vendor": "v", "seed": 1, "spec_sha256": "a" * 64},
    )
    write_results(result, tmp_path)
    write_report(tmp_path)
    for name in ("report.html", "report.md"):
        text = (tmp_path / name).read_text()
        assert not re.search(r"\bnan\b", text, re.IGNORECASE), name
        assert ">None<" not in text and "| None |" not in text, name
        assert "Not enough evidence" in text


def referenced_result() -> AuditResult:
    """A result whose within-shop sameness was judged against a reference named by the spec."""
    base = make_result()
    metric = MetricResult(
        id="homogenization.within_shop_jaccard",
        family="homogenization",
        value=0.21,
        ci=(0.19, 0.24),
        n=22,
        unit="customer",
        verdict="fail",
        threshold=Threshold(warn=0.35, fail=0.5),
        details={
            "reference": {
                "name": EVIL,
                "value": 0.102,
                "ci": [0.09, 0.115],
                "n": 22,
                "ratio": 2.08,
                "ratio_ci": [1.77, 2.44],
                "warn": 1.25,
                "fail": 1.5,
            }
        },
        summary="Against the reference: 108% worse.",
    )
    reference = {
        "name": EVIL,
        "vendor": "in-house",
        "adapter": "trained",
        "warn": 1.25,
        "fail": 1.5,
        "probes_planned": 660,
        "probes_answered": 660,
        "attempts": 528,
    }
    return AuditResult(
        name=base.name,
        metrics=[metric],
        data_quality=base.data_quality,
        provenance={**base.provenance, "reference": reference},
    )


def test_a_metric_judged_against_a_reference_reads_as_a_ratio(tmp_path):
    write_results(referenced_result(), tmp_path)
    write_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    markdown = (tmp_path / "report.md").read_text()
    assert EVIL not in html and "&lt;script&gt;" in html
    # The scorecard names the ratio and the tolerance it passed, not the metric's own threshold.
    assert "2.08× worse than &lt;script&gt;" in html and "a problem from 1.5×" in html
    assert "a problem from 50%" not in html
    assert "The reference&#39;s value</td><td>10%</td>" in html
    assert "Times worse than the reference</td><td>2.08</td>" in html
    assert "sent the same 660 probes, 660 answered" in markdown
