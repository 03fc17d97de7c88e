"""Time every segment metric, with its confidence interval, on a million probes.

Synthetic arrays are built straight into `AuditTables` (no vendor, no evidence store): 10 shops
of 1000 products, 200,000 customers with three segment attributes (age band: 3 levels, device:
2, region: 4), each sending one probe, a repeat, and three counterfactual twins on the age band
(1,000,000 probes, 10,000,000 recommended items, 5,000,000 history items). Each metric runs with
the given resamples; the peak is the resident memory a call adds at its highest.

Run: python benchmarks/segment_scale.py [--customers 200000] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import gc
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from auditkit.judging import judge_metric
from auditkit.metrics import METRICS
from auditkit.metrics.segments.outcomes import shared_probe_outcomes
from auditkit.tables import AuditTables

T = TypeVar("T")
SHOPS = 10
ITEMS = 1000
K = 10
HISTORY = 5
AGES = np.array(["18-34", "35-64", "65+"], dtype=object)
DEVICES = np.array(["mobile", "desktop"], dtype=object)
REGIONS = np.array(["north", "south", "east", "west"], dtype=object)


def _ids(prefix: str, numbers: np.ndarray) -> pd.Series:
    return pd.Series(numbers.astype(str), dtype="string").radd(prefix)


def build(customers: int, seed: int = 0) -> AuditTables:
    rng = np.random.default_rng(seed)
    shop_of_item = np.repeat(np.arange(SHOPS), ITEMS)
    item_no = np.tile(np.arange(ITEMS), SHOPS)
    item_id = _ids("i", item_no)
    shop_id = _ids("s", shop_of_item)
    catalogs = pd.DataFrame(
        {
            "shop_id": shop_id,
            "item_id": item_id,
            "category": _ids("c", rng.integers(0, 12, SHOPS * ITEMS)),
            "canonical_id": item_id,
            "price": np.round(rng.lognormal(np.log(25.0), 0.7, SHOPS * ITEMS), 2),
            "popularity": np.round(rng.pareto(1.2, SHOPS * ITEMS) * 10 + 1),
        }
    )
    catalogs["item_key"] = catalogs["item_id"]

    # Per customer: a shop, a persona, levels; five probes: base, repeat, three age twins.
    shop = rng.integers(0, SHOPS, customers)
    persona = rng.integers(0, 4, customers)
    age = rng.integers(0, 3, customers)
    device = rng.integers(0, 2, customers)
    region = rng.integers(0, 4, customers)
    per = 5
    n = customers * per
    customer = np.repeat(np.arange(customers), per)
    slot = np.tile(np.arange(per), customers)
    twin = slot >= 2
    probe_age = np.where(twin, slot - 2, age[customer])
    match = _ids("m", customer)
    probes = pd.DataFrame(
        {
            "probe_id": _ids("p", np.arange(n)).str.zfill(8),
            "shop_id": _ids("s", shop[customer]),
            "persona_id": _ids("persona", persona[customer]),
            "customer_id": _ids("c", np.arange(n)),
            "match_id": match.where(~twin, match + "~age_band=" + pd.Series(AGES[probe_age])),
            "pair_id": (match + "~age_band").where(twin, pd.NA).astype("string"),
            "pair_attribute": pd.Series(np.where(twin, "age_band", None), dtype="string"),
            "repetition": (slot == 1).astype(np.int64),
            "k": np.full(n, K, dtype=np.int64),
            "segment.age_band": pd.Series(AGES[probe_age], dtype="string"),
            "segment.device": pd.Series(DEVICES[device[customer]], dtype="string"),
            "segment.region": pd.Series(REGIONS[region[customer]], dtype="string"),
            "answered": np.ones(n, dtype=bool),
        }
    )

    # Two held-out products per customer, the same at its every probe.
    held = rng.integers(0, ITEMS, (customers, 2))[customer]
    probes["heldout"] = (
        pd.Series(item_id.to_numpy()[shop[customer] * ITEMS + held[:, 0]], dtype="string")
        + "|"
        + pd.Series(item_id.to_numpy()[shop[customer] * ITEMS + held[:, 1]], dtype="string")
    )

    # Lists: K consecutive items from a customer's start, a third of them moved per probe.
    start = rng.integers(0, ITEMS, customers)[customer]
    offsets = np.arange(K)[None, :] + rng.integers(0, 3, (n, K)) * K
    items = (start[:, None] + offsets) % ITEMS
    rows = n * K
    row_shop = np.repeat(shop[customer], K)
    flat = row_shop * ITEMS + items.ravel()
    responses = pd.DataFrame(
        {
            "probe_id": np.repeat(probes["probe_id"].to_numpy(), K),
            "shop_id": shop_id.to_numpy()[flat],
            "item_id": item_id.to_numpy()[flat],
            "item_key": item_id.to_numpy()[flat],
            "category": catalogs["category"].to_numpy()[flat],
            "price": catalogs["price"].to_numpy()[flat],
            "popularity": catalogs["popularity"].to_numpy()[flat],
            "rank": np.tile(np.arange(1, K + 1), n),
            "in_catalog": np.ones(rows, dtype=bool),
            "catalog_row": flat,
        }
    )
    # Histories: the customer's own HISTORY items, the same for all its probes.
    own = rng.integers(0, ITEMS, (customers, HISTORY))
    history_items = own[customer].ravel()
    history_flat = np.repeat(shop[customer], HISTORY) * ITEMS + history_items
    histories = pd.DataFrame(
        {
            "probe_id": np.repeat(probes["probe_id"].to_numpy(), HISTORY),
            "shop_id": shop_id.to_numpy()[history_flat],
            "position": np.tile(np.arange(HISTORY), n),
            "item_id": item_id.to_numpy()[history_flat],
            "item_key": item_id.to_numpy()[history_flat],
            "category": catalogs["category"].to_numpy()[history_flat],
            "price": catalogs["price"].to_numpy()[history_flat],
            "popularity": catalogs["popularity"].to_numpy()[history_flat],
            "catalog_row": history_flat,
        }
    )
    return AuditTables(probes=probes, responses=responses, histories=histories, catalogs=catalogs)


def _rss() -> int:
    """Resident memory of this process in bytes (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(label: str, call: Callable[[], T]) -> T:
    """Run ``call``; print its time and its peak resident memory above the starting point.

    Memory is sampled every 5 ms by a thread (tracemalloc would slow pandas' string
    handling several times over and distort the timing).
    """
    gc.collect()
    baseline = _rss()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss())
            time.sleep(0.005)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    peak = max(peak, _rss())
    print(f"| {label:44s} | {seconds:8.1f} | {(peak - baseline) / 2**20:9.0f} |", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    tables = build(args.customers)
    print(
        f"{len(tables.probes):,} probes, {len(tables.responses):,} recommended items, "
        f"{len(tables.histories):,} history items; built in "
        f"{time.perf_counter() - started:.0f} s; {args.resamples} resamples"
    )
    print("| step | seconds | peak MiB |\n| --- | ---: | ---: |")
    print(f"| tables in memory | | {_rss() / 2**20:.0f} (resident) |")
    # Built once, then shared: the metrics below read it from the tables.
    measure("probe_outcomes (shared by the metrics below)", lambda: shared_probe_outcomes(tables))
    for name in METRICS:
        if not name.startswith("segment."):
            continue
        result = measure(
            name,
            lambda name=name: judge_metric(name, tables, n_resamples=args.resamples, seed=1),
        )
        ci = "none" if result.ci is None else f"({result.ci[0]:.4f}, {result.ci[1]:.4f})"
        print(
            f"|   value {result.value:.4f}, CI {ci}, p {result.p_value}, "
            f"{result.verdict}, n {result.n} | | |"
        )


if __name__ == "__main__":
    main()
