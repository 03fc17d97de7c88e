import json

import pytest
from click.testing import CliRunner

from auditkit.cli import main
from auditkit.errors import ResultsError
from auditkit.reports import COMPARISON_DATA_FILE, compare_runs, write_comparison, write_results
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
    bad = runner.invoke(main, ["compare", str(two_runs[0]), "--out", str(tmp_path / "d")])
    assert bad.exit_code == 2
    assert "at least two run directories" in bad.output
