"""Rank-biased overlap and category divergence of matched customers' lists across shops."""

import math

import numpy as np
import pandas as pd
import pytest
import ranked_overlap
from scipy.spatial.distance import jensenshannon
from tables import catalog, make_tables

from auditkit.judging import judge_metric
from auditkit.metrics import METRICS
from auditkit.metrics._overlap import group_pairs, pair_rbo, ranked_lists
from auditkit.metrics.homogenization.cross_shop import (
    DIVERGENCE_ID,
    DIVERGENCE_THRESHOLD,
    RBO_ID,
    RBO_THRESHOLD,
    RULE_PERSISTENCE,
    cross_shop_jaccard,
    cross_shop_rbo,
    pair_js_divergence,
)
from auditkit.metrics.stats import INVALID_ARGUMENT

PRODUCTS = [f"P{i}" for i in range(1, 21)]
CATEGORY = {name: ("x" if int(name[1:]) <= 10 else "y") for name in PRODUCTS}
SHOPS = {shop: catalog(PRODUCTS, categories=CATEGORY) for shop in ("a", "b")}


def two_shop_tables(lists_a, lists_b):
    rows, answers = [], {}
    for g, (first, second) in enumerate(zip(lists_a, lists_b, strict=True)):
        for shop, items in (("a", first), ("b", second)):
            probe_id = f"g{g}-{shop}"
            rows.append({"probe_id": probe_id, "shop_id": shop, "match_id": f"m{g}"})
            answers[probe_id] = items
    return make_tables(rows, answers, SHOPS)


def lists_frame(lists):
    rows = [
        (f"q{i:04d}", r + 1, item) for i, items in enumerate(lists) for r, item in enumerate(items)
    ]
    return pd.DataFrame(rows, columns=["probe_id", "rank", "item_key"])


def all_pairs_rbo(lists, p):
    frame = lists_frame(lists)
    coded = ranked_lists(frame, [f"q{i:04d}" for i in range(len(lists))])
    groups = np.zeros(len(lists), dtype=np.int64)
    _, a, b = group_pairs(groups)
    return a, b, pair_rbo(coded, groups, a, b, p=p)


def test_rbo_hand_computed_case():
    # [P1, P2, P3] vs [P1, P3, P2]: X = 1, 1, 3 → RBO_ext = 3/3 · .9³ + (.1/.9)(.9 + .81/2 + .729)
    # = .729 + .226 = .955; disjoint lists give 0; the value is the mean over the two groups.
    expected = 0.729 + (0.1 / 0.9) * (0.9 + 0.81 / 2 + 0.729)
    tables = two_shop_tables(
        [["P1", "P2", "P3"], ["P1", "P2"]], [["P1", "P3", "P2"], ["P3", "P4"]]
    )
    result = judge_metric(RBO_ID, tables, n_resamples=100)
    assert result.value == pytest.approx(expected / 2)
    assert result.n == 2 and result.details == {
        "match_groups": 2,
        "customers": 2,
        "probe_pairs": 2,
        "p": 0.9,
    }
    assert result.id == RBO_ID and result.threshold == RBO_THRESHOLD
    assert result.verdict == "inconclusive"
    # p = .5: 3/3 · .125 + (.5/.5)(.5 + .25/2 + .125) = .875 for the first group.
    assert cross_shop_rbo(tables, n_resamples=100, p=0.5).value == pytest.approx(0.875 / 2)


def test_rbo_matches_the_ranked_overlap_package_on_equal_lengths():
    rng = np.random.default_rng(5)
    lists = [list(rng.choice(PRODUCTS, size=8, replace=False)) for _ in range(40)]
    for p in (0.5, 0.9, 0.98):
        a, b, ours = all_pairs_rbo(lists, p)
        theirs = [ranked_overlap.rbo(lists[i], lists[j], p=p) for i, j in zip(a, b, strict=True)]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_rbo_matches_the_rbo_package_on_uneven_lengths():
    rbo = pytest.importorskip("rbo")
    rng = np.random.default_rng(6)
    lists = [
        list(rng.choice(PRODUCTS, size=rng.integers(1, 12), replace=False)) for _ in range(40)
    ]
    a, b, ours = all_pairs_rbo(lists, 0.9)
    theirs = [
        rbo.RankingSimilarity(lists[i], lists[j]).rbo_ext(p=0.9) for i, j in zip(a, b, strict=True)
    ]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_identical_lists_give_rbo_one_and_fail():
    same = [PRODUCTS[g : g + 5] for g in range(12)]
    result = judge_metric(RBO_ID, two_shop_tables(same, same), n_resamples=100)
    assert result.value == pytest.approx(1.0) and result.verdict == "fail"


def test_rbo_rejects_a_persistence_outside_the_open_interval():
    tables = two_shop_tables([["P1"]], [["P1"]])
    with pytest.raises(ValueError) as excinfo:
        cross_shop_rbo(tables, p=1.0)
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where=RBO_ID, key="p", rule=RULE_PERSISTENCE, value=1.0
    )


def test_category_divergence_hand_computed_case():
    # m0: shop a shows x, x; shop b shows x, y → P = (1, 0), Q = (.5, .5), M = (.75, .25):
    # JS = (log2(1/.75) + .5 log2(.5/.75) + .5 log2(.5/.25)) / 2 ≈ .311.
    # m1: both show one x and one y → 0.
    tables = two_shop_tables([["P1", "P2"], ["P3", "P11"]], [["P4", "P12"], ["P12", "P5"]])
    result = judge_metric(DIVERGENCE_ID, tables, n_resamples=100)
    by_hand = (math.log2(1 / 0.75) + 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(2)) / 2
    assert result.value == pytest.approx(by_hand / 2)
    assert by_hand == pytest.approx(jensenshannon([1, 0], [0.5, 0.5], base=2) ** 2)
    assert result.id == DIVERGENCE_ID and result.threshold == DIVERGENCE_THRESHOLD
    assert result.threshold.direction == "lower_is_worse"


def test_category_divergence_matches_scipy_jensenshannon():
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 4, size=(30, 6)).astype(np.float32)
    counts[3] = 0  # an empty list: its pairs are undefined
    _, a, b = group_pairs(np.zeros(30, dtype=np.int64))
    ours = pair_js_divergence(counts, a, b)
    for value, i, j in zip(ours, a, b, strict=True):
        if counts[i].sum() == 0 or counts[j].sum() == 0:
            assert math.isnan(value)
        else:
            assert value == pytest.approx(
                jensenshannon(counts[i], counts[j], base=2) ** 2, abs=1e-6
            )


def test_converged_category_mix_is_flagged_and_distinct_mix_passes():
    x_lists = [PRODUCTS[g % 5 : g % 5 + 4] for g in range(12)]
    y_lists = [PRODUCTS[10 + g % 5 : 14 + g % 5] for g in range(12)]
    # Reported by default (a sound recommender gives like tastes like categories everywhere);
    # judged against the threshold an auditor sets.
    same_tables, apart_tables = (
        two_shop_tables(x_lists, x_lists),
        two_shop_tables(x_lists, y_lists),
    )
    assert judge_metric(DIVERGENCE_ID, same_tables, n_resamples=100).verdict == "reported"
    threshold = METRICS[DIVERGENCE_ID].default_threshold
    same = judge_metric(DIVERGENCE_ID, same_tables, threshold=threshold, n_resamples=100)
    apart = judge_metric(DIVERGENCE_ID, apart_tables, threshold=threshold, n_resamples=100)
    assert same.value == 0.0 and same.verdict == "fail"
    assert apart.value == pytest.approx(1.0) and apart.verdict == "pass"


def test_matched_pairs_and_their_overlap_are_shared_read_only_and_agree_with_a_fresh_pass():
    from auditkit.metrics._matched import matched_jaccard, matched_pairs

    tables = two_shop_tables([["P1", "P2"], ["P3", "P4"]], [["P2", "P5"], ["P3", "P4"]])
    matched = matched_pairs(tables)
    assert matched_pairs(tables) is matched
    jaccard = matched_jaccard(tables)
    assert list(jaccard) == pytest.approx([1 / 3, 1.0])
    with pytest.raises(ValueError):
        jaccard[0] = 0.0  # shared by every cross-shop metric: nobody may change it
    with pytest.raises(ValueError):
        matched.pair_a[0] = 1
    first = cross_shop_jaccard(tables, n_resamples=50)
    tables.codes.drop_shared()
    assert cross_shop_jaccard(tables, n_resamples=50) == first


def test_each_pair_of_shops_gets_its_own_mean_overlap():
    # Two customers asked at shops a, b and c. Jaccard by hand, per pair of shops:
    # m0: a {P1 P2} b {P1 P2} c {P3 P4} -> a×b 1, a×c 0, b×c 0
    # m1: a {P1 P2 P3} b {P1 P4} c {P1 P2 P3} -> a×b 1/4, a×c 1, b×c 1/4
    lists = {
        "m0": {"a": ["P1", "P2"], "b": ["P1", "P2"], "c": ["P3", "P4"]},
        "m1": {"a": ["P1", "P2", "P3"], "b": ["P1", "P4"], "c": ["P1", "P2", "P3"]},
    }
    rows, answers = [], {}
    for group, by_shop in lists.items():
        for shop, items in by_shop.items():
            probe_id = f"{group}-{shop}"
            rows.append({"probe_id": probe_id, "shop_id": shop, "match_id": group})
            answers[probe_id] = items
    catalogs = {shop: catalog(PRODUCTS, categories=CATEGORY) for shop in ("a", "b", "c")}
    result = cross_shop_jaccard(make_tables(rows, answers, catalogs), n_resamples=100)
    assert result.by_group["shop pair"] == pytest.approx(
        {"a × b": (1 + 1 / 4) / 2, "a × c": (0 + 1) / 2, "b × c": (0 + 1 / 4) / 2}
    )
