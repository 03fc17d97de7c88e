"""Do the 95% intervals cover what they estimate? Coverage over many audits of one fixed world.

The shops (catalogs written once from one built-in world) and the vendor stay fixed; only the
audit's seed changes, and with it the synthetic customers drawn, the vendor's noise for them
and the resamples. The design mean of a metric is the mean of its values over the seeds; a
metric's coverage is the share of seeds whose interval holds that mean, and its width ratio
the mean interval width over the 95% spread of the values (about 1 when the interval is as
wide as the audit-to-audit variation). The target (issue "verdicts that hold on real
recommenders"): coverage >= 93% over >= 100 audits for every metric with an interval.

The segment group metrics (price gap, exposure and hit-rate impact ratios) report the worst
attribute, and their interval is that attribute's: the attribute named can change from audit
to audit (the one with the largest gap, or the worst of those whose difference is significant),
so the mean of the headline values mixes several attributes' gaps and no one interval estimates
it. Their coverage is therefore of the design mean of the attribute each audit names (that
attribute's value averaged over every audit, from ``details["comparisons"]``); a line per
attribute (``metric[attribute]``) gives every attribute's own interval's coverage, named or not.

``--vendor trained`` audits the built-in item-kNN vendor (``training: mixed:0.5``) instead of
the simulated one, trained once on logs seeded by the world seed (``log_seed``), so the vendor
stays fixed while the audits' customers change.

``--probes-from SPEC`` audits with a shipped suite's probe design (its budget) instead of the
demo's. ``--trend-planting`` keeps that suite's trend planting (the cooperative and regulator
suites have one) and measures trend leakage too: every audit then sends its synthetic purchases
to a fresh vendor, so the plant does not carry from one audit to the next.

``--first-seed S`` starts the audit seeds at S, so a second run adds audits independent of the
first (its design mean is its own). ``--metrics ID ...`` measures only those metrics (a change to
one metric's interval is rerun in a fraction of the time: the probing is the same, the metrics
not asked for are not computed). ``--log FILE`` writes every audit's value and interval, one
JSON line per audit and metric, to find what the audits that miss have in common.

Run: python benchmarks/interval_coverage.py [--seeds 100] [--first-seed 1] [--world-seed 7]
     [--pooling 0.5] [--vendor simulated|trained]
     [--probes-from auditkit/suites/smb_vetting.yaml] [--trend-planting]
     [--metrics segment.hit_rate_ratio ...] [--log audits.jsonl]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import auditkit
import auditkit.metrics
from auditkit.world import generate_world

# Every metric with an interval; trend leakage only with trend planting (`--trend-planting`).
LEAKAGE = "popularity.trend_leakage"
METRICS = [name for name in auditkit.metrics.METRICS if name != LEAKAGE]
# Metrics valued at their worst attribute's group ratio: as the ratio, or as 1 - ratio (a gap).
WORST_ATTRIBUTE = {
    "segment.price_gap": "gap",
    "segment.exposure_impact_ratio": "ratio",
    "segment.hit_rate_ratio": "ratio",
}


def attribute_estimates(metric: Any) -> dict[str, tuple[float, tuple[float, float]]]:
    """Each single attribute's value and interval, on the metric's own scale."""
    estimates = {}
    for name, comparison in metric.details["comparisons"].items():
        if "×" in name:  # the intersection is reported, never named
            continue
        ratio, (low, high) = comparison["ratio"], comparison["ratio_ci"]
        if WORST_ATTRIBUTE[metric.id] == "gap":
            estimates[name] = (1.0 - ratio, (1.0 - high, 1.0 - low))
        else:
            estimates[name] = (ratio, (low, high))
    return estimates


def coverage_line(label: str, found: np.ndarray, bounds: np.ndarray, target: np.ndarray) -> str:
    """Share of intervals holding their target, the share missing it on each side (the
    interval wholly above the target, wholly below), and mean width over the values' 95%
    spread."""
    above = target < bounds[:, 0]
    below = bounds[:, 1] < target
    covered = 1.0 - above.mean() - below.mean()
    spread = np.subtract(*np.quantile(found, [0.975, 0.025]))
    width = (bounds[:, 1] - bounds[:, 0]).mean()
    ratio = width / spread if spread > 0 else float("nan")
    return (
        f"{label:<36} {found.size:>6} {covered:>9.1%} {above.mean():>7.1%} {below.mean():>7.1%}"
        f" {ratio:>12.2f}"
    )


def spec_data(
    seed: int,
    shops: list[dict[str, Any]],
    pooling: float,
    vendor: dict[str, Any] | None = None,
    probes: dict[str, Any] | None = None,
    metrics: list[str] | None = None,
) -> dict[str, Any]:
    """The demo's probe design (or ``probes``) over fixed shops; a noisy simulated vendor."""
    return {
        "auditkit": 1,
        "name": "interval coverage",
        "seed": seed,
        "shops": shops,
        "vendor": vendor
        or {
            "adapter": "simulated",
            "options": {"pooling": pooling, "trend_weight": 0.5, "noise": 0.3},
        },
        "probes": probes
        or {
            "k": 10,
            "personas": [
                {"id": "tea_lover", "categories": ["cat01", "cat02"], "customers": 6},
                {"id": "gadget_fan", "categories": ["cat05"], "customers": 6},
                {"id": "explorer", "history_length": 8, "customers": 6},
                {"id": "newcomer", "history_length": 0, "customers": 4},
            ],
            "segments": {"age_band": ["18-34", "35-64", "65+"], "device": ["mobile", "desktop"]},
            "counterfactual": ["age_band"],
            "repetitions": 1,
        },
        "metrics": {name: {} for name in metrics or METRICS},
        "inference": {"n_resamples": 1000},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=1, help="audit seeds from this one on")
    parser.add_argument("--world-seed", type=int, default=7)
    parser.add_argument("--pooling", type=float, default=0.5)
    parser.add_argument("--vendor", choices=("simulated", "trained"), default="simulated")
    parser.add_argument(
        "--probes-from",
        type=Path,
        default=None,
        help="a suite's spec (auditkit/suites/smb_vetting.yaml): audit with its probe design",
    )
    parser.add_argument(
        "--trend-planting",
        action="store_true",
        help="keep the suite's trend planting and measure trend leakage (--probes-from a suite "
        "with one: auditkit/suites/cooperative.yaml)",
    )
    parser.add_argument(
        "--metrics", nargs="+", choices=[*METRICS, LEAKAGE], default=None, help="only these"
    )
    parser.add_argument("--log", type=Path, default=None, help="a JSON line per audit and metric")
    args = parser.parse_args()
    probes = None
    metrics = [name for name in METRICS if args.metrics is None or name in args.metrics]
    if args.probes_from is not None:
        probes = yaml.safe_load(args.probes_from.read_text())["probes"]
        if not args.trend_planting:
            probes.pop("trend_planting", None)
    if args.trend_planting:
        if probes is None or "trend_planting" not in probes:
            parser.error("--trend-planting needs --probes-from a suite with trend_planting")
        if args.metrics is None or LEAKAGE in args.metrics:
            metrics.append(LEAKAGE)
    elif args.metrics is not None and LEAKAGE in args.metrics:
        parser.error("popularity.trend_leakage needs --trend-planting")
    vendor = None
    if args.vendor == "trained":
        options = {"training": "mixed:0.5", "log_seed": args.world_seed, "noise": 0.3}
        vendor = {"adapter": "trained", "options": options}
    start = time.perf_counter()
    values: dict[str, list[float]] = {name: [] for name in metrics}
    intervals: dict[str, list[tuple[float, float]]] = {name: [] for name in metrics}
    named: dict[str, list[str]] = {name: [] for name in WORST_ATTRIBUTE}
    per_attribute: dict[tuple[str, str], list[tuple[float, tuple[float, float]]]] = {}
    log = args.log.open("w") if args.log is not None else None
    with tempfile.TemporaryDirectory(prefix="auditkit-coverage-") as scratch:
        world = generate_world(seed=args.world_seed, n_shops=6, items_per_shop=300)
        shops = []
        for shop_id, frame in world.catalogs().items():
            path = Path(scratch) / f"{shop_id}.csv"
            frame.to_csv(path, index=False)
            signature = {"categories": list(world.shops[shop_id].signature_categories)}
            shops.append({"id": shop_id, "catalog": str(path), "signature": signature})
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            spec = auditkit.AuditSpec.model_validate(
                spec_data(seed, shops, args.pooling, vendor, probes, metrics)
            )
            result = auditkit.run_audit(spec, out=Path(scratch) / f"run-{seed}")
            for metric in result.metrics:
                if log is not None:
                    record = {"seed": seed, "metric": metric.id, "value": metric.value}
                    record.update(ci=metric.ci, n=metric.n, details=metric.details)
                    log.write(json.dumps(record, default=str) + "\n")
                if metric.ci is not None and np.isfinite(metric.value):
                    values[metric.id].append(metric.value)
                    intervals[metric.id].append(metric.ci)
                    if metric.id in WORST_ATTRIBUTE:
                        named[metric.id].append(metric.details["attribute"])
                        for name, estimate in attribute_estimates(metric).items():
                            per_attribute.setdefault((metric.id, name), []).append(estimate)
    if log is not None:
        log.close()
    about = "trained mixed:0.5" if vendor else f"pooling {args.pooling:g}"
    last = args.first_seed + args.seeds - 1
    print(
        f"{args.seeds} audits (seeds {args.first_seed}-{last}) of world {args.world_seed}, {about}"
    )
    columns = ("audits", 6), ("coverage", 9), ("above", 7), ("below", 7), ("width ratio", 12)
    print(f"{'metric':<36} " + " ".join(f"{name:>{width}}" for name, width in columns))
    for name in metrics:
        found = np.asarray(values[name])
        if found.size < 2:
            print(f"{name:<36} {found.size:>6}  (too few intervals)")
            continue
        bounds = np.asarray(intervals[name])
        if name not in WORST_ATTRIBUTE:
            print(coverage_line(name, found, bounds, np.full(found.size, found.mean())))
            continue
        means = {
            attribute: float(np.nanmean([value for value, _ in estimates]))
            for (metric_id, attribute), estimates in per_attribute.items()
            if metric_id == name
        }
        target = np.array([means[attribute] for attribute in named[name]])
        print(coverage_line(f"{name} (named)", found, bounds, target))
        for attribute, mean in means.items():
            estimates = per_attribute[(name, attribute)]
            own = np.array([value for value, _ in estimates])
            own_bounds = np.array([interval for _, interval in estimates])
            finite = np.isfinite(own) & np.isfinite(own_bounds).all(axis=1)
            own, own_bounds = own[finite], own_bounds[finite]
            label = f"  [{attribute}] named {named[name].count(attribute)}"
            print(coverage_line(label, own, own_bounds, np.full(own.size, mean)))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
