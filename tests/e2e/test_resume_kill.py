"""A run killed with SIGKILL partway, then resumed, gives the uninterrupted run's results."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import support
import yaml

from auditkit import AuditSpec, run_audit
from auditkit.api import load_shops
from auditkit.probes.columnar import PARTS_DIR
from auditkit.world import Faults, SimulatedVendor, running_server, vendor_app

pytestmark = pytest.mark.slow

KEY_ENV = "AKT_RESUME_VENDOR_KEY"
KEY = "resume-key-41"
CLI = "from auditkit.cli import main; main()"


def spec_data(url: str) -> dict:
    return support.spec_data(
        "killed and resumed",
        {
            "adapter": "http",
            "url": url + "/v1/tenants/{tenant_id}/recommendations",
            "headers": {"Authorization": "Bearer ${" + KEY_ENV + "}"},
            "body": {
                "customer": {"id": "{customer_id}", "history": "{history}"},
                "limit": "{k}",
            },
            "response": {"items": "data.recommendations[].sku"},
            "concurrency": 3,
        },
        {
            "k": 5,
            "personas": [{"id": "p", "history_length": 3, "customers": 8}],
            "segments": {"age_band": ["18-34", "65+"]},
            "counterfactual": ["age_band"],
        },
        seed=5,
        n_resamples=200,
    )


def count_attempts(path) -> int:
    parts = path.with_name(PARTS_DIR)
    if parts.is_dir():  # the columnar store: only whole part files count
        return sum(pq.read_metadata(p).num_rows for p in parts.glob("part-*.parquet"))
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])
    except sqlite3.Error:
        return 0  # the schema is not written yet


@pytest.fixture
def served():
    spec = AuditSpec.model_validate(spec_data("http://unused"))
    shops = load_shops(spec)
    vendor = SimulatedVendor(shops.catalogs, seed=spec.seed, pooling=0.7, trend_weight=0.5)
    app = vendor_app(vendor, faults=Faults(latency_ms=25), api_key=KEY)
    with running_server(app) as url:
        yield url


def ok_attempts(run_dir):
    """probe_id of every ok attempt, from whichever store the run kept."""
    parts = run_dir / PARTS_DIR
    if parts.is_dir():
        tables = [pq.read_table(p, columns=["probe_id", "status"]) for p in parts.glob("part-*")]
        frame = pa.concat_tables(tables).to_pandas()
        return frame.loc[frame["status"] == "ok", "probe_id"]
    with sqlite3.connect(run_dir / "evidence.sqlite") as db:
        return pd.read_sql_query("SELECT probe_id FROM attempts WHERE status = 'ok'", db)[
            "probe_id"
        ]


@pytest.mark.parametrize("store", ["sqlite", "parquet"])
def test_sigkill_then_resume_equals_an_uninterrupted_run(served, tmp_path, monkeypatch, store):
    monkeypatch.setenv(KEY_ENV, KEY)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec_data(served)))
    killed = tmp_path / "killed"
    evidence = killed / "evidence.sqlite"
    env = {**os.environ, KEY_ENV: KEY}
    run = [sys.executable, "-c", CLI, "run", str(spec_path), "--out", str(killed), "--quiet"]
    run += ["--evidence-store", store]
    log = tmp_path / "killed.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 60
        while count_attempts(evidence) < 10 and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    before = count_attempts(evidence)
    assert not (killed / "results.json").exists()

    resumed = subprocess.run([*run, "--resume"], env=env, capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr.decode()

    whole = tmp_path / "whole"
    run_audit(spec_path, out=whole)
    assert (killed / "results.json").read_bytes() == (whole / "results.json").read_bytes()

    ok = ok_attempts(killed)
    assert not ok.duplicated().any()  # no probe answered twice
    answered, total = ok.nunique(), len(ok)
    plan = pd.read_parquet(killed / "plan.parquet")
    planned = int(plan["same_as"].isna().sum())  # a twin that repeats a request shares its answer
    assert answered == total == planned
    assert 10 <= before < planned  # killed partway: the resume had work left to do
