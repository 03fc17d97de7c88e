"""Whole audits on the built-in world: the planted effects show, the null worlds stay quiet."""

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditkit import AuditSpec, run_audit
from auditkit.cli import main
from auditkit.metrics import metric_ids

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "audit_specs" / "demo.yaml"


def demo_spec(**vendor_options) -> AuditSpec:
    data = yaml.safe_load(DEMO.read_text())
    data["vendor"]["options"].update(vendor_options)
    data["inference"] = {"n_resamples": 200}
    return AuditSpec.model_validate(data)


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    out = tmp_path_factory.mktemp("pooled")
    return out, run_audit(demo_spec(), out=out)


def test_demo_writes_results_report_and_evidence(pooled):
    out, result = pooled
    for name in (
        "results.json",
        "report.html",
        "evidence.sqlite",
        "plan.parquet",
        "manifest.json",
        "report.md",
    ):
        assert (out / name).is_file()
    document = json.loads((out / "results.json").read_text())
    ids = [m["id"] for m in document["metrics"]]
    assert ids == list(metric_ids())  # no metrics section: every metric, in registry order
    assert result.data_quality.answer_rate == 1.0
    assert set(result.to_frame().columns) >= {"id", "value", "ci_low", "ci_high", "verdict"}


@pytest.mark.slow
def test_pooling_vendor_is_flagged_and_isolated_one_is_not(pooled, tmp_path):
    _, result = pooled
    isolated = run_audit(demo_spec(pooling=0.0, trend_weight=0.0), out=tmp_path)
    # Raw overlap separates the two (the pooler's noise, drawn per shop, keeps it under warn).
    flagged = result.metric("homogenization.cross_shop_jaccard")
    quiet = isolated.metric("homogenization.cross_shop_jaccard")
    assert quiet.verdict == "pass"
    assert quiet.ci is not None and flagged.ci is not None and quiet.ci[1] < flagged.ci[0]
    # On the scale of the vendor's agreement with itself: the index fails the pooler, passes
    # the other.
    assert result.metric("homogenization.index").verdict == "fail"
    assert isolated.metric("homogenization.index").verdict == "pass"


@pytest.mark.slow
def test_same_spec_and_evidence_give_identical_results(pooled, tmp_path):
    out, _ = pooled
    run_audit(demo_spec(), out=tmp_path)
    assert (tmp_path / "results.json").read_bytes() == (out / "results.json").read_bytes()


@pytest.mark.slow
def test_steered_segment_moves_counterfactual_divergence(tmp_path):
    steered = run_audit(
        demo_spec(
            pooling=0.0, steering=[{"attribute": "age_band", "level": "65+", "price_shift": -2.0}]
        ),
        out=tmp_path / "s",
    )
    plain = run_audit(demo_spec(pooling=0.0), out=tmp_path / "p")
    moved = steered.metric("segment.counterfactual_divergence")
    still = plain.metric("segment.counterfactual_divergence")
    assert moved.value > still.value + 0.1
    assert moved.verdict in ("warn", "fail") and still.verdict == "pass"


@pytest.mark.slow
def test_cli_run_resume_report_and_fail_on(tmp_path):
    runner = CliRunner()
    spec_path = tmp_path / "spec.yaml"
    data = yaml.safe_load(DEMO.read_text())
    data["inference"] = {"n_resamples": 200}
    spec_path.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    first = runner.invoke(main, ["run", str(spec_path), "--out", str(out), "--quiet"])
    assert first.exit_code == 0, first.output
    assert "report:" in first.output and "homogenization.cross_shop_jaccard" in first.output
    again = runner.invoke(main, ["run", str(spec_path), "--out", str(out), "--quiet"])
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(
        main,
        ["run", str(spec_path), "--out", str(out), "--quiet", "--resume", "--fail-on", "warn"],
    )
    assert resumed.exit_code == 1
    (out / "report.html").unlink()
    rendered = runner.invoke(main, ["report", str(out)])
    assert rendered.exit_code == 0 and (out / "report.html").is_file()


def test_cli_validate_and_schema(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(DEMO)])
    assert ok.exit_code == 0 and ok.output == "ok\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO.read_text().replace("k: 10", "k: ten"))
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert (
        "bad.yaml:" in result.output
        and "probes.k: must be an integer from 1 to 1000; got 'ten'" in result.output
    )
    schema = runner.invoke(main, ["schema"])
    assert schema.exit_code == 0 and json.loads(schema.output)["title"].startswith("auditkit")
