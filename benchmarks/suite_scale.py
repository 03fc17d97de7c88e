"""The whole metric suite at a million probes: every registered metric with its interval.

One synthetic audit, built straight into `AuditTables` by `metrics_scale.World` (50 shops of
100,000 items, matched customers carried into 10 shops each, repeats for the noise ceiling, a
trend planting) and extended here so that the segment family runs on the very same tables:

- every customer has three segment attributes (age band: 3 levels, device: 2, region: 4),
  names a customer (the plan's ``customer`` column) and two held-out taste products;
- every fifth customer is twinned on the age band at its first shop: three twins, one per
  level, with the customer's history and lists redrawn past the taste items (as the probe
  design twins: same shop, same history, one attribute changed);
- every catalog item has a price (log-normal per shop), carried into the lists and histories;
- the text columns are dictionary-coded, as `build_tables` stores them (`coded_tables`).

With ``--probes N`` (default 1,000,000) the first-repetition probes, repeats and twins add up
to about N; the planting adds 20,000 (full tables only, as ``compute_metrics`` gives them).

Every registered metric runs in registry order the way ``compute_metrics`` calls it (core or
full tables, its own seed from `AuditSeeds`, ``--resamples`` resamples, derivations shared
between metrics through the tables' codes), then once more with one resample after the shared
derivations are dropped (about the point estimate alone; the segment tests keep their 999
relabellings). Each has a bare-numpy reference on the world's dense (probe × k) arrays, checked
against the metric's value (for a segment metric, the value of the attribute or level it
names). Memory: the tables' own size (``memory_usage(deep=True)``), the resident memory once
they are built, and per metric, in a run of its own after the timed one, the kernel's
high-water mark above the memory in use before it (``VmHWM`` after ``clear_refs`` less the
resident memory, the heap's free memory handed back to the system first: `metric_peak_mib`).

Run: ``.venv/bin/python benchmarks/suite_scale.py [--probes N] [--resamples N] [--only TEXT]``
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from metrics_scale import (
    ITEMS,
    REFERENCES,
    SHARED,
    SHOPS,
    K,
    Planting,
    World,
    _status_mib,
    _with_planting,
    checked_reference,
    distinct_items,
    peak_mib,
    peak_since_reset_mib,
    reset_peak,
)

from auditkit.api import AuditSeeds, retain_freed_memory
from auditkit.metrics.registry import METRICS
from auditkit.metrics.segments.outcomes import shared_probe_outcomes
from auditkit.results import Estimate
from auditkit.tables import AuditTables, coded_tables

AGES = np.array(["18-34", "35-64", "65+"], dtype=object)
DEVICES = np.array(["mobile", "desktop"], dtype=object)
REGIONS = np.array(["north", "south", "east", "west"], dtype=object)
TWINNED = 5  # every fifth customer is twinned
TARGET_SECONDS = 30.0
TARGET_METRICS_MIB = 3 * 1024
TARGET_TABLES_MIB = 2 * 1024
TARGET_RATIO = 2.0


class SuiteWorld(World):
    """`World` with segment attributes, prices, held-out products and age-band twins."""

    def __init__(self, n_probes: int, seed: int = 0) -> None:
        # Twins add 3 probes per fifth customer (0.95 N / 10 customers): about 5.7% of N.
        super().__init__(round(n_probes / (1 + 0.95 * 3 / (10 * TWINNED))), seed)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 21]))
        self.price = np.round(rng.lognormal(np.log(25.0), 0.7, size=(SHOPS, ITEMS)), 2)
        self.age = rng.integers(0, AGES.size, self.customers)
        self.device = rng.integers(0, DEVICES.size, self.customers)
        self.region = rng.integers(0, REGIONS.size, self.customers)
        # Held out: one of the taste products shown at every shop for even customers, else a
        # random shared product (rarely shown): hit rates near 1 and near 0.
        first_list = self.items[np.arange(self.customers) * 10]
        self.heldout = np.stack(
            [
                np.where(np.arange(self.customers) % 2 == 0, first_list[:, 0], first_list[:, 4]),
                rng.integers(0, SHARED, self.customers),
            ],
            axis=1,
        )
        self.heldout[1::2, 0] = rng.integers(0, SHARED, self.customers // 2)
        # Twins: at the customer's first shop, one per age level, lists redrawn past the taste.
        twinned = np.arange(0, self.customers, TWINNED)
        base = np.repeat(twinned * 10, AGES.size)
        self.twin_level = np.tile(np.arange(AGES.size), twinned.size)
        cdf = np.cumsum(self.popularity, axis=1)
        cdf /= cdf[:, -1:]
        items = self.items[base].copy()
        shop = self.shop[base]
        u = rng.random((base.size, K - 5))
        for s in range(SHOPS):
            rows = np.flatnonzero(shop == s)
            items[rows, 5:] = np.minimum(np.searchsorted(cdf[s], u[rows]), ITEMS - 1)
        distinct_items(items, rng)
        self.twin_rows = np.arange(self.shop.size, self.shop.size + base.size)
        self.shop = np.concatenate([self.shop, shop])
        self.match = np.concatenate([self.match, self.match[base]])
        self.repetition = np.concatenate([self.repetition, np.zeros(base.size, int)])
        self.items = np.concatenate([self.items, items])
        self.history = np.concatenate([self.history, self.history[base]])
        self.first_rows = np.concatenate([np.arange(self.n_first), self.twin_rows])

    def level(self) -> np.ndarray:
        """Each probe's age level (the twins' own)."""
        level = self.age[self.match]
        level[self.twin_rows] = self.twin_level
        return level

    def tables(self, planting: int) -> AuditTables:
        base = super().tables(planting=0)
        n = self.shop.size
        probes = base.probes
        twin = np.zeros(n, dtype=bool)
        twin[self.twin_rows] = True
        level = self.level()
        match = np.array([f"m{m}" for m in self.match], dtype=object)
        shop_names = np.array([f"shop{s:02d}" for s in range(SHOPS)], dtype=object)
        pair_id = np.full(n, None, dtype=object)
        pair_id[twin] = match[twin] + "~age_band@" + shop_names[self.shop[twin]]
        match[twin] = match[twin] + "~age_band=" + AGES[level[twin]]
        key_names = np.array([f"C{j}" for j in range(SHARED)], dtype=object)
        heldout = key_names[self.heldout[:, 0]] + "|" + key_names[self.heldout[:, 1]]
        probes = probes.assign(
            customer=pd.array([f"u{m}" for m in self.match], dtype="string"),
            match_id=pd.array(match, dtype="string"),
            pair_id=pd.array(pair_id, dtype="string"),
            pair_attribute=pd.array(np.where(twin, "age_band", None), dtype="string"),
            heldout=pd.array(heldout[self.match], dtype="string"),
            **{
                "segment.age_band": pd.array(AGES[level], dtype="string"),
                "segment.device": pd.array(DEVICES[self.device[self.match]], dtype="string"),
                "segment.region": pd.array(REGIONS[self.region[self.match]], dtype="string"),
            },
        )
        responses = base.responses
        responses["price"] = self.price[np.repeat(self.shop, K), self.items.ravel()]
        histories = base.histories
        catalog_row = histories["catalog_row"].to_numpy()
        histories["price"] = self.price.ravel()[catalog_row]
        histories["position"] = np.tile(np.arange(self.history.shape[1]), n)
        histories["item_key"] = base.catalogs["item_key"].array.take(catalog_row)
        catalogs = base.catalogs.assign(price=self.price.ravel())
        tables = AuditTables(probes, responses, histories, catalogs)
        self.planting = Planting(planting)
        # Text columns as `build_tables` gives them: dictionary codes.
        return coded_tables(_with_planting(tables, self.planting) if planting else tables)


# ---- bare-numpy references of the segment metrics, on the world's dense arrays ---------------
#
# A segment metric names the attribute (or the twin level) with the largest effect among those
# its tests find, so each reference gives the value of the one the estimate names.


def _probe_means(world: SuiteWorld, values: np.ndarray) -> np.ndarray:
    """Per probe, the mean over its list of a (shop × item) quantity."""
    return values[world.shop[:, None], world.items].mean(axis=1)


def _group_ratio(world: SuiteWorld, per_probe: np.ndarray, attribute: str) -> float:
    """Lowest over highest group mean of ``attribute`` over first repetitions (twins for age)."""
    rows = world.twin_rows if attribute == "age_band" else world.first_rows
    level = {
        "age_band": world.level(),
        "device": world.device[world.match],
        "region": world.region[world.match],
    }[attribute][rows]
    sums = np.bincount(level, weights=per_probe[rows])
    means = sums / np.bincount(level)
    return float(means.min() / means.max())


def ref_price_gap(world: SuiteWorld, estimate: Estimate) -> float:
    price = _probe_means(world, world.price)
    return 1.0 - _group_ratio(world, price, estimate.details["attribute"])


def ref_exposure(world: SuiteWorld, estimate: Estimate) -> float:
    high = np.quantile(world.price, 2 / 3, axis=1)
    premium = _probe_means(world, world.price > high[:, None])
    return _group_ratio(world, premium, estimate.details["attribute"])


def ref_hit_rate(world: SuiteWorld, estimate: Estimate) -> float:
    held = world.heldout[world.match]
    shown = (world.items[:, :, None] == held[:, None, :]).any(axis=(1, 2))
    return _group_ratio(world, shown.astype(np.float64), estimate.details["attribute"])


def _lift(world: SuiteWorld) -> np.ndarray:
    share = world.popularity / world.popularity.sum(axis=1, keepdims=True)
    rec = _probe_means(world, share)
    hist = share[world.shop[:, None], world.history].mean(axis=1)
    return (rec - hist) / hist


def _twin_effect(world: SuiteWorld, y: np.ndarray, level_name: str) -> float:
    """|exp(mean over the level's twins of y minus its two twins' mean) - 1|."""
    twins = y[world.twin_rows].reshape(-1, AGES.size)
    difference = twins - (twins.sum(axis=1, keepdims=True) - twins) / (AGES.size - 1)
    column = int(np.flatnonzero(level_name == AGES)[0])
    return abs(math.expm1(float(difference[:, column].mean())))


def ref_cf_price(world: SuiteWorld, estimate: Estimate) -> float:
    y = np.log(_probe_means(world, world.price))
    return _twin_effect(world, y, estimate.details["level"])


def ref_cf_popularity(world: SuiteWorld, estimate: Estimate) -> float:
    return _twin_effect(world, np.log1p(_lift(world)), estimate.details["level"])


def _divergence(world: SuiteWorld, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - Jaccard of the lists of probes ``a`` and ``b`` (at the same shop)."""
    out = np.empty(a.size)
    for start in range(0, a.size, 100_000):
        x, y = world.items[a[start : start + 100_000]], world.items[b[start : start + 100_000]]
        shared = (x[:, :, None] == y[:, None, :]).any(axis=2).sum(axis=1)
        out[start : start + shared.size] = 1.0 - shared / (2 * K - shared)
    return out


def ref_cf_divergence(world: SuiteWorld, estimate: Estimate) -> float:
    twins = world.twin_rows.reshape(-1, AGES.size)
    i, j = np.triu_indices(AGES.size, 1)
    pair = _divergence(world, twins[:, i].ravel(), twins[:, j].ravel())
    repeats = np.flatnonzero(world.repetition == 1)
    # Each repeat's original: the first-repetition probe of its customer at its shop.
    shop_slot = ((world.shop[repeats] - world.match[repeats]) % SHOPS) // 5
    original = world.match[repeats] * 10 + shop_slot
    noise = _divergence(world, original, repeats)
    return float(pair.reshape(-1, i.size).mean(axis=1).mean() - noise.mean())


SEGMENT_REFERENCES: dict[str, Callable[[SuiteWorld, Estimate], float]] = {
    "segment.price_gap": ref_price_gap,
    "segment.exposure_impact_ratio": ref_exposure,
    "segment.hit_rate_ratio": ref_hit_rate,
    "segment.counterfactual_price_gap": ref_cf_price,
    "segment.counterfactual_popularity_gap": ref_cf_popularity,
    "segment.counterfactual_divergence": ref_cf_divergence,
}


def trim_heap() -> None:
    """Hand the heap's free memory back to the system (glibc ``malloc_trim``), to measure.

    Then the resident memory is the memory in use, and a metric's peak above it is its own.
    Without it the memory freed by building the tables (their strings, before they became
    dictionary codes) stays resident; and glibc still counts the chunks it handed back as
    free (``mallinfo2``), so resident less free is no measure of the memory in use either.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def metric_peak_mib(
    estimate: Callable[..., Estimate], data: AuditTables, resamples: int, seed: int
) -> float:
    """The memory one metric with its interval adds above the memory in use (MiB; NaN if not
    measurable), measured apart from its timing: its shared derivations rebuilt, from a heap
    handed back to the system (`trim_heap`), which the timed run, like ``auditkit run``, is not.
    """
    data.codes.drop_shared()
    trim_heap()
    before = _status_mib("VmRSS")
    if not reset_peak():
        return math.nan
    estimate(data, n_resamples=resamples, seed=seed)
    return peak_since_reset_mib() - before


def table_mib(tables: AuditTables) -> dict[str, float]:
    """Each table's own size in MiB (``memory_usage(deep=True)``)."""
    return {
        name: float(getattr(tables, name).memory_usage(deep=True).sum()) / 2**20
        for name in ("probes", "responses", "histories", "catalogs")
    }


def reference_seconds(name: str, world: SuiteWorld, estimate: Estimate, repeats: int) -> float:
    """Best seconds of the metric's numpy reference, checked against its value (NaN if none)."""
    if name in SEGMENT_REFERENCES:
        reference = SEGMENT_REFERENCES[name]
        return checked_reference(
            lambda w: reference(w, estimate), world, name, estimate.value, repeats
        )
    return checked_reference(REFERENCES.get(name), world, name, estimate.value, repeats)


def fit(paths: list[str]) -> None:
    """Print, from ``--json`` files of several sizes, each family's seconds and the fitted
    slope of log seconds on log probes (1: linear in probes)."""
    runs = []
    for path in paths:
        with open(path) as handle:
            runs.append(json.load(handle))
    runs.sort(key=lambda run: run["probes"])
    probes = np.log([run["probes"] for run in runs])
    print("| part | " + " | ".join(f"{run['probes']:,}" for run in runs) + " | slope |")
    print("| --- " * (len(runs) + 2) + "|")
    parts = {"all metrics": [run["total"] for run in runs]}
    for family in runs[0]["families"]:
        parts[family] = [run["families"][family] for run in runs]
    for row in runs[0]["rows"]:
        parts[row["metric"]] = [
            next(r["seconds"] for r in run["rows"] if r["metric"] == row["metric"]) for run in runs
        ]
    for part, seconds in parts.items():
        slope = np.polyfit(probes, np.log(seconds), 1)[0]
        cells = " | ".join(f"{value:.2f}" for value in seconds)
        print(f"| {part} | {cells} | {slope:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--only", default="", help="run the metrics whose id contains this")
    parser.add_argument("--repeats", type=int, default=1, help="best of N point estimates")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    parser.add_argument("--fit", nargs="+", default=[], help="fit slopes to --json files")
    options = parser.parse_args()
    if options.fit:
        fit(options.fit)
        return
    retained = retain_freed_memory()  # as the auditkit command does
    print(f"freed memory retained: {retained}; cores: {os.cpu_count()}")
    print(f"load average at start: {os.getloadavg()}")
    start = time.perf_counter()
    world = SuiteWorld(options.probes)
    tables = world.tables(planting=200)
    sizes = table_mib(tables)
    print(
        f"generated {len(tables.probes):,} probes ({world.twin_rows.size:,} twins), "
        f"{len(tables.responses):,} list rows, {len(tables.catalogs):,} catalog rows in "
        f"{time.perf_counter() - start:.1f} s; tables {sum(sizes.values()):,.0f} MiB ("
        + ", ".join(f"{k} {v:,.0f}" for k, v in sizes.items())
        + f"); peak {peak_mib():,.0f} MiB"
    )
    start = time.perf_counter()
    core = tables.core()
    total = time.perf_counter() - start
    trim_heap()
    resident = _status_mib("VmRSS")
    print(f"tables.core(): {total:.2f} s; in use with the tables: {resident:,.0f} MiB")
    seeds = AuditSeeds(0)
    header = (
        f"| {'metric':38s} | {'value':>8s} | {'with CI':>8s} | {'peak MiB':>8s} | "
        f"{'point':>7s} | {'numpy':>7s} | {'ratio':>5s} |"
    )
    print(header + "\n|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    rows, families, peaks = [], {}, []
    for name, definition in METRICS.items():
        if options.only and options.only not in name:
            continue
        data = tables if definition.full_tables else core
        t0 = time.perf_counter()
        estimate = definition.estimate(
            data, n_resamples=options.resamples, seed=seeds.metric(name)
        )
        full = time.perf_counter() - t0
        peak = metric_peak_mib(definition.estimate, data, options.resamples, seeds.metric(name))
        point = math.inf
        for _ in range(options.repeats):
            data.codes.drop_shared()
            t0 = time.perf_counter()
            definition.estimate(data, n_resamples=1, seed=seeds.metric(name))
            point = min(point, time.perf_counter() - t0)
        numpy_time = reference_seconds(name, world, estimate, options.repeats)
        total += full
        families[definition.family] = families.get(definition.family, 0.0) + full
        peaks.append(peak)
        ratio = point / numpy_time
        rows.append(
            {"metric": name, "value": estimate.value, "seconds": full, "peak_mib": peak,
             "point": point, "numpy": numpy_time, "ratio": ratio}
        )  # fmt: skip
        print(
            f"| {name:38s} | {estimate.value:8.4f} | {full:7.2f}s | {peak:8.0f} | "
            f"{point:6.3f}s | {numpy_time:6.3f}s | {ratio:5.2f} |",
            flush=True,
        )
    if not options.only or "segment" in options.only:
        core.codes.drop_shared()
        t0 = time.perf_counter()
        shared_probe_outcomes(core)
        seconds = time.perf_counter() - t0
        print(f"of which the segments' shared outcomes, built alone: {seconds:.2f} s")
    for family, seconds in families.items():
        print(f"{family} with CIs: {seconds:.1f} s")
    worst = max(peaks, default=math.nan)
    over = [r["metric"] for r in rows if r["ratio"] > TARGET_RATIO]
    tables_mib = sum(sizes.values())
    verdict = {True: "met", False: "not met"}
    print(
        f"SUMMARY {len(tables.probes):,} probes, {options.resamples} resamples: "
        f"all metrics {total:.1f} s (target <= {TARGET_SECONDS:.0f}: "
        f"{verdict[total <= TARGET_SECONDS]}); metrics' peak {worst:,.0f} MiB above the tables "
        f"(target <= {TARGET_METRICS_MIB}: {verdict[worst <= TARGET_METRICS_MIB]}); tables "
        f"{tables_mib:,.0f} MiB (target <= {TARGET_TABLES_MIB}: "
        f"{verdict[tables_mib <= TARGET_TABLES_MIB]}); point over {TARGET_RATIO:.0f}x numpy: "
        f"{', '.join(over) or 'none'}"
    )
    print(f"process peak RSS {peak_mib():,.0f} MiB; load average at end: {os.getloadavg()}")
    if options.json:
        with open(options.json, "w") as handle:
            json.dump(
                {"probes": len(tables.probes), "tables_mib": sizes, "total": total,
                 "families": families, "rows": rows, "load": os.getloadavg()},
                handle, indent=1,
            )  # fmt: skip


if __name__ == "__main__":
    main()
