"""ARP, long-tail share, Gini, coverage and trend share on hand-made shops."""

import dataclasses
import itertools
import math

import numpy as np
import pytest
from tables import catalog, make_tables, random_inputs, shuffle_rows

from auditkit.catalogs import stack_catalogs
from auditkit.judging import judge_metric
from auditkit.metrics._overlap import code_counts, code_sums
from auditkit.metrics.homogenization.cross_shop import signature_retention
from auditkit.metrics.popularity import (
    ARP_ID,
    COVERAGE_ID,
    GINI_ID,
    LONG_TAIL_ID,
    TREND_SHARE_ID,
    _gini,
    arp,
    coverage,
    gini,
    long_tail_share,
    trend_share,
    trending_keys,
)
from auditkit.metrics.popularity import catalog_exposure as _catalog_exposure
from auditkit.metrics.popularity._gini import gini_coefficient
from auditkit.metrics.popularity.long_tail import head_cutoffs
from auditkit.tables import mark_trending

# Shop a: ten items, popularity 10 (P1) down to 1 (P10); mean 5.5; head = P1, P2 (top 20%).
A = {f"P{i}": float(11 - i) for i in range(1, 11)}
# Shop b: five items of popularity 1 (mean 1); head = one item (ceil(0.2 · 5)), by id: P1.
B = {f"P{i}": 1.0 for i in range(1, 6)}
CATALOGS = {"a": catalog(A), "b": catalog(B)}
ROWS = [
    {"probe_id": "p1", "shop_id": "a", "persona_id": "x"},
    {"probe_id": "p2", "shop_id": "a", "persona_id": "y"},
    {"probe_id": "p3", "shop_id": "b", "persona_id": "x"},
    {"probe_id": "p4", "shop_id": "a", "persona_id": "x", "match_id": "p1", "repetition": 1},
    {"probe_id": "p5", "shop_id": "b", "persona_id": "y"},  # unanswered
]
ANSWERS = {
    "p1": ["P1", "P2", "zz"],  # zz: not in the catalog, ignored
    "p2": ["P10"],
    "p3": ["P1", "P5"],
    "p4": ["P1", "P2", "P3"],  # a repeat: not counted
}


@pytest.fixture
def tables():
    return make_tables(ROWS, ANSWERS, CATALOGS)


def test_arp_hand_computed_case(tables):
    # p1: (10 + 9) / 2 / 5.5 = 19/11; p2: 1 / 5.5 = 2/11; p3: (1 + 1) / 2 / 1 = 1.
    result = judge_metric(ARP_ID, tables, n_resamples=100)
    assert result.value == pytest.approx((19 / 11 + 2 / 11 + 1) / 3)
    assert result.by_group == {
        "persona": {"x": pytest.approx((19 / 11 + 1) / 2), "y": pytest.approx(2 / 11)}
    }
    assert result.n == 3 and result.details == {"probes": 3, "probes_skipped": 0}
    # Three probes of three customers (no customer column: each its own match group).
    assert result.id == ARP_ID and result.unit == "customer" and result.verdict == "reported"


def test_arp_relates_to_the_mean_of_the_known_popularities_only():
    # Shop s: popularity 10, unknown, 2 → mean 6 over the two known; t: 3 alone. The unknown
    # item's list row is skipped. p0: 10/6; p1: (2/6, unknown) → 1/3; p2: 3/3 = 1.
    s = catalog({"a": 10.0, "b": None, "c": 2.0})
    rows = [{"probe_id": f"p{i}", "shop_id": shop} for i, shop in enumerate("sst")]
    tables = make_tables(
        rows,
        {"p0": ["a"], "p1": ["c", "b"], "p2": ["d"]},
        {
            "s": s,
            "t": catalog({"d": 3.0}),
        },
    )
    result = arp(tables, n_resamples=50)
    assert result.value == pytest.approx((10 / 6 + 1 / 3 + 1) / 3)
    # Shuffled, the catalogs are no longer in order of shop: the sums take the other path.
    assert arp(shuffle_rows(tables, 4), n_resamples=50).value == pytest.approx(result.value)


def test_long_tail_share_hand_computed_case(tables):
    # p1: P1, P2 both in a's head → 0; p2: P10 in the tail → 1; p3: P1 head, P5 tail → 1/2.
    result = judge_metric(LONG_TAIL_ID, tables, n_resamples=100)
    assert result.value == pytest.approx(0.5)
    assert result.id == LONG_TAIL_ID and result.threshold.direction == "lower_is_worse"


def test_trend_share_hand_computed_case(tables):
    # Summed popularity: P1 = 11, P2 = 10, P3 = 9, ... P5 = 7, P6 = 5 ... → the top 20 is
    # every canonical product here, so every shown item is trending; with fewer trending
    # products only the top ones count.
    assert trend_share(tables, n_resamples=100).value == 1.0
    assert trending_keys(tables.catalogs, top_n=2) == {"P1", "P2"}
    exclusive = {"a": catalog(A, shared=False), "b": catalog(B, shared=False)}
    none = trend_share(make_tables(ROWS, ANSWERS, exclusive), n_resamples=100)
    assert none.value == 0.0 and none.id == TREND_SHARE_ID


def test_trend_share_uses_the_spec_list_when_given(tables):
    # With the spec's list {P5, P10}: p1 (P1, P2) 0; p2 (P10) 1; p3 (P1, P5) 1/2.
    listed = dataclasses.replace(tables, catalogs=mark_trending(tables.catalogs, ["P10", "P5"]))
    result = judge_metric(TREND_SHARE_ID, listed, n_resamples=100)
    assert result.value == pytest.approx(0.5)
    assert result.details["trending_rule"] == "spec"
    assert result.details["trending_products"] == 2
    assert "the 2 products the audit spec names as trending" in result.summary
    assert trending_keys(listed.catalogs) == trending_keys(listed) == {"P5", "P10"}
    # Without the list the set is the catalogs' top products, and the value as before.
    derived = judge_metric(TREND_SHARE_ID, tables, n_resamples=100)
    assert derived.value == 1.0 and derived.details["trending_rule"] == "top_popularity"
    assert derived.details["trending_products"] == 10
    assert "trending across all shops" in derived.summary


def test_gini_and_coverage_hand_computed_case(tables):
    # Exposure at a (first repetitions): P1, P2, P10 once, the other 7 items 0.
    # Gini of (0 × 7, 1, 1, 1): Σ(2i - n - 1) x_(i) = (2·8-11) + (2·9-11) + (2·10-11) = 21,
    # over n Σx = 10 · 3 → 0.7. At b: P1, P5 once of 5 → (2·4-6 + 2·5-6) / (5 · 2) = 0.6.
    result = gini(tables, n_resamples=100)
    assert result.by_group == {"shop": {"a": pytest.approx(0.7), "b": pytest.approx(0.6)}}
    assert result.value == pytest.approx(0.65) and result.id == GINI_ID
    assert result.unit == "customer"  # the interval resamples customers; shops are the design
    covered = coverage(tables, n_resamples=100)
    assert covered.by_group == {"shop": {"a": 0.3, "b": 0.4}}
    assert covered.value == pytest.approx(0.35) and covered.id == COVERAGE_ID


def mean_difference_gini(x):
    """The Gini coefficient as the mean absolute difference over twice the mean."""
    x = np.asarray(x, dtype=float)
    pairs = sum(abs(a - b) for a, b in itertools.product(x, x))
    return pairs / (2 * len(x) ** 2 * x.mean())


def test_gini_kernel_matches_the_mean_difference_formula():
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 20, size=60).astype(float)
    counts[:10] = 0
    shops = np.repeat(np.arange(3), 20)
    ours = gini_coefficient(counts, shops, np.bincount(shops))
    # Zeros need not be listed: the counts of exposed items and the catalog sizes suffice.
    exposed = counts > 0
    np.testing.assert_allclose(
        gini_coefficient(counts[exposed], shops[exposed], np.bincount(shops)), ours
    )
    for s in range(3):
        assert ours[s] == pytest.approx(mean_difference_gini(counts[shops == s]))
    assert math.isnan(gini_coefficient(np.zeros(4), np.zeros(4, dtype=np.int64), np.array([4]))[0])


def test_gini_and_coverage_match_a_direct_count_on_random_audits():
    tables = random_inputs(4).tables()
    probes = tables.probes[tables.probes["answered"] & (tables.probes["repetition"] == 0)]
    shown = tables.responses[tables.responses["probe_id"].isin(probes["probe_id"])]
    expected_gini, expected_coverage = {}, {}
    for shop, items in tables.catalogs.groupby("shop_id"):
        here = shown[shown["shop_id"] == shop]
        counts = [int((here["item_id"] == item).sum()) for item in items["item_id"]]
        expected_gini[shop] = mean_difference_gini(counts)
        expected_coverage[shop] = sum(c > 0 for c in counts) / len(counts)
    assert gini(tables, n_resamples=50).by_group["shop"] == pytest.approx(expected_gini)
    assert coverage(tables, n_resamples=50).by_group["shop"] == pytest.approx(expected_coverage)


def test_no_popularity_is_inconclusive_with_a_reason():
    unknown = {"a": catalog(dict.fromkeys(A, None)), "b": catalog(dict.fromkeys(B, None))}
    result = judge_metric(ARP_ID, make_tables(ROWS, ANSWERS, unknown), n_resamples=100)
    assert math.isnan(result.value) and result.verdict == "inconclusive"
    assert result.details["reason"] == "no shop catalog gives item popularity"
    assert result.summary == (
        "popularity.arp could not be measured: no shop catalog gives item popularity."
    )


def test_a_product_listed_twice_in_one_catalog_counts_as_two_items():
    # Shop s lists a1 and a2 as the same canonical product: exposure still counts items.
    # s: a1 once, a2 twice, a3 once, a4 never; Gini of (0, 1, 1, 2) is
    # (-3·0 - 1·1 + 1·1 + 3·2) / (4 · 4) = 0.375, coverage 3/4. t: (0, 1) → 1 / 2 = 0.5.
    shared = catalog({"a1": 3.0, "a2": 2.0, "a3": 1.0, "a4": 5.0})
    shared.loc[shared["item_id"] == "a2", "canonical_id"] = "a1"
    catalogs = {"s": shared, "t": catalog({"a1": 1.0, "b": 2.0})}
    rows = [{"probe_id": f"p{i}", "shop_id": shop} for i, shop in enumerate("sst")]
    answers = {"p0": ["a1", "a2"], "p1": ["a2", "a3"], "p2": ["b"]}
    tables = make_tables(rows, answers, catalogs)
    assert gini(tables, n_resamples=50).by_group["shop"] == {"s": 0.375, "t": 0.5}
    assert coverage(tables, n_resamples=50).by_group["shop"] == {"s": 0.75, "t": 0.5}


@pytest.mark.parametrize("row", [-2, 6])
def test_a_catalog_row_outside_the_catalogs_is_a_clear_error(row):
    # Hand-made tables whose list row points at no row of the catalogs (which have 6).
    rows = [{"probe_id": f"p{i}", "shop_id": shop} for i, shop in enumerate("sst")]
    catalogs = {
        "s": catalog({"a1": 3.0, "a2": 2.0, "a3": 1.0, "a4": 5.0}),
        "t": catalog({"a1": 1.0, "b": 2.0}),
    }
    tables = make_tables(rows, {"p0": ["a1"], "p1": ["a2"], "p2": ["b"]}, catalogs)
    responses = tables.responses.assign(catalog_row=[0, row, 5])
    broken = dataclasses.replace(tables, responses=responses)
    message = r"tables.responses.catalog_row must be -1 or a row of tables.catalogs \(0 to 5\)"
    for metric in (gini, coverage, signature_retention, arp):
        with pytest.raises(ValueError, match=message):
            metric(broken, n_resamples=50)
    missing = dataclasses.replace(tables, responses=responses.drop(columns="catalog_row"))
    with pytest.raises(ValueError, match="catalog_row"):
        gini(missing, n_resamples=50)


def test_a_list_row_of_catalog_row_minus_one_is_outside_the_catalog():
    # p1's a2 loses its catalog row: s then shows a1 once, a2 never (Gini of (0, 0, 0, 1)).
    rows = [{"probe_id": f"p{i}", "shop_id": shop} for i, shop in enumerate("sst")]
    catalogs = {
        "s": catalog({"a1": 3.0, "a2": 2.0, "a3": 1.0, "a4": 5.0}),
        "t": catalog({"a1": 1.0, "b": 2.0}),
    }
    tables = make_tables(rows, {"p0": ["a1"], "p1": ["a2"], "p2": ["b"]}, catalogs)
    unlisted = dataclasses.replace(
        tables, responses=tables.responses.assign(catalog_row=[0, -1, 5])
    )
    assert coverage(unlisted, n_resamples=50).by_group["shop"] == {"s": 0.25, "t": 0.5}
    assert gini(unlisted, n_resamples=50).by_group["shop"]["s"] == pytest.approx(0.75)


@pytest.mark.parametrize("n_rows", [1, 300, 301, 5000])
def test_row_counts_equal_a_unique_count_whether_sorted_or_binned(n_rows):
    # 300 rows into 1 or 300 possible rows take the bincount; into 301 or 5000 the sort.
    rows = np.random.default_rng(n_rows).integers(0, n_rows, size=300)
    cells, counts = _catalog_exposure._row_counts(rows, n_rows)
    expected_cells, expected_counts = np.unique(rows, return_counts=True)
    np.testing.assert_array_equal(cells, expected_cells)
    np.testing.assert_array_equal(counts, expected_counts)
    empty_cells, empty_counts = _catalog_exposure._row_counts(rows[:0], n_rows)
    assert empty_cells.size == 0 and empty_counts.size == 0


def test_without_answers_the_shop_metrics_are_inconclusive():
    rows = [{"probe_id": "p1", "shop_id": "a"}, {"probe_id": "p2", "shop_id": "b"}]
    tables = make_tables(rows, {}, CATALOGS)
    for metric_id in (GINI_ID, COVERAGE_ID):
        result = judge_metric(metric_id, tables, n_resamples=50)
        assert math.isnan(result.value) and result.verdict == "inconclusive"
        assert result.details["reason"] == "no shop has an answered probe and a catalog"


def test_short_head_ties_break_by_item_id():
    # Shop b's five items all have popularity 1: the head (one item) is the smallest id, P1.
    # A list of P1 and P2 there is half tail; P1 alone none.
    rows = [{"probe_id": "p1", "shop_id": "b"}, {"probe_id": "p2", "shop_id": "b"}]
    tables = make_tables(rows, {"p1": ["P2", "P1"], "p2": ["P1"]}, {"b": catalog(B)})
    assert long_tail_share(tables, n_resamples=50).value == pytest.approx(0.25)
    cutoffs = head_cutoffs(tables.catalogs)
    assert cutoffs.to_dict("records") == [{"shop_id": "b", "cutoff": 1.0, "last_id": "P1"}]


def test_values_do_not_depend_on_the_order_of_list_rows():
    tables = random_inputs(5).tables()
    order = np.random.default_rng(0).permutation(len(tables.responses))
    shuffled = dataclasses.replace(
        tables, responses=tables.responses.iloc[order].reset_index(drop=True)
    )
    for metric in (arp, long_tail_share, trend_share, gini, coverage):
        ours, theirs = metric(tables, n_resamples=50), metric(shuffled, n_resamples=50)
        assert theirs.value == pytest.approx(ours.value, rel=1e-12)
        for group, values in ours.by_group.items():
            assert theirs.by_group[group] == pytest.approx(values, rel=1e-12)


def test_gini_kernel_sorts_fractional_exposure_too():
    # Weighted exposure (not whole counts) takes the general sort.
    rng = np.random.default_rng(4)
    counts = rng.random(40) * 7.5
    shops = np.repeat(np.arange(2), 20)[rng.permutation(40)]
    ours = gini_coefficient(counts, shops, np.bincount(shops))
    for s in range(2):
        assert ours[s] == pytest.approx(mean_difference_gini(counts[shops == s]))


def test_gini_by_count_equals_the_sorted_ranks():
    # Whole counts take the per-count table; with a small cell allowance the sort is used.
    rng = np.random.default_rng(6)
    counts = rng.integers(0, 9, size=300).astype(float)
    shops = rng.integers(0, 7, size=300)
    sizes = np.bincount(shops, minlength=7) + rng.integers(0, 30, size=7)
    by_count = gini_coefficient(counts, shops, sizes)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_gini, "_CELLS_PER_COUNT", -1000)
        by_rank = gini_coefficient(counts, shops, sizes)
    np.testing.assert_allclose(by_count, by_rank, rtol=1e-12)
    for s in range(7):
        padded = np.concatenate([counts[shops == s], np.zeros(sizes[s] - (shops == s).sum())])
        assert by_count[s] == pytest.approx(mean_difference_gini(padded))


def test_code_counts_equal_a_bincount_sorted_or_not():
    rng = np.random.default_rng(8)
    codes = np.sort(rng.integers(0, 9, size=500)).astype(np.int32)
    expected = np.bincount(codes, minlength=12)
    np.testing.assert_array_equal(code_counts(codes, 12), expected)
    shuffled = rng.permutation(np.append(codes, [-1, -1]))
    np.testing.assert_array_equal(code_counts(shuffled, 12), expected)
    np.testing.assert_array_equal(code_counts(np.empty(0, dtype=np.int32), 3), [0, 0, 0])


def test_code_sums_equal_a_weighted_bincount_sorted_or_not():
    # Codes 0..8 of 12, so runs 9-11 are empty (and code 4 too): reduceat must give them 0.
    rng = np.random.default_rng(9)
    codes = np.sort(rng.choice([0, 1, 2, 3, 5, 6, 7, 8], size=500)).astype(np.int32)
    values = rng.normal(size=500)
    expected = np.bincount(codes, weights=values, minlength=12)
    np.testing.assert_allclose(code_sums(codes, values, 12), expected, rtol=1e-12)
    assert code_sums(codes, values, 12)[[4, 9, 10, 11]].tolist() == [0.0] * 4
    order = rng.permutation(502)
    shuffled = np.append(codes, [-1, -1])[order]
    np.testing.assert_allclose(
        code_sums(shuffled, np.append(values, [5.0, 7.0])[order], 12), expected, rtol=1e-12
    )
    flags = rng.random(500) < 0.3  # booleans sum as counts
    np.testing.assert_array_equal(
        code_sums(codes, flags, 12), np.bincount(codes[flags], minlength=12)
    )
    assert code_sums(np.empty(0, dtype=np.int32), np.empty(0), 3).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("top_n", [1, 3, 6, 9])
def test_trending_set_is_the_top_totals_when_few_are_positive_or_many_tie(top_n):
    # Totals by key: A 4, B 4, C 4, D 1, E 0, F 0 (G is only one shop's, not canonical).
    one = catalog({"a": 3.0, "b": 4.0, "c": 1.0, "d": 1.0, "e": 0.0, "f": 0.0, "g": 9.0})
    two = catalog({"a": 1.0, "c": 3.0})
    for frame in (one, two):
        frame["canonical_id"] = frame["item_id"].str.upper()
    one.loc[one["item_id"] == "g", "canonical_id"] = None
    ranked = ["A", "B", "C", "D", "E", "F"]
    stacked = stack_catalogs({"one": one, "two": two})
    assert trending_keys(stacked, top_n=top_n) == set(ranked[:top_n])


def test_fractional_counts_in_shop_order_sort_as_a_lexsort_does():
    from auditkit.metrics.popularity._gini import _sorted_by_shop

    rng = np.random.default_rng(3)
    shops = np.sort(rng.integers(0, 6, 500))
    counts = rng.integers(0, 9, 500) * 1.25  # weighted counts, with ties
    order = np.lexsort((counts, shops))
    found, found_shops = _sorted_by_shop(counts, shops, None)
    np.testing.assert_array_equal(found, counts[order])
    np.testing.assert_array_equal(found_shops, shops[order])
    shuffled = rng.permutation(500)  # not in shop order: the lexsort itself
    found, found_shops = _sorted_by_shop(counts[shuffled], shops[shuffled], None)
    np.testing.assert_array_equal(found, counts[order])
    np.testing.assert_array_equal(found_shops, shops[order])


def _plain_coverage(exposure):
    """Each shop's share of its catalog reached, per column of weighted cell counts."""

    def per_shop(cells):
        reached = [
            np.bincount(exposure.cell_shop[c > 0], minlength=exposure.sizes.size) for c in cells.T
        ]
        return np.stack(reached, axis=1) / exposure.sizes[:, None]

    return per_shop


@pytest.mark.parametrize("seed", range(4))
def test_left_out_replicates_equal_recounting_every_replicates_weighted_cells(seed):
    from segment_world import audit_tables, demo_spec, world_of

    from auditkit.metrics._item_counts import jackknife_design

    if seed == 0:
        spec = demo_spec(3, customers=8)
        tables = audit_tables(spec, world_of(spec))
    else:
        tables = random_inputs(seed, shops=3, customers=20).tables()
    exposure = _catalog_exposure._count_exposure(tables)
    design = jackknife_design(exposure.strata, seed)
    recount = _catalog_exposure._recounted_replicates
    gini_ref = recount(exposure, design, _catalog_exposure._gini_per_shop(exposure))
    np.testing.assert_allclose(
        _catalog_exposure._gini_replicates(exposure, design), gini_ref, rtol=1e-12, atol=1e-15
    )
    coverage_ref = recount(exposure, design, _plain_coverage(exposure))
    np.testing.assert_array_equal(
        _catalog_exposure._coverage_replicates(exposure, design), coverage_ref
    )


def test_lowered_gini_equals_the_gini_of_the_lowered_values():
    rng = np.random.default_rng(7)
    shops = np.repeat(np.arange(3), [40, 25, 60])
    sizes = np.array([50, 25, 90])
    base = rng.integers(1, 30, shops.size)
    lowered = _gini.LoweredGini(shops, sizes, base)
    for _ in range(20):
        cells = np.sort(rng.choice(shops.size, rng.integers(0, 30), replace=False))
        removed = rng.integers(0, base[cells] + 1)
        values = base.copy()
        values[cells] -= removed
        np.testing.assert_allclose(
            lowered.lowered(cells, removed), gini_coefficient(values, shops, sizes), rtol=1e-12
        )
