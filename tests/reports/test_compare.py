import json

import pytest
from click.testing import CliRunner

from auditkit.cli import main
from auditkit.errors import ResultsError
from auditkit.reports import (
    COMPARISON_DATA_FILE,
    compare_runs,
    comparison_summary,
    write_comparison,
    write_results,
)
from auditkit.results import AuditResult, DataQuality, MetricResult, Threshold

EVIL = "<img src=x onerror=alert(1)>"


def metric(metric_id: str, value: float, verdict: str) -> MetricResult:
    return MetricResult(
        id=metric_id,
        family=metric_id.split(".")[0],
        value=value,
        ci=(value - 0.1, value + 0.1),
        n=20,
        unit="probe",
        verdict=verdict,  # type: ignore[arg-type]
        threshold=Threshold(warn=0.3, fail=0.5),
    )


def run(tmp_path, name: str, vendor: str, metrics: list[MetricResult]):
    result = AuditResult(
        name=name,
        metrics=metrics,
        data_quality=DataQuality(probes_planned=10, probes_answered=10, attempts=10),
        provenance={"vendor": vendor, "seed": 1, "spec_sha256": "a" * 64},
    )
    path = tmp_path / name
    path.mkdir()
    write_results(result, path)
    return path


@pytest.fixture
def two_runs(tmp_path):
    first = run(
        tmp_path,
        "pool",
        "PoolCo",
        [metric("homogenization.x", 0.6, "fail"), metric("popularity.y", 0.1, "pass")],
    )
    second = run(tmp_path, "solo", EVIL, [metric("homogenization.x", 0.1, "pass")])
    return first, second


def test_runs_are_lined_up_by_metric(two_runs):
    comparison = compare_runs(two_runs)
    assert [r["vendor"] for r in comparison["runs"]] == ["PoolCo", EVIL]
    rows = {row["id"]: row["cells"] for row in comparison["metrics"]}
    assert [c["verdict"] for c in rows["homogenization.x"]] == ["fail", "pass"]
    assert rows["homogenization.x"][0]["value"] == 0.6
    assert rows["popularity.y"][1] is None  # the second run did not measure it


def test_comparison_files_escape_vendor_text(two_runs, tmp_path):
    path = write_comparison(two_runs, tmp_path / "cmp")
    html = path.read_text()
    assert EVIL not in html and "&lt;img src=x" in html
    data = json.loads((tmp_path / "cmp" / COMPARISON_DATA_FILE).read_text())
    assert data == json.loads(json.dumps(compare_runs(two_runs)))


def test_too_few_or_repeated_runs_are_clear_errors(two_runs):
    with pytest.raises(ResultsError) as info:
        compare_runs(two_runs[:1])
    assert str(info.value) == "compare: runs must be at least two run directories; got 1"
    with pytest.raises(ResultsError, match="is given twice"):
        compare_runs([two_runs[0], two_runs[0]])


def test_cli_compare(two_runs, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["compare", *map(str, two_runs), "--out", str(tmp_path / "c")])
    assert ok.exit_code == 0, ok.output
    assert "comparison.html" in ok.output
    assert "run 2: solo (" in ok.output and "X: 0.6 problem found" in ok.output
    bad = runner.invoke(main, ["compare", str(two_runs[0]), "--out", str(tmp_path / "d")])
    assert bad.exit_code == 2
    assert "at least two run directories" in bad.output


def test_cells_carry_their_change_from_the_first_run(two_runs):
    rows = {row["id"]: row for row in compare_runs(two_runs)["metrics"]}
    first, second = rows["homogenization.x"]["cells"]
    assert first["delta"] == 0.0
    assert second["delta"] == pytest.approx(0.1 - 0.6)
    assert second["delta_text"] == "−0.5"  # a metric without words of its own: a plain number


def test_shares_change_in_percentage_points(tmp_path):
    metric_id = "homogenization.cross_shop_jaccard"
    first = run(tmp_path, "2026-01", "PoolCo", [metric(metric_id, 0.5, "warn")])
    second = run(tmp_path, "2026-02", "PoolCo", [metric(metric_id, 0.21, "pass")])
    (row,) = compare_runs([first, second])["metrics"]
    assert row["title"] == "Same products for the same customer across shops"
    assert [c["text"] for c in row["cells"]] == ["50%", "21%"]
    assert row["cells"][1]["delta_text"] == "−29 pts"


def test_one_vendor_over_time_gets_a_trend_chart_per_headline_metric(tmp_path):
    metric_id = "homogenization.cross_shop_jaccard"
    runs = [
        run(tmp_path, month, "PoolCo", [metric(metric_id, value, verdict)])
        for month, value, verdict in (("2026-01", 0.3, "pass"), ("2026-02", 0.45, "warn"))
    ]
    html = write_comparison(runs, tmp_path / "cmp").read_text()
    assert "One vendor over time" in html
    assert html.count('<svg class="chart"') == 1
    assert "2026-01" in html and "From the first run to the last: +15 pts." in html


def test_vendors_side_by_side_get_no_trend_chart(two_runs, tmp_path):
    html = write_comparison(two_runs, tmp_path / "cmp").read_text()
    assert "One vendor over time" not in html and "<svg" not in html


def test_terminal_summary_names_runs_and_changes(two_runs):
    lines = comparison_summary(compare_runs(two_runs))
    assert lines[0] == "run 1: pool (PoolCo, pool)"
    assert "X: 0.6 problem found → 0.1 no problem found (−0.5)" in lines
    assert "Y: 0.1 no problem found → not measured" in lines


def test_claims_are_named_as_in_the_report(tmp_path):
    from auditkit.results import ClaimCheck

    paths = []
    for name in ("a", "b"):
        result = AuditResult(
            name=name,
            metrics=[metric("homogenization.x", 0.1, "pass")],
            data_quality=DataQuality(probes_planned=1, probes_answered=1, attempts=1),
            provenance={"vendor": "V", "seed": 1, "spec_sha256": "a" * 64},
            claims=[
                ClaimCheck(
                    "tenant_isolation", "data_pooled_across_shops", "no", "x", "contradicted"
                )
            ],
        )
        (tmp_path / name).mkdir()
        write_results(result, tmp_path / name)
        paths.append(tmp_path / name)
    (claim,) = compare_runs(paths)["claims"]
    assert claim["title"] == "Each shop's data kept separate"
    html = write_comparison(paths, tmp_path / "cmp").read_text()
    assert "Each shop&#39;s data kept separate" in html
