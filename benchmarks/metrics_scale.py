"""Scale run of the homogenization and popularity metrics, with a bare-numpy reference each.

Builds, straight into `AuditTables` (not through a vendor), an audit of 50 shops with
100,000-item catalogs (half of each catalog shared products, 200 categories, Zipf popularity)
and 1,000,000 probes with k = 20:

- 95,000 synthetic customers of 4 personas, each carried into 10 of the 50 shops (950,000
  first-repetition probes; 4.275 million cross-shop pairs), with 5 history items each from
  the persona's two taste categories (as the probe design draws them);
- 50,000 repeats of first-repetition probes (the noise ceiling);
- a trend planting of 200 customers per shop before and after (20,000 probes, full tables only).

Every metric of both families runs with its bootstrap (1000 resamples), the way
``compute_metrics`` calls it (the core tables, trend leakage the full ones), and again with one
resample (about the point estimate alone; ``--repeats N`` keeps the best of N such calls, and
of N calls of each reference). Each has a bare-numpy reference: the same quantity on
the world's dense (probe × k) integer arrays, written the plain way. The metrics that work row
by row on the long tables have a second reference on the tables' own arrays (their integer
codes and number columns: what the metric reads), the ``tables`` column. Peak memory is the
process's maximum resident set size (``resource.getrusage``), data generation included; the
metrics' own peak is the kernel's high-water mark (``VmHWM``) counted afresh once the tables
are built (with the tables themselves resident).

Peers (installed into the benchmark's virtual environment only, ``pip install --no-deps``):
``rbo`` 0.1.3 (pins numpy < 2 in its metadata, so it cannot go in the test extra; it runs fine
on numpy 2) and ``ranked-overlap`` 0.1.0, timed on the cross-shop pairs of the first 100,000
probes. lenskit and rectools pull in heavy stacks (torch; numpy < 2), so they run in their own
environments on exported lists (`peer_popularity.py`); recmetrics builds an N × N matrix.

Run: ``.venv/bin/python benchmarks/metrics_scale.py [--probes N] [--repeats N] [--peers]``
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
import os
import resource
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from auditkit.api import retain_freed_memory
from auditkit.metrics.registry import METRICS
from auditkit.tables import AuditTables

SHOPS = 50
ITEMS = 100_000
SHARED = 50_000
CATEGORIES = 200
K = 20
SHOPS_PER_CUSTOMER = 10
HISTORY = 5
TOP_N = 20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Restart the kernel's peak-RSS count (Linux ``clear_refs``); False where unsupported."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _status_mib(field: str) -> float:
    """A memory line of ``/proc/self/status`` (``VmHWM``, ``VmRSS``), in MiB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _MallInfo(ctypes.Structure):
    """glibc's ``struct mallinfo2``: ten ``size_t`` counts, ``fordblks`` the free bytes."""

    _FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks")
    _fields_ = [(name, ctypes.c_size_t) for name in (*_FIELDS, "uordblks", "fordblks", "keepcost")]


def heap_free_mib() -> float:
    """Memory glibc's heap holds free for reuse (``mallinfo2().fordblks``), in MiB; 0 elsewhere.

    With freed memory retained (`retain_freed_memory`), the metrics reuse what data generation
    freed, so their own peak is the peak RSS less the resident memory not free for reuse.
    """
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return 0.0
    mallinfo2.restype = _MallInfo
    return mallinfo2().fordblks / 2**20


def peak_since_reset_mib() -> float:
    """Peak resident set size since `reset_peak` (``VmHWM``), in MiB."""
    return _status_mib("VmHWM")


class World:
    """The synthetic audit as plain arrays (the references read these)."""

    def __init__(self, n_probes: int, seed: int = 0) -> None:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        n_repeats = n_probes // 20
        self.customers = (n_probes - n_repeats) // SHOPS_PER_CUSTOMER
        n_first = self.customers * SHOPS_PER_CUSTOMER
        # Catalogs: item j of every shop; j < SHARED is the shared product j.
        rank_pop = 1.0 / np.arange(1, ITEMS + 1) ** 1.1
        self.popularity = np.empty((SHOPS, ITEMS))
        for s in range(SHOPS):
            self.popularity[s] = rng.permutation(rank_pop) * 1e6
        self.category = np.arange(ITEMS) % CATEGORIES
        self.signature = self.category < 10  # every shop: categories 0-9
        # Probes: customer c at shops (c + 5 t) mod 50 for t < 10; then the repeats.
        customer = np.repeat(np.arange(self.customers), SHOPS_PER_CUSTOMER)
        shop = (customer + 5 * np.tile(np.arange(SHOPS_PER_CUSTOMER), self.customers)) % SHOPS
        original = rng.choice(n_first, size=n_repeats, replace=False)
        self.shop = np.concatenate([shop, shop[original]])
        self.match = np.concatenate([customer, customer[original]])
        self.repetition = np.concatenate([np.zeros(n_first, int), np.ones(n_repeats, int)])
        n = self.shop.size
        # Lists: 5 products of the customer's own taste (shared, the same at every shop: the
        # cross-shop overlap), 15 drawn by the shop's popularity (inverse CDF per shop).
        taste = rng.integers(0, SHARED, size=(self.customers, 5))
        cdf = np.cumsum(self.popularity, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((n, K - 5))
        drawn = np.empty((n, K - 5), dtype=np.int64)
        for s in range(SHOPS):
            rows = np.flatnonzero(self.shop == s)
            drawn[rows] = np.searchsorted(cdf[s], u[rows])
        self.items = np.concatenate([taste[self.match], np.minimum(drawn, ITEMS - 1)], axis=1)
        distinct_items(self.items, rng)
        # Histories as the probe design draws them: inside the persona's two taste categories.
        persona_categories = np.array([[0, 1], [2, 3], [4, 5], [6, 7]])
        chosen = persona_categories[self.match % 4, :][
            np.arange(n)[:, None], rng.integers(0, 2, size=(n, HISTORY))
        ]
        del persona_categories
        self.history = chosen + CATEGORIES * rng.integers(
            0, ITEMS // CATEGORIES, size=(n, HISTORY)
        )
        self.n_first = n_first
        # The first-repetition probes' rows (a world with more of them appends their rows).
        self.first_rows: slice | np.ndarray = slice(0, n_first)

    def key(self, shop: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Integer item key: shared products by id, exclusive ones per shop."""
        return np.where(item < SHARED, item, SHARED + shop * ITEMS + item)

    def tables(self, planting: int) -> AuditTables:
        n = self.shop.size
        probe_id = pd.array([f"q{i:07d}" for i in range(n)], dtype="string")
        shop_names = np.array([f"shop{s:02d}" for s in range(SHOPS)], dtype=object)
        persona = np.array([f"persona{p}" for p in range(4)], dtype=object)
        probes = pd.DataFrame(
            {
                "probe_id": probe_id,
                "shop_id": pd.array(shop_names[self.shop], dtype="string"),
                "persona_id": pd.array(persona[self.match % 4], dtype="string"),
                "customer_id": probe_id,
                "match_id": pd.array([f"m{m}" for m in self.match], dtype="string"),
                "pair_id": pd.array([None] * n, dtype="string"),
                "pair_attribute": pd.array([None] * n, dtype="string"),
                "repetition": self.repetition,
                "k": np.full(n, K),
                "answered": np.ones(n, dtype=bool),
                "phase": pd.array([None] * n, dtype="string"),
                "shop_role": pd.array([None] * n, dtype="string"),
                "planted_key": pd.array([None] * n, dtype="string"),
                "control_key": pd.array([None] * n, dtype="string"),
            }
        )
        flat_shop = np.repeat(self.shop, K)
        flat_item = self.items.ravel()
        item_names = np.array([f"i{j}" for j in range(ITEMS)], dtype=object)
        key_names = np.array([f"C{j}" for j in range(SHARED)], dtype=object)

        def item_keys(shop: np.ndarray, item: np.ndarray) -> pd.array:
            shared = item < SHARED
            out = np.empty(item.size, dtype=object)
            out[shared] = key_names[item[shared]]
            out[~shared] = shop_names[shop[~shared]] + ":" + item_names[item[~shared]]
            return pd.array(out, dtype="string")

        responses = pd.DataFrame(
            {
                "probe_id": pd.array(np.repeat(probe_id.to_numpy(), K), dtype="string"),
                "shop_id": pd.array(shop_names[flat_shop], dtype="string"),
                "rank": np.tile(np.arange(1, K + 1), n),
                "item_id": pd.array(item_names[flat_item], dtype="string"),
                "item_key": item_keys(flat_shop, flat_item),
                "category": pd.array(
                    np.array([f"cat{c:03d}" for c in range(CATEGORIES)], dtype=object)[
                        self.category[flat_item]
                    ],
                    dtype="string",
                ),
                "popularity": self.popularity[flat_shop, flat_item],
                "in_catalog": np.ones(flat_item.size, dtype=bool),
                # The catalogs below stack shop after shop, ITEMS rows each.
                "catalog_row": flat_shop.astype(np.int64) * ITEMS + flat_item,
            }
        )
        hist_shop = np.repeat(self.shop, HISTORY)
        hist_item = self.history.ravel()
        histories = pd.DataFrame(
            {
                "probe_id": pd.array(np.repeat(probe_id.to_numpy(), HISTORY), dtype="string"),
                "shop_id": pd.array(shop_names[hist_shop], dtype="string"),
                "item_id": pd.array(item_names[hist_item], dtype="string"),
                "category": pd.array(
                    np.array([f"cat{c:03d}" for c in range(CATEGORIES)], dtype=object)[
                        self.category[hist_item]
                    ],
                    dtype="string",
                ),
                "popularity": self.popularity[hist_shop, hist_item],
                "catalog_row": hist_shop.astype(np.int64) * ITEMS + hist_item,
            }
        )
        cat_shop = np.repeat(np.arange(SHOPS), ITEMS)
        cat_item = np.tile(np.arange(ITEMS), SHOPS)
        canonical = np.where(cat_item < SHARED, cat_item, -1)
        canonical_names = np.empty(cat_item.size, dtype=object)
        canonical_names[canonical >= 0] = key_names[canonical[canonical >= 0]]
        catalogs = pd.DataFrame(
            {
                "shop_id": pd.array(shop_names[cat_shop], dtype="string"),
                "item_id": pd.array(item_names[cat_item], dtype="string"),
                "category": pd.array(
                    np.array([f"cat{c:03d}" for c in range(CATEGORIES)], dtype=object)[
                        self.category[cat_item]
                    ],
                    dtype="string",
                ),
                "canonical_id": pd.array(canonical_names, dtype="string"),
                "popularity": self.popularity.ravel(),
                "item_key": item_keys(cat_shop, cat_item),
                "signature": self.signature[cat_item],
            }
        )
        tables = AuditTables(probes, responses, histories, catalogs)
        self.planting = Planting(planting)
        return _with_planting(tables, self.planting) if planting else tables


def distinct_items(items: np.ndarray, rng: np.random.Generator) -> None:
    """No item twice in a list: a repeated draw is replaced by a random exclusive product."""
    rows = np.arange(items.shape[0])[:, None]
    while True:
        order = np.argsort(items, axis=1, kind="stable")
        ranked = items[rows, order]
        repeated = np.zeros_like(items, dtype=bool)
        repeated[rows, order[:, 1:]] = ranked[:, 1:] == ranked[:, :-1]
        if not repeated.any():
            return
        items[repeated] = rng.integers(SHARED, ITEMS, size=int(repeated.sum()))


class Planting:
    """Trend-planting probes as arrays: 200 customers per shop, before and after.

    Each list shows two products: the planted one (key C1) after planting in every third
    shop, else C3; then C4. The control product (C2) is never shown.
    """

    def __init__(self, customers: int) -> None:
        n = SHOPS * customers * 2
        self.shop = np.repeat(np.arange(SHOPS), customers * 2)
        self.customer = np.tile(np.repeat(np.arange(customers), 2), SHOPS)
        self.after = np.tile([False, True], SHOPS * customers)
        leaked = self.after & (self.shop % 3 == 0)
        self.items = np.stack([np.where(leaked, 1, 3), np.full(n, 4)], axis=1)


def _with_planting(tables: AuditTables, planting: Planting) -> AuditTables:
    """Append the trend-planting probes (before/after) with lists that leak in a third of shops."""
    rows, answers = [], []
    for shop, customer, after, items in zip(
        planting.shop, planting.customer, planting.after, planting.items, strict=True
    ):
        phase = "after" if after else "before"
        probe_id = f"t{shop:02d}-{customer:04d}-{phase}"
        rows.append(
            {
                "probe_id": probe_id,
                "shop_id": f"shop{shop:02d}",
                "persona_id": "trend_probe",
                "customer_id": probe_id,
                "match_id": f"trend-{shop}-{customer}",
                "repetition": 0,
                "k": K,
                "answered": True,
                "phase": phase,
                "shop_role": "source" if shop == 0 else "other",
                "planted_key": "C1",
                "control_key": "C2",
            }
        )
        for r, key in enumerate(items):
            answers.append((probe_id, f"shop{shop:02d}", r + 1, f"C{key}", shop * ITEMS + key))
    extra = pd.DataFrame(rows).astype({"probe_id": "string", "shop_id": "string"})
    probes = pd.concat([tables.probes, extra], ignore_index=True)
    more = pd.DataFrame(
        answers, columns=["probe_id", "shop_id", "rank", "item_key", "catalog_row"]
    )
    more["item_id"] = "i" + more["item_key"].str[1:]
    more["category"], more["popularity"], more["in_catalog"] = "cat001", 1.0, True
    for column in tables.responses.columns.difference(more.columns):
        more[column] = np.nan  # a number column of a richer world (prices)
    responses = pd.concat([tables.responses, more.astype(tables.responses.dtypes.to_dict())])
    return AuditTables(probes, responses.reset_index(drop=True), tables.histories, tables.catalogs)


# ---- bare-numpy references (point estimates on the world's integer arrays) ------------------


def cross_pairs(world: World) -> tuple[np.ndarray, np.ndarray]:
    first = np.arange(world.n_first).reshape(world.customers, SHOPS_PER_CUSTOMER)
    a, b = np.triu_indices(SHOPS_PER_CUSTOMER, 1)
    return first[:, a].ravel(), first[:, b].ravel()


def _pair_equal(world: World, a: np.ndarray, b: np.ndarray):
    keys = world.key(world.shop[:, None], world.items)
    for start in range(0, a.size, 200_000):
        x, y = keys[a[start : start + 200_000]], keys[b[start : start + 200_000]]
        yield start, x[:, :, None] == y[:, None, :]


def ref_jaccard(world: World) -> float:
    a, b = cross_pairs(world)
    out = np.empty(a.size)
    # On the products both shops sell: the shared ones (an exclusive one is its shop's alone).
    sold = (world.items < SHARED).sum(axis=1)
    for start, equal in _pair_equal(world, a, b):
        shared = equal.any(axis=2).sum(axis=1)
        union = sold[a[start : start + shared.size]] + sold[b[start : start + shared.size]]
        out[start : start + shared.size] = shared / (union - shared)
    return float(out.reshape(world.customers, -1).mean(axis=1).mean())


def ref_rbo(world: World, p: float = 0.9) -> float:
    a, b = cross_pairs(world)
    out = ref_rbo_pairs(world, a, b, p)
    return float(out.reshape(world.customers, -1).mean(axis=1).mean())


def ref_rbo_pairs(world: World, a: np.ndarray, b: np.ndarray, p: float = 0.9) -> np.ndarray:
    d = np.arange(1, K + 1)
    out = np.empty(a.size)
    for start, equal in _pair_equal(world, a, b):
        # An item at ranks i, j counts from depth max(i, j): one histogram of the matches.
        pair, i, j = np.nonzero(equal)
        cells = pair * K + np.maximum(i, j)
        hist = np.bincount(cells, minlength=equal.shape[0] * K).reshape(-1, K)
        overlap = np.cumsum(hist, axis=1)
        value = (overlap[:, -1] / K) * p**K + (1 - p) / p * (overlap / d * p**d).sum(axis=1)
        out[start : start + value.size] = value
    return out


def ref_divergence(world: World) -> float:
    a, b = cross_pairs(world)
    counts = np.zeros((world.n_first, CATEGORIES), dtype=np.float32)
    rows = np.repeat(np.arange(world.n_first), K)
    np.add.at(counts, (rows, world.category[world.items[: world.n_first]].ravel()), 1)
    counts /= K
    total = 0.0
    for start in range(0, a.size, 100_000):
        pa, pb = counts[a[start : start + 100_000]], counts[b[start : start + 100_000]]
        m = (pa + pb) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.nansum(pa * np.log2(pa / m), axis=1) + np.nansum(pb * np.log2(pb / m), axis=1)
        total += (kl / 2).sum()
    return total / a.size


def ref_within(world: World) -> float:
    first = slice(0, world.n_first)
    keys = world.key(world.shop[first, None], world.items[first]).ravel()
    shop = np.repeat(world.shop[first], K)
    cells, counts = np.unique(shop.astype(np.int64) * (1 << 40) + keys, return_counts=True)
    shared = np.bincount(cells >> 40, weights=counts * (counts - 1) / 2, minlength=SHOPS)
    lists = np.bincount(world.shop[first], minlength=SHOPS)
    return float((shared / ((lists - 1) * lists * K - shared)).mean())


def ref_signature_retention(world: World) -> float:
    first = world.first_rows
    # Every listed item is in its shop's catalog; every shop's signature share is the same.
    exposure = world.signature[world.items[first]].mean(axis=1)
    return float(exposure.sum() / (exposure.size * world.signature.mean()))


def ref_relative_popularity(world: World) -> float:
    first = world.first_rows
    pop = world.popularity[world.shop[first, None], world.items[first]]
    return float((pop / world.popularity.mean(axis=1)[world.shop[first], None]).mean())


def ref_exposure(world: World) -> tuple[float, float]:
    first = world.first_rows
    flat = np.repeat(world.shop[first], K) * ITEMS + world.items[first].ravel()
    counts = np.bincount(flat, minlength=SHOPS * ITEMS).reshape(SHOPS, ITEMS).astype(float)
    x = np.sort(counts, axis=1)
    i = np.arange(1, ITEMS + 1)
    gini = ((2 * i - ITEMS - 1) * x).sum(axis=1) / (ITEMS * x.sum(axis=1))
    return float(gini.mean()), float((counts > 0).mean())


def ref_long_tail(world: World) -> float:
    # The head: each shop's ceil(0.2 * ITEMS) most popular items (the world has no ties).
    head = -(-ITEMS // 5)
    top = np.argpartition(-world.popularity, head - 1, axis=1)[:, :head]
    in_head = np.zeros((SHOPS, ITEMS), dtype=bool)
    in_head[np.arange(SHOPS)[:, None], top] = True
    first = world.first_rows
    return float(1.0 - in_head[world.shop[first, None], world.items[first]].mean(axis=1).mean())


def ref_trend_share(world: World) -> float:
    totals = world.popularity[:, :SHARED].sum(axis=0)
    trending = np.zeros(ITEMS, dtype=bool)
    trending[np.argsort(-totals, kind="stable")[:TOP_N]] = True
    return float(trending[world.items[world.first_rows]].mean())


def ref_lift(world: World) -> float:
    first = world.first_rows
    totals = world.popularity.sum(axis=1)[world.shop[first], None]
    rec = (world.popularity[world.shop[first, None], world.items[first]] / totals).mean(axis=1)
    hist = (world.popularity[world.shop[first, None], world.history[first]] / totals).mean(axis=1)
    return float(rec.sum() / hist.sum() - 1.0)


def ref_trend_leakage(world: World) -> float:
    plant = world.planting
    other = plant.shop != 0
    after = plant.after[other]
    sign = np.where(after, 1, -1)
    planted = (plant.items[other] == 1).any(axis=1) * sign
    control = (plant.items[other] == 2).any(axis=1) * sign
    customer = plant.shop[other] * (plant.customer.max() + 1) + plant.customer[other]
    both = (np.bincount(customer, after) > 0) & (np.bincount(customer, ~after) > 0)
    did = np.bincount(customer, planted - control)
    return float(did[both].mean())


# ---- bare-numpy references on the tables' own arrays ----------------------------------------
#
# The references above read the world's dense (probe × k) arrays, which the metrics never see:
# a metric reads the long tables (one row per list entry, 20M rows) through their integer
# codes. These read the same long arrays the metric reads (the tables' codes, built once per
# tables and excluded from every timing, and their number columns), written the plain way.


def _table_rows(
    tables: AuditTables, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mask of the response rows of the probes ``keep`` selects; their probe and shop codes."""
    codes = tables.codes
    wanted = np.zeros(len(codes.probe_ids) + 1, dtype=bool)
    wanted[codes.probe[keep]] = True
    rows = wanted[codes.response_probe]
    shop_of = np.full(len(codes.probe_ids) + 1, -1, dtype=np.int32)
    shop_of[codes.probe] = codes.of("probes", "shop_id")
    probe = codes.response_probe[rows]
    return rows, probe, shop_of[probe]


def _first(tables: AuditTables) -> np.ndarray:
    return tables.probes["answered"].to_numpy() & (tables.probes["repetition"].to_numpy() == 0)


def _probe_mean(probe: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per probe with rows, the mean of ``values`` over its rows."""
    counts = np.bincount(probe)
    sums = np.bincount(probe, weights=values)
    return sums[counts > 0] / counts[counts > 0]


def tref_arp(tables: AuditTables) -> float:
    rows, probe, shop = _table_rows(tables, _first(tables))
    codes = tables.codes
    c_shop = codes.of("catalogs", "shop_id")
    pop = tables.catalogs["popularity"].to_numpy()
    mean = np.bincount(c_shop, weights=pop) / np.bincount(c_shop)
    relative = tables.responses["popularity"].to_numpy()[rows] / mean[shop]
    return float(_probe_mean(probe, relative).mean())


def tref_long_tail(tables: AuditTables) -> float:
    rows, probe, shop = _table_rows(tables, _first(tables))
    c_shop = tables.codes.of("catalogs", "shop_id")
    pop = tables.catalogs["popularity"].to_numpy()
    cutoff = np.empty(c_shop.max() + 1)
    for s in range(cutoff.size):  # one pass per shop: its head's smallest popularity (no ties)
        values = pop[c_shop == s]
        head = -(-values.size // 5)
        cutoff[s] = np.partition(values, values.size - head)[values.size - head]
    tail = tables.responses["popularity"].to_numpy()[rows] < cutoff[shop]
    return float(_probe_mean(probe, tail).mean())


def tref_trend_share(tables: AuditTables) -> float:
    rows, probe, _ = _table_rows(tables, _first(tables))
    codes = tables.codes
    c_key = codes.of("catalogs", "item_key")
    canonical = tables.catalogs["canonical_id"].notna().to_numpy()
    popularity = tables.catalogs["popularity"].to_numpy()[canonical]
    totals = np.bincount(c_key[canonical], popularity, len(codes.dictionary("item_key")))
    trending = np.zeros(totals.size + 1, dtype=bool)
    trending[np.argsort(-totals, kind="stable")[:TOP_N]] = True
    shown = trending[codes.of("responses", "item_key")[rows]]
    return float(_probe_mean(probe, shown).mean())


def _exposure_cells(tables: AuditTables) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per exposed catalog row: its shop and count; per shop its catalog size."""
    rows, _, _ = _table_rows(tables, _first(tables))
    c_shop = tables.codes.of("catalogs", "shop_id")
    counts = np.bincount(tables.responses["catalog_row"].to_numpy()[rows], minlength=c_shop.size)
    cells = np.flatnonzero(counts)
    return c_shop[cells], counts[cells], np.bincount(c_shop)


def tref_gini(tables: AuditTables) -> float:
    cell_shop, counts, sizes = _exposure_cells(tables)
    gini = []
    for s, n in enumerate(sizes):  # one pass per shop, its unexposed items as zeros
        x = np.sort(np.concatenate([np.zeros(n - (cell_shop == s).sum()), counts[cell_shop == s]]))
        i = np.arange(1, n + 1)
        gini.append(((2 * i - n - 1) * x).sum() / (n * x.sum()))
    return float(np.mean(gini))


def tref_coverage(tables: AuditTables) -> float:
    cell_shop, _, sizes = _exposure_cells(tables)
    return float((np.bincount(cell_shop, minlength=sizes.size) / sizes).mean())


def tref_signature_retention(tables: AuditTables) -> float:
    rows, probe, shop = _table_rows(tables, _first(tables))
    c_shop = tables.codes.of("catalogs", "shop_id")
    signature = tables.catalogs["signature"].to_numpy()
    shown = signature[tables.responses["catalog_row"].to_numpy()[rows]]
    share = np.bincount(c_shop, weights=signature) / np.bincount(c_shop)
    counts = np.bincount(probe)
    e = np.bincount(probe, weights=shown)[counts > 0] / counts[counts > 0]
    probe_shop = np.zeros(counts.size, dtype=np.int64)
    probe_shop[probe] = shop
    return float(e.sum() / share[probe_shop[counts > 0]].sum())


def tref_within(tables: AuditTables) -> float:
    keep = _first(tables) & tables.probes["pair_id"].isna().to_numpy()
    rows, _, shop = _table_rows(tables, keep)
    codes = tables.codes
    n_keys = len(codes.dictionary("item_key"))
    cells = shop.astype(np.int64) * n_keys + codes.of("responses", "item_key")[rows]
    cells, counts = np.unique(cells, return_counts=True)
    shared = np.bincount(cells // n_keys, weights=counts * (counts - 1) / 2)
    lists = np.bincount(codes.of("probes", "shop_id")[keep])
    entries = np.bincount(shop)
    return float((shared / ((lists - 1) * entries - shared)).mean())


def tref_trend_leakage(tables: AuditTables) -> float:
    probes, codes = tables.probes, tables.codes
    keep = probes["phase"].notna().to_numpy() & (probes["shop_role"] == "other").to_numpy(
        dtype=bool, na_value=False
    )
    rows, probe, _ = _table_rows(tables, keep)
    keys = codes.dictionary("item_key")
    key = codes.of("responses", "item_key")[rows]
    size = len(codes.probe_ids)
    sign = np.zeros(size)
    sign[codes.probe[keep]] = np.where(probes["phase"][keep] == "after", 1.0, -1.0)
    planted = np.bincount(probe[key == np.searchsorted(keys, "C1")], minlength=size) > 0
    control = np.bincount(probe[key == np.searchsorted(keys, "C2")], minlength=size) > 0
    match = np.zeros(size, dtype=np.int64)
    match[codes.probe[keep]] = codes.of("probes", "match_id")[keep]
    chosen = np.flatnonzero(sign != 0)
    did = np.bincount(
        match[chosen], weights=(planted[chosen] * 1.0 - control[chosen]) * sign[chosen]
    )
    after = np.bincount(match[chosen], weights=sign[chosen] > 0)
    before = np.bincount(match[chosen], weights=sign[chosen] < 0)
    return float(did[(after > 0) & (before > 0)].mean())


TABLE_REFERENCES = {
    "homogenization.within_shop_jaccard": tref_within,
    "homogenization.signature_retention": tref_signature_retention,
    "popularity.arp": tref_arp,
    "popularity.long_tail_share": tref_long_tail,
    "popularity.gini": tref_gini,
    "popularity.coverage": tref_coverage,
    "popularity.trend_share": tref_trend_share,
    "popularity.trend_leakage": tref_trend_leakage,
}

REFERENCES = {
    "homogenization.cross_shop_jaccard": ref_jaccard,
    "homogenization.cross_shop_rbo": ref_rbo,
    "homogenization.category_divergence": ref_divergence,
    "homogenization.within_shop_jaccard": ref_within,
    "homogenization.signature_retention": ref_signature_retention,
    "popularity.lift": ref_lift,
    "popularity.arp": ref_relative_popularity,
    "popularity.long_tail_share": ref_long_tail,
    "popularity.gini": lambda w: ref_exposure(w)[0],
    "popularity.coverage": lambda w: ref_exposure(w)[1],
    "popularity.trend_share": ref_trend_share,
    "popularity.trend_leakage": ref_trend_leakage,
}


def checked_reference(
    reference: Callable | None, data: object, name: str, value: float, repeats: int = 1
) -> float:
    """Best seconds of ``repeats`` calls of ``reference(data)`` (NaN without one).

    The reference must give the metric's value.
    """
    if reference is None:
        return float("nan")
    seconds = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        expected = reference(data)
        seconds = min(seconds, time.perf_counter() - start)
    assert abs(expected - value) < 1e-6 * max(1.0, abs(expected)), (name, expected, value)
    return seconds


def peers(world: World, n_probes: int) -> None:
    """Time the peer RBO implementations and the numpy reference on the first probes' pairs."""
    a, b = cross_pairs(world)
    keep = (a < n_probes) & (b < n_probes)
    a, b = a[keep], b[keep]
    keys = world.key(world.shop[:, None], world.items)
    lists = [list(map(int, row)) for row in keys[:n_probes]]
    start = time.perf_counter()
    ours = ref_rbo_pairs(world, a, b)
    print(f"numpy reference RBO        {time.perf_counter() - start:8.2f} s  ({a.size} pairs)")
    try:
        import rbo

        start = time.perf_counter()
        theirs = [
            rbo.RankingSimilarity(lists[x], lists[y]).rbo_ext(p=0.9)
            for x, y in zip(a, b, strict=True)
        ]
        print(f"peer rbo.rbo_ext           {time.perf_counter() - start:8.2f} s")
        assert np.allclose(ours, theirs)
    except ImportError:
        print("peer rbo: not installed")
    try:
        import ranked_overlap

        start = time.perf_counter()
        theirs = [ranked_overlap.rbo(lists[x], lists[y], p=0.9) for x, y in zip(a, b, strict=True)]
        print(f"peer ranked_overlap.rbo    {time.perf_counter() - start:8.2f} s")
        assert np.allclose(ours, theirs)
    except ImportError:
        print("peer ranked_overlap: not installed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--peers", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument(
        "--repeats", type=int, default=1, help="time each point estimate this often, keep the best"
    )
    parser.add_argument("--default-allocator", action="store_true")
    parser.add_argument(
        "--export", default="", help="write the first-repetition lists to this .npz and stop"
    )
    options = parser.parse_args()
    # As the auditkit command does (see auditkit.api); --default-allocator measures without.
    retained = not options.default_allocator and retain_freed_memory()
    print(f"freed memory retained: {retained}")
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    start = time.perf_counter()
    world = World(options.probes)
    tables = world.tables(planting=200)
    print(
        f"generated {len(tables.probes):,} probes, {len(tables.responses):,} list rows, "
        f"{len(tables.catalogs):,} catalog rows in {time.perf_counter() - start:.1f} s; "
        f"peak {peak_mib():,.0f} MiB"
    )
    if options.peers:
        peers(world, options.probes)
        return
    if options.export:
        first = slice(0, world.n_first)
        np.savez(
            options.export,
            shop=world.shop[first],
            items=world.items[first],
            history=world.history[first],
            popularity=world.popularity,
        )
        print(f"wrote {world.n_first:,} lists to {options.export}")
        return
    measured = reset_peak()
    resident = _status_mib("VmRSS") - heap_free_mib()
    start = time.perf_counter()
    core = tables.core()
    core_time = time.perf_counter() - start
    print(f"tables.core(): {core_time:.2f} s")
    total = core_time
    family_total: dict[str, float] = {}
    header = (
        f"{'metric':38s} {'value':>9s} {'with CI':>8s} {'point':>8s} {'numpy':>8s} {'ratio':>6s}"
        f" {'tables':>8s} {'ratio':>6s}"
    )
    print(header)
    for name, definition in METRICS.items():
        if name.startswith("segment.") or (options.only and options.only not in name):
            continue
        data = tables if definition.full_tables else core
        # An estimate, or (a metric not yet converted) a judged result: both carry the value.
        measure = definition.estimate or definition.compute
        assert measure is not None
        t0 = time.perf_counter()
        result = measure(data, n_resamples=options.resamples)
        full = time.perf_counter() - t0
        # The point estimate alone: without what earlier metrics shared (matched pairs and
        # their overlaps), so that it compares with its numpy reference fairly.
        point = math.inf
        for _ in range(options.repeats):
            data.codes.drop_shared()
            t0 = time.perf_counter()
            measure(data, n_resamples=1)
            point = min(point, time.perf_counter() - t0)
        total += full
        family = name.split(".")[0]
        family_total[family] = family_total.get(family, 0.0) + full
        numpy_time = checked_reference(
            REFERENCES.get(name), world, name, result.value, options.repeats
        )
        table_time = checked_reference(
            TABLE_REFERENCES.get(name), data, name, result.value, options.repeats
        )
        ratio, table_ratio = point / numpy_time, point / table_time
        print(
            f"{name:38s} {result.value:9.4f} {full:7.2f}s {point:7.3f}s {numpy_time:7.3f}s "
            f"{ratio:6.2f} {table_time:7.3f}s {table_ratio:6.2f}",
            flush=True,
        )
    for family, seconds in family_total.items():
        print(f"{family} with CIs: {seconds:.1f} s")
    print(f"total with CIs (core() included): {total:.1f} s; peak RSS {peak_mib():,.0f} MiB")
    if measured:
        peak = peak_since_reset_mib()
        print(
            f"peak RSS from core() on: {peak:,.0f} MiB, of which in use before (the tables): "
            f"{resident:,.0f} MiB; the metrics' own peak: {peak - resident:,.0f} MiB"
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
