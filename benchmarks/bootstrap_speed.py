"""Wall time of the bootstrap-t intervals at scale, and a check that they keep their values.

Cases (1000 resamples each, seeded): `bootstrap_ci` of 1,000,000 lognormal units plain, with
strata of 4 levels, with weights, and with both (random groups resample 50,000 group sums);
`bootstrap_product_ci` of 100,000 rows of 4 columns (powers 1, -1, -1, 1) with 4 strata.
Each case prints the median and the spread of ``--runs`` timed calls (after one untimed
warm-up call) with the machine's load averages before and after (``os.getloadavg``): the
machine may be shared, so compare runs made back to back.

``--save FILE`` writes every interval of a grid of cases (plain, weighted, stratified,
weighted and stratified at n = 40, 5,000 and 1,000,000, and the product case) to a JSON file;
``--compare FILE`` recomputes them and prints the largest difference of an end relative to
the interval's width (the engine's arithmetic may be regrouped, the draws never).

Run: ``.venv/bin/python benchmarks/bootstrap_speed.py [--runs 5] [--save F | --compare F]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from auditkit.metrics._bootstrap import bootstrap_ci, bootstrap_product_ci

UNITS = 1_000_000
PRODUCT_ROWS = 100_000
POWERS = [1.0, -1.0, -1.0, 1.0]


def data(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Skewed values, positive weights, 4 strata, and 4 product columns of ``n`` units."""
    rng = np.random.default_rng(seed)
    return {
        "values": rng.lognormal(0.0, 1.0, n),
        "weights": rng.integers(1, 6, n).astype(np.float64),
        "strata": rng.integers(0, 4, n),
        "columns": np.column_stack(
            [rng.poisson(3.0, n), rng.integers(1, 4, n), rng.integers(2, 5, n), rng.poisson(5, n)]
        ).astype(np.float64),
    }


def interval_cases(n: int) -> dict[str, Callable[[], tuple[float, float]]]:
    """The four `bootstrap_ci` cases of ``n`` units."""
    d = data(n)
    return {
        f"plain n={n}": lambda: bootstrap_ci(d["values"]),
        f"strata n={n}": lambda: bootstrap_ci(d["values"], strata=d["strata"]),
        f"weights n={n}": lambda: bootstrap_ci(d["values"], weights=d["weights"]),
        f"both n={n}": lambda: bootstrap_ci(d["values"], weights=d["weights"], strata=d["strata"]),
    }


def product_case(n: int) -> dict[str, Callable[[], tuple[float, float]]]:
    """`bootstrap_product_ci` of ``n`` rows of 4 columns within 4 strata."""
    d = data(n)
    return {
        f"product n={n}": lambda: bootstrap_product_ci(d["columns"], POWERS, strata=d["strata"])
    }


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def timed(cases: dict[str, Callable[[], tuple[float, float]]], runs: int) -> None:
    for name, call in cases.items():
        call()
        before = load()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        print(
            f"{name:22s} median {statistics.median(times):6.3f} s"
            f"  (min {min(times):.3f}, max {max(times):.3f})  load {before} -> {load()}",
            flush=True,
        )


def grid() -> dict[str, Callable[[], tuple[float, float]]]:
    cases: dict[str, Callable[[], tuple[float, float]]] = {}
    for n in (40, 5_000, UNITS):
        cases.update(interval_cases(n))
    for n in (40, 5_000, PRODUCT_ROWS):
        cases.update(product_case(n))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="timed calls per case")
    parser.add_argument("--save", metavar="FILE", help="write the grid's intervals to FILE")
    parser.add_argument("--compare", metavar="FILE", help="compare the grid's intervals")
    parser.add_argument("--no-timing", action="store_true", help="skip the timed cases")
    args = parser.parse_args()
    if not args.no_timing:
        print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load {load()}")
        timed(interval_cases(UNITS) | product_case(PRODUCT_ROWS), args.runs)
    if args.save:
        with open(args.save, "w") as handle:
            json.dump({name: list(call()) for name, call in grid().items()}, handle, indent=1)
    if args.compare:
        with open(args.compare) as handle:
            saved = json.load(handle)
        worst = 0.0
        for name, call in grid().items():
            low, high = call()
            width = saved[name][1] - saved[name][0]
            gap = max(abs(low - saved[name][0]), abs(high - saved[name][1])) / width
            worst = max(worst, gap) if math.isfinite(gap) else math.inf
            print(f"{name:22s} {saved[name]} -> {[low, high]}  rel. diff {gap:.2e}")
        print(f"largest difference relative to width: {worst:.2e}")


if __name__ == "__main__":
    main()
