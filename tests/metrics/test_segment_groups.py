import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from tables import make_tables

from auditkit.catalogs import validate_catalog
from auditkit.judging import judge_metric
from auditkit.metrics.segments.groups import (
    EXPOSURE_ID,
    EXPOSURE_THRESHOLD,
    HIT_RATE_ID,
    MIN_EVENTS,
    PRICE_GAP_ID,
    PRICE_GAP_THRESHOLD,
    cluster_bootstrap_means,
    compare_groups,
)
from auditkit.metrics.stats import INVALID_ARGUMENT, RULE_SEED

NAMES = [f"P{i}" for i in range(1, 10)]
# Nine products priced 10..90: tertiles at 36.67 and 63.33, so P7-P9 are premium.
CATALOG = validate_catalog(
    pd.DataFrame(
        {
            "item_id": NAMES,
            "category": ["c"] * 9,
            "canonical_id": NAMES,
            "price": [10.0 * i for i in range(1, 10)],
            "popularity": [1.0] * 9,
        }
    ),
    source="test",
)


def probe(probe_id, age, device, items):
    row = {
        "probe_id": probe_id,
        "shop_id": "s",
        "history": [probe_id],  # a history of its own: every probe is its own customer
        "segment.age": age,
        "segment.device": device,
    }
    return row, items


def small_tables():
    cases = [
        probe("a", "young", "mobile", ["P1", "P2"]),  # mean price 15, premium 0
        probe("b", "young", "desktop", ["P7", "P9"]),  # 80, premium 1
        probe("c", "old", "mobile", ["P1"]),  # 10, premium 0
        probe("d", "old", "mobile", ["P3", "P8"]),  # 55, premium 1/2
        probe("e", "old", "desktop", ["P5"]),  # 50, premium 0
    ]
    return make_tables(
        [c[0] for c in cases], {c[0]["probe_id"]: c[1] for c in cases}, {"s": CATALOG}
    )


def test_metricframe_values_equal_a_hand_computation():
    result = judge_metric(PRICE_GAP_ID, small_tables(), n_resamples=200)
    # age: young (15 + 80) / 2 = 47.5, old (10 + 55 + 50) / 3 = 38.33.
    # device: mobile (15 + 10 + 55) / 3 = 26.67, desktop (80 + 50) / 2 = 65.
    assert result.by_group["age"] == {"old": pytest.approx(115 / 3), "young": 47.5}
    assert result.by_group["device"] == {"desktop": 65.0, "mobile": pytest.approx(80 / 3)}
    assert result.by_group["age × device"] == {
        "old × desktop": 50.0,
        "old × mobile": 32.5,
        "young × desktop": 80.0,
        "young × mobile": 15.0,
    }
    device = result.details["comparisons"]["device"]
    assert device["difference"] == pytest.approx(65 - 80 / 3)
    assert device["ratio"] == pytest.approx((80 / 3) / 65)
    assert device["lowest"] == "mobile" and device["highest"] == "desktop"
    assert device["groups"] == {"desktop": 2, "mobile": 3}
    assert result.details["comparisons"]["age × device"]["ratio"] == pytest.approx(15 / 80)
    # Neither test is significant on five probes, so the value is the largest gap.
    assert result.details["attribute"] == "device"
    assert result.value == pytest.approx(1 - (80 / 3) / 65)
    assert result.n == 5 and result.unit == "customer" and result.verdict == "inconclusive"
    assert result.id == PRICE_GAP_ID and result.threshold == PRICE_GAP_THRESHOLD

    exposure = judge_metric(EXPOSURE_ID, small_tables(), n_resamples=200)
    # Premium share: young (0 + 1) / 2, old (0 + 1/2 + 0) / 3; mobile 1/6, desktop 1/2.
    assert exposure.by_group["age"] == {"old": pytest.approx(1 / 6), "young": 0.5}
    assert exposure.by_group["device"] == {"desktop": 0.5, "mobile": pytest.approx(1 / 6)}
    assert exposure.value == pytest.approx(1 / 3)
    assert exposure.id == EXPOSURE_ID and exposure.threshold == EXPOSURE_THRESHOLD


def test_bootstrap_recomputes_the_group_means_of_resampled_clusters():
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    groups = np.array([[0, 2], [1, 2], [0, 3], [1, 3], [0, -1], [1, 3]])
    clusters = np.array([0, 0, 1, 1, 2, 3])
    boot = cluster_bootstrap_means(values, groups, clusters, 4, n_resamples=50, seed=9)
    # The same draws by hand: four clusters drawn with replacement, then plain group means.
    draws = np.random.default_rng(np.random.SeedSequence(9)).integers(0, 4, size=(50, 4))
    for resample, chosen in enumerate(draws):
        rows = np.concatenate([np.flatnonzero(clusters == c) for c in chosen])
        for group in range(4):
            member = [r for r in rows if group in groups[r]]
            expected = values[member].mean() if member else np.nan
            np.testing.assert_allclose(boot[resample, group], expected, equal_nan=True)


@pytest.mark.slow
def test_vectorized_interval_agrees_with_metricframes_own_bootstrap():
    rng = np.random.default_rng(4)
    n = 60
    outcomes = pd.DataFrame(
        {
            "probe_id": [f"p{i:02d}" for i in range(n)],
            "segment.age": rng.choice(["young", "mid", "old"], size=n),
            "customer": np.arange(n),
            "mean_price": rng.lognormal(3.0, 0.4, size=n),
        }
    )
    ours = compare_groups(outcomes, "mean_price", n_resamples=4000, confidence=0.9, seed=0)[0]
    frame = MetricFrame(
        metrics={"mean": lambda t, p: float(np.mean(p))},
        y_true=outcomes["mean_price"],
        y_pred=outcomes["mean_price"],
        sensitive_features=outcomes["segment.age"],
        n_boot=150,
        ci_quantiles=[0.05, 0.95],
        random_state=1,
    )
    assert ours.ratio == pytest.approx(float(frame.ratio()["mean"]))
    assert ours.difference == pytest.approx(float(frame.difference()["mean"]))
    theirs_ratio = [float(x["mean"]) for x in frame.ratio_ci()]
    theirs_diff = [float(x["mean"]) for x in frame.difference_ci()]
    # 150 resamples place a 5% quantile within about a fifth of the interval's width.
    width = ours.ratio_ci[1] - ours.ratio_ci[0]
    assert abs(theirs_ratio[0] - ours.ratio_ci[0]) < 0.25 * width
    assert abs(theirs_ratio[1] - ours.ratio_ci[1]) < 0.25 * width
    width = ours.difference_ci[1] - ours.difference_ci[0]
    assert abs(theirs_diff[0] - ours.difference_ci[0]) < 0.25 * width
    assert abs(theirs_diff[1] - ours.difference_ci[1]) < 0.25 * width


@pytest.mark.slow
def test_equal_means_test_is_calibrated_with_clusters():
    rng = np.random.default_rng(8)
    p_values = []
    for _ in range(120):
        customers = 40
        # Each customer has its own level (shared by its five probes) and its own taste.
        level = rng.choice(["a", "b", "c"], size=customers)
        taste = rng.normal(0.0, 1.0, size=customers)
        customer = np.repeat(np.arange(customers), 5)
        outcomes = pd.DataFrame(
            {
                "segment.x": level[customer],
                "customer": customer,
                "mean_price": taste[customer] + rng.normal(0.0, 0.3, size=customers * 5),
            }
        )
        comparison = compare_groups(
            outcomes, "mean_price", n_resamples=200, confidence=0.95, seed=1
        )
        p_values.append(comparison[0].p_value)
    rejections = float(np.mean(np.asarray(p_values) < 0.05))
    # Probes as units would reject most of the time here; customers as units keep it nominal.
    assert rejections < 0.1


def test_no_segment_attribute_is_inconclusive():
    rows = [{"probe_id": "a", "shop_id": "s"}, {"probe_id": "b", "shop_id": "s"}]
    result = judge_metric(
        PRICE_GAP_ID, make_tables(rows, {"a": ["P1"], "b": ["P2"]}, {"s": CATALOG})
    )
    assert math.isnan(result.value) and result.verdict == "inconclusive"
    assert result.p_value is None and result.details["reason"]


def test_rejects_a_negative_seed():
    with pytest.raises(ValueError) as excinfo:
        judge_metric(EXPOSURE_ID, small_tables(), seed=-1)
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where=EXPOSURE_ID, key="seed", rule=RULE_SEED, value=-1
    )


def test_hit_rate_ratio_by_hand():
    rows, answers = [], {}
    # young: 2 of 2 probes find a held-out product; old: 1 of 3 (and one probe holds none out).
    cases = [
        ("a", "young", "P1|P2", ["P1", "P5"]),
        ("b", "young", "P3", ["P3"]),
        ("c", "old", "P1", ["P1"]),
        ("d", "old", "P2", ["P5"]),
        ("e", "old", "P4|P6", ["P5", "P7"]),
        ("f", "old", None, ["P1"]),
    ]
    for probe_id, age, heldout, items in cases:
        rows.append(
            {
                "probe_id": probe_id,
                "shop_id": "s",
                "history": [probe_id],
                "segment.age": age,
                "heldout": heldout,
            }
        )
        answers[probe_id] = items
    result = judge_metric(HIT_RATE_ID, make_tables(rows, answers, {"s": CATALOG}), n_resamples=100)
    assert result.by_group == {"age": {"old": pytest.approx(1 / 3), "young": 1.0}}
    assert result.value == pytest.approx(1 / 3) and result.details["lowest"] == "old"
    assert result.id == HIT_RATE_ID and result.threshold.direction == "lower_is_worse"


def test_an_attribute_with_twins_is_compared_on_the_same_customers():
    # Four customers; the vendor ignores age. c0 and c1 were assigned "young" and buy
    # expensive products, c2 and c3 "old" and cheap ones, so their originals alone would read
    # as a price gap between the ages. Each customer's age twins (one per age) get the
    # customer's own list: on them the ages are shown exactly the same prices.
    rows, answers = [], {}
    for n, (age, items) in enumerate(
        [("young", ["P9"]), ("young", ["P8"]), ("old", ["P1"]), ("old", ["P2"])]
    ):
        customer = f"c{n}"
        base = {"shop_id": "s", "customer": customer, "history": [customer], "segment.device": "m"}
        rows.append({**base, "probe_id": f"{customer}", "match_id": customer, "segment.age": age})
        answers[customer] = items
        for level in ("young", "old"):
            twin = f"{customer}-{level}"
            rows.append(
                {
                    **base,
                    "probe_id": twin,
                    "match_id": f"{customer}~age={level}",
                    "pair_id": f"{customer}~age",
                    "pair_attribute": "age",
                    "segment.age": level,
                }
            )
            answers[twin] = items
    tables = make_tables(rows, answers, {"s": CATALOG})
    result = judge_metric(PRICE_GAP_ID, tables, n_resamples=200)
    assert result.value == pytest.approx(0.0, abs=1e-12)
    assert result.details["comparisons"]["age"]["groups"] == {"old": 4, "young": 4}
    # The originals alone: young 85, old 15, a gap of 1 - 15/85.
    originals = tables.probes["pair_id"].isna().to_numpy()
    plain = compare_groups(
        pd.DataFrame(
            {
                "segment.age": tables.probes["segment.age"][originals].to_numpy(),
                "mean_price": [90.0, 80.0, 10.0, 20.0],
                "customer": ["c0", "c1", "c2", "c3"],
            }
        ),
        "mean_price",
        n_resamples=50,
        confidence=0.95,
        seed=0,
    )
    assert plain[0].ratio == pytest.approx(15 / 85)


@pytest.mark.parametrize(
    ("hits_a", "has_interval"), [(0, False), (MIN_EVENTS - 1, False), (MIN_EVENTS, True)]
)
def test_a_ratio_needs_min_events_in_every_group_for_an_interval(hits_a, has_interval):
    customers = 40
    level = np.where(np.arange(customers) < 20, "a", "b")
    hit = np.zeros(customers)
    hit[:hits_a] = 1.0  # group a's hits
    hit[20:32] = 1.0  # group b: 12 hits
    outcomes = pd.DataFrame(
        {"segment.x": level, "customer": np.arange(customers), "hit_rate": hit}
    )
    comparison = compare_groups(outcomes, "hit_rate", n_resamples=200, confidence=0.95, seed=0)[0]
    assert comparison.ratio == pytest.approx(hits_a / 12)
    assert all(map(math.isfinite, comparison.ratio_ci)) == has_interval


@pytest.mark.parametrize(
    ("hitting", "has_interval"), [(MIN_EVENTS - 1, False), (MIN_EVENTS, True)]
)
def test_the_events_a_ratio_needs_are_counted_in_customers_not_probes(hitting, has_interval):
    # 20 customers, each asked at 6 shops at both levels: group a's 12 hits come from the first
    # `hitting` customers, so a group of many hits by few customers has no interval.
    customer = np.repeat(np.arange(20), 12)
    level = np.tile(np.repeat(["a", "b"], 6), 20)
    hit = np.zeros(customer.size)
    a_rows = np.flatnonzero((level == "a") & (customer < hitting)).reshape(hitting, 6)
    hit[a_rows.T.ravel()[:12]] = 1.0  # each hitting customer's first row, then second rows
    hit[np.flatnonzero((level == "b") & (customer >= 10))[::6]] = 1.0  # 10 customers, 10 hits
    outcomes = pd.DataFrame({"segment.x": level, "customer": customer, "hit_rate": hit})
    comparison = compare_groups(outcomes, "hit_rate", n_resamples=200, confidence=0.95, seed=0)[0]
    assert hit[level == "a"].sum() == 12
    assert comparison.with_events.tolist() == [hitting, 10]
    assert all(map(math.isfinite, comparison.ratio_ci)) == has_interval


def test_a_tested_gap_without_an_interval_is_inconclusive_whatever_its_p_value():
    from auditkit.judging import verdict
    from auditkit.results import Estimate, Threshold

    estimate = Estimate(
        id=HIT_RATE_ID, family="segment", value=0.0, ci=None, n=40, unit="customer", p_value=1e-6
    )
    threshold = Threshold(warn=0.8, fail=0.5, direction="lower_is_worse")
    assert verdict(estimate, threshold, rule="tested", alpha=0.05) == "inconclusive"
    assert verdict(estimate, threshold, rule="interval", alpha=0.05) == "fail"
