import dataclasses
import math

import pandas as pd
import pytest
from tables import assert_same_result, catalog, make_tables, random_inputs, shuffle_rows

from auditkit.judging import judge_metric
from auditkit.metrics.homogenization.cross_shop import (
    DEFAULT_THRESHOLD,
    METRIC_ID,
    PAIR_JOIN,
    RESPONSE_COLUMNS,
    cross_shop_jaccard,
    pairwise_jaccard,
)
from auditkit.metrics.stats import INVALID_ARGUMENT, RULE_COLUMNS, RULE_POSITIVE_INT
from auditkit.results import Threshold

PRODUCTS = [f"P{i}" for i in range(1, 21)]
SHOPS = {shop: catalog(PRODUCTS) for shop in ("a", "b", "c")}


def matched(groups: int, lists) -> tuple[list[dict], dict[str, list[str]]]:
    """``groups`` match groups, each answered at every shop with ``lists(group, shop)``."""
    rows, answers = [], {}
    for g in range(groups):
        for shop in SHOPS:
            probe_id = f"g{g}-{shop}"
            rows.append(
                {
                    "probe_id": probe_id,
                    "shop_id": shop,
                    "match_id": f"m{g}",
                    "persona_id": f"persona{g % 2}",
                }
            )
            answers[probe_id] = lists(g, shop)
    return rows, answers


def test_hand_computed_case():
    rows = [
        # m1 at three shops: J(a,b) = |{3,4}| / |{1..6}| = 2/6, J(a,c) = 4/4 = 1, J(b,c) = 2/6;
        # the group's mean is (1/3 + 1 + 1/3) / 3 = 5/9.
        {"probe_id": "p1", "shop_id": "a", "match_id": "m1", "persona_id": "x"},
        {"probe_id": "p2", "shop_id": "b", "match_id": "m1", "persona_id": "x"},
        {"probe_id": "p3", "shop_id": "c", "match_id": "m1", "persona_id": "x"},
        # m2 at two shops, disjoint lists: J = 0. Its repeat (repetition 1) and its unanswered
        # probe at shop c are not counted.
        {"probe_id": "p4", "shop_id": "a", "match_id": "m2", "persona_id": "y"},
        {"probe_id": "p5", "shop_id": "b", "match_id": "m2", "persona_id": "y"},
        {"probe_id": "p6", "shop_id": "b", "match_id": "m2", "persona_id": "y", "repetition": 1},
        {"probe_id": "p7", "shop_id": "c", "match_id": "m2", "persona_id": "y"},
        # m3 answered at one shop only: skipped.
        {"probe_id": "p8", "shop_id": "a", "match_id": "m3", "persona_id": "y"},
    ]
    answers = {
        "p1": ["P1", "P2", "P3", "P4"],
        "p2": ["P3", "P4", "P5", "P6"],
        "p3": ["P4", "P3", "P2", "P1"],
        "p4": ["P1", "P2"],
        "p5": ["P3", "P4"],
        "p6": ["P1", "P2"],
        "p8": ["P1"],
    }
    result = judge_metric(METRIC_ID, make_tables(rows, answers, SHOPS), n_resamples=200)
    # Value = mean over the two match groups = (5/9 + 0) / 2 = 5/18.
    assert result.value == pytest.approx(5 / 18)
    assert result.n == 2
    assert result.details == {"match_groups": 2, "customers": 2, "probe_pairs": 4}
    # Per pair of shops: a×b has m1's 1/3 and m2's 0; a×c and b×c only m1's pairs.
    assert result.by_group == {
        "persona": {"x": pytest.approx(5 / 9), "y": 0.0},
        "shop pair": {"a × b": pytest.approx(1 / 6), "a × c": 1.0, "b × c": pytest.approx(1 / 3)},
    }
    assert result.ci is not None and result.ci[0] <= result.value <= result.ci[1]
    assert result.id == METRIC_ID and result.family == "homogenization"
    assert result.unit == "customer" and result.p_value is None
    assert result.verdict == "inconclusive"  # 2 match groups < min_units
    assert result.threshold == DEFAULT_THRESHOLD
    assert "28%" in result.summary


def test_identical_lists_across_shops_give_one_and_fail():
    rows, answers = matched(12, lambda g, shop: PRODUCTS[g : g + 5])
    result = judge_metric(METRIC_ID, make_tables(rows, answers, SHOPS), n_resamples=200)
    assert result.value == 1.0 and result.ci == (1.0, 1.0)
    assert result.verdict == "fail"
    assert result.details == {"match_groups": 12, "customers": 12, "probe_pairs": 36}


def test_disjoint_lists_give_zero_and_pass():
    offsets = {"a": 0, "b": 5, "c": 10}
    rows, answers = matched(12, lambda g, shop: PRODUCTS[offsets[shop] : offsets[shop] + 5])
    result = judge_metric(METRIC_ID, make_tables(rows, answers, SHOPS), n_resamples=200)
    assert result.value == 0.0 and result.ci == (0.0, 0.0)
    assert result.verdict == "pass"


def test_shop_exclusive_items_never_overlap_even_with_the_same_item_id():
    # Nothing is sold by two shops: no pair can show a product alike, so there is no value.
    exclusive = {shop: catalog(PRODUCTS, shared=False) for shop in SHOPS}
    rows, answers = matched(10, lambda g, shop: PRODUCTS[:5])
    result = cross_shop_jaccard(make_tables(rows, answers, exclusive), n_resamples=100)
    assert math.isnan(result.value) and result.n == 0
    assert result.reason is not None and "both shops sell" in result.reason


def test_products_one_shop_lacks_are_left_out_of_the_comparison():
    # Both shops sell P1..P4; X only a sells, Y only b. Lists a: P1 P2 X, b: P1 P3 Y. On the
    # products both sell the sets are {P1, P2} and {P1, P3}: J = 1/3, where the whole lists
    # give 1/5.
    shops = {
        shop: pd.concat([catalog(PRODUCTS[:4]), catalog([own], shared=False)], ignore_index=True)
        for shop, own in (("a", "X"), ("b", "Y"))
    }
    rows = [
        {"probe_id": "p1", "shop_id": "a", "match_id": "m1", "persona_id": "x"},
        {"probe_id": "p2", "shop_id": "b", "match_id": "m1", "persona_id": "x"},
    ]
    answers = {"p1": ["P1", "P2", "X"], "p2": ["P1", "P3", "Y"]}
    result = cross_shop_jaccard(make_tables(rows, answers, shops), n_resamples=50)
    assert result.value == pytest.approx(1 / 3)


def test_empty_lists_count_as_no_overlap_unless_both_are_empty():
    rows = [
        {"probe_id": "p1", "shop_id": "a", "match_id": "m1"},
        {"probe_id": "p2", "shop_id": "b", "match_id": "m1"},
        {"probe_id": "p3", "shop_id": "a", "match_id": "m2"},
        {"probe_id": "p4", "shop_id": "b", "match_id": "m2"},
    ]
    answers = {"p1": ["P1"], "p2": [], "p3": [], "p4": []}
    result = cross_shop_jaccard(make_tables(rows, answers, SHOPS), n_resamples=100)
    # m1: J({P1}, {}) = 0; m2: both empty, undefined, so the group is left out.
    assert result.value == 0.0 and result.n == 1
    assert result.details["probe_pairs"] == 1


def test_no_match_group_at_two_shops_is_inconclusive_without_warnings():
    rows = [{"probe_id": "p1", "shop_id": "a", "match_id": "m1"}]
    result = judge_metric(METRIC_ID, make_tables(rows, {"p1": ["P1"]}, SHOPS), n_resamples=100)
    assert math.isnan(result.value) and result.ci is None and result.n == 0
    assert result.verdict == "inconclusive"
    assert result.details["reason"]
    assert result.by_group == {"persona": {}, "shop pair": {}}


def test_a_given_threshold_is_used():
    rows, answers = matched(12, lambda g, shop: PRODUCTS[:5] if shop != "c" else PRODUCTS[5:10])
    tables = make_tables(rows, answers, SHOPS)
    # Each group: J(a,b) = 1, J(a,c) = J(b,c) = 0 → 1/3, under the default warn (0.55).
    assert judge_metric(METRIC_ID, tables, n_resamples=100).verdict == "pass"
    strict = Threshold(warn=0.1, fail=0.2)
    result = judge_metric(METRIC_ID, tables, threshold=strict, n_resamples=100)
    assert result.value == pytest.approx(1 / 3)
    assert result.verdict == "fail" and result.threshold == strict


def test_pairwise_jaccard_kernel():
    items = pd.DataFrame(
        {"probe_id": ["a", "a", "b", "b", "b"], "item_key": ["1", "2", "2", "3", "4"]}
    )
    pairs = pd.DataFrame({"probe_a": ["a", "a", "c"], "probe_b": ["b", "c", "d"]})
    # a∩b = {2}, a∪b = {1,2,3,4} → 1/4; c is empty → 0; c and d both empty → NaN.
    result = pairwise_jaccard(items, pairs)
    assert result[0] == 0.25 and result[1] == 0.0 and math.isnan(result[2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariant_to_row_order_and_shop_labels(seed):
    inputs = random_inputs(seed)
    base = judge_metric(METRIC_ID, inputs.tables(), n_resamples=200, seed=3)
    shuffled = judge_metric(
        METRIC_ID, shuffle_rows(inputs.tables(), seed), n_resamples=200, seed=3
    )
    names = {"s0": "zeta", "s1": "alpha", "s2": "mid"}
    relabelled = judge_metric(
        METRIC_ID, inputs.relabel_shops(names).tables(), n_resamples=200, seed=3
    )
    back = {new: old for old, new in names.items()}
    pairs = {
        PAIR_JOIN.join(sorted(back[shop] for shop in key.split(PAIR_JOIN))): value
        for key, value in relabelled.by_group["shop pair"].items()
    }
    assert pairs == pytest.approx(base.by_group["shop pair"])
    relabelled = dataclasses.replace(
        relabelled, by_group={**relabelled.by_group, "shop pair": base.by_group["shop pair"]}
    )
    for other in (shuffled, relabelled):
        assert_same_result(base, other)


def test_rejects_bad_options_and_tables():
    tables = random_inputs(0).tables()
    with pytest.raises(ValueError) as excinfo:
        cross_shop_jaccard(tables, n_resamples=0)
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where=METRIC_ID, key="n_resamples", rule=RULE_POSITIVE_INT, value=0
    )
    broken = type(tables)(
        probes=tables.probes,
        responses=tables.responses.drop(columns="item_key"),
        histories=tables.histories,
        catalogs=tables.catalogs,
    )
    with pytest.raises(ValueError) as excinfo:
        cross_shop_jaccard(broken)
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where=METRIC_ID,
        key="tables.responses",
        rule=RULE_COLUMNS.format(columns=list(RESPONSE_COLUMNS)),
        value=list(broken.responses.columns),
    )


def varied(g, shop):
    """Lists that overlap by a different amount in each match group."""
    offsets = {"a": 0, "b": g % 4, "c": (g * 3) % 5}
    return PRODUCTS[offsets[shop] : offsets[shop] + 5]


def seen_in_contexts(contexts):
    """Twelve customers, each seen under ``contexts`` contexts (a match group each), alike."""
    rows, answers = matched(12, varied)
    customers = [{**row, "customer": row["match_id"]} for row in rows]
    copies = [
        {**row, "probe_id": f"{row['probe_id']}/{c}", "match_id": f"{row['match_id']}/{c}"}
        for c in range(contexts)
        for row in customers
    ]
    copied = {f"{p}/{c}": items for c in range(contexts) for p, items in answers.items()}
    return make_tables(copies, copied, SHOPS)


@pytest.mark.parametrize("metric_id", [METRIC_ID, "homogenization.cross_shop_rbo"])
def test_a_customers_match_groups_are_one_unit_of_the_interval(metric_id):
    # Three contexts of the same twelve customers add match groups, not customers: the
    # interval stays that of twelve customers (resampling match groups would narrow it by
    # about the square root of three).
    once = judge_metric(metric_id, seen_in_contexts(1), n_resamples=400, seed=5)
    thrice = judge_metric(metric_id, seen_in_contexts(3), n_resamples=400, seed=5)
    assert once.n == thrice.n == 12
    assert thrice.details["match_groups"] == 3 * once.details["match_groups"] == 36
    assert thrice.value == pytest.approx(once.value)
    assert thrice.ci == pytest.approx(once.ci)
    assert once.ci[1] - once.ci[0] > 0.05


def test_a_customer_asked_as_itself_is_compared_only_where_it_was():
    # m1's history is carried as itself at a and b (history_mapped 1) and substituted at c:
    # only the a-b pair compares one customer, so only it counts (J = 1). m2 is substituted
    # everywhere, so all its pairs count (1/3 as in test_a_given_threshold_is_used).
    rows, answers = matched(2, lambda g, shop: PRODUCTS[:5] if shop != "c" else PRODUCTS[5:10])
    for row in rows:
        exact = row["match_id"] == "m0" and row["shop_id"] != "c"
        row["history_mapped"] = 1.0 if exact else 0.6
    result = cross_shop_jaccard(make_tables(rows, answers, SHOPS), n_resamples=50)
    assert result.by_group["persona"] == {"persona0": 1.0, "persona1": pytest.approx(1 / 3)}
    assert result.details["probe_pairs"] == 1 + 3
