"""Does the group ratio's interval cover on twin groups alone? A model without a vendor.

Two groups that are the same customers (counterfactual twins at two levels of one attribute,
as the cooperative suite's loyalty twins), each customer's outcome (a found taste: 0 or 1) the
same at both levels except where the vendor's noise redraws it (``--twin-agreement`` the share
kept). The true hit rates are equal, so the lowest-over-highest ratio sits under 1 by noise
alone. Each run calls `compare_groups` as `segment.hit_rate_ratio` does (its bootstrap, its
`MIN_EVENTS` floor); coverage is of the mean ratio over the runs with an interval, as in
`interval_coverage.py`. It isolates the ratio's interval from the rest of an audit: if it
covers here, a shortfall in an audit comes from elsewhere (the design, the outcomes).

Run: python benchmarks/group_ratio_twins.py [--customers 36] [--hit-rate 0.2]
     [--twin-agreement 0.8] [--runs 1000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from auditkit.metrics.segments.groups import compare_groups
from auditkit.metrics.segments.outcomes import CUSTOMER


def run(
    rng: np.random.Generator, customers: int, hit_rate: float, agreement: float
) -> tuple[float, tuple[float, float]]:
    """One audit's twin outcomes and the ratio's value and interval."""
    found = rng.random(customers) < hit_rate
    frames = []
    for level in ("new", "member"):
        redrawn = rng.random(customers) >= agreement
        hit = np.where(redrawn, rng.random(customers) < hit_rate, found).astype(np.float64)
        frames.append(
            pd.DataFrame(
                {
                    CUSTOMER: np.arange(customers),
                    "segment.loyalty": level,
                    "pair_attribute": "loyalty",
                    "hit": hit,
                }
            )
        )
    seed = int(rng.integers(1 << 30))
    comparison = compare_groups(
        pd.concat(frames, ignore_index=True), "hit", n_resamples=1000, confidence=0.95, seed=seed
    )[0]
    return comparison.ratio, comparison.ratio_ci


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=36)
    parser.add_argument("--hit-rate", type=float, default=0.2)
    parser.add_argument("--twin-agreement", type=float, default=0.8)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    runs = [run(rng, args.customers, args.hit_rate, args.twin_agreement) for _ in range(args.runs)]
    kept = [(value, ci) for value, ci in runs if np.isfinite(ci[0])]
    values = np.array([value for value, _ in kept])
    bounds = np.array([ci for _, ci in kept])
    mean = values.mean()
    above, below = (bounds[:, 0] > mean).mean(), (bounds[:, 1] < mean).mean()
    print(
        f"{args.customers} customers, hit rate {args.hit_rate:g}, twin agreement"
        f" {args.twin_agreement:g}: {len(kept)} of {args.runs} runs with an interval, mean"
        f" ratio {mean:.3f}, coverage {1 - above - below:.1%} ({above:.1%} above,"
        f" {below:.1%} below)"
    )


if __name__ == "__main__":
    main()
