"""Probes per second the runner sustains against serve-vendor, and client CPU per probe.

Starts ``auditkit serve-vendor`` in its own process (20 ms latency, a 200/s rate limit
answering 429 beyond it), then sends the demo world's probes through the http adapter with
``rate_per_second`` at the limit. The target: at least 95% of the limit. CPU is this (client)
process's ``time.process_time`` over the run, divided by the probes sent.

    .venv/bin/python benchmarks/probe_throughput.py [--probes 2000] [--concurrency 24]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd

from auditkit.api import load_shops, plan_probes, read_spec
from auditkit.probes import EvidenceStore, RunPolicy, run_probes
from auditkit.spec import HttpVendorSpec
from auditkit.vendors._http import HttpVendor

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "audit_specs" / "http_vendor.yaml"
CLI = "from auditkit.cli import main; main()"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"serve-vendor exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("serve-vendor did not start")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def enough_probes(plan: pd.DataFrame, n: int) -> pd.DataFrame:
    """The plan repeated (new probe ids, new customers) until it has ``n`` probes."""
    copies = []
    for copy in range(-(-n // len(plan))):
        copies.append(
            plan.assign(
                probe_id=plan["probe_id"] + f"-r{copy}",
                customer_id=plan["customer_id"] + f"-r{copy}",
            )
        )
    return pd.concat(copies, ignore_index=True).head(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=24)
    args = parser.parse_args()

    spec = read_spec(SPEC)
    shops = load_shops(spec)
    plan = enough_probes(plan_probes(spec, shops), args.probes)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", CLI, "serve-vendor", str(SPEC), "--port", str(port)]
    command += ["--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate)]
    command += ["--pooling", "0.9", "--trend-weight", "0.5"]
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, server)
        data = spec.vendor.model_dump()
        data.update(
            url=url + "/v1/tenants/{tenant_id}/recommendations",
            headers={},
            concurrency=args.concurrency,
            rate_per_second=args.rate,
        )
        vendor_spec = HttpVendorSpec.model_validate(data)
        vendor = HttpVendor(vendor_spec, shops.catalogs)
        policy = RunPolicy.for_vendor(vendor)
        with (
            tempfile.TemporaryDirectory() as tmp,
            EvidenceStore(Path(tmp) / "evidence.sqlite", spec_sha256="bench") as store,
        ):
            served = process_cpu_seconds(server.pid)
            cpu, wall = time.process_time(), time.perf_counter()
            run_probes(plan, vendor, store, shops.catalogs, policy=policy)
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            served = process_cpu_seconds(server.pid) - served
            attempts = store.attempts()
        vendor.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    answered = int(attempts.loc[attempts["status"] == "ok", "probe_id"].nunique())
    rate = answered / wall
    report = {
        "probes": len(plan),
        "answered": answered,
        "attempts": len(attempts),
        "throttled_429": int(attempts["problem"].fillna("").str.startswith("http_429").sum()),
        "seconds": round(wall, 2),
        "latency_ms_median": round(float(attempts["latency_ms"].median()), 1),
        "latency_ms_p95": round(float(attempts["latency_ms"].quantile(0.95)), 1),
        "probes_per_second": round(rate, 1),
        "share_of_limit": round(rate / args.rate, 3),
        "client_cpu_ms_per_probe": round(1000 * cpu / len(plan), 3),
        "server_cpu_ms_per_probe": round(1000 * served / len(plan), 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "rate_limit": args.rate,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
    }
    print(json.dumps(report, indent=2))
    if rate < 0.95 * args.rate:
        raise SystemExit(f"below target: {rate:.1f}/s < 95% of {args.rate:g}/s")


if __name__ == "__main__":
    main()
