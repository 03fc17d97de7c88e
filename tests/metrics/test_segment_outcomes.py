import math

import numpy as np
import pandas as pd
import pytest
from tables import assert_same_result, make_tables, random_inputs, shuffle_rows

from auditkit.catalogs import validate_catalog
from auditkit.judging import judge_metric
from auditkit.metrics.segments import outcomes as segment_outcomes
from auditkit.metrics.segments.outcomes import OUTCOMES, probe_outcomes, shared_probe_outcomes


def shop(prices, categories, popularity, list_prices=None):
    names = [f"P{i}" for i in range(1, len(prices) + 1)]
    frame = pd.DataFrame(
        {
            "item_id": names,
            "category": categories,
            "canonical_id": names,
            "price": prices,
            "popularity": popularity,
        }
    )
    if list_prices is not None:
        frame["list_price"] = list_prices
    return validate_catalog(frame, source="test")


# Six products; tertiles of price 10..60 at 26.67 and 43.33: P1, P2 budget; P5, P6 premium.
CATALOG = shop(
    [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
    ["a", "a", "b", "b", "c", "c"],
    [10.0, 20.0, 30.0, 40.0, 50.0, 50.0],
    list_prices=[10.0, 25.0, 30.0, 45.0, 50.0, 60.0],
)
# The other shop is all cheap: its own tertiles make its priciest item premium.
CHEAP = shop([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], ["a"] * 6, [1.0] * 6)


def test_hand_computed_outcomes():
    rows = [
        {"probe_id": "A", "shop_id": "s", "history": ["P1", "P2"], "heldout": "P6|P3"},
        {"probe_id": "B", "shop_id": "s", "history": ["P3"], "heldout": "P1"},
        {"probe_id": "C", "shop_id": "t", "history": ["P1"]},
        {"probe_id": "D", "shop_id": "s"},  # not answered
        {"probe_id": "E", "shop_id": "s", "history": ["P1"]},  # answered, empty list
    ]
    answers = {"A": ["P2", "P5", "P6"], "B": ["P1", "X"], "C": ["P6", "P5"], "E": []}
    tables = make_tables(rows, answers, {"s": CATALOG, "t": CHEAP})
    out = probe_outcomes(tables, signatures={"s": ("c",), "t": ("P1",)}).set_index("probe_id")
    assert list(out.index) == ["A", "B", "C", "E"]
    a, b, c = out.loc["A"], out.loc["B"], out.loc["C"]
    assert a["mean_price"] == pytest.approx((20 + 50 + 60) / 3)
    assert a["premium_share"] == pytest.approx(2 / 3) and a["budget_share"] == pytest.approx(1 / 3)
    # P2 sells at 20 against a list price of 25; P5 and P6 at list price.
    assert a["discount_share"] == pytest.approx(1 / 3)
    # Categories a, c, c: -(1/3 log2 1/3 + 2/3 log2 2/3).
    assert a["category_entropy"] == pytest.approx(
        -(1 / 3) * math.log2(1 / 3) - (2 / 3) * math.log2(2 / 3)
    )
    # Popularity shares of 200 in total: rec (20 + 50 + 50) / 3 = 40, history (10 + 20) / 2 = 15.
    assert a["popularity_lift"] == pytest.approx((40 - 15) / 15)
    assert a["signature_share"] == pytest.approx(2 / 3)
    assert a["hit_rate"] == 1.0
    # B: "X" is not in the catalog; it counts for nothing but the list's signature share.
    assert b["mean_price"] == 10.0 and b["premium_share"] == 0.0 and b["budget_share"] == 1.0
    assert b["category_entropy"] == 0.0 and b["hit_rate"] == 1.0
    assert b["signature_share"] == 0.0
    assert b["popularity_lift"] == pytest.approx((10 - 30) / 30)
    # C, at the cheap shop: P6 and P5 at 6 and 5 are its own top third (tertiles 2.67, 4.33).
    assert c["premium_share"] == 1.0 and c["mean_price"] == 5.5
    assert math.isnan(c["discount_share"]) and math.isnan(c["hit_rate"])
    assert c["signature_share"] == 0.0
    assert all(math.isnan(out.loc["E", column]) for column in OUTCOMES)


def test_no_list_price_and_no_signatures_leave_those_outcomes_empty():
    rows = [{"probe_id": "A", "shop_id": "t", "history": ["P1"]}]
    out = probe_outcomes(make_tables(rows, {"A": ["P2"]}, {"t": CHEAP}))
    assert out["discount_share"].isna().all() and out["signature_share"].isna().all()
    assert out["hit_rate"].isna().all()


TWINNED = [
    # One customer at two shops (match m1) and its twins at shop s (pair g1).
    {"probe_id": "a1", "shop_id": "s", "match_id": "m1", "history": ["P1", "P2"]},
    {"probe_id": "a2", "shop_id": "t", "match_id": "m1", "history": ["P3"]},
    {"probe_id": "t1", "shop_id": "s", "match_id": "m1~x", "pair_id": "g1", "history": ["P1"]},
    {"probe_id": "t2", "shop_id": "s", "match_id": "m1~y", "pair_id": "g1", "history": ["P1"]},
    # Another customer.
    {"probe_id": "b1", "shop_id": "s", "match_id": "m2", "history": ["P2", "P1"]},
]


def customers_of(rows):
    answers = {p["probe_id"]: ["P4"] for p in rows}
    out = probe_outcomes(make_tables(rows, answers, {"s": CATALOG, "t": CHEAP}))
    return dict(zip(out["probe_id"], out["customer"], strict=True))


def test_the_plan_names_each_customer_and_every_probe_of_it_is_one_unit():
    named = [{**row, "customer": "c2" if row["probe_id"] == "b1" else "c1"} for row in TWINNED]
    customer = customers_of(named)
    assert customer["a1"] == customer["a2"] == customer["t1"] == customer["t2"] == 0
    assert customer["b1"] == 1


def test_without_names_customers_are_linked_by_match_and_pair_groups():
    customer = customers_of(TWINNED)
    assert customer["a1"] == customer["a2"] and customer["t1"] == customer["t2"]
    # Only the plan knows the twins are a1's: without it they are a customer of their own.
    assert len({customer["a1"], customer["t1"], customer["b1"]}) == 3
    assert sorted(set(customer.values())) == [0, 1, 2]


def test_customer_codes_do_not_follow_the_row_order():
    shuffled = [TWINNED[i] for i in (4, 2, 0, 3, 1)]
    assert customers_of(shuffled) == customers_of(TWINNED)


def test_order_of_rows_does_not_change_a_bit():
    rows = [
        {"probe_id": f"p{i}", "shop_id": "s", "history": ["P1", "P3"][: 1 + i % 2]}
        for i in range(8)
    ]
    rng = np.random.default_rng(0)
    answers = {r["probe_id"]: list(rng.choice(CATALOG["item_id"], 3, replace=False)) for r in rows}
    tables = make_tables(rows, answers, {"s": CATALOG})
    # Every table's rows shuffled (the list rows' catalog_row follows its catalog row).
    shuffled = shuffle_rows(tables, 1)
    pd.testing.assert_frame_equal(probe_outcomes(tables), probe_outcomes(shuffled))


def test_segment_metrics_share_one_build_of_the_outcomes(monkeypatch):
    built = []

    def counted(tables, **options):
        built.append(options)
        return probe_outcomes(tables, **options)

    monkeypatch.setattr(segment_outcomes, "probe_outcomes", counted)
    tables = random_inputs(0).tables()
    first = judge_metric("segment.price_gap", tables, n_resamples=20)
    judge_metric("segment.counterfactual_price_gap", tables, n_resamples=20)
    judge_metric("segment.hit_rate_ratio", tables, n_resamples=20)
    assert built == [{"signatures": None}]
    # Other signatures are other outcomes; dropping the shared derivations rebuilds them.
    shared_probe_outcomes(tables, signatures={"s0": ["cat1"]})
    assert len(built) == 2
    tables.codes.drop_shared()
    assert_same_result(first, judge_metric("segment.price_gap", tables, n_resamples=20))
    assert len(built) == 3


@pytest.mark.parametrize("seed", [0, 1])
def test_coded_outcomes_equal_a_plain_pandas_pass(seed):
    # Outcomes read the tables' integer codes; a groupby on the string columns gives the same.
    tables = shuffle_rows(random_inputs(seed, customers=5).tables(), seed)
    probes = tables.probes.assign(
        heldout=["P1|P3" if i % 3 else "" for i in range(len(tables.probes))]
    )
    tables = type(tables)(probes, tables.responses, tables.histories, tables.catalogs)
    found = probe_outcomes(tables).set_index("probe_id")
    rows = tables.responses[tables.responses["probe_id"].isin(found.index)]
    by_probe = rows.groupby("probe_id")
    expected_price = by_probe["price"].mean()
    high = tables.catalogs.groupby("shop_id")["price"].transform(lambda p: p.quantile(2 / 3))
    premium = tables.catalogs["price"].to_numpy() > high.to_numpy()
    in_catalog = rows["catalog_row"].to_numpy() >= 0
    shown = pd.Series(premium[rows["catalog_row"].to_numpy()] & in_catalog, index=rows.index)
    expected_premium = shown[in_catalog].groupby(rows["probe_id"][in_catalog]).mean()
    held = probes.set_index("probe_id")["heldout"].str.split("|")
    hit = rows.apply(lambda r: r["item_key"] in held[r["probe_id"]], axis=1)
    expected_hit = hit.groupby(rows["probe_id"]).any().astype(float)
    expected_hit[held[expected_hit.index].map(lambda keys: keys == [""]).to_numpy()] = np.nan
    index = expected_price.index
    np.testing.assert_allclose(found.loc[index, "mean_price"], expected_price, rtol=1e-12)
    np.testing.assert_allclose(
        found.loc[expected_premium.index, "premium_share"], expected_premium, rtol=1e-12
    )
    np.testing.assert_array_equal(found.loc[expected_hit.index, "hit_rate"], expected_hit)
    assert np.nanmean(found["hit_rate"]) > 0
