"""Whole audits over HTTP against serve-vendor: flaky, throttled, slow, and still complete."""

import json

import pandas as pd
import pytest
import support
import yaml
from click.testing import CliRunner

from auditkit import AuditSpec, run_audit
from auditkit.api import load_shops
from auditkit.cli import main
from auditkit.errors import VendorError
from auditkit.probes import EvidenceStore
from auditkit.spec import spec_sha256
from auditkit.world import Faults, SimulatedVendor, running_server, vendor_app

KNOBS = {"pooling": 0.8, "trend_weight": 0.5, "noise": 0.3}
SECRET_ENV = "AKT_E2E_VENDOR_KEY"
SECRET = "planted-secret-7f3a9c"


def spec_data(vendor: dict) -> dict:
    return support.spec_data(
        "over http",
        vendor,
        {
            "k": 6,
            "personas": [
                {"id": "fan", "categories": ["cat01"], "history_length": 3, "customers": 4},
                {"id": "newcomer", "history_length": 0, "customers": 2},
            ],
            "segments": {"age_band": ["18-34", "65+"]},
            "counterfactual": ["age_band"],
        },
        seed=11,
        world={"shops": 3, "items_per_shop": 80, "categories": 6},
        n_resamples=200,
        claims={
            "data_pooled_across_shops": False,
            "explanations": True,
            "knobs": [
                {
                    "name": "diversity",
                    "option": "diversity",
                    "value": 0.9,
                    "promises": "diversity_up",
                }
            ],
            "verification_customers": 2,
        },
    )


def http_vendor(url: str, **changes) -> dict:
    pace = {
        "timeout_seconds": 5,
        "concurrency": 32,
        "retries": {"max_attempts": 8, "backoff_seconds": 0.05, "max_backoff_seconds": 2},
    }
    return support.served_vendor(url, secret_env=SECRET_ENV, **{**pace, **changes})


@pytest.fixture(scope="module")
def served():
    """The simulated vendor of the spec's world, behind a server with the given faults."""
    reference = AuditSpec.model_validate(spec_data({"adapter": "simulated", "options": KNOBS}))
    shops = load_shops(reference)
    vendor = SimulatedVendor(
        shops.catalogs, seed=reference.seed, signatures=shops.signatures(), **KNOBS
    )

    def serve(**faults):
        app = vendor_app(vendor, faults=Faults(seed=5, **faults), api_key=SECRET)
        return running_server(app)

    return reference, serve


@pytest.fixture(scope="module")
def in_process(served, tmp_path_factory):
    reference, _ = served
    out = tmp_path_factory.mktemp("in_process")
    return run_audit(reference, out=out), out


@pytest.mark.slow
def test_flaky_throttled_slow_vendor_gives_complete_results(
    served, in_process, tmp_path, monkeypatch
):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    _, serve = served
    expected, expected_dir = in_process
    with serve(error_rate=0.10, throttle_rate=0.05, latency_ms=50) as url:
        spec = AuditSpec.model_validate(spec_data(http_vendor(url)))
        result = run_audit(spec, out=tmp_path)
    quality = result.data_quality
    assert quality.probes_answered == quality.probes_planned
    kinds = quality.failures_by_kind
    assert kinds.get("error: http_503", 0) > 0 and kinds.get("error: http_429", 0) > 0
    sent = quality.probes_planned - quality.probes_shared
    assert quality.attempts == sent + sum(kinds.values())
    # Same answers as the vendor called in process: every metric, claim and score agrees.
    assert result.provenance["evidence_sha256"] == expected.provenance["evidence_sha256"]
    got = json.loads((tmp_path / "results.json").read_text())
    want = json.loads((expected_dir / "results.json").read_text())
    for key in ("metrics", "claims", "scores"):
        assert got[key] == want[key], key


@pytest.mark.slow
def test_secret_never_reaches_evidence_results_or_report(served, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    _, serve = served
    with serve(error_rate=0.2) as url:
        spec = AuditSpec.model_validate(spec_data(http_vendor(url, concurrency=8)))
        run_audit(spec, out=tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"evidence.sqlite", "results.json", "report.html"} <= names
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name
    # The spec copy names the variable, never its value.
    assert "${" + SECRET_ENV + "}" in (tmp_path / "spec.json").read_text()


@pytest.mark.slow
def test_a_vendor_that_echoes_the_key_never_gets_it_into_evidence(served, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    _, serve = served
    with serve(echo_credentials=True, malformed_rate=0.3, malformed=("not_json",)) as url:
        spec = AuditSpec.model_validate(spec_data(http_vendor(url)))
        result = run_audit(spec, out=tmp_path)
    assert result.data_quality.failures_by_kind.get("invalid: unparseable", 0) > 0
    with EvidenceStore(tmp_path / "evidence.sqlite", spec_sha256=spec_sha256(spec)) as store:
        attempts = store.attempts()
    texts = pd.concat([attempts["raw"], attempts["explanations"]]).dropna().astype(str)
    assert texts.str.contains("Bearer ***", regex=False).any()  # the echo is kept, redacted
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name


def test_wrong_key_stops_after_the_preflight_probes_and_resume_finishes(
    served, tmp_path, monkeypatch
):
    monkeypatch.setenv(SECRET_ENV, "not-the-key")
    _, serve = served
    with serve() as url:
        spec = AuditSpec.model_validate(spec_data(http_vendor(url, concurrency=8)))
        result = run_audit(spec, out=tmp_path)
        quality = result.data_quality
        assert quality.probes_answered == 0 and quality.attempts == 3  # not retried, not 66
        assert quality.failures_by_kind == {"error: http_401": 3}
        assert quality.stopped.startswith("the vendor did not answer the first 3 probes")
        assert "error: http_401 x3" in quality.stopped
        assert "Probing stopped early" in (tmp_path / "report.html").read_text()
        monkeypatch.setenv(SECRET_ENV, SECRET)  # the key is fixed
        resumed = run_audit(spec, out=tmp_path, resume=True).data_quality
    assert resumed.stopped is None and resumed.probes_answered == resumed.probes_planned


@pytest.mark.slow
def test_results_are_byte_identical_whatever_the_concurrency(served, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    _, serve = served
    with serve() as url:
        for concurrency in (1, 16):
            spec = AuditSpec.model_validate(spec_data(http_vendor(url, concurrency=concurrency)))
            run_audit(spec, out=tmp_path / str(concurrency))
    assert (tmp_path / "1" / "results.json").read_bytes() == (
        tmp_path / "16" / "results.json"
    ).read_bytes()


@pytest.mark.slow
def test_malformed_answers_are_kept_and_counted_in_data_quality(served, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    _, serve = served
    with serve(malformed_rate=0.5) as url:
        spec = AuditSpec.model_validate(spec_data(http_vendor(url)))
        result = run_audit(spec, out=tmp_path)
    kinds = result.data_quality.failures_by_kind
    for kind in (
        "invalid: unparseable",
        "invalid: empty",
        "answered with duplicates",
        "answered with unknown_items",
    ):
        assert kinds.get(kind, 0) > 0, kinds
    assert 0 < result.data_quality.answer_rate < 1
    with EvidenceStore(tmp_path / "evidence.sqlite", spec_sha256=spec_sha256(spec)) as store:
        attempts = store.attempts()
    unparseable = attempts[attempts["problem"].fillna("").str.startswith("unparseable")]
    assert unparseable["raw"].notna().all()  # what the vendor said is kept as evidence


@pytest.mark.slow
def test_cli_run_shows_progress_unless_quiet(served, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    _, serve = served
    runner = CliRunner()
    with serve() as url:
        spec_path = tmp_path / "spec.yaml"
        spec_path.write_text(yaml.safe_dump(spec_data(http_vendor(url))))
        shown = runner.invoke(main, ["run", str(spec_path), "--out", str(tmp_path / "a")])
        quiet = runner.invoke(main, ["run", str(spec_path), "--out", str(tmp_path / "b"), "-q"])
    assert shown.exit_code == 0 and quiet.exit_code == 0, shown.output
    assert "probing vendor" in shown.stderr and "failures=0" in shown.stderr
    assert "probe/s" in shown.stderr
    assert "probing vendor" not in quiet.stderr


def test_missing_secret_stops_the_run_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    spec = AuditSpec.model_validate(spec_data(http_vendor("http://127.0.0.1:9")))
    with pytest.raises(VendorError) as info:
        run_audit(spec, out=tmp_path / "run")
    assert str(info.value) == (
        f"vendor.headers.Authorization: ${{{SECRET_ENV}}} must be set in the environment; got None"
    )
    assert not (tmp_path / "run").exists()  # the same command works once the key is set
