import math

import numpy as np
import pandas as pd
import pytest
from tables import make_tables

from auditkit.catalogs import validate_catalog
from auditkit.judging import judge_metric
from auditkit.metrics.segments.pairs import (
    DEFAULT_THRESHOLD,
    POPULARITY_GAP_ID,
    PRICE_GAP_ID,
)
from auditkit.metrics.stats import INVALID_ARGUMENT, RULE_SEED

NAMES = [f"P{i}" for i in range(1, 9)]
CATALOG = validate_catalog(
    pd.DataFrame(
        {
            "item_id": NAMES,
            "category": ["c"] * 8,
            "canonical_id": NAMES,
            "price": [10.0, 20.0, 40.0, 80.0, 10.0, 20.0, 40.0, 80.0],
            "popularity": [1.0, 2.0, 4.0, 8.0, 1.0, 2.0, 4.0, 8.0],
        }
    ),
    source="test",
)


def twins(group, history, lists):
    rows, answers = [], {}
    for level, items in lists.items():
        probe_id = f"{group}-{level}"
        rows.append(
            {
                "probe_id": probe_id,
                "shop_id": "s",
                "match_id": f"{group}~{level}",
                "pair_id": group,
                "pair_attribute": "age",
                "history": history,
                "segment.age": level,
            }
        )
        answers[probe_id] = items
    return rows, answers


def test_hand_computed_twin_effects():
    rows, answers = [], {}
    # Group g1: young 20, old 10, mid 40 (mean prices); group g2: young 40, old 20, mid 40.
    for group, history, lists in [
        ("g1", ["P5"], {"young": ["P2"], "old": ["P1"], "mid": ["P3"]}),
        ("g2", ["P6"], {"young": ["P3"], "old": ["P2"], "mid": ["P7"]}),
    ]:
        more_rows, more_answers = twins(group, history, lists)
        rows += more_rows
        answers.update(more_answers)
    result = judge_metric(
        PRICE_GAP_ID, make_tables(rows, answers, {"s": CATALOG}), n_resamples=200
    )
    log = np.log
    # old: d1 = log 10 - (log 20 + log 40) / 2 = log(10 / sqrt(800)), d2 = log(20 / 40).
    old = math.expm1((log(10 / math.sqrt(800)) + log(20 / 40)) / 2)
    young = math.expm1((log(20 / math.sqrt(400)) + log(40 / math.sqrt(800))) / 2)
    mid = math.expm1((log(40 / math.sqrt(200)) + log(40 / math.sqrt(800))) / 2)
    assert result.by_group == {
        "age": {
            "mid": pytest.approx(mid),
            "old": pytest.approx(old),
            "young": pytest.approx(young),
        }
    }
    # Largest on the log scale: old, pushed cheaper (old's |log effect| 0.87 > mid's 0.69).
    assert result.details["level"] == "old" and result.details["direction"] == "cheaper"
    assert result.value == pytest.approx(-old)
    # Two customers, three levels: 6 x 6 relabellings, each customer's "old" difference one of
    # its three with probability 1/3. Only both customers' lowest differences (-1.04 and -0.69)
    # give old an effect as large as observed: p = 1/9, exact.
    tests = {t["level"]: t for t in result.details["tests"]}
    assert tests["old"]["p_value"] == pytest.approx(1 / 9)
    assert tests["old"]["customers"] == 2 and tests["old"]["twins"] == 2
    assert result.p_value == pytest.approx(min(t["q_value"] for t in tests.values()))
    assert result.n == 2 and result.unit == "pair group" and result.verdict == "inconclusive"
    assert result.id == PRICE_GAP_ID and result.threshold == DEFAULT_THRESHOLD


def steered(groups, *, shift):
    """Pair groups whose old twin's list costs ``shift`` times its twins' (others equal)."""
    rng = np.random.default_rng(0)
    rows, answers = [], {}
    for g in range(groups):
        base = rng.choice(NAMES[:4], size=2, replace=False).tolist()
        cheap = [NAMES[max(0, NAMES.index(i) - shift)] for i in base]
        more_rows, more_answers = twins(
            # A history item of its own makes every pair group another customer.
            f"g{g}",
            [f"P{5 + g % 4}", f"h{g}"],
            {"young": base, "mid": base, "old": cheap},
        )
        rows += more_rows
        answers.update(more_answers)
    return make_tables(rows, answers, {"s": CATALOG})


def test_a_level_steered_cheaper_is_found_and_fails():
    result = judge_metric(PRICE_GAP_ID, steered(30, shift=1), n_resamples=500)
    assert result.details["attribute"] == "age" and result.details["level"] == "old"
    assert result.details["direction"] == "cheaper"
    assert result.verdict == "fail" and result.p_value is not None and result.p_value < 0.01
    assert result.ci is not None and result.ci[0] > DEFAULT_THRESHOLD.fail


def test_identical_twins_give_zero_and_pass():
    result = judge_metric(PRICE_GAP_ID, steered(30, shift=0), n_resamples=200)
    assert result.value == 0.0 and result.p_value == 1.0 and result.verdict == "pass"


def test_popularity_gap_reads_the_lists_popularity():
    result = judge_metric(POPULARITY_GAP_ID, steered(30, shift=1), n_resamples=200)
    assert result.details["level"] == "old" and result.details["direction"] == "less popular"


def test_no_twins_is_inconclusive():
    rows = [{"probe_id": "a", "shop_id": "s"}]
    result = judge_metric(PRICE_GAP_ID, make_tables(rows, {"a": ["P1"]}, {"s": CATALOG}))
    assert math.isnan(result.value) and result.verdict == "inconclusive" and result.n == 0


def test_rejects_a_negative_seed():
    with pytest.raises(ValueError) as excinfo:
        judge_metric(PRICE_GAP_ID, steered(2, shift=0), seed=-2)
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where=PRICE_GAP_ID, key="seed", rule=RULE_SEED, value=-2
    )


@pytest.mark.parametrize(("cheap", "other"), [("old", "young"), ("aa", "zz"), ("zz", "aa")])
def test_a_two_level_attribute_names_the_level_pushed_down_whatever_its_name(cheap, other):
    # Two levels: the effects are exact mirrors (one cheaper by as much as the other is
    # pricier); the named level is the cheaper one, not whichever rounding or sorting favours.
    rng = np.random.default_rng(3)
    rows, answers = [], {}
    for g in range(20):
        base = rng.choice(NAMES[1:4], size=2, replace=False).tolist()
        cheaper = [NAMES[NAMES.index(i) - 1] for i in base]
        more_rows, more_answers = twins(f"g{g}", [f"h{g}"], {other: base, cheap: cheaper})
        rows += more_rows
        answers.update(more_answers)
    result = judge_metric(
        PRICE_GAP_ID, make_tables(rows, answers, {"s": CATALOG}), n_resamples=300
    )
    effects = result.by_group["age"]
    assert math.log1p(effects[cheap]) == pytest.approx(-math.log1p(effects[other]))
    assert result.details["level"] == cheap and result.details["direction"] == "cheaper"
    assert result.value == pytest.approx(-effects[cheap])
