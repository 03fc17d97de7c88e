"""How often the popularity lift flags a vendor as popular as its customers, and a planted one.

Runs the demo spec's probe design against the built-in world under many seeds (a new world,
plan and vendor noise each time) with the simulated vendor in four settings: the null
(``calibrated_lift: 0``, lists as popular as each customer's history), planted lifts of 0.25
and 0.5 (``calibrated_lift``), and the default vendor ranking each shop by its own sales (with
``trend_weight: 1`` on top). For each it prints how many reruns are flagged (``warn`` or
``fail``) at the default threshold and the range of the value; the target for the null is at
most 5 in 100.

Run: python benchmarks/lift_null_rate.py [--reruns 20] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from auditkit import AuditSpec, run_audit

DEMO = Path(__file__).resolve().parents[1] / "audit_specs" / "demo.yaml"
METRIC = "popularity.lift"
FLAGGED = ("warn", "fail")
WORLDS = {
    "null (calibrated_lift 0)": {"calibrated_lift": 0.0},
    "planted (calibrated_lift 0.25)": {"calibrated_lift": 0.25},
    "planted (calibrated_lift 0.5)": {"calibrated_lift": 0.5},
    "ranked by own sales": {},
    "own sales + trend_weight 1": {"trend_weight": 1.0},
}


def lift(options: dict[str, float], seed: int, resamples: int, out: Path):
    data = yaml.safe_load(DEMO.read_text())
    data.pop("claims")
    data["seed"] = seed
    data["vendor"]["options"].update({"pooling": 0.0, "trend_weight": 0.0, **options})
    data["metrics"] = {METRIC: {}}
    data["inference"] = {"n_resamples": resamples}
    return run_audit(AuditSpec.model_validate(data), out=out).metric(METRIC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for world, (name, options) in enumerate(WORLDS.items()):
            results = [
                lift(options, seed, args.resamples, Path(scratch) / f"{world}-{seed}")
                for seed in range(args.reruns)
            ]
            values = np.array([r.value for r in results])
            highs = np.array([r.ci[1] for r in results])
            flagged = sum(r.verdict in FLAGGED for r in results)
            failed = sum(r.verdict == "fail" for r in results)
            print(
                f"{name:32s} flagged {flagged:3d}/{args.reruns} (fail {failed}); value "
                f"{values.min():7.3f} to {values.max():7.3f} (mean {values.mean():.3f}); "
                f"CI high up to {highs.max():.3f}",
                flush=True,
            )
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
