import json

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
    assert document["summary"]["verdicts"] == {"pass": 0, "warn": 1, "fail": 0, "inconclusive": 0}
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
