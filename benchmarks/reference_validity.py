"""Does judging against a reference hold? Flag rates of the reported metrics over many seeds.

For each catalog overlap and each (vendor, reference) pair, audits ``--seeds`` built-in worlds
with the spec's ``reference`` set, and counts, per reported metric, the share of seeds in which
it reads warn or fail against the reference. The pairs:

- ``null``: the trained vendor (item-kNN, each shop's own logs) against another model of the
  same algorithm fitted on other synthetic logs. Neither is worse: every metric should flag in
  at most 5% of seeds.
- ``bestseller vs personalised``: a vendor that ignores the customer's history and shows each
  shop's bestsellers, against the trained isolated vendor (a personalised in-house
  recommender). It is worse on long-tail share, coverage and within-shop sameness: those
  should flag in at least 90% of seeds.
- ``pooled vs isolated``: the trained vendor fitted on every shop's pooled logs against one
  fitted on each shop's own (what a shop compares when it moves to a shared vendor); printed
  for what it shows, with no target.

Run: python benchmarks/reference_validity.py [--seeds 50] [--shared-fractions 0.15 0.45]
     [--pairs null bestseller] [--probes-from auditkit/suites/smb_vetting.yaml]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from verdict_validity import spec_data

import auditkit
from auditkit.metrics.registry import METRICS

REPORTED = tuple(sorted(m for m, d in METRICS.items() if d.rule == "reported"))
FLAGS = ("warn", "fail")
TRAINED = {"adapter": "trained", "options": {"training": "isolated"}}


def pairs(seed: int) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each pair's vendor and reference for one seed."""
    other_logs = {
        "adapter": "trained",
        "options": {"training": "isolated", "log_seed": seed + 7919},
    }
    bestseller = {
        "adapter": "simulated",
        "options": {"pooling": 0.0, "trend_weight": 0.0, "personalization": 0.0},
    }
    pooled = {"adapter": "trained", "options": {"training": "pooled"}}
    return {
        "null": (other_logs, TRAINED),
        "bestseller": (bestseller, TRAINED),
        "pooled": (pooled, TRAINED),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--shared-fractions", type=float, nargs="+", default=[0.15, 0.45])
    parser.add_argument("--pairs", nargs="+", default=["null", "bestseller", "pooled"])
    parser.add_argument("--probes-from", type=Path, default=None)
    args = parser.parse_args()
    probes = None
    if args.probes_from is not None:
        probes = yaml.safe_load(args.probes_from.read_text())["probes"]
        probes.pop("trend_planting", None)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    names = [m.split(".")[1] for m in REPORTED]
    print(f"{'overlap':>8} {'pair':<11} " + " ".join(f"{n[:14]:>14}" for n in names))
    with tempfile.TemporaryDirectory(prefix="auditkit-reference-") as scratch:
        for fraction in args.shared_fractions:
            for pair in args.pairs:
                start = time.perf_counter()
                flagged = dict.fromkeys(REPORTED, 0)
                ratios: dict[str, list[float]] = {m: [] for m in REPORTED}
                for seed in seeds:
                    vendor, reference = pairs(seed)[pair]
                    data = spec_data(seed, fraction, vendor, None, probes)
                    data["metrics"] = {m: {} for m in REPORTED}
                    data["reference"] = {"name": "the in-house recommender", "vendor": reference}
                    spec = auditkit.AuditSpec.model_validate(data)
                    result = auditkit.run_audit(
                        spec, out=Path(scratch) / f"{fraction}-{pair}-{seed}"
                    )
                    for m in result.metrics:
                        flagged[m.id] += m.verdict in FLAGS
                        ratios[m.id].append(m.details["reference"]["ratio"])
                n = len(seeds)
                print(
                    f"{fraction:>8g} {pair:<11} "
                    + " ".join(f"{flagged[m] / n:>14.0%}" for m in REPORTED)
                    + f"  ({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
                print(
                    f"{'':>8} {'ratio med.':<11} "
                    + " ".join(f"{sorted(ratios[m])[n // 2]:>14.2f}" for m in REPORTED),
                    flush=True,
                )


if __name__ == "__main__":
    main()
