"""`auditkit run` against a dead or misconfigured vendor, damaged evidence, a busy directory.

Exit codes: 0 ok, 1 findings, 2 input errors, 3 an incomplete collection, 130 interrupted;
the evidence of an incomplete or interrupted run is kept and ``--resume`` continues it.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
import support
import yaml
from click.testing import CliRunner

from auditkit import AuditSpec
from auditkit.api import load_shops
from auditkit.cli import EXIT_INCOMPLETE, EXIT_INPUT, EXIT_INTERRUPTED, main
from auditkit.world import Faults, SimulatedVendor, running_server, vendor_app

KEY_ENV = "AKT_GUARDS_VENDOR_KEY"
KEY = "guards-key-93"
CLI = "from auditkit.cli import main; main()"


def spec_data(url: str, **vendor) -> dict:
    return support.spec_data(
        "guarded run",
        {
            "adapter": "http",
            "url": url + "/v1/tenants/{tenant_id}/recommendations",
            "headers": {"Authorization": "Bearer ${" + KEY_ENV + "}"},
            "body": {"customer": {"id": "{customer_id}", "history": "{history}"}, "limit": "{k}"},
            "response": {"items": "data.recommendations[].sku"},
            "timeout_seconds": 2,
            "concurrency": 4,
            "retries": {"max_attempts": 8, "backoff_seconds": 1.0, "max_backoff_seconds": 30},
            **vendor,
        },
        {"k": 5, "personas": [{"id": "p", "history_length": 3, "customers": 6}]},
        seed=3,
        n_resamples=100,
    )


def write_spec(tmp_path, url: str, **vendor):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec_data(url, **vendor)))
    return path


@pytest.fixture
def serve(monkeypatch):
    """Serve the spec's world with ``faults``; yields the base URL."""
    monkeypatch.setenv(KEY_ENV, KEY)
    shops = load_shops(AuditSpec.model_validate(spec_data("http://unused")))
    vendor = SimulatedVendor(shops.catalogs, seed=3, pooling=0.5)

    def serving(**faults):
        return running_server(vendor_app(vendor, faults=Faults(**faults), api_key=KEY))

    return serving


def dead_url() -> str:
    """A local address where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def attempts_in(out) -> int:
    with sqlite3.connect(out / "evidence.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])


def run_cli(*args: str):
    return CliRunner().invoke(main, ["run", *args, "--quiet"])


def test_a_dead_vendor_stops_at_once_with_its_own_exit_code(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    spec = write_spec(tmp_path, dead_url())
    started = time.monotonic()
    result = run_cli(str(spec), "--out", str(tmp_path / "out"), "--fail-on", "fail")
    assert time.monotonic() - started < 10  # not minutes of backoff
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert result.stdout.startswith("answered 0 of ")  # the answer rate comes first
    assert "incomplete collection: the vendor did not answer the first 3 probes" in result.stderr
    assert "error: connection x3" in result.stderr and "--resume" in result.stderr
    assert attempts_in(tmp_path / "out") == 3
    assert (tmp_path / "out" / "report.html").exists()  # what was measured is still reported


def test_a_wrong_response_path_stops_after_the_first_probes(tmp_path, serve):
    with serve() as url:
        spec = write_spec(tmp_path, url, response={"items": "data.recs[].sku"})
        result = run_cli(str(spec), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert "none of the first 10 probes got a usable answer (invalid: unparseable x" in (
        result.stderr
    )


def test_a_partial_collection_is_judged_by_min_answer_rate(tmp_path, serve):
    with serve(malformed_rate=0.4, malformed=("empty",), seed=2) as url:
        spec = write_spec(tmp_path, url)
        partial = run_cli(str(spec), "--out", str(tmp_path / "a"))
        lenient = run_cli(str(spec), "--out", str(tmp_path / "b"), "--min-answer-rate", "0.3")
    assert partial.exit_code == EXIT_INCOMPLETE, partial.output
    assert "below --min-answer-rate 0.9" in partial.stderr
    assert lenient.exit_code == 0, lenient.output


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b"not a database at all" * 100), id="garbage"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:6000]), id="truncated"),
        pytest.param(lambda path: path.write_bytes(b""), id="empty"),
    ],
)
def test_damaged_evidence_is_a_clear_error_and_is_left_as_it_was(tmp_path, serve, damage):
    with serve() as url:
        spec = write_spec(tmp_path, url)
        out = tmp_path / "out"
        assert run_cli(str(spec), "--out", str(out)).exit_code == 0
        evidence = out / "evidence.sqlite"
        for side in out.glob("evidence.sqlite-*"):
            side.unlink()
        damage(evidence)
        kept = evidence.read_bytes()
        result = run_cli(str(spec), "--out", str(out), "--resume")
    if result.exit_code == 0:  # an empty file is a new database: every probe is sent again
        assert kept == b""
        assert attempts_in(out) > 0
        return
    assert result.exit_code == EXIT_INPUT, result.output
    assert "not readable as auditkit evidence" in result.stderr
    assert "Traceback" not in result.output
    assert evidence.read_bytes() == kept  # nothing overwritten


def launch(spec, out, *extra: str) -> subprocess.Popen:
    env = {**os.environ, KEY_ENV: KEY}
    command = [sys.executable, "-c", CLI, "run", str(spec), "--out", str(out), "-q", *extra]
    # Ctrl-C as from a shell: a signal ignored in this process (by another test's server or
    # browser) would be inherited ignored through exec, and the run would never see it.
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_attempts(out, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if attempts_in(out) >= count:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError("the run sent nothing")


@pytest.mark.slow
def test_a_second_run_on_a_busy_directory_is_refused_and_kill_9_leaves_no_stale_lock(
    tmp_path, serve
):
    with serve(latency_ms=300) as url:
        spec = write_spec(tmp_path, url, concurrency=1)
        out = tmp_path / "out"
        # Two runs started together on a new directory: one gets it, one is refused.
        both = [launch(spec, out), launch(spec, out)]
        deadline = time.monotonic() + 60
        while all(p.poll() is None for p in both) and time.monotonic() < deadline:
            time.sleep(0.02)
        refused = next(p for p in both if p.poll() is not None)
        first = both[1] if refused is both[0] else both[0]
        _, err = refused.communicate()
        assert refused.returncode == EXIT_INPUT, err
        # refused by the lock, or (when it came second) by the evidence the other one wrote
        assert b"is in use by another auditkit run" in err or b"already holds evidence" in err
        assert first.poll() is None  # the run that has the directory goes on
        second = launch(spec, out, "--resume")  # a resume while it runs is refused too
        _, err = second.communicate(timeout=60)
        assert second.returncode == EXIT_INPUT, err
        assert b"is in use by another auditkit run" in err
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)  # and close its pipes
        resumed = launch(spec, out, "--resume")
        _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    with sqlite3.connect(out / "evidence.sqlite") as db:
        twice = db.execute(
            "SELECT probe_id FROM attempts WHERE status = 'ok'"
            " GROUP BY probe_id HAVING COUNT(*) > 1"
        ).fetchall()
    assert twice == []


@pytest.mark.slow
def test_ctrl_c_keeps_the_evidence_and_exits_130(tmp_path, serve):
    # A slow vendor (about 7 answers a second), so the run is still probing when Ctrl-C comes,
    # however late a loaded machine lets the test see the first answers.
    with serve(latency_ms=300) as url:
        spec = write_spec(tmp_path, url, concurrency=2)
        out = tmp_path / "out"
        running = launch(spec, out)
        wait_for_attempts(out, 4, running)
        running.send_signal(signal.SIGINT)
        _, err = running.communicate(timeout=30)
        assert running.returncode == EXIT_INTERRUPTED, err
        assert b"interrupted: the answers so far are kept in" in err
        assert b"Traceback" not in err
        kept = attempts_in(out)
        resumed = launch(spec, out, "--resume")
        _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert attempts_in(out) > kept >= 4
