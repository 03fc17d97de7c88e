"""How often the segment metrics flag a vendor that treats every segment alike.

Runs the demo spec's probe design (three age bands and two devices, counterfactual pairs on the
age band, one repeat) against the built-in world's isolated simulated vendor without steering,
or with ``--vendor trained`` the built-in item-kNN vendor trained on each shop's synthetic logs
(a real algorithm that never reads the context), under many seeds (a new world, plan and vendor
noise each time), and counts the reruns in which any segment metric's verdict is ``warn`` or
``fail``. The target is at most 5 in 100. For contrast it also runs a few reruns with the 65+
band steered to cheaper products.

Run: python benchmarks/segment_null_rate.py [--reruns 100] [--resamples 1000]
     [--vendor simulated|trained]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "metrics"))

from segment_world import STEERED, audit_tables, demo_spec, world_of

from auditkit.judging import judge_metric
from auditkit.metrics import METRICS

SEGMENT_METRICS = [name for name in METRICS if name.startswith("segment.")]
FLAGGED = ("warn", "fail")


def verdicts(
    seed: int, resamples: int, *, steered: bool, vendor: str = "simulated"
) -> dict[str, tuple[str, float]]:
    spec = demo_spec(seed)
    steering = [STEERED] if steered else []
    tables = audit_tables(spec, world_of(spec), steering=steering, vendor=vendor)
    results = {
        name: judge_metric(name, tables, n_resamples=resamples, seed=seed)
        for name in SEGMENT_METRICS
    }
    return {name: (r.verdict, r.value) for name, r in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reruns", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--steered-reruns", type=int, default=5)
    parser.add_argument("--vendor", choices=("simulated", "trained"), default="simulated")
    args = parser.parse_args()
    started = time.perf_counter()
    per_metric = dict.fromkeys(SEGMENT_METRICS, 0)
    values: dict[str, list[float]] = {name: [] for name in SEGMENT_METRICS}
    flagged_runs = 0
    for seed in range(args.reruns):
        found = verdicts(seed, args.resamples, steered=False, vendor=args.vendor)
        for name, (_, value) in found.items():
            values[name].append(value)
        flagged = [name for name, (verdict, _) in found.items() if verdict in FLAGGED]
        for name in flagged:
            per_metric[name] += 1
        flagged_runs += bool(flagged)
        if flagged:
            print(f"seed {seed}: flagged by {flagged}", flush=True)
    print(
        f"unsteered {args.vendor} vendor, {args.reruns} seeded reruns, {args.resamples} resamples:"
    )
    for name, count in per_metric.items():
        low, high = np.nanmin(values[name]), np.nanmax(values[name])
        print(f"  {name:42s} flagged {count}/{args.reruns}; values {low:.3f} to {high:.3f}")
    not_flagged = args.reruns - flagged_runs
    print(f"  not flagged by any segment metric: {not_flagged}/{args.reruns} (target >= 95%)")
    hits = 0
    for seed in range(args.steered_reruns):
        found = verdicts(10_000 + seed, args.resamples, steered=True, vendor=args.vendor)
        hits += found["segment.counterfactual_price_gap"][0] in FLAGGED
    print(
        f"steered 65+ (price_shift -1): counterfactual_price_gap flagged "
        f"{hits}/{args.steered_reruns}"
    )
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
