import math

import pytest
from tables import assert_same_result, catalog, make_tables, random_inputs, shuffle_rows

from auditkit.judging import NOT_JUDGED, judge_metric
from auditkit.metrics.popularity.lift import (
    DEFAULT_THRESHOLD,
    METRIC_ID,
    REASON_NO_POPULARITY,
    REASON_NO_PROBES,
    popularity_lift,
)
from auditkit.metrics.stats import INVALID_ARGUMENT, RULE_COLUMNS


def test_hand_computed_case():
    catalogs = {
        # Shares of shop a's total (100): i1 .1, i2 .2, i3 .3, i4 .4.
        "a": catalog({"i1": 10.0, "i2": 20.0, "i3": 30.0, "i4": 40.0}),
        # Shares of shop b's total (4): j1 .25, j2 .75.
        "b": catalog({"j1": 1.0, "j2": 3.0}),
    }
    rows = [
        # ARP_hist = (.1 + .2) / 2 = .15, ARP_rec = (.3 + .4) / 2 = .35 → lift = .2 / .15 = 4/3.
        {"probe_id": "p1", "shop_id": "a", "persona_id": "x", "history": ["i1", "i2"]},
        # ARP_hist = .75, ARP_rec = .25 → lift = -.5 / .75 = -2/3.
        {"probe_id": "p2", "shop_id": "b", "persona_id": "y", "history": ["j2"]},
        # No history: skipped.
        {"probe_id": "p3", "shop_id": "a", "persona_id": "x"},
        # Only an item outside the catalog was recommended (unknown popularity): skipped.
        {"probe_id": "p4", "shop_id": "a", "persona_id": "x", "history": ["i1"]},
        # A repeat of p1: not a new unit.
        {
            "probe_id": "p5",
            "shop_id": "a",
            "persona_id": "x",
            "history": ["i1", "i2"],
            "match_id": "p1",
            "repetition": 1,
        },
        # Unanswered: not counted at all.
        {"probe_id": "p6", "shop_id": "b", "persona_id": "y", "history": ["j1"]},
    ]
    answers = {"p1": ["i3", "i4"], "p2": ["j1"], "p3": ["i4"], "p4": ["zz"], "p5": ["i4"]}
    result = judge_metric(METRIC_ID, make_tables(rows, answers, catalogs), n_resamples=200)
    # ΔGAP = (mean ARP_rec - mean ARP_hist) / mean ARP_hist = ((.35 + .25) / 2 - .45) / .45,
    # with mean ARP_hist = (.15 + .75) / 2 = .45: (.3 - .45) / .45 = -1/3.
    assert result.value == pytest.approx(-1 / 3)
    # Two customers (p1 and its repeat p5 are one; p5 is not used).
    assert result.n == 2 and result.unit == "customer"
    # One probe per persona: its ratio of means is its own lift.
    assert result.by_group == {"persona": {"x": pytest.approx(4 / 3), "y": pytest.approx(-2 / 3)}}
    assert result.details["probes"] == 2 and result.details["probes_skipped"] == 2
    assert result.details["mean_arp_rec"] == pytest.approx(0.3)
    assert result.details["mean_arp_hist"] == pytest.approx(0.45)
    # The mean of per-probe ratios, (4/3 - 2/3) / 2 = 1/3, kept for reference.
    assert result.details["mean_probe_lift"] == pytest.approx(1 / 3)
    assert result.id == METRIC_ID and result.family == "popularity"
    assert result.verdict == "reported" and result.threshold == DEFAULT_THRESHOLD
    assert "33% less popular" in result.summary
    # Resampling the two customers: both, p1 twice ((.7/.3) - 1 = 4/3) or p2 twice (-2/3).
    assert result.ci == pytest.approx((-2 / 3, 4 / 3))


def test_a_niche_history_does_not_dominate_the_value():
    # Nine customers with mid-popular histories shown equally popular items, and one whose
    # history is the shop's least popular item shown a mid one: per probe 0 x 9 and 99.
    items = {"i1": 1.0, **{f"i{i}": 100.0 for i in range(2, 12)}}
    rows = [{"probe_id": f"p{n}", "shop_id": "a", "history": ["i2"]} for n in range(9)]
    rows.append({"probe_id": "p9", "shop_id": "a", "history": ["i1"]})
    answers = {f"p{n}": ["i3"] for n in range(10)}
    tables = make_tables(rows, answers, {"a": catalog(items)})
    result = judge_metric(METRIC_ID, tables, threshold=DEFAULT_THRESHOLD, n_resamples=200)
    # The mean of ratios says 9.9 (ten times as popular); the ratio of means 1000 / 901 - 1.
    assert result.details["mean_probe_lift"] == pytest.approx(9.9)
    assert result.value == pytest.approx(1000 / 901 - 1)
    assert result.verdict == "pass"


def test_lift_does_not_depend_on_a_shops_popularity_scale():
    rows = [
        {"probe_id": "p1", "shop_id": "a", "history": ["i1"]},
        {"probe_id": "p2", "shop_id": "b", "history": ["i1"]},
    ]
    answers = {"p1": ["i2"], "p2": ["i2"]}
    catalogs = {"a": catalog({"i1": 1.0, "i2": 3.0}), "b": catalog({"i1": 1000.0, "i2": 3000.0})}
    result = popularity_lift(make_tables(rows, answers, catalogs), n_resamples=100)
    assert result.value == pytest.approx(2.0)
    assert result.ci == pytest.approx((2.0, 2.0))


def planted(lists_for_persona):
    """Thirty probes at one shop whose history is the mid-popular items."""
    items = {f"i{i}": float(i) for i in range(1, 21)}
    rows, answers = [], {}
    for n in range(30):
        persona = "trendy" if n % 2 else "faithful"
        rows.append(
            {
                "probe_id": f"p{n}",
                "shop_id": "a",
                "persona_id": persona,
                "history": ["i9", "i10", "i11"],
            }
        )
        answers[f"p{n}"] = lists_for_persona(persona)
    return make_tables(rows, answers, {"a": catalog(items)})


def test_a_persona_pushed_to_bestsellers_shows_a_high_lift():
    # History ARP = (9 + 10 + 11) / 3 = 10 (shares scale both sides alike). "trendy" gets
    # 18, 19, 20: ARP 19, lift 0.9; "faithful" gets 8, 10, 12: ARP 10, lift 0.
    tables = planted(
        lambda persona: ["i18", "i19", "i20"] if persona == "trendy" else ["i8", "i10", "i12"]
    )
    # Without the auditor's own threshold the lift is reported, not judged.
    reported = judge_metric(METRIC_ID, tables, n_resamples=200)
    assert reported.verdict == "reported" and reported.summary.endswith(NOT_JUDGED)
    result = judge_metric(METRIC_ID, tables, threshold=DEFAULT_THRESHOLD, n_resamples=200)
    assert result.by_group["persona"]["trendy"] == pytest.approx(0.9)
    assert result.by_group["persona"]["faithful"] == pytest.approx(0.0)
    # (14.5 - 10) / 10 over both personas: past warn (0.25), below fail (1.0).
    assert result.value == pytest.approx(0.45) and result.verdict == "warn"
    assert result.n == 30 and NOT_JUDGED not in result.summary
    everyone = judge_metric(
        METRIC_ID,
        planted(lambda persona: ["i19", "i20"]),
        threshold=DEFAULT_THRESHOLD,
        n_resamples=200,
    )
    # ARP 19.5 against 10: lift 0.95, the whole CI below 1.0 → warn.
    assert everyone.value == pytest.approx(0.95) and everyone.verdict == "warn"
    top = judge_metric(
        METRIC_ID, planted(lambda persona: ["i20"]), threshold=DEFAULT_THRESHOLD, n_resamples=200
    )
    assert top.value == pytest.approx(1.0) and top.verdict == "fail"


def test_recommendations_as_popular_as_the_history_give_zero():
    result = judge_metric(
        METRIC_ID,
        planted(lambda persona: ["i10", "i8", "i12"]),
        threshold=DEFAULT_THRESHOLD,
        n_resamples=200,
    )
    assert result.value == pytest.approx(0.0, abs=1e-12)
    assert result.verdict == "pass"
    assert "0% more popular" in result.summary
    assert result.ci == pytest.approx((0.0, 0.0), abs=1e-12)


def test_a_customers_probes_at_every_shop_are_resampled_together():
    # Ten customers, each carried into two shops (one match group): ten units, not twenty.
    catalogs = {s: catalog({"i1": 1.0, "i2": 2.0, "i3": 4.0}) for s in ("a", "b")}
    rows, answers = [], {}
    for n in range(10):
        for shop in ("a", "b"):
            rows.append(
                {
                    "probe_id": f"p{n}{shop}",
                    "shop_id": shop,
                    "match_id": f"m{n}",
                    "history": ["i1"],
                }
            )
            answers[f"p{n}{shop}"] = ["i2" if n % 2 else "i3"]
    result = popularity_lift(make_tables(rows, answers, catalogs), n_resamples=200)
    assert result.n == 10 and result.details["probes"] == 20
    assert result.value == pytest.approx(2.0)  # (2 + 4) / 2 over 1
    # Counterfactual twins of each customer (one match group per level, one pair group per
    # shop): all four twins of a customer are linked, one more unit per customer.
    for n in range(10):
        for shop in ("a", "b"):
            for level in ("x", "y"):
                probe = f"t{n}{shop}{level}"
                rows.append(
                    {
                        "probe_id": probe,
                        "shop_id": shop,
                        "match_id": f"m{n}~{level}",
                        "pair_id": f"m{n}@{shop}",
                        "history": ["i1"],
                    }
                )
                answers[probe] = ["i2"]
    twins = popularity_lift(make_tables(rows, answers, catalogs), n_resamples=200)
    assert twins.n == 20 and twins.details["probes"] == 60


def test_no_popularity_known_is_inconclusive_with_a_reason():
    catalogs = {"a": catalog({"i1": None, "i2": None})}
    rows = [{"probe_id": f"p{n}", "shop_id": "a", "history": ["i1"]} for n in range(12)]
    tables = make_tables(rows, {r["probe_id"]: ["i2"] for r in rows}, catalogs)
    estimate = popularity_lift(tables, n_resamples=100)
    assert math.isnan(estimate.value) and estimate.ci is None and estimate.n == 0
    assert estimate.reason == estimate.details["reason"] == REASON_NO_POPULARITY
    assert estimate.by_group == {"persona": {}}
    result = judge_metric(METRIC_ID, tables, n_resamples=100)
    assert result.verdict == "inconclusive"
    assert result.summary == f"The popularity lift could not be measured: {REASON_NO_POPULARITY}."


def test_no_history_is_inconclusive_with_a_reason():
    catalogs = {"a": catalog({"i1": 1.0, "i2": 2.0})}
    rows = [{"probe_id": f"p{n}", "shop_id": "a"} for n in range(12)]
    result = judge_metric(
        METRIC_ID,
        make_tables(rows, {r["probe_id"]: ["i2"] for r in rows}, catalogs),
        n_resamples=100,
    )
    assert result.verdict == "inconclusive"
    assert result.details["reason"] == REASON_NO_PROBES


def test_history_of_zero_popularity_has_no_lift():
    catalogs = {"a": catalog({"i0": 0.0, "i1": 1.0})}
    rows = [{"probe_id": "p1", "shop_id": "a", "history": ["i0"]}]
    result = popularity_lift(make_tables(rows, {"p1": ["i1"]}, catalogs), n_resamples=100)
    assert result.n == 0 and result.details["reason"] == REASON_NO_PROBES


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariant_to_row_order_and_shop_labels(seed):
    inputs = random_inputs(seed, customers=6)
    base = judge_metric(METRIC_ID, inputs.tables(), n_resamples=200, seed=3)
    assert base.n == 12  # two personas of six customers
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


def test_rejects_tables_without_popularity_columns():
    tables = random_inputs(0).tables()
    broken = type(tables)(
        probes=tables.probes,
        responses=tables.responses,
        histories=tables.histories.drop(columns="popularity"),
        catalogs=tables.catalogs,
    )
    with pytest.raises(ValueError) as excinfo:
        popularity_lift(broken)
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where=METRIC_ID,
        key="tables.histories",
        rule=RULE_COLUMNS.format(columns=["probe_id", "shop_id", "popularity"]),
        value=list(broken.histories.columns),
    )
