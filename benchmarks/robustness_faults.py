"""Whole audits against a hostile vendor, fault by fault and rate by rate: nothing may be lost.

Each configuration is one fault of tests/robustness/hostile.py (answers: 5xx bursts, 429 with
and without Retry-After, redirect loops, broken JSON, HTML pages, wrong types, empty lists,
duplicates, unknown items, k + 50 items, non-UTF-8 bytes, 50 MB answers, gzip bombs, echoed
credentials; connection: hangs, header and body drips, resets, early closes) at one rate,
drawn from its own seed. Each runs a small audit of the simulated vendor served on 127.0.0.1
behind the fault, and is checked as the tests check one: the audit completes, the fault is
counted in data quality, every planned probe is answered or failed, no attempt outlives its
deadline, no file of the run holds the secret, memory stays bounded (tracemalloc for the
bombs and huge answers).

    .venv/bin/python benchmarks/robustness_faults.py [--seed 0] [--faults hang,gzip_bomb]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "robustness"))

from hostile import FAULTS, Fault, audit_under, problems, simulated_vendor  # noqa: E402

RATES: dict[str, tuple[float, ...]] = {
    "error_burst": (0.04, 0.1),  # each error opens a burst of 4
    "echo_credentials": (0.1, 0.25),  # errors and pages, each at the rate
}
DEFAULT_RATES = (0.15, 0.3)


def configurations(seed: int, names: list[str] | None = None) -> list[Fault]:
    """Every fault at each of its rates, each with a seed of its own derived from ``seed``."""
    chosen = sorted(FAULTS) if names is None else names
    faults = []
    for name in chosen:
        for rate in RATES.get(name, DEFAULT_RATES):
            faults.append(FAULTS[name].at(rate, seed * 1000 + len(faults)))
    return faults


def fault_figures(seed: int, names: list[str] | None = None) -> dict[str, Any]:
    """Run every configuration of ``seed``; the figures, and every rule a run broke."""
    vendor = simulated_vendor()
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    broken: list[str] = []
    completed = lost = crashes = leaks = committed = counted = idle = 0
    traced_peak = 0
    runs = configurations(seed, names)
    with tempfile.TemporaryDirectory(prefix="auditkit-faults-") as scratch:
        for index, fault in enumerate(runs):
            outcome = audit_under(vendor, fault, Path(scratch) / f"run{index:03d}")
            completed += outcome.result is not None
            crashes += outcome.error is not None
            answered = 0 if outcome.result is None else outcome.result.data_quality.probes_answered
            lost += outcome.planned - answered - outcome.failed()
            leaks += len(outcome.leaks())
            committed += sum(outcome.committed.values())
            counted += outcome.counted()
            idle += not outcome.committed  # drawn at a low rate, the fault may never come
            traced_peak = max(traced_peak, outcome.peak_bytes or 0)
            broken += problems(outcome)
    figures.update(
        seed=seed,
        faults_tried=len(runs),
        audits_completed=completed,
        faults_committed=committed,
        failures_counted=counted,
        configurations_without_a_fault=idle,
        probes_lost=lost,
        crashes=crashes,
        secret_leaks=leaks,
        rules_broken=len(broken),
        broken=broken,
        traced_peak_mib=round(traced_peak / 2**20, 1),
        peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        seconds=round(time.perf_counter() - started, 1),
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--faults", type=lambda text: text.split(","), default=None, help="comma-separated"
    )
    args = parser.parse_args()
    if args.faults is not None:
        unknown = sorted(set(args.faults) - set(FAULTS))
        if unknown:
            parser.error(f"--faults: {unknown} must be among {sorted(FAULTS)}")
    figures = fault_figures(args.seed, args.faults)
    rows = [
        ("faults tried", figures["faults_tried"]),
        ("audits completed", figures["audits_completed"]),
        ("faults committed by the server", figures["faults_committed"]),
        ("failures counted in data quality", figures["failures_counted"]),
        ("configurations the fault missed", figures["configurations_without_a_fault"]),
        ("probes lost", figures["probes_lost"]),
        ("crashes", figures["crashes"]),
        ("secret leaks", figures["secret_leaks"]),
        ("rules broken", figures["rules_broken"]),
        ("peak traced memory (bombs, huge)", f"{figures['traced_peak_mib']} MiB"),
        ("peak RSS", f"{figures['peak_rss_mib']} MiB"),
        ("seconds", figures["seconds"]),
    ]
    for label, value in rows:
        print(f"{label:34} {value}")
    for line in figures["broken"]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
