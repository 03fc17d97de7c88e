"""Coverage, Gini and within-shop Jaccard intervals resample customers: checked against copies.

Each check draws the same customer counts as the metric (same seed), builds every resample by
copying each customer's lists as often as it was drawn, recomputes the statistic by brute
force over those lists, and compares the percentile interval with the metric's.
"""

import itertools

import numpy as np
import pytest
from tables import random_inputs

from auditkit.metrics._bootstrap import expanded_confidence, percentile_interval, resampled_counts
from auditkit.metrics._customers import customer_codes
from auditkit.metrics.homogenization.shop_identity import within_shop_jaccard
from auditkit.metrics.popularity.catalog_exposure import coverage, gini

RESAMPLES = 40


def lists_by_customer(tables, *, twins: bool):
    """Per answered first-repetition list: (customer code, shop, its items).

    With ``twins`` (Gini, coverage: every list counts) the items are the shop's catalog
    items; without (within-shop Jaccard: customers' own lists) the products' keys.
    """
    probes = tables.probes
    keep = probes["answered"].fillna(False).to_numpy(bool) & (probes["repetition"] == 0).to_numpy()
    if not twins:
        keep &= probes["pair_id"].isna().to_numpy()
    rows = np.flatnonzero(keep)
    customers = customer_codes(tables, rows)
    catalogs = tables.catalogs
    sold = set(zip(catalogs["shop_id"], catalogs["item_id"], strict=True))
    responses = tables.responses.dropna(subset=["item_key"])
    shown = responses.groupby("probe_id")["item_id" if twins else "item_key"].agg(list)
    out = []
    for row, customer in zip(rows, customers, strict=True):
        probe, shop = probes["probe_id"].iloc[row], probes["shop_id"].iloc[row]
        items = [i for i in shown.get(probe, []) if not twins or (shop, i) in sold]
        out.append((int(customer), shop, items))
    return out, int(customers.max()) + 1


def draws(customers: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return np.vstack([counts.copy() for _, counts in resampled_counts(rng, customers, RESAMPLES)])


def interval(values, customers):
    return percentile_interval(values, expanded_confidence(0.95, customers))


def pooled_jaccard(lists):
    """Σ|A ∩ B| / Σ|A ∪ B| over pairs of lists, a list never paired with its own copy."""
    shared = union = 0
    for (a, list_a), (b, list_b) in itertools.combinations(lists, 2):
        if list_a == list_b:  # two copies of one list
            continue
        shared += len(a & b)
        union += len(a | b)
    return shared / union if union else np.nan


def gini_of(counts):
    x = np.sort(np.asarray(counts, dtype=float))
    n = len(x)
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * x.sum()))


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_within_shop_jaccard_interval_is_the_customer_bootstrap_of_copied_lists(seed):
    tables = random_inputs(seed, customers=5).tables()
    result = within_shop_jaccard(tables, n_resamples=RESAMPLES, seed=seed)
    lists, customers = lists_by_customer(tables, twins=False)
    shops = sorted(result.by_group["shop"])
    values = []
    for weights in draws(customers, seed):
        per_shop = []
        for shop in shops:
            copies = [
                (set(items), index)
                for index, (customer, at, items) in enumerate(lists)
                if at == shop
                for _ in range(int(weights[customer]))
            ]
            per_shop.append(pooled_jaccard(copies))
        values.append(np.mean(per_shop))
    assert result.n == customers
    assert result.ci == pytest.approx(interval(values, customers), rel=1e-12)
    at_once = [
        pooled_jaccard([(set(i), n) for n, (_, at, i) in enumerate(lists) if at == s])
        for s in shops
    ]
    assert result.value == pytest.approx(np.mean(at_once))  # every customer once: the audit


@pytest.mark.parametrize("seed", [2, 5])
def test_gini_and_coverage_intervals_are_the_customer_bootstrap_of_copied_lists(seed):
    tables = random_inputs(seed, customers=5).tables()
    lists, customers = lists_by_customer(tables, twins=True)
    catalogs = tables.catalogs.groupby("shop_id")["item_id"].agg(list)
    shops = sorted(catalogs.index)
    ginis, coverages = [], []
    for weights in draws(customers, seed):
        g, c = [], []
        for shop in shops:
            shown = {item: 0 for item in catalogs[shop]}
            for customer, at, items in lists:
                if at == shop:
                    for item in items:
                        shown[item] += int(weights[customer])
            counts = list(shown.values())
            g.append(gini_of(counts) if sum(counts) else np.nan)
            c.append(np.mean([x > 0 for x in counts]))
        ginis.append(np.mean(g))
        coverages.append(np.mean(c))
    for metric, values in ((gini, ginis), (coverage, coverages)):
        result = metric(tables, n_resamples=RESAMPLES, seed=seed)
        assert result.n == customers and result.unit == "customer"
        assert result.ci == pytest.approx(interval(values, customers), rel=1e-12), metric.__name__
