import pandas as pd
import pytest
from support import make_catalog

from auditkit.probes import design_probes, request_context
from auditkit.spec import PersonaSpec, ProbesSpec


@pytest.fixture
def probes_spec() -> ProbesSpec:
    return ProbesSpec(
        k=5,
        personas=[
            PersonaSpec(id="tea", categories=["cat0"], history_length=3, customers=4),
            PersonaSpec(id="new", history_length=0, customers=2),
        ],
        segments={"age": ["young", "mid", "old"], "device": ["mobile", "desktop"]},
        counterfactual=["age"],
        repetitions=1,
    )


def test_plan_size_and_columns(probes_spec, small_catalogs):
    plan = design_probes(probes_spec, small_catalogs, seed=1)
    # per customer and shop: 1 original + 1 repeat + 3 age twins; 6 customers, 3 shops
    assert len(plan) == 6 * 3 * (1 + 1 + 3)
    assert plan["probe_id"].is_unique and plan["customer_id"].is_unique
    assert {"segment.age", "segment.device"} <= set(plan.columns)


def test_same_seed_same_plan_other_seed_other_plan(probes_spec, small_catalogs, tmp_path):
    one = design_probes(probes_spec, small_catalogs, seed=1)
    two = design_probes(probes_spec, small_catalogs, seed=1)
    one.to_parquet(tmp_path / "one.parquet")
    two.to_parquet(tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    other = design_probes(probes_spec, small_catalogs, seed=2)
    assert not one.equals(other)


def test_pairs_differ_in_exactly_their_attribute(probes_spec, small_catalogs):
    plan = design_probes(probes_spec, small_catalogs, seed=3)
    pairs = plan[plan["pair_id"].notna()]
    assert len(pairs)
    for _, group in pairs.groupby("pair_id"):
        attribute = group["pair_attribute"].iloc[0]
        assert sorted(group["segment.age"]) == sorted(["young", "mid", "old"])
        assert attribute == "age"
        assert group["segment.device"].nunique() == 1
        assert group["history"].map(tuple).nunique() == 1
        assert group["shop_id"].nunique() == 1


def test_repeats_are_identical_but_for_the_customer(probes_spec, small_catalogs):
    plan = design_probes(probes_spec, small_catalogs, seed=3)
    unpaired = plan[plan["pair_id"].isna()]
    for _, group in unpaired.groupby(["match_id", "shop_id"]):
        assert sorted(group["repetition"]) == [0, 1]
        assert group["history"].map(tuple).nunique() == 1
        assert group[["segment.age", "segment.device"]].drop_duplicates().shape[0] == 1


def test_matched_probes_carry_the_same_products_into_each_shop(probes_spec):
    # every shop sells the same 24 products under its own item ids
    catalogs = {shop: make_catalog(shop, 24, 24) for shop in ("a", "b", "c")}
    plan = design_probes(probes_spec, catalogs, seed=5)
    items = pd.concat(catalogs, names=["shop_id"]).reset_index(level=0)
    canonical = items.set_index(["shop_id", "item_id"])["canonical_id"].to_dict()
    tea = plan[plan["persona_id"] == "tea"]
    assert (tea["history_mapped"] == 1.0).all()
    for _, group in tea.groupby("match_id"):
        products = {
            tuple(canonical[(row.shop_id, item)] for item in row.history)
            for row in group.itertuples()
        }
        assert len(products) == 1 and len(next(iter(products))) == 3
        assert group["shop_id"].nunique() == 3


def test_history_falls_back_to_same_category(small_catalogs):
    spec = ProbesSpec(
        k=3,
        personas=[PersonaSpec(id="p", categories=["cat1"], history_length=6, customers=3)],
        repetitions=0,
    )
    plan = design_probes(spec, small_catalogs, seed=9)
    c_rows = plan[plan["shop_id"] == "c"]
    # shop c sells only P0..P4; histories still have 6 cat1 items there, partly mapped
    assert (c_rows["history"].map(len) == 6).all()
    assert (c_rows["history_mapped"] < 1).any()
    cats = small_catalogs["c"].set_index("item_id")["category"]
    assert all(cats[item] == "cat1" for h in c_rows["history"] for item in h)


def test_cold_start_has_empty_history(probes_spec, small_catalogs):
    plan = design_probes(probes_spec, small_catalogs, seed=1)
    assert (plan.loc[plan["persona_id"] == "new", "history"].map(len) == 0).all()


def test_context_is_the_segment_levels(probes_spec, small_catalogs):
    plan = design_probes(probes_spec, small_catalogs, seed=1)
    contexts = request_context(plan)
    assert contexts[0] == {
        "age": plan["segment.age"].iloc[0],
        "device": plan["segment.device"].iloc[0],
    }
