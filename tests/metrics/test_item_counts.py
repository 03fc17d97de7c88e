"""Coverage, Gini and within-shop Jaccard intervals leave customers out: checked by brute force.

Each check recomputes the statistic with each customer left out in turn (so few customers
are each their own group), the others of its persona weighted ``n_h / (n_h - 1)``, straight
from the lists, and compares the stratified jackknife interval with the metric's.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from tables import random_inputs

from auditkit.metrics._customers import customer_codes
from auditkit.metrics._item_counts import MAX_JACKKNIFE_GROUPS, jackknife_statistic_ci
from auditkit.metrics.homogenization.shop_identity import within_shop_jaccard
from auditkit.metrics.popularity.catalog_exposure import coverage, gini


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
    out, persona = [], {}
    for row, customer in zip(rows, customers, strict=True):
        probe, shop = probes["probe_id"].iloc[row], probes["shop_id"].iloc[row]
        items = [i for i in shown.get(probe, []) if not twins or (shop, i) in sold]
        out.append((int(customer), shop, items))
        persona[int(customer)] = probes["persona_id"].iloc[row]
    return out, [persona[c] for c in range(len(persona))]


def replicate_weights(personas):
    """Per customer left out: every customer's weight (0; n_h / (n_h - 1) in its persona; 1)."""
    size = {p: personas.count(p) for p in personas}
    return [
        [
            0.0 if c == out else size[p] / (size[p] - 1) if p == personas[out] else 1.0
            for c, p in enumerate(personas)
        ]
        for out in range(len(personas))
    ]


def jackknife(value, replicates, personas):
    """``value ± t(ν) · se`` of delete-one replicates stratified by persona, within [0, 1]; on
    the logit scale (``expit(logit(value) ± t · se_logit)``) when the value and every
    replicate are strictly between 0 and 1."""
    inside = 0 < value < 1 and min(replicates) > 0 and max(replicates) < 1
    at = (lambda x: math.log(x / (1 - x))) if inside else float
    parts = []
    for persona in set(personas):
        these = [at(r) for r, p in zip(replicates, personas, strict=True) if p == persona]
        g = len(these)
        parts.append(((g - 1) / g * sum((r - np.mean(these)) ** 2 for r in these), g - 1))
    spread = sum(v for v, _ in parts)
    # Satterthwaite's degrees of freedom of a sum of stratum variances.
    freedom = spread**2 / sum(v**2 / f for v, f in parts if f > 0) if spread > 0 else 1
    half = stats.t.ppf(0.975, max(1, freedom)) * math.sqrt(spread)
    low, high = at(value) - half, at(value) + half
    if inside:
        low, high = 1 / (1 + math.exp(-low)), 1 / (1 + math.exp(-high))
    return (max(0.0, low), min(1.0, high))


def pooled_jaccard(lists):
    """Σ w |A ∩ B| / Σ w |A ∪ B| over pairs of weighted (list, customer, weight): a pair of
    two customers' lists weighs ``w_u w_v``, of one customer's, ``w_u``."""
    kept = [(a, c, w) for a, c, w in lists if w > 0]
    if len(kept) < 2:
        return np.nan
    shared = union = 0.0
    for (a, u, wu), (b, v, wv) in itertools.combinations(kept, 2):
        weight = wu if u == v else wu * wv
        shared += weight * len(a & b)
        union += weight * len(a | b)
    return shared / union if union else np.nan


def gini_of(counts):
    x = np.sort(np.asarray(counts, dtype=float))
    n = len(x)
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * x.sum()))


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_within_shop_jaccard_interval_is_the_jackknife_over_customers(seed):
    tables = random_inputs(seed, customers=5).tables()
    result = within_shop_jaccard(tables, seed=seed)
    lists, personas = lists_by_customer(tables, twins=False)
    assert len(personas) <= MAX_JACKKNIFE_GROUPS
    shops = sorted(result.by_group["shop"])

    def value(weights):
        return np.mean(
            [
                pooled_jaccard([(set(i), c, weights[c]) for c, at, i in lists if at == shop])
                for shop in shops
            ]
        )

    assert result.n == len(personas) and result.unit == "customer"
    assert result.value == pytest.approx(value([1.0] * len(personas)))
    replicates = [value(weights) for weights in replicate_weights(personas)]
    expected = jackknife(result.value, replicates, personas)
    assert result.ci == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", [2, 5])
def test_gini_and_coverage_intervals_are_the_jackknife_over_customers(seed):
    tables = random_inputs(seed, customers=5).tables()
    lists, personas = lists_by_customer(tables, twins=True)
    catalogs = tables.catalogs.groupby("shop_id")["item_id"].agg(list)

    def values(weights):
        g, c = [], []
        for shop in sorted(catalogs.index):
            shown = dict.fromkeys(catalogs[shop], 0.0)
            for customer, at, items in lists:
                if at == shop:
                    for item in items:
                        shown[item] += weights[customer]
            counts = list(shown.values())
            g.append(gini_of(counts) if sum(counts) else np.nan)
            c.append(np.mean([x > 0 for x in counts]))
        return np.mean(g), np.mean(c)

    replicates = [values(weights) for weights in replicate_weights(personas)]
    for index, metric in enumerate((gini, coverage)):
        result = metric(tables, seed=seed)
        assert result.n == len(personas) and result.unit == "customer"
        assert result.value == pytest.approx(values([1.0] * len(personas))[index])
        expected = jackknife(result.value, [r[index] for r in replicates], personas)
        assert result.ci == pytest.approx(expected, rel=1e-9), metric.__name__


def test_many_customers_are_left_out_in_random_groups_of_equal_size():
    seen = []

    def statistic(weights):
        seen.append(weights.copy())
        return weights.sum(axis=1)  # the customers kept

    customers = 1000
    strata = np.zeros(customers, dtype=np.int64)
    low, high = jackknife_statistic_ci(
        statistic, 1000.0, strata, n_cells=1, confidence=0.95, seed=3, bounds=(0, 2000)
    )
    weights = np.vstack(seen)
    assert weights.shape == (MAX_JACKKNIFE_GROUPS, customers)
    assert ((weights == 0).sum(axis=0) == 1).all()  # each customer left out exactly once
    assert (weights == 0).sum(axis=1).tolist() == [10] * MAX_JACKKNIFE_GROUPS
    # the others weigh 1000 / 990, so every replicate keeps the total: no spread
    assert weights.sum(axis=1) == pytest.approx(1000.0)
    assert (low, high) == pytest.approx((1000.0, 1000.0))


def test_satterthwaite_freedom_falls_when_one_stratum_carries_the_variance():
    from auditkit.metrics._item_counts import _satterthwaite

    # Equal parts keep Σ f: 2² / (1/2 + 1/2) = 4; unequal ones lose some: 4² / (9/5 + 1/5) = 8.
    assert _satterthwaite([1.0, 1.0], [2, 2]) == pytest.approx(4.0)
    assert _satterthwaite([3.0, 1.0], [5, 5]) == pytest.approx(8.0)
    # No spread: the plain count; a stratum of one customer adds nothing.
    assert _satterthwaite([0.0, 0.0], [3, 4]) == 7.0
    assert _satterthwaite([2.0, 0.0], [4, 0]) == pytest.approx(4.0)
