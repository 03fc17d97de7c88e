"""Do the homogenization verdicts hold on a real algorithm? The trained vendor, three ways.

A full `auditkit.run_audit` of verdict_validity.py's audit (one seed, every run shown), its
vendor the item-kNN recommender trained on synthetic logs, ``training`` isolated, mixed:0.5
and pooled; the simulated vendor at pooling 0 and 0.9 beside it for reference. For each run
the script prints every homogenization metric's value, confidence interval and verdict.
``--shared-fractions`` varies the catalogs' overlap (a shop sells about two thirds of
``shared_fraction`` of what another does: 0.15 is about 10%, 0.45 about 30%, the default 0.6
about 40%); ``--carry exact|substitute`` sets how taste personas are carried (default: as
the spec default carries them).

Run: python benchmarks/trained_vendor.py [--seed 20261122] [--shared-fractions 0.15 0.45 0.6]
     [--carry exact|substitute]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

from verdict_validity import spec_data

import auditkit
from auditkit.catalogs import stack_catalogs
from auditkit.metrics.registry import METRICS
from auditkit.world import generate_world

HOMOGENIZATION = [name for name in METRICS if name.startswith("homogenization.")]
VENDORS: list[tuple[str, dict[str, Any]]] = [
    ("trained isolated", {"adapter": "trained", "options": {"training": "isolated"}}),
    ("trained mixed:0.5", {"adapter": "trained", "options": {"training": "mixed:0.5"}}),
    ("trained pooled", {"adapter": "trained", "options": {"training": "pooled"}}),
    ("simulated pooling 0", {"adapter": "simulated", "options": {"pooling": 0.0}}),
    ("simulated pooling 0.9", {"adapter": "simulated", "options": {"pooling": 0.9}}),
]


def catalog_overlap(seed: int, shared_fraction: float) -> float:
    """Mean share of one shop's items (by item_key) that another shop also sells."""
    stacked = stack_catalogs(generate_world(seed=seed, shared_fraction=shared_fraction).catalogs())
    keys = {shop: set(group["item_key"]) for shop, group in stacked.groupby("shop_id")}
    shares = [len(keys[a] & keys[b]) / len(keys[a]) for a, b in itertools.permutations(keys, 2)]
    return sum(shares) / len(shares)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--shared-fractions", type=float, nargs="+", default=[0.15, 0.45, 0.6])
    parser.add_argument("--carry", choices=("substitute", "exact"), default=None)
    args = parser.parse_args()
    short = {name: name.removeprefix("homogenization.") for name in HOMOGENIZATION}
    with tempfile.TemporaryDirectory(prefix="auditkit-trained-") as scratch:
        for shared_fraction in args.shared_fractions:
            overlap = catalog_overlap(args.seed, shared_fraction)
            print(
                f"\nshared_fraction {shared_fraction:g} (catalog overlap {overlap:.0%}), "
                f"seed {args.seed}"
            )
            print(f"{'vendor':<22} {'metric':<20} {'value':>7}  {'95% CI':<17} verdict")
            for label, vendor in VENDORS:
                out = Path(scratch) / f"{shared_fraction:g}-{label.replace(' ', '_')}"
                start = time.perf_counter()
                spec = auditkit.AuditSpec.model_validate(
                    spec_data(args.seed, shared_fraction, vendor, args.carry)
                )
                result = auditkit.run_audit(spec, out=out)
                seconds = time.perf_counter() - start
                for metric in (m for m in result.metrics if m.id in short):
                    ci = "" if metric.ci is None else f"[{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]"
                    print(
                        f"{label:<22} {short[metric.id]:<20} {metric.value:7.3f}  {ci:<17} "
                        f"{metric.verdict}"
                    )
                print(f"{label:<22} ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
