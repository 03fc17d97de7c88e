"""Peer timings for the popularity family: lenskit's ListGini and rectools' AvgRecPopularity.

Both peers pin older stacks than auditkit (lenskit needs torch and pandas 2; rectools needs
numpy < 2 and pandas < 3), so they run in their own virtual environments on lists that
`metrics_scale.py --export` writes, and auditkit is not imported here. Each peer is checked
against a bare-numpy pass of the same quantity on the same arrays, and both are timed.

    python benchmarks/metrics_scale.py --probes 100000 --export /tmp/lists.npz
    python -m venv /tmp/lenskit && /tmp/lenskit/bin/pip install lenskit "pandas<3"
    /tmp/lenskit/bin/python benchmarks/peer_popularity.py /tmp/lists.npz --lenskit
    python -m venv /tmp/rectools && /tmp/rectools/bin/pip install rectools
    /tmp/rectools/bin/python benchmarks/peer_popularity.py /tmp/lists.npz --rectools

Compare with auditkit's own times at the same size:
``python benchmarks/metrics_scale.py --probes 100000 --only popularity``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def numpy_gini(shop: np.ndarray, items: np.ndarray, n_items: int, n_shops: int) -> float:
    """Mean over shops of the Gini of each catalog item's list count (zeros included)."""
    flat = np.repeat(shop, items.shape[1]) * n_items + items.ravel()
    counts = np.bincount(flat, minlength=n_shops * n_items).reshape(n_shops, n_items)
    x = np.sort(counts, axis=1).astype(np.float64)
    i = np.arange(1, n_items + 1)
    return float((((2 * i - n_items - 1) * x).sum(axis=1) / (n_items * x.sum(axis=1))).mean())


def lenskit_gini(shop: np.ndarray, items: np.ndarray, n_items: int, n_shops: int) -> float:
    """The same quantity with lenskit's ListGini, one ItemList per list, per shop."""
    from lenskit.data import ItemList
    from lenskit.metrics import ListGini

    values = []
    for s in range(n_shops):
        metric = ListGini(items=n_items)
        lists = [
            metric.compute_list_data(ItemList(item_ids=row, ordered=True), None)
            for row in items[shop == s]
        ]
        values.append(metric.global_aggregate(lists))
    return float(np.mean(values))


def _seen(shop: np.ndarray, items: np.ndarray, history: np.ndarray, n_items: int) -> np.ndarray:
    """Previous interactions (shop-qualified items): every list's history and its own items."""
    both = np.concatenate([history, items], axis=1)
    return np.repeat(shop, both.shape[1]) * n_items + both.ravel()


def interactions(
    shop: np.ndarray, items: np.ndarray, history: np.ndarray, n_items: int
) -> pd.DataFrame:
    """`_seen` as rectools' interactions table (user, item)."""
    seen = _seen(shop, items, history, n_items)
    users = np.repeat(np.arange(shop.size), seen.size // shop.size)
    return pd.DataFrame({"user_id": users, "item_id": seen})


def numpy_arp(shop: np.ndarray, items: np.ndarray, history: np.ndarray, n_items: int) -> float:
    """Mean over lists of the mean share of previous interactions of each recommended item."""
    seen = _seen(shop, items, history, n_items)
    counts = np.bincount(seen, minlength=int(shop.max() + 1) * n_items) / seen.size
    shown = np.repeat(shop, items.shape[1]) * n_items + items.ravel()
    return float(counts[shown].reshape(items.shape).mean(axis=1).mean())


def rectools_arp(shop: np.ndarray, items: np.ndarray, history: np.ndarray, n_items: int) -> float:
    """The same quantity with rectools' AvgRecPopularity (normalized counts)."""
    from rectools.metrics import AvgRecPopularity

    k = items.shape[1]
    reco = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(shop.size), k),
            "item_id": np.repeat(shop, k) * n_items + items.ravel(),
            "rank": np.tile(np.arange(1, k + 1), shop.size),
        }
    )
    prev = interactions(shop, items, history, n_items)
    return float(AvgRecPopularity(k=k, normalize=True).calc(reco, prev))


def timed(label: str, function, *args, repeats: int = 1) -> float:
    """The value of ``function(*args)``, printed with its best time of ``repeats`` calls."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = function(*args)
        seconds.append(time.perf_counter() - start)
    print(f"{label:32s} {min(seconds):8.3f} s   value {value:.6f}   (best of {repeats})")
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lists")
    parser.add_argument("--lenskit", action="store_true")
    parser.add_argument("--rectools", action="store_true")
    options = parser.parse_args()
    data = np.load(options.lists)
    shop, items, history = data["shop"], data["items"], data["history"]
    n_shops, n_items = data["popularity"].shape
    print(f"{shop.size:,} lists of {items.shape[1]} over {n_shops} shops of {n_items:,} items")
    if options.lenskit:
        # The numpy pass is timed warm (its first call also pays for fresh memory).
        ours = timed(
            "numpy Gini (per shop, mean)", numpy_gini, shop, items, n_items, n_shops, repeats=5
        )
        theirs = timed("lenskit ListGini", lenskit_gini, shop, items, n_items, n_shops)
        assert abs(ours - theirs) < 1e-4, (ours, theirs)  # lenskit sums in float32
    if options.rectools:
        ours = timed(
            "numpy ARP (interaction share)", numpy_arp, shop, items, history, n_items, repeats=5
        )
        theirs = timed("rectools AvgRecPopularity", rectools_arp, shop, items, history, n_items)
        assert abs(ours - theirs) < 1e-9, (ours, theirs)


if __name__ == "__main__":
    main()
