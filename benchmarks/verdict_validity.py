"""Do the verdicts hold on every world? Flag rates over many seeds, per vendor and overlap.

For each catalog overlap and each vendor, audits ``--seeds`` built-in worlds (the seed drives
the world, the probes, the vendor and the resamples) and counts the share of seeds in which
the cross-shop family (cross-shop Jaccard, RBO, category divergence, the index) says warn or
fail, and, for the vendor that ranks only by each shop's own sales, the share in which any
homogenization or popularity metric does. The targets (issue "verdicts that hold on real
recommenders"): a pooled vendor flagged in >= 90% of seeds, an isolated one in <= 5%,
mixed:0.5 between; the own-sales vendor flagged by no metric in more than 5%.

The three taste personas are carried as the spec default does (exactly, docs/probes.md);
``--carry exact`` or ``--carry substitute`` sets it explicitly, and a seed whose design is
refused (``exact`` with a taste no two shops share) is counted apart. The last column lists
every metric that flagged, with its rate.

``--shared-fractions`` are the world's shared shares of a catalog: 0.15 and 0.45 make about 10%
and 31% of a shop's catalog sold by another given shop too (pairwise Jaccard 5% and 18%).
``--probes-from SPEC`` audits with a shipped suite's probe design (its budget) instead.

Run: python benchmarks/verdict_validity.py [--seeds 50] [--shared-fractions 0.15 0.45]
     [--carry exact|substitute] [--probes-from auditkit/suites/smb_vetting.yaml]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

import auditkit
from auditkit.errors import DesignError
from auditkit.metrics.registry import METRICS

CROSS_SHOP = (
    "homogenization.cross_shop_jaccard",
    "homogenization.cross_shop_rbo",
    "homogenization.category_divergence",
    "homogenization.index",
)
FLAGS = ("warn", "fail")
OWN_SALES = "simulated own sales"
VENDORS: dict[str, dict[str, Any]] = {
    "trained isolated": {"adapter": "trained", "options": {"training": "isolated"}},
    "trained mixed:0.5": {"adapter": "trained", "options": {"training": "mixed:0.5"}},
    "trained pooled": {"adapter": "trained", "options": {"training": "pooled"}},
    "simulated pooling 0": {"adapter": "simulated", "options": {"pooling": 0.0}},
    "simulated pooling 0.9": {"adapter": "simulated", "options": {"pooling": 0.9}},
    OWN_SALES: {
        "adapter": "simulated",
        "options": {"pooling": 0.0, "trend_weight": 0.0, "personalization": 0.0},
    },
}


def spec_data(
    seed: int,
    shared_fraction: float,
    vendor: dict[str, Any],
    carry: str | None = None,
    probes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A demo-sized audit of the built-in world (or ``probes``, a suite's probe design):
    homogenization and popularity metrics."""
    metrics = [m for m in METRICS if m.split(".")[0] in ("homogenization", "popularity")]
    metrics.remove("popularity.trend_leakage")  # needs trend planting (events)
    carried = {} if carry is None else {"carry": carry}
    return {
        "auditkit": 1,
        "name": "verdict validity",
        "seed": seed,
        "world": {"shops": 6, "items_per_shop": 300, "shared_fraction": shared_fraction},
        "vendor": vendor,
        "probes": probes
        or {
            "k": 10,
            "personas": [
                {
                    "id": "tea_lover",
                    "categories": ["cat01", "cat02"],
                    "customers": 6,
                    **carried,
                },
                {"id": "gadget_fan", "categories": ["cat05"], "customers": 6, **carried},
                {"id": "explorer", "history_length": 8, "customers": 6, **carried},
                {"id": "regular", "history_from": "typical", "customers": 4},
                {"id": "newcomer", "history_length": 0, "customers": 4},
            ],
            "repetitions": 1,
        },
        "metrics": {name: {} for name in metrics},
        "inference": {"n_resamples": 500},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--shared-fractions", type=float, nargs="+", default=[0.15, 0.45])
    parser.add_argument("--vendors", nargs="+", default=list(VENDORS))
    parser.add_argument("--carry", choices=("substitute", "exact"), default=None)
    parser.add_argument(
        "--probes-from",
        type=Path,
        default=None,
        help="a suite's spec (auditkit/suites/smb_vetting.yaml, or one `auditkit init` wrote): "
        "audit with its probe design",
    )
    args = parser.parse_args()
    probes = None
    if args.probes_from is not None:
        probes = yaml.safe_load(args.probes_from.read_text())["probes"]
        probes.pop("trend_planting", None)  # the metrics here need no events
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(
        f"{'overlap':>8} {'vendor':<22} {'cross-shop flagged':>19} {'any flagged':>12}  by metric"
    )
    with tempfile.TemporaryDirectory(prefix="auditkit-validity-") as scratch:
        for fraction in args.shared_fractions:
            for label in args.vendors:
                start = time.perf_counter()
                cross = anything = refused = 0
                by_metric: dict[str, int] = {}
                for seed in seeds:
                    spec = auditkit.AuditSpec.model_validate(
                        spec_data(seed, fraction, VENDORS[label], args.carry, probes)
                    )
                    out = Path(scratch) / f"{fraction:g}-{label.replace(' ', '_')}-{seed}"
                    try:
                        result = auditkit.run_audit(spec, out=out)
                    except DesignError:
                        # carry: exact with a taste no product sold by every shop matches.
                        refused += 1
                        continue
                    flagged = {m.id for m in result.metrics if m.verdict in FLAGS}
                    cross += bool(flagged & set(CROSS_SHOP))
                    anything += bool(flagged)
                    for name in flagged:
                        by_metric[name] = by_metric.get(name, 0) + 1
                n = max(len(seeds) - refused, 1)
                worst = ", ".join(
                    f"{name.split('.')[1]} {count / n:.0%}"
                    for name, count in sorted(by_metric.items(), key=lambda kv: (-kv[1], kv[0]))
                )
                print(
                    f"{fraction:>8g} {label:<22} {cross / n:>19.0%} {anything / n:>12.0%}  "
                    f"{worst}  ({time.perf_counter() - start:.0f} s"
                    + (f", {refused} seeds' designs refused" if refused else "")
                    + ")",
                    flush=True,
                )


if __name__ == "__main__":
    main()
