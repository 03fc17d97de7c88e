import math

import numpy as np
import pandas as pd
import pytest
from tables import assert_same_result, catalog, make_tables, random_inputs, shuffle_rows

from auditkit.judging import judge_metric
from auditkit.metrics._customers import customer_codes
from auditkit.metrics._lists import item_sets
from auditkit.metrics.segments.counterfactual import (
    DEFAULT_THRESHOLD,
    METRIC_ID,
    NOISE_UNAVAILABLE,
    _CodedLists,
    _frame_noise_divergence,
    _frame_pair_divergence,
    divergences,
)
from auditkit.metrics.stats import INVALID_ARGUMENT, RULE_SEED
from auditkit.tables import AuditTables

PRODUCTS = [f"P{i}" for i in range(1, 31)]
SHOPS = {"a": catalog(PRODUCTS), "b": catalog(PRODUCTS)}


def twin(probe_id, pair_id, attribute, level, **extra):
    return {
        "probe_id": probe_id,
        "shop_id": "a",
        "match_id": probe_id,
        "pair_id": pair_id,
        "pair_attribute": attribute,
        f"segment.{attribute}": level,
        **extra,
    }


def repeat(probe_id, match_id, repetition, **extra):
    return {
        "probe_id": probe_id,
        "shop_id": "a",
        "match_id": match_id,
        "repetition": repetition,
        "segment.age": "young",
        **extra,
    }


def test_hand_computed_case():
    rows = [
        # Pair group g1 on age: A {1,2,3,4}, B {1,2,5,6}, C {1,2,3,4}.
        # 1 - J: A-B 1 - 2/6 = 2/3, A-C 0, B-C 2/3 → mean 4/9.
        twin("A", "g1", "age", "young"),
        twin("B", "g1", "age", "old"),
        twin("C", "g1", "age", "mid"),
        # Pair group g2 on device: disjoint lists → 1 - 0 = 1.
        twin("D", "g2", "device", "mobile"),
        twin("E", "g2", "device", "desktop"),
        # Repeat group r1: {1,2,3,4} vs {1,2,3,5} → 1 - 3/5 = 2/5; r2: identical → 0.
        repeat("R1a", "r1", 0),
        repeat("R1b", "r1", 1),
        repeat("R2a", "r2", 0),
        repeat("R2b", "r2", 1),
        # Same match group but another shop: not a repeat of r1.
        {**repeat("R1c", "r1", 1), "shop_id": "b"},
    ]
    answers = {
        "A": ["P1", "P2", "P3", "P4"],
        "B": ["P1", "P2", "P5", "P6"],
        "C": ["P4", "P3", "P2", "P1"],
        "D": ["P1", "P2"],
        "E": ["P3", "P4"],
        "R1a": ["P1", "P2", "P3", "P4"],
        "R1b": ["P1", "P2", "P3", "P5"],
        "R1c": ["P9"],
        "R2a": ["P7"],
        "R2b": ["P7"],
    }
    result = judge_metric(METRIC_ID, make_tables(rows, answers, SHOPS), n_resamples=200)
    # Per attribute, its pair divergence minus the noise, mean(2/5, 0) = 1/5: age 4/9 - 1/5,
    # device 1 - 1/5. The value is the larger, named: a steered attribute is not averaged away.
    assert result.value == pytest.approx(4 / 5)
    assert result.by_group == {
        "attribute": {"age": pytest.approx(4 / 9 - 1 / 5), "device": pytest.approx(1 - 1 / 5)}
    }
    # No customer has both twins and repeats: Mann–Whitney, exact, per attribute: its one pair
    # group above both repeat groups → P(U >= 2) = 1/3; BH over the two keeps 1/3.
    assert result.p_value == pytest.approx(1 / 3)
    tests = result.details.pop("tests")
    assert [(t["attribute"], t["pair_groups"], t["q_value"]) for t in tests] == [
        ("age", 1, pytest.approx(1 / 3)),
        ("device", 1, pytest.approx(1 / 3)),
    ]
    assert result.details == {
        "pair_groups": 2,
        "repeat_groups": 2,
        "noise_ceiling": pytest.approx(0.2),
        "attribute": "device",
        "pair_divergence": pytest.approx(1.0),
    }
    assert result.n == 1 and result.unit == "pair group" and result.family == "segment"
    assert result.id == METRIC_ID and result.threshold == DEFAULT_THRESHOLD
    assert result.verdict == "inconclusive"
    assert "customer's device makes 100%" in result.summary and "20%" in result.summary


def swapped_world(groups, pair_lists, repeat_lists):
    rows, answers = [], {}
    for g in range(groups):
        for level, items in zip(("young", "old"), pair_lists(g), strict=True):
            probe_id = f"t{g}-{level}"
            rows.append(twin(probe_id, f"g{g}", "age", level))
            answers[probe_id] = items
        for rep, items in enumerate(repeat_lists(g)):
            probe_id = f"r{g}-{rep}"
            rows.append(repeat(probe_id, f"r{g}", rep))
            answers[probe_id] = items
    return make_tables(rows, answers, SHOPS)


def test_an_attribute_that_swaps_the_list_gives_high_divergence_and_fails():
    tables = swapped_world(
        12, lambda g: (PRODUCTS[:5], PRODUCTS[5:10]), lambda g: (PRODUCTS[:5], PRODUCTS[:5])
    )
    result = judge_metric(METRIC_ID, tables, n_resamples=200)
    assert result.value == 1.0 and result.ci == (1.0, 1.0)
    assert result.verdict == "fail"
    assert result.p_value is not None and result.p_value < 1e-4
    assert result.by_group == {"attribute": {"age": 1.0}}


def noisy(rng, base, flip=0.4):
    """``base`` with each item replaced, with probability ``flip``, by another product."""
    out = list(base)
    for i in range(len(out)):
        if rng.random() < flip:
            out[i] = str(rng.choice([p for p in PRODUCTS if p not in out]))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_pairs_that_differ_only_by_the_repeats_noise_give_about_zero(seed):
    rng = np.random.default_rng(seed)
    bases = [list(rng.choice(PRODUCTS, size=8, replace=False)) for _ in range(40)]
    tables = swapped_world(
        40,
        lambda g: (noisy(rng, bases[g]), noisy(rng, bases[g])),
        lambda g: (noisy(rng, bases[g]), noisy(rng, bases[g])),
    )
    result = judge_metric(METRIC_ID, tables, n_resamples=500, seed=seed)
    assert abs(result.value) < 0.08
    assert result.ci is not None and result.ci[0] < 0.0 < result.ci[1]
    assert result.p_value is not None and result.p_value > 0.05
    assert result.verdict == "pass"


def test_without_repeats_the_noise_term_is_zero_and_there_is_no_test():
    tables = swapped_world(12, lambda g: (PRODUCTS[:4], PRODUCTS[2:6]), lambda g: ())
    result = judge_metric(METRIC_ID, tables, n_resamples=200)
    # 1 - J({1,2,3,4}, {3,4,5,6}) = 1 - 2/6.
    assert result.value == pytest.approx(2 / 3)
    assert result.details["noise_ceiling"] == NOISE_UNAVAILABLE
    assert result.details["repeat_groups"] == 0
    assert result.p_value is None and result.ci == pytest.approx((2 / 3, 2 / 3))
    assert "no repeated probes" in result.summary
    # Past fail, but nothing measured tells the attribute from the vendor's own noise.
    assert result.verdict == "inconclusive"


def test_no_pairs_is_inconclusive_without_warnings():
    rows = [repeat("R1", "r1", 0), repeat("R2", "r1", 1)]
    result = judge_metric(
        METRIC_ID, make_tables(rows, {"R1": ["P1"], "R2": ["P2"]}, SHOPS), n_resamples=100
    )
    assert math.isnan(result.value) and result.ci is None and result.p_value is None
    assert result.verdict == "inconclusive" and result.details["reason"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariant_to_row_order_and_shop_labels(seed):
    inputs = random_inputs(seed)
    base = judge_metric(METRIC_ID, inputs.tables(), n_resamples=200, seed=3)
    assert base.n > 10 and base.details["repeat_groups"] > 10
    shuffled = judge_metric(
        METRIC_ID, shuffle_rows(inputs.tables(), seed), n_resamples=200, seed=3
    )
    relabelled = judge_metric(
        METRIC_ID,
        inputs.relabel_shops({"s0": "zeta", "s1": "alpha", "s2": "mid"}).tables(),
        n_resamples=200,
        seed=3,
    )
    assert_same_result(base, shuffled)
    assert_same_result(base, relabelled)


def test_rejects_a_negative_seed():
    with pytest.raises(ValueError) as excinfo:
        judge_metric(METRIC_ID, random_inputs(0).tables(), seed=-3)
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where=METRIC_ID, key="seed", rule=RULE_SEED, value=-3
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coded_item_sets_give_the_pandas_joins_divergences_exactly(seed):
    tables = shuffle_rows(random_inputs(seed, customers=6, repetitions=2).tables(), seed)
    rows = np.flatnonzero(tables.probes["answered"].to_numpy(dtype=bool))
    probes = tables.probes.iloc[rows].assign(_customer=customer_codes(tables, rows))
    coded_pairs, coded_noise = divergences(tables, probes, rows)
    items = item_sets(tables.responses, probes["probe_id"])
    assert len(coded_pairs) > 10 and len(coded_noise) > 10
    pd.testing.assert_frame_equal(coded_pairs, _frame_pair_divergence(probes, items))
    pd.testing.assert_frame_equal(
        coded_noise, _frame_noise_divergence(probes, items, tables.segment_columns)
    )


def test_probes_whose_ids_repeat_take_the_pandas_path():
    tables = random_inputs(0).tables()
    doubled = AuditTables(
        pd.concat([tables.probes, tables.probes.iloc[:3]], ignore_index=True),
        tables.responses,
        tables.histories,
        tables.catalogs,
    )
    rows = np.flatnonzero(doubled.probes["answered"].to_numpy(dtype=bool))
    assert _CodedLists.build(doubled, rows) is None
    assert _CodedLists.build(tables, rows[rows < len(tables.probes)]) is not None
