"""Each standard suite, as `auditkit init` writes it, runs end to end: on the built-in world,
and over HTTP against `auditkit serve-vendor`; its report and audit opinion read sensibly."""

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
import support
import yaml
from click.testing import CliRunner

from auditkit.cli import main
from auditkit.suites import load_suite, suite_ids

CLI = "from auditkit.cli import main; main()"
KEY_ENV = "AKT_SUITE_VENDOR_KEY"
KEY = "suite-e2e-key-5b1d"


def init(tmp_path, suite_id):
    spec = tmp_path / f"{suite_id}.yaml"
    result = CliRunner().invoke(main, ["init", suite_id, "--out", str(spec)])
    assert result.exit_code == 0, result.output
    return spec


def check_run(out, suite_id, *, adapter):
    document = json.loads((out / "results.json").read_text())
    suite = load_suite(suite_id).suite
    record = document["audit"]["suite"]
    assert record["id"] == suite_id and record["version"] == suite.version
    # The vendor is not a protected key: the suite still ran unmodified.
    assert record["unmodified"] is True and record["modified"] == []
    assert document["audit"]["adapter"] == adapter
    assert [o["id"] for o in document["obligations"]] == suite.obligations
    assert document["opinion"]["opinion"] in ("positive", "positive with comments", "negative")
    assert document["data_quality"]["answer_rate"] == 1.0
    report = (out / "report.html").read_text()
    assert f"suite {suite_id} v{suite.version}" in report
    assert "ran unmodified" in (out / "report.md").read_text()
    opinion = (out / "opinion.md").read_text()
    for obligation in document["obligations"]:
        assert f"### {obligation['clause']}" in opinion.replace("\\", "")
    assert record["hash"] in (out / "opinion.html").read_text()
    return document


@pytest.mark.slow
@pytest.mark.parametrize("suite_id", suite_ids())
def test_each_suite_runs_on_the_built_in_world(tmp_path, suite_id):
    spec = init(tmp_path, suite_id)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(spec), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    document = check_run(out, suite_id, adapter="simulated")
    findings = {o["id"]: o["finding"] for o in document["obligations"]}
    # The suites' stand-in vendors pool their tenants' data: the design test must say so.
    assert findings["dsa_art34_35"] == "negative"
    assert document["opinion"]["opinion"] == "negative"
    if suite_id == "regulator":  # its stand-in also steers 65+ customers to cheaper products
        assert findings["ai_act_art10"] == "negative" and findings["nyc_ll144"] == "negative"


@pytest.mark.slow
@pytest.mark.parametrize("suite_id", suite_ids())
def test_a_vendor_without_the_planted_effects_is_not_found_against(tmp_path, suite_id):
    spec = init(tmp_path, suite_id)
    data = yaml.safe_load(spec.read_text())
    data["vendor"] = {"adapter": "simulated", "name": "null", "options": {"pooling": 0.0}}
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(spec), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    document = check_run(out, suite_id, adapter="simulated")
    findings = {o["id"]: o["finding"] for o in document["obligations"]}
    assert findings["dsa_art34_35"] != "negative"
    assert findings.get("ai_act_art10") != "negative"
    assert findings.get("nyc_ll144") != "negative"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_vendor(port):
    url = f"http://127.0.0.1:{port}"
    return support.served_vendor(
        url,
        secret_env=KEY_ENV,
        name="Suite vendor over HTTP",
        events={"url": url + "/v1/tenants/{tenant_id}/events"},
        timeout_seconds=10,
        concurrency=16,
        retries={"max_attempts": 6, "backoff_seconds": 0.1, "max_backoff_seconds": 2},
    )


@pytest.mark.slow
@pytest.mark.parametrize("suite_id", suite_ids())
def test_each_suite_runs_over_http_against_serve_vendor(tmp_path, suite_id, monkeypatch):
    spec = init(tmp_path, suite_id)
    port = free_port()
    env = {**os.environ, KEY_ENV: KEY}
    command = [sys.executable, "-c", CLI, "serve-vendor", str(spec), "--port", str(port)]
    command += ["--api-key-env", KEY_ENV, "--pooling", "0.8", "--trend-weight", "0.4"]
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(command, env=env, stderr=stderr)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "serve-vendor did not start"
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            data = yaml.safe_load(spec.read_text())
            data["vendor"] = http_vendor(port)
            over_http = tmp_path / "over_http.yaml"
            over_http.write_text(yaml.safe_dump(data, sort_keys=False))
            monkeypatch.setenv(KEY_ENV, KEY)
            out = tmp_path / "run"
            result = CliRunner().invoke(
                main, ["run", str(over_http), "--out", str(out), "--quiet"]
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert result.exit_code == 0, result.output
    check_run(out, suite_id, adapter="http")
    for path in out.iterdir():
        assert KEY.encode() not in path.read_bytes(), path.name
