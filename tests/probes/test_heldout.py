"""Held-out taste products: the preference a good recommender should find again."""

import pandas as pd
import pytest
from support import make_catalog

from auditkit.catalogs import stack_catalogs
from auditkit.probes import design_probes
from auditkit.probes.design import HELDOUT_SEPARATOR
from auditkit.spec import PersonaSpec, ProbesSpec


@pytest.fixture
def spec() -> ProbesSpec:
    return ProbesSpec(
        k=5,
        personas=[
            PersonaSpec(id="tea", categories=["cat0"], history_length=3, customers=4),
            PersonaSpec(id="new", history_length=0, customers=2),
            PersonaSpec(id="shopper", history_from="typical", history_length=3, customers=2),
        ],
        segments={"age": ["young", "old"]},
        counterfactual=["age"],
        repetitions=1,
    )


def test_heldout_products_are_taste_products_the_shop_sells_and_the_history_lacks(
    spec, small_catalogs
):
    plan = design_probes(spec, small_catalogs, seed=5)
    catalog = stack_catalogs(small_catalogs)
    pairs = zip(catalog["shop_id"], catalog["item_id"], strict=True)
    key_of = dict(zip(pairs, catalog["item_key"], strict=True))
    tea = plan[plan["persona_id"] == "tea"]
    # A shop that sells none of a customer's held-out products holds nothing out for it.
    assert tea["heldout"].notna().mean() > 0.5
    for row in tea[tea["heldout"].notna()].itertuples():
        heldout = row.heldout.split(HELDOUT_SEPARATOR)
        sold = catalog[(catalog["shop_id"] == row.shop_id) & (catalog["category"] == "cat0")]
        assert set(heldout) <= set(sold["item_key"])
        assert not set(heldout) & {key_of[(row.shop_id, item)] for item in row.history}
        assert 1 <= len(heldout) <= 3
    # Twins and repeats of one customer at one shop hold out the same products.
    customer = tea["match_id"].str.split("~").str[0]
    same = tea.groupby(["shop_id", customer])["heldout"].nunique(dropna=False)
    assert (same == 1).all()
    assert plan.loc[plan["persona_id"] != "tea", "heldout"].isna().all()


def test_heldout_is_deterministic_and_leaves_the_histories_alone(spec, small_catalogs):
    one = design_probes(spec, small_catalogs, seed=5)
    two = design_probes(spec, small_catalogs, seed=5)
    pd.testing.assert_frame_equal(one, two)
    assert one["heldout"].dtype == "string"
    other = design_probes(spec, small_catalogs, seed=6)
    assert not one["heldout"].equals(other["heldout"])


def test_shop_without_the_taste_holds_nothing_out():
    catalogs = {"a": make_catalog("a", 12, 12), "b": make_catalog("b", 12, 0, categories=1)}
    spec = ProbesSpec(
        k=3, personas=[PersonaSpec(id="tea", categories=["cat1"], history_length=2, customers=2)]
    )
    plan = design_probes(spec, catalogs, seed=0)
    assert plan.loc[plan["shop_id"] == "b", "heldout"].isna().all()
    assert plan.loc[plan["shop_id"] == "a", "heldout"].notna().all()
