"""The Dask engine on a LocalCluster at growing probe counts: stage times and memory per worker.

One audit of the built-in world (``--shops`` shops of ``--items`` products, the demo's vendor,
segments and counterfactual twins on the age band, one repeat per probe, no claims) whose
persona customers are scaled so that the plan has about ``--probes`` probes. The stages are
those of ``auditkit run SPEC --scheduler ADDRESS``, timed one by one:

- **plan**: the probe design, on the client;
- **probing**: the shards (whole customers) as tasks on the workers, each with its own
  simulated vendor and evidence file, returned and merged into the run's evidence in order
  (the store ``--evidence-store`` names; ``auto``, the default, chooses as ``auditkit run``
  does: the columnar store from 100,000 probes on);
- **tables**: the answers read back from the evidence and joined into the tables (client);
- **metrics**: every registered metric as a task on the workers (the tables sent to each);
- with ``--check``, the same probes sent from this process alone, and the same metrics computed
  in this process on the same tables, compared field by field with the cluster's: the
  largest absolute difference of each metric that differs at all (NaN equal to NaN).

Memory per worker is sampled from the scheduler every half second (each worker's resident
memory as its heartbeat reports it) and the largest value is printed with the worker's limit;
the client's own peak is its ``VmHWM``. ``--probing-only`` stops after probing (the tables of
a very large run do not fit on the client of this machine: see docs/scale.md).

Run (one size at a time; the workers are processes, so the script needs its main guard):
``.venv/bin/python benchmarks/dask_scale.py --probes 100000 [--workers 2] [--check]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from auditkit import AuditSpec
from auditkit.api import load_shops, plan_probes, retain_freed_memory
from auditkit.api._cluster import cluster_engine
from auditkit.api._engine import judge_here
from auditkit.api._run import evaluate
from auditkit.api._vendor import build_vendor
from auditkit.probes import STORE_CHOICES, EvidenceStore, RunPolicy, open_evidence, run_probes
from auditkit.probes.columnar import PARTS_DIR
from auditkit.spec import spec_sha256

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "audit_specs" / "demo.yaml"
GIB = 1 << 30


def spec_for(probes: int, shops: int, items: int, k: int) -> AuditSpec:
    data = yaml.safe_load(DEMO.read_text())
    data.pop("claims")
    data["world"] = {"shops": shops, "items_per_shop": items, "categories": 12}
    data["probes"]["k"] = k
    # Per customer and shop: the probe, its repeat and three age-band twins (one shares the
    # probe's request): 5 planned probes; four personas share the customers.
    per_customer = 5 * shops
    customers = max(1, math.ceil(probes / per_customer / 4))
    for persona in data["probes"]["personas"]:
        persona["customers"] = customers
    return AuditSpec.model_validate(data)


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


class WorkerMemory:
    """The largest resident memory each worker reported while it ran (a sampling thread)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.peak: dict[str, int] = {}
        self.limit: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for address, worker in self.client.scheduler_info(n_workers=-1)["workers"].items():
                memory = int(worker["metrics"]["memory"])
                self.peak[address] = max(self.peak.get(address, 0), memory)
                self.limit[address] = int(worker["memory_limit"])

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _numbers(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a result's plain data by its path (floats as floats, the rest as text)."""
    if isinstance(value, dict):
        return {k: v for key in value for k, v in _numbers(value[key], f"{path}.{key}").items()}
    if isinstance(value, list | tuple):
        return {
            k: v for i, item in enumerate(value) for k, v in _numbers(item, f"{path}[{i}]").items()
        }
    return {path: value if isinstance(value, float) else repr(value)}


def differences(left: list[Any], right: list[Any]) -> dict[str, float]:
    """Per metric whose results differ: the largest absolute difference of a number in them.

    Any difference other than in a float's value (a verdict, a count, NaN against a number)
    is reported as infinite.
    """
    found = {}
    for a, b in zip(left, right, strict=True):
        one, two = _numbers(dataclasses.asdict(a)), _numbers(dataclasses.asdict(b))
        if one == two or json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True):
            continue
        worst = 0.0
        for key in one.keys() | two.keys():
            x, y = one.get(key), two.get(key)
            if isinstance(x, float) and isinstance(y, float):
                if not (math.isnan(x) and math.isnan(y)):
                    worst = max(worst, abs(x - y)) if math.isfinite(x - y) else math.inf
            elif x != y:
                worst = math.inf
        found[a.id] = worst
    return found


def probe_here(spec: AuditSpec, shops: Any, plan: Any, run_dir: Path) -> float:
    """Seconds to send the same plan from this process alone (the engine of one machine)."""
    vendor = build_vendor(spec, shops.catalogs, shops.signatures())
    path = run_dir / "here.sqlite"
    started = time.perf_counter()
    with EvidenceStore(path, spec_sha256=spec_sha256(spec)) as store:
        run_probes(plan, vendor, store, shops.catalogs, policy=RunPolicy.for_vendor(vendor))
    seconds = time.perf_counter() - started
    path.unlink()
    return seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    import dask
    from distributed import Client, LocalCluster

    # A worker that stops answering is restarted after a minute, not Dask's five: its shard
    # is then sent again (see docs/scale.md), and the benchmark goes on.
    dask.config.set({"distributed.scheduler.worker-ttl": args.worker_ttl})

    spec = spec_for(args.probes, args.shops, args.items, args.k)
    row: dict[str, Any] = {"probes_asked": args.probes, "workers": args.workers}
    started = time.perf_counter()
    shops = load_shops(spec)
    plan = plan_probes(spec, shops)
    row["plan_s"] = time.perf_counter() - started
    row["probes"] = len(plan)
    row["sent"] = int(plan["same_as"].isna().sum())
    with (
        tempfile.TemporaryDirectory(prefix="auditkit-dask-scale-", dir=args.tmp) as folder,
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.memory_limit,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as monitor,
        WorkerMemory(monitor) as memory,
    ):
        run_dir = Path(folder)
        with (
            cluster_engine(cluster.scheduler_address, spec, shops, plan, run_dir) as engine_for,
            open_evidence(
                run_dir, spec_sha256=spec_sha256(spec), store=args.evidence_store, probes=len(plan)
            ) as store,
        ):
            row["evidence_store"] = store.kind
            engine = engine_for(store, RunPolicy(), "vendor")
            started = time.perf_counter()
            stopped = engine.probe(plan)
            row["probing_s"] = time.perf_counter() - started
            row["stopped"] = stopped
            files = [run_dir / "evidence.sqlite", *(run_dir / PARTS_DIR).glob("*")]
            row["evidence_mib"] = sum(f.stat().st_size for f in files) / (1 << 20)
            if args.check:
                row["probing_here_s"] = probe_here(spec, shops, plan, run_dir)
            if not args.probing_only:
                timings: dict[str, float] = {}
                seen: dict[str, Any] = {}

                def judge(tasks: Any, tables: Any, reference: Any) -> Any:
                    timings["tables_s"] = time.perf_counter() - started
                    begun = time.perf_counter()
                    results = engine.judge(tasks, tables, reference)
                    timings["metrics_s"] = time.perf_counter() - begun
                    seen.update(tasks=tasks, tables=tables, results=results)
                    return results

                started = time.perf_counter()
                evaluate(spec, plan, store, shops, judge=judge)
                row.update(timings)
                if args.check:
                    begun = time.perf_counter()
                    here = judge_here(seen["tasks"], seen["tables"])
                    row["metrics_here_s"] = time.perf_counter() - begun
                    row["differ_from_one_machine"] = differences(here, seen["results"])
                seen.clear()
        time.sleep(1.0)  # one more heartbeat of every worker
    row["worker_peak_mib"] = {a: v / (1 << 20) for a, v in sorted(memory.peak.items())}
    row["worker_limit_mib"] = {a: v / (1 << 20) for a, v in sorted(memory.limit.items())}
    row["client_peak_mib"] = peak_rss_mib()
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shops", type=int, default=10)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--memory-limit", default="4GiB", help="each worker's limit")
    parser.add_argument("--probing-only", action="store_true", help="stop after probing")
    parser.add_argument("--check", action="store_true", help="compare with one machine")
    parser.add_argument("--worker-ttl", default="60s", help="restart a silent worker after")
    parser.add_argument("--evidence-store", choices=STORE_CHOICES, default="auto")
    parser.add_argument("--tmp", default=None, help="where the run directory goes")
    parser.add_argument("--json", default="", help="also append the row to this file")
    args = parser.parse_args()
    retain_freed_memory()  # as the auditkit command does
    row = run(args)
    for key, value in row.items():
        if isinstance(value, float):
            value = f"{value:.2f}"
        elif isinstance(value, dict) and key.endswith("_mib"):
            value = ", ".join(f"{k}: {v:.0f}" for k, v in value.items())
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v:.3g}" for k, v in value.items()) or "none"
        print(f"{key:>22}: {value}")
    if args.json:
        with open(args.json, "a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
