import itertools
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.vendors import RecommendRequest, Vendor, coerce_response
from auditkit.world import SimulatedVendor, Steering, World, generate_world, trending_keys


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=11)


@pytest.fixture(scope="module")
def catalogs(world) -> dict[str, pd.DataFrame]:
    return world.catalogs()


def ask(vendor, shop, customer="c1", history=(), context=None, k=10):
    return vendor.recommend(RecommendRequest(shop, customer, tuple(history), context or {}, k))


@pytest.fixture(scope="module")
def item_key(catalogs) -> dict[tuple[str, str], str]:
    """(shop, item) → canonical id, or ``shop:item`` for products only that shop sells."""
    return {
        (shop, item): shop + ":" + item if pd.isna(key) else str(key)
        for shop, catalog in catalogs.items()
        for item, key in zip(catalog["item_id"], catalog["canonical_id"], strict=True)
    }


@pytest.fixture(scope="module")
def personas(catalogs) -> list[dict[str, tuple[str, ...]]]:
    """Per category, one customer carried into every shop: the same canonical products,
    mapped to each shop's own item ids; plus a newcomer with no history."""
    shops = sorted(catalogs)
    stacked = pd.concat([c.assign(shop_id=s) for s, c in catalogs.items()]).dropna(
        subset=["canonical_id"]
    )
    carriers = stacked.groupby("canonical_id")["shop_id"].transform("nunique")
    everywhere = stacked[carriers == len(shops)]
    found = [{shop: () for shop in shops}]
    for _, group in everywhere.groupby("category"):
        keys = sorted(group["canonical_id"].unique())[-4:]
        found.append(
            {
                shop: tuple(
                    group[(group["shop_id"] == shop) & group["canonical_id"].isin(keys)]["item_id"]
                )
                for shop in shops
            }
        )
    return found


@pytest.fixture(scope="module")
def probe(personas, item_key):
    """Ask ``vendor`` for every persona at every shop: {persona: {shop: set of item keys}}."""

    def run(vendor, context=None) -> list[dict[str, set[str]]]:
        return [
            {
                shop: {
                    item_key[shop, item]
                    for item in ask(vendor, shop, f"p{number}", history, context).items
                }
                for shop, history in persona.items()
            }
            for number, persona in enumerate(personas)
        ]

    return run


def cross_shop_jaccard(lists) -> float:
    """Mean Jaccard@10 of item keys over shop pairs, for the same persona histories."""
    return float(
        np.mean(
            [
                len(a & b) / len(a | b)
                for by_shop in lists
                for a, b in itertools.combinations(by_shop.values(), 2)
            ]
        )
    )


def trending_share(lists, catalogs) -> float:
    """Mean share of globally trending products in the lists."""
    trending = set(trending_keys(catalogs))
    return float(
        np.mean(
            [len(keys & trending) / len(keys) for by_shop in lists for keys in by_shop.values()]
        )
    )


def test_is_a_vendor_and_answers_in_the_protocol_shape(catalogs):
    vendor = SimulatedVendor(catalogs)
    assert isinstance(vendor, Vendor)
    response = ask(vendor, "shop02", history=catalogs["shop02"]["item_id"][:3])
    assert coerce_response(response) is response
    assert len(response.scores) == len(response.explanations) == len(response.items) == 10
    assert list(response.scores) == sorted(response.scores, reverse=True)
    assert all(isinstance(e, str) and e for e in response.explanations)


@pytest.mark.parametrize(
    "knobs",
    [
        {},
        {"pooling": 1.0, "trend_weight": 2.0, "noise": 0.0},
        {"personalization": 3.0, "noise": 2.0},
        {"calibrated_lift": 0.0},
        {"calibrated_lift": 4.0, "personalization": 0.0, "noise": 0.0},
    ],
)
def test_answers_are_k_distinct_catalog_items_outside_the_history(catalogs, knobs):
    vendor = SimulatedVendor(catalogs, **knobs)
    for shop, catalog in catalogs.items():
        history = [*catalog["item_id"][:8], "not-an-item", "shop99-0001"]
        for k in (1, 10, 40):
            items = ask(vendor, shop, f"c{k}", history, k=k).items
            assert len(items) == k
            assert len(set(items)) == k
            assert set(items) <= set(catalog["item_id"])
            assert not set(items) & set(history)


def test_asking_for_more_than_the_shop_has_returns_what_is_left(small_catalogs):
    vendor = SimulatedVendor(small_catalogs)
    history = ["c-0", "c-1", "c-1", "a-3"]
    items = ask(vendor, "c", history=history, k=100).items
    assert sorted(items) == sorted({f"c-{i}" for i in range(2, 20)})
    assert ask(vendor, "c", k=0).items == ()


def test_unknown_shop_is_a_key_error_naming_the_shops(catalogs):
    vendor = SimulatedVendor(catalogs)
    message = (
        "SimulatedVendor: shop_id must be one of ['shop01', 'shop02', 'shop03', "
        "'shop04', 'shop05', 'shop06']; got 'shop99'"
    )
    with pytest.raises(KeyError, match=re.escape(message)):
        ask(vendor, "shop99")


def test_answers_do_not_depend_on_call_order_or_threads(catalogs):
    requests = [
        RecommendRequest(
            shop,
            f"cust{i}",
            tuple(catalogs[shop]["item_id"][i : i + 3]),
            {"age_band": "65+" if i % 2 else "18-34"},
            10,
        )
        for i in range(8)
        for shop in catalogs
    ]
    knobs = {
        "pooling": 0.5,
        "trend_weight": 0.5,
        "noise": 0.5,
        "steering": [Steering("age_band", "65+", price_shift=-1.0)],
    }
    first, second, third = (SimulatedVendor(catalogs, **knobs) for _ in range(3))
    forward = [first.recommend(r) for r in requests]
    reverse = [second.recommend(r) for r in reversed(requests)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(third.recommend, requests * 3))[-len(requests) :]
    assert forward == reverse[::-1] == threaded


def test_noise_is_seeded_by_seed_shop_and_customer_only(catalogs):
    history = tuple(catalogs["shop01"]["item_id"][:4])
    calm = SimulatedVendor(catalogs, noise=0.0)
    assert len({ask(calm, "shop01", f"c{i}", history).items for i in range(5)}) == 1
    noisy = SimulatedVendor(catalogs, noise=0.5)
    answers = {ask(noisy, "shop01", f"c{i}", history).items for i in range(5)}
    assert len(answers) == 5
    assert ask(noisy, "shop01", "c1", history) == ask(noisy, "shop01", "c1", history)
    reseeded = SimulatedVendor(catalogs, noise=0.5, seed=1)
    assert ask(reseeded, "shop01", "c1", history) != ask(noisy, "shop01", "c1", history)


def test_pooling_zero_ranks_each_shop_by_its_own_sales(catalogs):
    vendor = SimulatedVendor(catalogs, pooling=0.0, noise=0.0, personalization=0.0)
    for shop, catalog in catalogs.items():
        items = ask(vendor, shop, k=len(catalog)).items
        sales = catalog.set_index("item_id").loc[list(items), "popularity"].to_numpy()
        assert (np.diff(sales) <= 0).all()


def test_pooling_one_orders_shared_products_the_same_everywhere(catalogs):
    vendor = SimulatedVendor(catalogs, pooling=1.0, noise=0.0, personalization=0.0)
    stacked = pd.concat(catalogs.values()).dropna(subset=["canonical_id"])
    totals = stacked.groupby("canonical_id")["popularity"].sum()
    untied = set(totals[~totals.duplicated(keep=False)].index)
    orders = []
    for shop, catalog in catalogs.items():
        keys = catalog.set_index("item_id")["canonical_id"]
        ranked = keys.loc[list(ask(vendor, shop, k=len(catalog)).items)]
        orders.append([key for key in ranked.dropna() if key in untied])
    for one, two in itertools.combinations(orders, 2):
        common = set(one) & set(two)
        assert len(common) > 30
        assert [k for k in one if k in common] == [k for k in two if k in common]


def test_pooling_makes_shops_converge(catalogs, probe):
    isolated = cross_shop_jaccard(probe(SimulatedVendor(catalogs, pooling=0.0)))
    pooled = cross_shop_jaccard(probe(SimulatedVendor(catalogs, pooling=1.0)))
    assert isolated < 0.15
    assert pooled > max(isolated + 0.15, 2.5 * isolated)


def test_without_noise_or_history_pooling_alone_decides_the_overlap(catalogs, probe):
    quiet = {"noise": 0.0, "personalization": 0.0}
    isolated, halfway, pooled = (
        cross_shop_jaccard(probe(SimulatedVendor(catalogs, pooling=pooling, **quiet)))
        for pooling in (0.0, 0.5, 1.0)
    )
    assert isolated < 0.05 < halfway < pooled
    assert pooled > 0.5


def test_trend_weight_raises_the_share_of_trending_items(catalogs, probe):
    plain = trending_share(probe(SimulatedVendor(catalogs)), catalogs)
    trendy = SimulatedVendor(catalogs, trend_weight=1.0)
    assert trending_share(probe(trendy), catalogs) > plain + 0.2
    assert "Trending now" in ask(trendy, "shop01").explanations
    assert "Trending now" not in ask(SimulatedVendor(catalogs), "shop01").explanations


def test_trending_set_size_is_a_knob(catalogs):
    narrow = SimulatedVendor(catalogs, trend_weight=1.0, trending_top_n=3)
    assert narrow.trending == frozenset(trending_keys(catalogs, top_n=3))


def answers_by_level(vendor, catalogs, level):
    return [
        ask(
            vendor,
            shop,
            f"c{i}",
            catalogs[shop]["item_id"][5 * i : 5 * i + 5],
            {"age_band": level, "device": "mobile"},
        )
        for shop in catalogs
        for i in range(5)
    ]


def mean_price(catalogs, responses) -> float:
    prices = pd.concat([c.set_index("item_id")["price"] for c in catalogs.values()])
    return float(np.mean([prices.loc[list(r.items)].mean() for r in responses]))


def test_price_steering_moves_only_the_steered_level(catalogs):
    plain = SimulatedVendor(catalogs)
    steered = SimulatedVendor(catalogs, steering=[Steering("age_band", "65+", price_shift=-1.0)])
    for level in ("18-34", "35-64"):
        assert answers_by_level(steered, catalogs, level) == answers_by_level(
            plain, catalogs, level
        )
    before = mean_price(catalogs, answers_by_level(plain, catalogs, "65+"))
    after = mean_price(catalogs, answers_by_level(steered, catalogs, "65+"))
    assert after < 0.8 * before


def test_trend_steering_moves_only_the_steered_level(catalogs, probe):
    plain = SimulatedVendor(catalogs)
    steered = SimulatedVendor(catalogs, steering=[Steering("device", "mobile", trend_shift=1.0)])
    desktop = {"device": "desktop", "age_band": "65+"}
    assert probe(steered, desktop) == probe(plain, desktop)
    mobile = {"device": "mobile", "age_band": "65+"}
    assert (
        trending_share(probe(steered, mobile), catalogs)
        > trending_share(probe(plain, mobile), catalogs) + 0.2
    )


def category_share(vendor, catalogs, category) -> float:
    shares = []
    for shop, catalog in catalogs.items():
        history = catalog.loc[catalog["category"] == category, "item_id"][:4]
        items = ask(vendor, shop, "c1", history).items
        shares.append(
            (catalog.set_index("item_id").loc[list(items), "category"] == category).mean()
        )
    return float(np.mean(shares))


@pytest.mark.parametrize("category", ["cat01", "cat07"])
def test_personalization_puts_the_history_category_on_top(catalogs, category):
    assert category_share(SimulatedVendor(catalogs, personalization=0.0), catalogs, category) < 0.3
    assert category_share(SimulatedVendor(catalogs, personalization=1.5), catalogs, category) > 0.8
    catalog = catalogs["shop03"]
    history = catalog.loc[catalog["category"] == category, "item_id"][:4]
    response = ask(SimulatedVendor(catalogs, personalization=1.5), "shop03", history=history)
    assert f"Because you viewed items in {category}" in response.explanations


def test_from_world_uses_the_world_seed_unless_told(world, catalogs):
    history = catalogs["shop04"]["item_id"][:3]
    built = SimulatedVendor.from_world(world, pooling=0.5)
    same = SimulatedVendor(catalogs, seed=world.seed, pooling=0.5)
    assert ask(built, "shop04", history=history) == ask(same, "shop04", history=history)
    assert SimulatedVendor.from_world(world, seed=3).seed == 3
    assert built.shop_ids == tuple(sorted(catalogs))


def test_catalogs_without_popularity_or_price_still_rank(small_catalogs):
    bare = {s: c.assign(popularity=np.nan, price=np.nan) for s, c in small_catalogs.items()}
    vendor = SimulatedVendor(
        bare, pooling=0.5, trend_weight=1.0, steering=[Steering("a", "b", price_shift=-1.0)]
    )
    assert len(ask(vendor, "a", context={"a": "b"}).items) == 10


BAD = [
    ({"pooling": 1.5}, "SimulatedVendor: pooling must be a number between 0 and 1; got 1.5"),
    ({"noise": -0.1}, "SimulatedVendor: noise must be a non-negative finite number; got -0.1"),
    (
        {"trend_weight": float("inf")},
        "SimulatedVendor: trend_weight must be a finite number; got inf",
    ),
    (
        {"personalization": "1"},
        "SimulatedVendor: personalization must be a finite number; got '1'",
    ),
    *[
        (
            {"calibrated_lift": bad},
            f"SimulatedVendor: calibrated_lift must be None or a finite number above -1; "
            f"got {bad!r}",
        )
        for bad in (-1, -1.5, float("nan"), "0", True)
    ],
    ({"seed": -1}, "SimulatedVendor: seed must be a non-negative integer; got -1"),
    ({"trending_top_n": 0}, "SimulatedVendor: trending_top_n must be a positive integer; got 0"),
    (
        {"steering": [("age", "65+")]},
        "SimulatedVendor: steering must be a sequence of Steering; got ('age', '65+')",
    ),
    (
        {"steering": [Steering("age", "65+", price_shift=float("nan"))]},
        "SimulatedVendor: steering.price_shift must be a finite number; got nan",
    ),
]


@pytest.mark.parametrize(("knobs", "message"), BAD, ids=[m.split(";")[0] for _, m in BAD])
def test_bad_knobs_are_named(catalogs, knobs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        SimulatedVendor(catalogs, **knobs)


def test_no_catalogs_is_an_error():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "SimulatedVendor: catalogs must be a non-empty mapping of shop id to catalog; got {}"
        ),
    ):
        SimulatedVendor({})


def popularity_ratio(vendor, catalogs, *, by_popularity, seed=0, customers=60):
    """Summed shop popularity of the lists over that of the histories (ΔGAP + 1), drawn from
    random customers' histories (uniform, or by popularity) in one or two categories."""
    rng = np.random.default_rng(seed)
    shops = sorted(catalogs)
    popularity = {
        s: dict(zip(c["item_id"], c["popularity"], strict=True)) for s, c in catalogs.items()
    }
    listed = owned = 0.0
    for n in range(customers):
        shop = shops[n % len(shops)]
        catalog = catalogs[shop]
        names = sorted(catalog["category"].unique())
        taste = catalog[catalog["category"].isin(rng.choice(names, size=1 + n % 2))]
        weights = taste["popularity"].to_numpy() + 1e-9 if by_popularity else None
        history = list(
            rng.choice(
                taste["item_id"].to_numpy(),
                size=5,
                replace=False,
                p=None if weights is None else weights / weights.sum(),
            )
        )
        items = ask(vendor, shop, f"c{n}", history).items
        listed += np.mean([popularity[shop][i] for i in items])
        owned += np.mean([popularity[shop][i] for i in history])
    return listed / owned


def test_calibrated_lists_are_as_popular_as_the_history(catalogs):
    null = SimulatedVendor(catalogs, calibrated_lift=0.0)
    planted = SimulatedVendor(catalogs, calibrated_lift=0.5)
    for seed in range(2):
        assert popularity_ratio(null, catalogs, by_popularity=False, seed=seed) == pytest.approx(
            1.0, abs=0.05
        )
        assert popularity_ratio(
            planted, catalogs, by_popularity=False, seed=seed
        ) == pytest.approx(1.5, abs=0.1)
        # Histories drawn by popularity hold the shop's bestsellers, and nothing above a
        # bestseller is left to show: the list falls a little short, never above.
        assert 0.9 < popularity_ratio(null, catalogs, by_popularity=True, seed=seed) < 1.0
        assert popularity_ratio(planted, catalogs, by_popularity=True, seed=seed) > 1.2
    ranked = SimulatedVendor(catalogs)
    assert popularity_ratio(ranked, catalogs, by_popularity=False) > 2.0


def test_calibrated_lists_keep_the_customers_categories_and_explain_them(catalogs):
    vendor = SimulatedVendor(catalogs, calibrated_lift=0.0)
    unpersonalized = SimulatedVendor(catalogs, calibrated_lift=0.0, personalization=0.0)
    for category in ("cat01", "cat07"):
        share = category_share(vendor, catalogs, category)
        assert share > 0.3 and share > category_share(unpersonalized, catalogs, category) + 0.2
    catalog = catalogs["shop03"]
    history = catalog.loc[catalog["category"] == "cat07", "item_id"][:4]
    response = ask(vendor, "shop03", history=history)
    assert "Because you viewed items in cat07" in response.explanations
    assert list(response.scores) == sorted(response.scores, reverse=True)
    # Without a history there is nothing to calibrate to: the ordinary ranking answers.
    assert ask(vendor, "shop03", "new") == ask(SimulatedVendor(catalogs), "shop03", "new")
    # Excluded items stay out of a calibrated list too.
    shown = ask(vendor, "shop03", history=history).items
    again = vendor.recommend(
        RecommendRequest("shop03", "c1", tuple(history), {}, 10, options={"exclude": [shown[0]]})
    )
    assert shown[0] not in again.items and len(again.items) == 10


def test_a_specs_simulated_vendor_section_sets_the_calibrated_lift(catalogs):
    import yaml

    from auditkit.api import build_vendor
    from auditkit.spec import AuditSpec, spec_sha256

    demo = Path(__file__).resolve().parents[2] / "audit_specs" / "demo.yaml"
    data = yaml.safe_load(demo.read_text())
    plain = AuditSpec.model_validate(data)
    assert build_vendor(plain, catalogs).calibrated_lift is None
    # Unset, the option is not in the spec's canonical form: existing specs keep their hash.
    assert "calibrated_lift" not in plain.model_dump(mode="json")["vendor"]["options"]
    data["vendor"]["options"]["calibrated_lift"] = 0.0
    calibrated = AuditSpec.model_validate(data)
    assert build_vendor(calibrated, catalogs).calibrated_lift == 0.0
    assert spec_sha256(calibrated) != spec_sha256(plain)
    data["vendor"]["options"]["calibrated_lift"] = -1.0
    with pytest.raises(ValueError, match="calibrated_lift"):
        AuditSpec.model_validate(data)
