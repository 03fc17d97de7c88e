"""Check `auditkit plan`'s power on the built-in world: plant the planned effect, count hits.

1. Fix one synthetic world (catalog files), audit an isolated vendor (pooling 0) as the pilot,
   and read the detectable shift of homogenization.cross_shop_jaccard from `plan_audit`.
2. Rerun the planned design on the null vendor under many seeds: their mean is the true null
   value, and the share whose CI lies wholly above it is the false-positive rate.
3. Map pooling to the shift it causes, with common random numbers: the same seeds audited at
   pooling 0 and at each pooling of a grid, so the mean paired difference is precise with few
   seeds; pick the pooling whose shift is the detectable one.
4. Rerun the planned design with that pooling under the same seeds as step 2: the share of runs
   whose CI lies wholly above the null value is the realized power (planned: 80%).

Run: python benchmarks/power_check.py [--reruns 100] [--calibration-seeds 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from auditkit import AuditSpec, run_audit
from auditkit.api import plan_audit
from auditkit.world import generate_world

METRIC = "homogenization.cross_shop_jaccard"


def spec(catalog_dir: Path, *, seed: int, pooling: float, customers: int = 6) -> AuditSpec:
    shops = sorted(p.stem for p in catalog_dir.glob("*.csv"))
    return AuditSpec.model_validate(
        {
            "auditkit": 1,
            "name": "power check",
            "seed": seed,
            "shops": [{"id": s, "catalog": str(catalog_dir / f"{s}.csv")} for s in shops],
            "vendor": {"adapter": "simulated", "options": {"pooling": pooling, "noise": 0.3}},
            "probes": {
                "k": 10,
                "repetitions": 0,
                "personas": [
                    {"id": "tea", "categories": ["cat01", "cat02"], "customers": customers},
                    {"id": "gadgets", "categories": ["cat05"], "customers": customers},
                    {"id": "explorer", "history_length": 8, "customers": customers},
                ],
            },
            "metrics": {METRIC: {}},
            "inference": {"n_resamples": 400},
        }
    )


def jaccard(
    catalog_dir: Path, scratch: Path, *, seed: int, pooling: float, customers: int = 6
) -> tuple[float, tuple[float, float]]:
    out = scratch / f"run-{seed}-{pooling}-{customers}"
    result = run_audit(spec(catalog_dir, seed=seed, pooling=pooling, customers=customers), out=out)
    metric = result.metric(METRIC)
    assert metric.ci is not None
    return metric.value, metric.ci


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reruns", type=int, default=100)
    parser.add_argument("--calibration-seeds", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        catalog_dir = scratch / "catalogs"
        catalog_dir.mkdir()
        for shop_id, catalog in generate_world(seed=7).catalogs().items():
            catalog.to_csv(catalog_dir / f"{shop_id}.csv", index=False)

        planned = plan_audit(spec(catalog_dir, seed=1, pooling=0.0))
        shift = next(m.detectable_effect for m in planned.metrics if m.id == METRIC)
        print(f"pilot: detectable shift of {METRIC} at 80% power: {shift:.4f}")

        null = [jaccard(catalog_dir, scratch, seed=s, pooling=0.0) for s in range(args.reruns)]
        null_mean = float(np.mean([value for value, _ in null]))
        null_sd = float(np.std([value for value, _ in null], ddof=1))
        false_alarms = sum(ci[0] > null_mean for _, ci in null)

        grid = np.linspace(0.05, 0.3, 6)
        seeds = range(10_000, 10_000 + args.calibration_seeds)
        base = np.array([jaccard(catalog_dir, scratch, seed=s, pooling=0.0)[0] for s in seeds])
        shifts = np.array(
            [
                np.mean(
                    [jaccard(catalog_dir, scratch, seed=s, pooling=p)[0] for s in seeds] - base
                )
                for p in grid
            ]
        )
        pooling = float(
            np.interp(shift, np.maximum.accumulate(np.r_[0.0, shifts]), np.r_[0.0, grid])
        )
        print(
            f"null: mean {null_mean:.4f}, spread across reruns {null_sd:.4f}; planted pooling "
            f"{pooling:.3f} (shift about {shift:.4f})"
        )

        hits = sum(
            jaccard(catalog_dir, scratch, seed=s, pooling=pooling)[1][0] > null_mean
            for s in range(args.reruns)
        )
        print(f"realized power: {hits}/{args.reruns} = {hits / args.reruns:.0%} (planned 80%)")
        print(
            f"null reruns flagged: {false_alarms}/{args.reruns} "
            f"= {false_alarms / args.reruns:.0%} (expected about 2.5%)"
        )
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
