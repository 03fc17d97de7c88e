import re

import pandas as pd
import pytest

import auditkit.world
from auditkit.catalogs import validate_catalog
from auditkit.world import Shop, World, generate_world, trending_keys


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7)


def test_public_surface_is_pinned():
    assert auditkit.world.__all__ == [
        "Faults",
        "InteractionLog",
        "Shop",
        "SimulatedVendor",
        "Steering",
        "TrainedVendor",
        "WireFaults",
        "World",
        "generate_interactions",
        "generate_world",
        "running_hostile_server",
        "running_server",
        "serve_forever",
        "trending_keys",
        "vendor_app",
    ]


def test_same_seed_gives_identical_catalogs_and_other_seed_does_not(world):
    again = generate_world(seed=7)
    assert list(again.shops) == list(world.shops)
    for shop_id, shop in world.shops.items():
        pd.testing.assert_frame_equal(again.shops[shop_id].catalog, shop.catalog)
        assert again.shops[shop_id].signature_categories == shop.signature_categories
    other = generate_world(seed=8)
    assert not other.shops["shop01"].catalog.equals(world.shops["shop01"].catalog)


def test_catalogs_pass_validation_unchanged(world):
    assert list(world.shops) == [f"shop0{i}" for i in range(1, 7)]
    for shop_id, catalog in world.catalogs().items():
        pd.testing.assert_frame_equal(validate_catalog(catalog, source=shop_id), catalog)
        assert list(catalog.columns) == [
            "item_id",
            "category",
            "canonical_id",
            "title",
            "brand",
            "price",
            "popularity",
        ]
        assert len(catalog) == 300
        assert catalog["item_id"].str.startswith(f"{shop_id}-").all()
        assert catalog[["title", "brand", "price", "popularity"]].notna().all().all()
        assert (catalog["price"] > 0).all() and (catalog["popularity"] >= 1).all()
        assert catalog["category"].isin([f"cat{i:02d}" for i in range(1, 13)]).all()
        assert catalog["canonical_id"].notna().sum() == 180  # shared_fraction 0.6 of 300


def test_world_is_a_frozen_record_and_catalogs_are_copies(world):
    shop = world.shops["shop01"]
    assert isinstance(shop, Shop) and shop.shop_id == "shop01"
    with pytest.raises(AttributeError):
        shop.shop_id = "other"  # type: ignore[misc]
    copy = world.catalogs()["shop01"]
    copy.loc[0, "price"] = -1.0
    assert world.shops["shop01"].catalog.loc[0, "price"] > 0


def test_shared_products_keep_their_canonical_id_price_and_title_across_shops(world):
    stacked = pd.concat(
        [c.assign(shop_id=s) for s, c in world.catalogs().items()], ignore_index=True
    ).dropna(subset=["canonical_id"])
    carriers = stacked.groupby("canonical_id")["shop_id"].nunique()
    assert (carriers == 6).sum() >= 20  # popular products are everywhere
    assert (carriers == 1).sum() >= 20  # and niche ones at one shop only
    per_product = stacked.groupby("canonical_id")[["price", "title", "category"]].nunique()
    assert (per_product == 1).all().all()
    everywhere = carriers[carriers == 6].index[0]
    assert stacked.loc[stacked["canonical_id"] == everywhere, "item_id"].nunique() == 6


def test_shared_products_are_the_popular_ones(world):
    stacked = pd.concat(world.catalogs().values(), ignore_index=True).dropna(
        subset=["canonical_id"]
    )
    carriers = stacked.groupby("canonical_id").size()
    pooled = stacked.groupby("canonical_id")["popularity"].mean()
    assert pooled[carriers >= 5].median() > pooled[carriers == 1].median()


def test_signature_categories_are_distinct_and_over_represented(world):
    signatures = [s.signature_categories for s in world.shops.values()]
    assert all(len(sig) == 2 for sig in signatures)
    assert len({c for sig in signatures for c in sig}) == 12  # 6 shops x 2 of 12 categories
    catalogs = world.catalogs()
    for shop_id, shop in world.shops.items():
        own = catalogs[shop_id]["category"].value_counts(normalize=True)
        others = pd.concat([c for s, c in catalogs.items() if s != shop_id])
        elsewhere = others["category"].value_counts(normalize=True)
        for category in shop.signature_categories:
            assert own[category] > 2 * elsewhere[category]
        exclusive = catalogs[shop_id][catalogs[shop_id]["canonical_id"].isna()]
        assert exclusive["category"].isin(shop.signature_categories).mean() > 0.5


def _rank_agreement(world: World) -> float:
    """Spearman correlation of two shops' sales over the products both carry, outside
    their signature categories (which each shop boosts)."""
    shops = [world.shops[s] for s in ("shop01", "shop02")]
    signature = {c for shop in shops for c in shop.signature_categories}
    one, two = (shop.catalog.dropna(subset=["canonical_id"]) for shop in shops)
    both = one.merge(two, on=["canonical_id", "category"], suffixes=("_1", "_2"))
    both = both[~both["category"].isin(signature)]
    return float(both["popularity_1"].corr(both["popularity_2"], method="spearman"))


def test_shop_taste_moves_bestsellers_apart():
    agreeing = _rank_agreement(generate_world(seed=3, shop_taste=0.0))
    independent = _rank_agreement(generate_world(seed=3, shop_taste=1.0))
    assert agreeing > 0.99
    assert abs(independent) < 0.3


def test_popularity_skew_concentrates_sales():
    def top_share(skew: float) -> float:
        popularity = (
            generate_world(seed=3, popularity_skew=skew)
            .shops["shop01"]
            .catalog["popularity"]
            .sort_values(ascending=False)
        )
        return float(popularity.head(30).sum() / popularity.sum())

    assert top_share(0.2) < top_share(1.1) < top_share(2.0)


@pytest.mark.parametrize(
    "options",
    [
        {"n_shops": 1},
        {"shared_fraction": 0.0},
        {"shared_fraction": 1.0},
        {"signature_categories": 0},
        {"n_categories": 1, "signature_categories": 1},
        {"n_shops": 12, "n_categories": 3, "items_per_shop": 7},
        {"n_shops": 30, "items_per_shop": 12},
    ],
)
def test_edge_worlds_are_valid(options):
    world = generate_world(seed=1, **options)
    for shop_id, catalog in world.catalogs().items():
        validate_catalog(catalog, source=shop_id)
        assert len(catalog) == options.get("items_per_shop", 300)
    assert sorted(world.shops) == list(world.shops)


def test_signatures_repeat_only_when_categories_run_out():
    world = generate_world(
        seed=2, n_shops=5, n_categories=4, signature_categories=2, items_per_shop=40
    )
    used = pd.Series([c for s in world.shops.values() for c in s.signature_categories])
    assert used.value_counts().max() - used.value_counts().min() <= 1
    assert all(len(set(s.signature_categories)) == 2 for s in world.shops.values())


def test_trending_keys_sum_across_shops_skip_exclusives_and_break_ties_by_id():
    one = pd.DataFrame(
        {"canonical_id": ["B", "A", None, "C"], "popularity": [5.0, 3.0, 99.0, 1.0]}
    )
    two = pd.DataFrame({"canonical_id": ["A", "D"], "popularity": [2.0, 4.0]})
    assert trending_keys({"one": one, "two": two}, top_n=3) == ["A", "B", "D"]
    assert trending_keys({"one": one, "two": two}) == ["A", "B", "D", "C"]
    assert trending_keys({"one": one.iloc[2:3]}) == []


def test_trending_keys_of_a_world_are_widely_carried(world):
    catalogs = world.catalogs()
    keys = trending_keys(catalogs, top_n=10)
    assert len(keys) == 10
    carried = sum(c["canonical_id"].isin(keys).sum() for c in catalogs.values())
    assert carried >= 0.6 * 10 * 6


BAD = [
    ({"seed": -1}, "generate_world: seed must be a non-negative integer; got -1"),
    ({"seed": 1.5}, "generate_world: seed must be a non-negative integer; got 1.5"),
    ({"n_shops": 0}, "generate_world: n_shops must be a positive integer; got 0"),
    ({"n_shops": True}, "generate_world: n_shops must be a positive integer; got True"),
    (
        {"items_per_shop": "300"},
        "generate_world: items_per_shop must be a positive integer; got '300'",
    ),
    ({"n_categories": 0}, "generate_world: n_categories must be a positive integer; got 0"),
    (
        {"shared_fraction": 1.5},
        "generate_world: shared_fraction must be a number between 0 and 1; got 1.5",
    ),
    (
        {"popularity_skew": -0.1},
        "generate_world: popularity_skew must be a non-negative finite number; got -0.1",
    ),
    (
        {"shop_taste": float("nan")},
        "generate_world: shop_taste must be a number between 0 and 1; got nan",
    ),
    (
        {"signature_categories": 13},
        "generate_world: signature_categories must be at most n_categories (12); got 13",
    ),
]


@pytest.mark.parametrize(("options", "message"), BAD, ids=[m.split(";")[0] for _, m in BAD])
def test_bad_parameters_are_named(options, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        generate_world(**{"seed": 1, **options})


def test_trending_keys_rejects_bad_top_n(world):
    with pytest.raises(
        ValueError, match=re.escape("trending_keys: top_n must be a positive integer; got 0")
    ):
        trending_keys(world.catalogs(), top_n=0)
