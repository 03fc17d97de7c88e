"""A whole `auditkit run` at scale, stage by stage, against the in-process built-in vendor.

The demo audit (``audit_specs/demo.yaml``: its world, its simulated vendor, its personas,
segments, counterfactual and claims) with each persona's customers scaled so that the plan
has about ``--probes`` probes (the claims' verification probes are a fixed few hundred). The
run is `auditkit.api.run_audit`, the call behind ``auditkit run``; each stage is timed by
wrapping the function that does it, so what is timed is the run itself:

- ``shops``: the world generated (`load_shops`);
- ``plan``: the probe design (`plan_probes`);
- ``vendor``: the simulated vendor built over the catalogs;
- ``probing``: every request sent and its attempt recorded (`run_probes`), of which
  ``evidence writes`` is the time inside the evidence store's record and flush calls;
- ``evidence read``: the answers and attempts read back from the store;
- ``tables``: the long tables built from plan, answers and catalogs (`build_tables`);
- ``metrics``: every registered metric with its interval (`compute_metrics`);
- ``claims``: the claims verified and scored (`score_claims`);
- ``results`` and ``reports``: ``results.json``, then ``report.html`` and ``report.md``;
- ``other``: the rest of the run (the plan and spec written, the data-quality tally, the
  hashes).

Peak memory per stage is the kernel's high-water mark (``VmHWM`` after ``clear_refs``) while
it runs; the process peak is ``ru_maxrss``.

    .venv/bin/python benchmarks/run_scale.py --probes 100000 [--store auto|sqlite|parquet]
        [--resamples 1000] [--out DIR] [--json OUT] [--profile OUT.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

import auditkit.api._run as run_module
from auditkit.api import run_audit
from auditkit.probes.stores import STORES

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "audit_specs" / "demo.yaml"


def _status_mib(field: str) -> float:
    """A memory line of ``/proc/self/status`` (``VmHWM``, ``VmRSS``), in MiB."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _reset_peak() -> None:
    """Restart the kernel's peak-RSS count (Linux ``clear_refs``), where it can be."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def scaled_spec(probes: int, *, resamples: int, store: str | None) -> dict[str, Any]:
    """The demo spec with every persona's customers scaled to give about ``probes`` probes."""
    spec = yaml.safe_load(DEMO.read_text())
    spec["world"].pop("__line__", None)
    personas = spec["probes"]["personas"]
    # Probe the demo's design once at its own size: probes per customer, and the fixed rest.
    small = run_module.read_spec(dict(spec))
    plan = run_module.plan_probes(small, run_module.load_shops(small))
    fixed = int(plan["check_id"].notna().sum() + plan["phase"].notna().sum())
    customers = sum(p["customers"] for p in personas)
    per_customer = (len(plan) - fixed) / customers
    scale = max(probes - fixed, per_customer) / (per_customer * customers)
    for persona in personas:
        persona["customers"] = max(1, round(persona["customers"] * scale))
    spec["name"] = f"{spec['name']} at {probes:,} probes"
    spec.setdefault("inference", {})["n_resamples"] = resamples
    if store is not None:
        spec["evidence"] = {"store": store}
    return spec


class Stages:
    """Wall time and peak memory of each stage, summed over its calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mib: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._active: set[str] = set()

    @contextmanager
    def stage(self, name: str, *, memory: bool = True) -> Iterator[None]:
        """Time the block as ``name`` (and its peak memory, unless nested in another stage)."""
        if memory:
            _reset_peak()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.calls[name] = self.calls.get(name, 0) + 1
            if memory:
                peak = _status_mib("VmHWM")
                self.peak_mib[name] = max(self.peak_mib.get(name, 0.0), peak)

    def wrap(self, owner: Any, attribute: str, name: str, *, memory: bool = True) -> None:
        """Replace ``owner.attribute`` by itself timed as stage ``name``."""
        original: Callable[..., Any] = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if name in self._active:  # called from within itself (record -> flush)
                return original(*args, **kwargs)
            self._active.add(name)
            try:
                with self.stage(name, memory=memory):
                    return original(*args, **kwargs)
            finally:
                self._active.discard(name)

        setattr(owner, attribute, timed)


def instrument(stages: Stages) -> None:
    """Time every stage of `run_audit` by wrapping the functions it calls."""
    stages.wrap(run_module, "load_shops", "shops")
    stages.wrap(run_module, "plan_probes", "plan")
    stages.wrap(run_module, "build_vendor", "vendor")
    stages.wrap(run_module, "run_probes", "probing")
    stages.wrap(run_module, "build_tables", "tables")
    stages.wrap(run_module, "compute_metrics", "metrics")
    stages.wrap(run_module, "score_claims", "claims")
    stages.wrap(run_module, "write_results", "results")
    stages.wrap(run_module, "write_report", "reports")
    for store in STORES.values():
        for attribute in ("record", "flush"):
            if attribute in vars(store):
                stages.wrap(store, attribute, "evidence writes", memory=False)
        for attribute in ("answers", "attempts", "quality_rows"):
            if attribute in vars(store):
                stages.wrap(store, attribute, "evidence read")


def _evidence_bytes(run_dir: Path) -> int:
    """Bytes the run's evidence takes on disk (the database, its log, any part files)."""
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    return sum(
        p.stat().st_size
        for p in files
        if p.name.startswith("evidence") or p.parent.name.startswith("evidence")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument(
        "--store",
        choices=["auto", "sqlite", "parquet"],
        default=None,
        help="the evidence store (default: the spec's default, chosen by plan size)",
    )
    parser.add_argument("--out", type=Path, default=None, help="run directory (kept)")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the run into OUT")
    args = parser.parse_args()

    spec = scaled_spec(args.probes, resamples=args.resamples, store=args.store)
    stages = Stages()
    instrument(stages)
    scratch = None
    run_dir = args.out
    if run_dir is None:
        scratch = tempfile.mkdtemp(prefix="auditkit-run-scale-")
        run_dir = Path(scratch) / "run"
    elif run_dir.exists():
        shutil.rmtree(run_dir)
    load = os.getloadavg()[0]
    profiler = cProfile.Profile() if args.profile else None
    start = time.perf_counter()
    try:
        if profiler is not None:
            profiler.enable()
        result = run_audit(spec, out=run_dir)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        total = time.perf_counter() - start
        evidence_bytes = _evidence_bytes(run_dir)
        store_kind = json.loads((run_dir / "manifest.json").read_text()).get("evidence_store")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    quality = result.data_quality
    order = [
        "shops",
        "plan",
        "vendor",
        "probing",
        "evidence writes",
        "evidence read",
        "tables",
        "metrics",
        "claims",
        "results",
        "reports",
    ]
    timed = sum(stages.seconds.get(name, 0.0) for name in order if name != "evidence writes")
    report = {
        "probes_planned": quality.probes_planned,
        "probes_answered": quality.probes_answered,
        "attempts": quality.attempts,
        "store": store_kind,
        "resamples": args.resamples,
        "metrics": len(result.metrics),
        "seconds_total": round(total, 2),
        "stages": {
            name: {
                "seconds": round(stages.seconds[name], 2),
                "peak_mib": round(stages.peak_mib[name]) if name in stages.peak_mib else None,
            }
            for name in order
            if name in stages.seconds
        },
        "seconds_other": round(total - timed, 2),
        "probes_per_second": round(quality.attempts / stages.seconds["probing"], 1),
        "evidence_mib": round(evidence_bytes / 2**20, 1),
        # clear_refs also restarts ru_maxrss: the process peak is the largest stage's.
        "process_peak_mib": round(
            max(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                *stages.peak_mib.values(),
            )
        ),
        "load_average_1min_at_start": round(load, 2),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
