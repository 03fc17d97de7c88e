"""Kill an HTTP audit with SIGKILL at seeded random points, resume it, compare with a whole run.

One audit over HTTP against the built-in vendor served on 127.0.0.1 (with latency, so a run
takes a few seconds). An uninterrupted run gives the reference results.json. Then, for each
kill point, a fresh run is started with the ``auditkit`` command, killed with SIGKILL after a
seeded random delay drawn over the whole run (probing, metrics, report writing), and resumed
with ``--resume`` until it finishes. Every resume must finish, give results.json byte for byte
equal to the reference, and leave no probe with two usable answers.

Run: python benchmarks/robustness_kill.py [--points 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from auditkit import AuditSpec
from auditkit.api import load_shops
from auditkit.world import Faults, SimulatedVendor, running_server, vendor_app

KEY_ENV = "AKT_BENCH_KILL_KEY"
KEY = "bench-kill-key-5"
CLI = "from auditkit.cli import main; main()"


def spec_data(url: str) -> dict[str, Any]:
    """A small whole audit over HTTP (every family of metrics, counterfactual twins)."""
    return {
        "auditkit": 1,
        "name": "killed and resumed",
        "seed": 5,
        "world": {"shops": 3, "items_per_shop": 60, "categories": 4},
        "vendor": {
            "adapter": "http",
            "url": url + "/v1/tenants/{tenant_id}/recommendations",
            "headers": {"Authorization": "Bearer ${" + KEY_ENV + "}"},
            "body": {
                "customer": {"id": "{customer_id}", "history": "{history}"},
                "limit": "{k}",
            },
            "response": {"items": "data.recommendations[].sku"},
            "concurrency": 3,
            "retries": {"max_attempts": 4, "backoff_seconds": 0.05, "max_backoff_seconds": 0.5},
        },
        "probes": {
            "k": 5,
            "personas": [{"id": "p", "history_length": 3, "customers": 8}],
            "segments": {"age_band": ["18-34", "65+"]},
            "counterfactual": ["age_band"],
        },
        "inference": {"n_resamples": 200},
    }


def _cli(spec: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", CLI, "run", str(spec), "--out", str(out), "-q", *extra]


def _answered_twice(evidence: Path) -> int:
    with sqlite3.connect(evidence) as db:
        rows = db.execute(
            "SELECT COUNT(*) FROM (SELECT probe_id FROM attempts WHERE status = 'ok'"
            " GROUP BY probe_id HAVING COUNT(*) > 1)"
        ).fetchone()
    return int(rows[0])


def kill_figures(points: int = 50, seed: int = 0) -> dict[str, Any]:
    """Kill points tried, resumes that finished, results identical, probes answered twice."""
    rng = np.random.default_rng(seed)
    env = {**os.environ, KEY_ENV: KEY}
    shops = load_shops(AuditSpec.model_validate(spec_data("http://unused")))
    vendor = SimulatedVendor(shops.catalogs, seed=5, pooling=0.7, trend_weight=0.5)
    app = vendor_app(vendor, faults=Faults(latency_ms=15, seed=seed), api_key=KEY)
    figures = {"kill points": 0, "killed mid-run": 0, "resumes finished": 0}
    figures |= {"results identical": 0, "probes answered twice": 0}
    with tempfile.TemporaryDirectory() as tmp, running_server(app) as url:
        root = Path(tmp)
        spec = root / "spec.yaml"
        spec.write_text(yaml.safe_dump(spec_data(url)))
        started = time.monotonic()
        whole = subprocess.run(_cli(spec, root / "whole"), env=env, capture_output=True)
        duration = time.monotonic() - started
        if whole.returncode != 0:
            raise RuntimeError(whole.stderr.decode())
        reference = (root / "whole" / "results.json").read_bytes()
        for point in range(points):
            out = root / f"killed-{point}"
            delay = float(rng.uniform(0.2, duration))
            process = subprocess.Popen(
                _cli(spec, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(delay)
            figures["killed mid-run"] += process.poll() is None
            process.send_signal(signal.SIGKILL)
            process.wait()
            figures["kill points"] += 1
            resume = ("--resume",) if (out / "evidence.sqlite").exists() else ()
            resumed = subprocess.run(_cli(spec, out, *resume), env=env, capture_output=True)
            if resumed.returncode != 0:
                continue
            figures["resumes finished"] += 1
            figures["results identical"] += (out / "results.json").read_bytes() == reference
            figures["probes answered twice"] += _answered_twice(out / "evidence.sqlite")
    figures["seconds per uninterrupted run"] = round(duration, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, value in kill_figures(args.points, args.seed).items():
        print(f"{name:>30}: {value}")


if __name__ == "__main__":
    main()
