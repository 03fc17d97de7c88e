"""`auditkit serve-vendor`: a real server process on 127.0.0.1, stopped after."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from auditkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "audit_specs" / "demo.yaml"
CLI = "from auditkit.cli import main; main()"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_vendor_answers_over_http_and_stops(tmp_path):
    spec = tmp_path / "small.yaml"
    data = yaml.safe_load(DEMO.read_text())
    data["world"] = {"shops": 2, "items_per_shop": 40, "categories": 6}  # the personas name cat05
    spec.write_text(yaml.safe_dump(data))
    port = free_port()
    env = {**os.environ, "AKT_SERVE_KEY": "serve-key"}
    command = [sys.executable, "-c", CLI, "serve-vendor", str(spec), "--port", str(port)]
    command += ["--api-key-env", "AKT_SERVE_KEY", "--pooling", "0.9"]
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(command, env=env, stderr=stderr)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "serve-vendor did not start"
                try:
                    health = httpx.get(f"{url}/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            shops = health.json()["shops"]
            assert len(shops) == 2
            body = {"customer": {"id": "c1", "history": []}, "limit": 4}
            target = f"{url}/v1/tenants/{shops[0]}/recommendations"
            assert httpx.post(target, json=body).status_code == 401
            answer = httpx.post(target, json=body, headers={"Authorization": "Bearer serve-key"})
            rows = answer.json()["data"]["recommendations"]
            assert len(rows) == 4 and all(r["sku"].startswith(shops[0]) for r in rows)
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert "serving 2 shops" in log.read_text()
    assert "serve-key" not in log.read_text()


def test_serve_vendor_refuses_bad_options(monkeypatch):
    monkeypatch.delenv("AKT_UNSET_KEY", raising=False)
    runner = CliRunner()
    missing = runner.invoke(main, ["serve-vendor", str(DEMO), "--api-key-env", "AKT_UNSET_KEY"])
    assert missing.exit_code == 2
    assert "--api-key-env: ${AKT_UNSET_KEY} must be set; got None" in missing.output
    too_many = runner.invoke(
        main, ["serve-vendor", str(DEMO), "--error-rate", "0.7", "--throttle-rate", "0.5"]
    )
    assert too_many.exit_code == 2
    assert "error_rate + throttle_rate + malformed_rate must be at most 1" in too_many.output


def test_serve_vendor_serves_calibrated_lists_when_asked(monkeypatch):
    import auditkit.world

    made, served = [], []
    real = auditkit.world.SimulatedVendor

    def recording(*args, **kwargs):
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(auditkit.world, "SimulatedVendor", recording)
    monkeypatch.setattr(auditkit.world, "serve_forever", lambda app, port: served.append(port))
    runner = CliRunner()
    done = runner.invoke(main, ["serve-vendor", str(DEMO), "--calibrated-lift", "0"])
    assert done.exit_code == 0, done.output
    assert made[0]["calibrated_lift"] == 0.0 and served == [8765]
    plain = runner.invoke(main, ["serve-vendor", str(DEMO)])
    assert plain.exit_code == 0 and made[1]["calibrated_lift"] is None
    refused = runner.invoke(main, ["serve-vendor", str(DEMO), "--calibrated-lift", "-1"])
    assert refused.exit_code == 2 and "--calibrated-lift" in refused.output
