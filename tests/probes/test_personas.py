"""Personas' tastes, shop-drawn histories and the segment cross."""

import numpy as np
import pandas as pd
import pytest

from auditkit.catalogs import stack_catalogs
from auditkit.errors import DesignError
from auditkit.probes import design_probes
from auditkit.probes.histories import HEAD_SHARE, ShopIndex, band_products, carry_history
from auditkit.spec import PersonaSpec, ProbesSpec
from auditkit.world import generate_world


@pytest.fixture(scope="module")
def world_catalogs() -> dict[str, pd.DataFrame]:
    return generate_world(seed=4, n_shops=4, items_per_shop=200).catalogs()


@pytest.fixture(scope="module")
def banded(world_catalogs) -> pd.DataFrame:
    return band_products(stack_catalogs(world_catalogs))


def item_bands(banded: pd.DataFrame) -> pd.DataFrame:
    return banded.set_index(["shop_id", "item_id"])


def probes_for(persona: PersonaSpec, catalogs, **kwargs) -> pd.DataFrame:
    spec = ProbesSpec(k=5, personas=[persona], repetitions=0, **kwargs)
    return design_probes(spec, catalogs, seed=11, signatures=kwargs.pop("signatures", None))


def test_bands_split_products_as_documented(banded):
    products = banded.drop_duplicates("item_key")
    shares = products["popularity_band"].value_counts(normalize=True)
    assert shares["head"] == pytest.approx(HEAD_SHARE, abs=0.01)
    assert shares["tail"] == pytest.approx(0.5, abs=0.01)
    prices = products.groupby("price_band")["price"].agg(["min", "max"])
    assert prices.loc["budget", "max"] <= prices.loc["mid", "min"]
    assert prices.loc["mid", "max"] <= prices.loc["premium", "min"]


def band_share(plan: pd.DataFrame, banded: pd.DataFrame, column: str, band: str) -> float:
    lookup = item_bands(banded)[column]
    values = [
        lookup[(s, i)] for s, h in zip(plan["shop_id"], plan["history"], strict=True) for i in h
    ]
    return float(np.mean([v == band for v in values]))


@pytest.mark.parametrize(
    ("column", "band"),
    [
        ("popularity_band", "tail"),
        ("popularity_band", "head"),
        ("price_band", "premium"),
    ],
)
def test_taste_bands_shape_the_history(world_catalogs, banded, column, band):
    # Substituted carry: a missing product is replaced within its bands (exact carry draws
    # only what most shops sell, the popular part of any taste).
    persona = PersonaSpec(
        id="p", history_length=4, customers=10, carry="substitute", **{column: band}
    )
    anyone = PersonaSpec(id="p", history_length=4, customers=10, carry="substitute")
    share = band_share(probes_for(persona, world_catalogs), banded, column, band)
    baseline = band_share(probes_for(anyone, world_catalogs), banded, column, band)
    # products missing at a shop are replaced within category and bands where the shop can
    assert share >= 0.75 and share > baseline + 0.3


def test_fallback_keeps_category_and_price_band():
    shop = pd.DataFrame(
        {
            "shop_id": "s",
            "item_id": ["x1", "x2", "x3"],
            "item_key": ["s:x1", "s:x2", "s:x3"],
            "category": ["tea", "tea", "cups"],
            "price_band": ["budget", "premium", "premium"],
        }
    )
    index = ShopIndex.build(shop)
    shop["popularity_band"] = ["head", "tail", "head"]
    product = {
        "P1": ("tea", "premium", "head"),
        "P2": ("cups", "budget", "head"),
        "P3": ("toys", "mid", "tail"),
    }
    items, exact = carry_history(["P1", "P2", "P3"], index, product, np.random.default_rng(0))
    assert items[0] == "x2"  # same category and band
    assert items[1] == "x3"  # same category, band unavailable
    assert items[2] == "x1"  # nothing alike left: any unused item
    assert exact == 0


def test_typical_customer_draws_by_the_shops_own_popularity(world_catalogs, banded):
    typical = probes_for(
        PersonaSpec(id="t", history_from="typical", history_length=5, customers=30), world_catalogs
    )
    even = probes_for(PersonaSpec(id="e", history_length=5, customers=30), world_catalogs)
    popularity = item_bands(banded)["popularity"]

    def mean_popularity(plan):
        return np.mean(
            [
                popularity[(s, i)]
                for s, h in zip(plan["shop_id"], plan["history"], strict=True)
                for i in h
            ]
        )

    assert mean_popularity(typical) > 2 * mean_popularity(even)
    assert typical["history_mapped"].isna().all()


def test_signature_lovers_draw_from_each_shops_signature(world_catalogs, banded):
    signatures = {
        "shop01": ("cat01",),
        "shop02": ("cat02",),
        "shop03": ("cat03",),
        "shop04": ("cat04",),
    }
    spec = ProbesSpec(
        k=5,
        repetitions=0,
        personas=[PersonaSpec(id="fan", history_from="signature", history_length=3, customers=2)],
    )
    plan = design_probes(spec, world_catalogs, seed=1, signatures=signatures)
    category = item_bands(banded)["category"]
    for shop, history in zip(plan["shop_id"], plan["history"], strict=True):
        assert {category[(shop, item)] for item in history} == set(signatures[shop])
    with pytest.raises(DesignError, match="needs a signature for shop 'shop01'"):
        design_probes(spec, world_catalogs, seed=1)


def test_taste_that_matches_nothing_is_a_design_error(world_catalogs):
    persona = PersonaSpec(id="ghost", categories=["no-such-category"], history_length=2)
    with pytest.raises(DesignError) as info:
        probes_for(persona, world_catalogs)
    assert str(info.value) == (
        "persona 'ghost': no product matches its taste (categories ['no-such-category'], "
        "price_band 'any', popularity_band 'any')"
    )


def test_cross_design_probes_every_combination(world_catalogs):
    segments = {"age": ["young", "old"], "device": ["mobile", "desktop", "tablet"]}
    persona = PersonaSpec(id="p", history_length=2, customers=2)
    crossed = probes_for(persona, world_catalogs, segments=segments, segment_design="cross")
    sampled = probes_for(persona, world_catalogs, segments=segments)
    # per customer and shop: 6 combinations in the cross, 1 when sampled
    assert len(crossed) == 2 * 6 * 4 and len(sampled) == 2 * 4
    combos = crossed.groupby("persona_id")[["segment.age", "segment.device"]].value_counts()
    assert len(combos) == 6 and (combos == 2 * 4).all()
    # a customer's history is the same under every combination
    customer = crossed["match_id"].str.split("/").str[0]
    same = crossed.groupby([customer, "shop_id"])["history"].agg(lambda h: h.map(tuple).nunique())
    assert (same == 1).all()


def test_sampled_profiles_cycle_through_the_cross(world_catalogs):
    segments = {"age": ["a", "b", "c"]}
    plan = probes_for(
        PersonaSpec(id="p", history_length=1, customers=6), world_catalogs, segments=segments
    )
    per_level = plan[plan["shop_id"] == "shop01"]["segment.age"].value_counts()
    assert per_level.to_dict() == {"a": 2, "b": 2, "c": 2}


def test_exact_carry_asks_the_same_products_at_every_shop(world_catalogs):
    exact = PersonaSpec(id="p", history_length=5, customers=8, carry="exact")
    substitute = PersonaSpec(id="p", history_length=5, customers=8, carry="substitute")
    plan = probes_for(exact, world_catalogs)
    # Unset, a taste persona is carried exactly too.
    default = probes_for(PersonaSpec(id="p", history_length=5, customers=8), world_catalogs)
    pd.testing.assert_frame_equal(default, plan)
    keys = {
        shop: dict(zip(c["item_id"], c["canonical_id"], strict=True))
        for shop, c in world_catalogs.items()
    }
    carried = plan.assign(
        products=[
            tuple(sorted(keys[s][i] for i in h))
            for s, h in zip(plan["shop_id"], plan["history"], strict=True)
        ]
    )
    # One customer, one set of products, every shop; and every history item mapped exactly.
    assert (carried.groupby("match_id")["products"].nunique() == 1).all()
    assert (plan["history_mapped"] == 1.0).all() and (plan["history"].map(len) == 5).all()
    # The substituting carry, on the same world, does not manage that for every customer.
    assert (probes_for(substitute, world_catalogs)["history_mapped"] < 1.0).any()


def test_exact_carry_without_a_product_two_shops_sell_says_so():
    catalogs = {
        shop: pd.DataFrame(
            {
                "item_id": [f"{shop}{n}" for n in range(4)],
                "canonical_id": [f"{shop}-only-{n}" for n in range(4)],
                "category": "tea",
                "price": [1.0, 2.0, 3.0, 4.0],
                "popularity": [4.0, 3.0, 2.0, 1.0],
            }
        )
        for shop in ("a", "b")
    }
    persona = PersonaSpec(id="p", history_length=2, carry="exact")
    with pytest.raises(DesignError, match="among the products two or more shops sell"):
        probes_for(persona, catalogs)
    # Unset, the design goes on by substitution (history_mapped says how little maps).
    plan = probes_for(PersonaSpec(id="p", history_length=2), catalogs)
    assert (plan["history"].map(len) == 2).all() and (plan["history_mapped"] < 1.0).any()


def test_exact_carry_needs_a_taste_history():
    with pytest.raises(ValueError, match="carry 'exact' needs history_from 'taste'"):
        PersonaSpec(id="p", history_from="typical", carry="exact")


def test_exact_carry_falls_back_to_the_products_most_shops_sell():
    # Shops a and b share two teas; c shares nothing. No tea is sold everywhere, so the
    # history is drawn from the two that a and b sell: the same customer at a and b, and a
    # substituted one at c.
    def shop(name, canonical):
        return pd.DataFrame(
            {
                "item_id": [f"{name}{n}" for n in range(4)],
                "canonical_id": canonical,
                "category": "tea",
                "price": [1.0, 2.0, 3.0, 4.0],
                "popularity": [4.0, 3.0, 2.0, 1.0],
            }
        )

    catalogs = {
        "a": shop("a", ["T1", "T2", "a-2", "a-3"]),
        "b": shop("b", ["T1", "T2", "b-2", "b-3"]),
        "c": shop("c", ["c-0", "c-1", "c-2", "c-3"]),
    }
    persona = PersonaSpec(id="p", history_length=2, customers=3, carry="exact")
    plan = probes_for(persona, catalogs)
    mapped = plan.groupby("shop_id")["history_mapped"].agg(["min", "max"])
    assert (mapped.loc[["a", "b"]] == 1.0).all().all()
    assert mapped.loc["c", "max"] == 0.0
    names = {"a": ("a0", "a1"), "b": ("b0", "b1")}
    for shop_id, items in names.items():
        histories = plan.loc[plan["shop_id"] == shop_id, "history"]
        assert all(sorted(h) == list(items) for h in histories)
