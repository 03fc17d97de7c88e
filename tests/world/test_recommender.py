import itertools
import math
import time

import numpy as np
import pandas as pd
import pytest

from auditkit.api._vendor import build_vendor
from auditkit.catalogs import stack_catalogs, validate_catalog
from auditkit.errors import SpecError
from auditkit.spec import AuditSpec, load_spec
from auditkit.vendors import RecommendRequest, Vendor, VendorAdapter
from auditkit.world import (
    InteractionLog,
    Steering,
    TrainedVendor,
    World,
    generate_interactions,
    generate_world,
)

TRAININGS = ("isolated", "mixed:0.5", "pooled")
TRAINING_RULE = "'isolated', 'pooled' or 'mixed:ALPHA' with ALPHA a number from 0 to 1"


def ask(vendor, shop, history=(), customer="c1", k=10, options=None):
    return vendor.recommend(RecommendRequest(shop, customer, tuple(history), {}, k, options or {}))


def hand_log(shop, item_ids, bought):
    """A log from {customer: [catalog rows]}, one session per customer."""
    customers = [c for c, rows in bought.items() for _ in rows]
    rows = [r for rows in bought.values() for r in rows]
    return InteractionLog(
        shop_id=shop,
        customer=np.array(customers),
        session=np.array(customers),
        item=np.array(rows),
        n_customers=len(bought),
        item_ids=np.array(item_ids, dtype=object),
    )


# Hand case: 3 customers x 4 items. Item ids are not in row order, so a tie broken by id
# differs from one broken by row.
HAND_IDS = ["s-2", "s-1", "s-3", "s-4"]
HAND_BOUGHT = {0: [0, 1], 1: [0, 1, 2], 2: [2, 3]}


@pytest.fixture(scope="module")
def hand_catalog():
    frame = pd.DataFrame({"item_id": HAND_IDS, "category": ["a", "a", "b", "b"]})
    return {"s": validate_catalog(frame, source="s")}


def hand_vendor(catalog, **options):
    log = hand_log("s", HAND_IDS, HAND_BOUGHT)
    return TrainedVendor(catalog, logs={"s": log}, **options)


def test_hand_checked_similarity_and_ranking(hand_catalog):
    # Buyers: s-2 {0,1}, s-1 {0,1}, s-3 {1,2}, s-4 {2}. Cosine = co-buyers / sqrt(n_i n_j):
    # (s-2, s-1) 2/2 = 1; (s-2, s-3) = (s-1, s-3) = 1/2; (s-3, s-4) 1/sqrt(2); others 0.
    # Model popularity: s-2, s-1, s-3 two buyers each, s-4 one.
    vendor = hand_vendor(hand_catalog)
    r = 1 / math.sqrt(2)
    answer = ask(vendor, "s", ["s-2"])
    # s-4 has no similarity to s-2: it comes from the popularity fill, score 0.
    assert answer.items == ("s-1", "s-3", "s-4")
    assert answer.scores == pytest.approx((1.0, 0.5, 0.0))
    answer = ask(vendor, "s", ["s-2", "s-4"])
    assert answer.items == ("s-3", "s-1")  # s-3: 1/2 + 1/sqrt(2) beats s-1: 1 + 0
    assert answer.scores == pytest.approx((0.5 + r, 1.0))
    answer = ask(vendor, "s", ["s-3"])
    # s-2 and s-1 tie at 1/2 and in popularity: the lower item id first.
    assert answer.items == ("s-4", "s-1", "s-2")
    assert answer.scores == pytest.approx((r, 0.5, 0.5))
    # A newcomer gets the popularity order, ties by id.
    assert ask(vendor, "s").items == ("s-1", "s-2", "s-3", "s-4")
    assert ask(vendor, "s", ["s-3"], k=2).items == ("s-4", "s-1")


def test_hand_checked_neighbour_pruning(hand_catalog):
    # With one neighbour per item, s-3 keeps s-4 (1/sqrt(2) > 1/2), s-2 keeps s-1.
    vendor = hand_vendor(hand_catalog, neighbours=1)
    answer = ask(vendor, "s", ["s-3"])
    assert answer.items == ("s-4", "s-1", "s-2")
    assert answer.scores == pytest.approx((1 / math.sqrt(2), 0.0, 0.0))
    answer = ask(vendor, "s", ["s-2"])
    assert answer.items == ("s-1", "s-3", "s-4")  # then fill: s-3 (2 buyers), s-4 (1)
    assert answer.scores == pytest.approx((1.0, 0.0, 0.0))
    assert answer.explanations == (
        "Bought by customers who bought what you bought",
        "Popular with our customers",
        "Popular with our customers",
    )


@pytest.fixture(scope="module")
def small_world() -> World:
    return generate_world(seed=4, n_shops=3, items_per_shop=60, n_categories=4)


def dense_reference(catalogs, logs, alpha, neighbours):
    """Each shop's pruned similarity and fill popularity, with plain dense numpy."""
    stacked = stack_catalogs(catalogs)
    keys = sorted(stacked["item_key"].unique())
    column = {key: j for j, key in enumerate(keys)}
    own, pooled_rows, shop_keys = {}, [], {}
    for shop in sorted(catalogs):
        log = logs[shop]
        x = np.zeros((log.n_customers, len(catalogs[shop])))
        x[log.customer, log.item] = 1.0
        own[shop] = x
        shop_keys[shop] = [column[k] for k in stacked.loc[stacked["shop_id"] == shop, "item_key"]]
        in_keys = np.zeros((log.n_customers, len(keys)))
        in_keys[:, shop_keys[shop]] = np.maximum(in_keys[:, shop_keys[shop]], x)
        pooled_rows.append(in_keys)
    pooled = np.vstack(pooled_rows)

    def cosine(x):
        norm = np.sqrt(x.sum(axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            sim = (x.T @ x) / np.outer(norm, norm)
        sim = np.nan_to_num(sim)
        np.fill_diagonal(sim, 0.0)
        return sim

    pooled_sim, pooled_share = cosine(pooled), pooled.sum(axis=0) / len(pooled)
    out = {}
    for shop in sorted(catalogs):
        rows = shop_keys[shop]
        sim = (1 - alpha) * cosine(own[shop]) + alpha * pooled_sim[np.ix_(rows, rows)]
        share = (1 - alpha) * (own[shop].sum(axis=0) / len(own[shop])) + alpha * pooled_share[rows]
        pruned = np.zeros_like(sim)
        for i, row in enumerate(sim):
            best = [j for j in np.argsort(-row, kind="stable") if row[j] > 0][:neighbours]
            pruned[i, best] = row[best]
        out[shop] = (pruned, share)
    return out


def reference_list(catalog, pruned, share, history, k):
    ids = catalog["item_id"].tolist()
    seen = {ids.index(h) for h in history}
    score = pruned[sorted(seen)].sum(axis=0) if seen else np.zeros(len(ids))
    touched = (pruned[sorted(seen)] > 0).any(axis=0) if seen else np.zeros(len(ids), bool)
    rows = [i for i in range(len(ids)) if i not in seen]
    # Neighbours first by summed similarity, then the rest by popularity; ties by id.
    rows.sort(key=lambda i: (not touched[i], -score[i] if touched[i] else 0.0, -share[i], ids[i]))
    return [ids[i] for i in rows[:k]], [float(score[i]) for i in rows[:k]]


@pytest.mark.parametrize("training", TRAININGS)
def test_matches_an_independent_dense_computation(small_world, training):
    catalogs = small_world.catalogs()
    logs = generate_interactions(catalogs, seed=9, customers_per_shop=150)
    alpha = {"isolated": 0.0, "mixed:0.5": 0.5, "pooled": 1.0}[training]
    vendor = TrainedVendor(catalogs, training=training, neighbours=8, logs=logs)
    reference = dense_reference(catalogs, logs, alpha, neighbours=8)
    rng = np.random.default_rng(0)
    for shop, catalog in catalogs.items():
        pruned, share = reference[shop]
        for length in (0, 1, 3, 6):
            history = list(rng.choice(catalog["item_id"], size=length, replace=False))
            answer = ask(vendor, shop, history, k=12)
            items, scores = reference_list(catalog, pruned, share, history, 12)
            assert list(answer.items) == items
            assert answer.scores == pytest.approx(scores)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=21, n_shops=3)


@pytest.fixture(scope="module")
def vendors(world):
    return {t: TrainedVendor.from_world(world, training=t) for t in TRAININGS}


def shared_customers(catalogs, shops, n, seed):
    """``n`` customers of 5 products every one of ``shops`` sells, from one category each."""
    stacked = stack_catalogs(catalogs)
    sold = stacked[stacked["shop_id"].isin(shops)].dropna(subset=["canonical_id"])
    everywhere = sold.groupby("canonical_id")["shop_id"].transform("nunique") == len(shops)
    products = sold[everywhere & (sold["shop_id"] == shops[0])]
    by_category = [g["canonical_id"].tolist() for _, g in products.groupby("category")]
    by_category = [keys for keys in by_category if len(keys) >= 5]
    rng = np.random.default_rng(seed)
    item_of = sold.set_index(["shop_id", "canonical_id"])["item_id"]
    customers = []
    for number in range(n):
        keys = rng.choice(by_category[number % len(by_category)], size=5, replace=False)
        customers.append({shop: [item_of[shop, key] for key in keys] for shop in shops})
    return customers


def mean_jaccard(vendor, catalogs, shops, customers):
    key = stack_catalogs(catalogs).set_index(["shop_id", "item_id"])["item_key"]
    values = []
    for number, histories in enumerate(customers):
        a, b = (
            {key[shop, item] for item in ask(vendor, shop, histories[shop], f"c{number}").items}
            for shop in shops
        )
        values.append(len(a & b) / len(a | b))
    return float(np.mean(values))


def test_pooling_plants_cross_shop_overlap(world, vendors):
    # Raw Jaccard is capped by the catalogs (a shop's exclusives never match), so mixed:0.5
    # sits nearer pooled than half-way; every pair of shops, 30 customers each.
    catalogs = world.catalogs()
    jaccard = {}
    for training in TRAININGS:
        values = []
        for number, pair in enumerate(itertools.combinations(sorted(catalogs), 2)):
            customers = shared_customers(catalogs, list(pair), 30, seed=number)
            values.append(mean_jaccard(vendors[training], catalogs, list(pair), customers))
        jaccard[training] = float(np.mean(values))
    assert jaccard["pooled"] > jaccard["mixed:0.5"] + 0.03
    assert jaccard["mixed:0.5"] > jaccard["isolated"] + 0.05
    assert jaccard["pooled"] > 2 * jaccard["isolated"]


def test_isolated_shops_share_nothing_beyond_chance():
    # Two shops selling the same products with the same sales, each with its own customers:
    # isolated, their lists agree only as much as two models of one shop trained on two
    # independent logs do (chance); pooled, they are one model and agree fully.
    catalog = generate_world(seed=5, n_shops=1, items_per_shop=200, shared_fraction=1.0)
    catalog = catalog.catalogs()["shop01"]
    catalogs = {"a": catalog, "b": catalog.assign(item_id="twin-" + catalog["item_id"])}
    shops = ["a", "b"]
    customers = shared_customers(catalogs, shops, 30, seed=2)
    isolated = mean_jaccard(TrainedVendor(catalogs, seed=1), catalogs, shops, customers)
    pooled = TrainedVendor(catalogs, seed=1, training="pooled")
    first, second = (TrainedVendor({"a": catalog}, seed=seed) for seed in (1, 2))
    chance = []
    for number, histories in enumerate(customers):
        one, two = (
            set(ask(model, "a", histories["a"], f"c{number}").items) for model in (first, second)
        )
        chance.append(len(one & two) / len(one | two))
    assert mean_jaccard(pooled, catalogs, shops, customers) == 1.0
    assert abs(isolated - float(np.mean(chance))) < 0.1
    assert isolated < 1.0 - 0.2


def test_isolation_is_exact_another_shops_log_changes_nothing(world):
    catalogs = world.catalogs()
    logs = generate_interactions(catalogs, seed=3, customers_per_shop=500)
    other = dict(
        logs, shop01=generate_interactions(catalogs, seed=4, customers_per_shop=900)["shop01"]
    )
    histories = [list(catalogs["shop02"]["item_id"][i : i + 4]) for i in range(0, 40, 4)]
    for training, same in (("isolated", True), ("pooled", False)):
        before = TrainedVendor(catalogs, training=training, logs=logs)
        after = TrainedVendor(catalogs, training=training, logs=other)
        lists = [
            (ask(before, "shop02", h).items, ask(after, "shop02", h).items) for h in histories
        ]
        assert all(x == y for x, y in lists) is same, training


def test_same_seed_same_lists_other_seed_other_logs(world):
    catalogs = world.catalogs()
    one = generate_interactions(catalogs, seed=8, customers_per_shop=300)
    again = generate_interactions(catalogs, seed=8, customers_per_shop=300)
    other = generate_interactions(catalogs, seed=9, customers_per_shop=300)
    for shop in catalogs:
        pd.testing.assert_frame_equal(one[shop].to_frame(), again[shop].to_frame())
        assert not one[shop].to_frame().equals(other[shop].to_frame())
    histories = [list(catalogs["shop03"]["item_id"][i : i + 3]) for i in range(0, 30, 3)]
    first = TrainedVendor(catalogs, seed=8, training="mixed:0.5", customers_per_shop=300)
    second = TrainedVendor(catalogs, seed=8, training="mixed:0.5", customers_per_shop=300)
    third = TrainedVendor(catalogs, seed=9, training="mixed:0.5", customers_per_shop=300)
    lists = [ask(first, "shop03", h) for h in histories]
    assert lists == [ask(second, "shop03", h) for h in histories]
    assert lists != [ask(third, "shop03", h) for h in histories]


def test_mixed_ends_are_isolated_and_pooled(world, vendors):
    catalogs = world.catalogs()
    histories = [list(catalogs["shop02"]["item_id"][i : i + 3]) for i in range(0, 30, 3)]
    for end, training in (("mixed:0", "isolated"), ("mixed:1.0", "pooled")):
        vendor = TrainedVendor.from_world(world, training=end)
        assert vendor.pooled_weight == vendors[training].pooled_weight
        for history in histories:
            assert ask(vendor, "shop02", history) == ask(vendors[training], "shop02", history)


def test_noise_is_seeded_per_shop_and_customer(world):
    history = list(world.catalogs()["shop01"]["item_id"][:4])
    plain = TrainedVendor.from_world(world, customers_per_shop=400)
    assert ask(plain, "shop01", history, "x").items == ask(plain, "shop01", history, "y").items
    noisy = TrainedVendor.from_world(world, customers_per_shop=400, noise=0.5)
    repeat = [ask(noisy, "shop01", history, "x").items for _ in range(3)]
    assert repeat[0] == repeat[1] == repeat[2]
    others = {ask(noisy, "shop01", history, f"c{n}").items for n in range(6)}
    assert len(others) > 1
    assert len({ask(noisy, "shop01", (), f"c{n}").items for n in range(6)}) > 1


@pytest.mark.parametrize(
    ("training", "algorithm", "noise"),
    [(t, "item_knn", 0.0) for t in TRAININGS]
    + [("mixed:0.5", "item_knn", 0.4)]
    + [(t, "als", n) for t, n in (("isolated", 0.0), ("pooled", 0.3))],
)
def test_lists_are_valid_and_never_repeat_the_history(world, training, algorithm, noise):
    catalogs = world.catalogs()
    vendor = TrainedVendor(
        catalogs,
        seed=2,
        training=training,
        algorithm=algorithm,
        noise=noise,
        neighbours=10,
        customers_per_shop=300,
    )
    assert isinstance(vendor, Vendor) and isinstance(vendor, VendorAdapter)
    rng = np.random.default_rng(3)
    for shop, catalog in catalogs.items():
        ids = catalog["item_id"].tolist()
        for length, k in itertools.product((0, 1, 5, 20), (1, 10, 400)):
            history = list(rng.choice(ids, size=length, replace=False))
            answer = ask(vendor, shop, [*history, "not-sold-here"], f"c{length}", k=k)
            assert len(answer.items) == min(k, len(ids) - length)
            assert len(set(answer.items)) == len(answer.items)
            assert set(answer.items) <= set(ids) - set(history)
            assert len(answer.scores) == len(answer.explanations) == len(answer.items)
            assert list(answer.scores) == sorted(answer.scores, reverse=True)


def test_non_personalized_ignores_the_history(vendors, world):
    history = list(world.catalogs()["shop01"]["item_id"][:5])
    vendor = vendors["pooled"]
    off = ask(vendor, "shop01", history, options={"personalized": False})
    assert off == ask(vendor, "shop01", ())
    assert off != ask(vendor, "shop01", history)


def test_unknown_shop_is_a_key_error(vendors):
    with pytest.raises(KeyError, match=r"shop_id must be one of \['shop01', 'shop02', 'shop03'\]"):
        ask(vendors["isolated"], "nowhere")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"training": "mixd"}, f"TrainedVendor: training must be {TRAINING_RULE}; got 'mixd'"),
        ({"training": "mixed:1.5"}, f"training must be {TRAINING_RULE}; got 'mixed:1.5'"),
        ({"training": "mixed:"}, f"training must be {TRAINING_RULE}; got 'mixed:'"),
        ({"training": 0.5}, f"training must be {TRAINING_RULE}; got 0.5"),
        (
            {"algorithm": "svd"},
            "TrainedVendor: algorithm must be one of ['item_knn', 'als']; got 'svd'",
        ),
        ({"neighbours": 0}, "TrainedVendor: neighbours must be a positive integer; got 0"),
        ({"noise": -1.0}, "TrainedVendor: noise must be a non-negative finite number; got -1.0"),
        ({"seed": -1}, "TrainedVendor: seed must be a non-negative integer; got -1"),
    ],
)
def test_invalid_options_are_named(hand_catalog, options, message):
    with pytest.raises(ValueError) as error:
        TrainedVendor(hand_catalog, **options)
    assert str(error.value).endswith(message)


def test_a_log_must_match_its_shops_catalog(hand_catalog):
    wrong = hand_log("s", ["s-1", "s-2", "s-3", "s-4"], HAND_BOUGHT)
    with pytest.raises(ValueError) as error:
        TrainedVendor(hand_catalog, logs={"s": wrong})
    assert str(error.value) == (
        "TrainedVendor: logs['s'].item_ids must be the shop's 4 catalog item ids, in catalog "
        "order; got ['s-1', 's-2', 's-3']"
    )
    with pytest.raises(ValueError, match=r"logs\['s'\] must be an InteractionLog; got None"):
        TrainedVendor(hand_catalog, logs={})


SPEC = """\
auditkit: 1
name: trained
seed: 7
vendor:
  adapter: trained
  options:
    training: {training}
    customers_per_shop: 300
world: {{shops: 2, items_per_shop: 40}}
probes:
  personas:
    - {{id: p, history_length: 3}}
"""


def test_spec_builds_the_trained_vendor_with_the_spec_seed(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(training='"mixed:0.25"'))
    spec = load_spec(path)
    assert spec.vendor.options.training == "mixed:0.25"
    assert spec.vendor.options.algorithm == "item_knn"
    assert spec.vendor.options.neighbours == 50
    world = generate_world(seed=7, n_shops=2, items_per_shop=40)
    vendor = build_vendor(spec, world.catalogs())
    assert isinstance(vendor, TrainedVendor)
    assert (vendor.seed, vendor.pooled_weight) == (7, 0.25)
    expected = TrainedVendor(
        world.catalogs(), seed=7, training="mixed:0.25", customers_per_shop=300
    )
    history = list(world.catalogs()["shop01"]["item_id"][:3])
    assert ask(vendor, "shop01", history) == ask(expected, "shop01", history)


def test_a_fixed_log_seed_trains_one_vendor_whatever_the_audit_seed(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(training="pooled"))
    spec = load_spec(path)
    world = generate_world(seed=7, n_shops=2, items_per_shop=40)
    history = list(world.catalogs()["shop01"]["item_id"][:3])

    def vendor(seed, log_seed=None):
        options = spec.vendor.options.model_copy(update={"log_seed": log_seed})
        data = spec.model_copy(
            update={"seed": seed, "vendor": spec.vendor.model_copy(update={"options": options})}
        )
        return build_vendor(data, world.catalogs())

    assert vendor(1, 42).seed == vendor(2, 42).seed == 42
    assert ask(vendor(1, 42), "shop01", history) == ask(vendor(2, 42), "shop01", history)
    assert vendor(1).seed != vendor(2).seed  # unset: each audit seed its own logs


@pytest.mark.parametrize("training", ['"mixed:2"', "pool", '"mixed:x"'])
def test_spec_locates_a_bad_training_value(tmp_path, training):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(training=training))
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value) == (
        f"spec.yaml:7 vendor.options.training: must be {TRAINING_RULE}; "
        f"got {training.strip(chr(34))!r}"
    )


def test_spec_validates_through_the_model_too():
    data = {
        "auditkit": 1,
        "name": "n",
        "vendor": {"adapter": "trained", "options": {"training": "pooled", "algorithm": "als"}},
        "world": {"shops": 2},
        "probes": {"personas": [{"id": "p"}]},
    }
    spec = AuditSpec.model_validate(data)
    assert spec.vendor.options.algorithm == "als"
    assert spec.vendor.name == "trained vendor"


def test_logs_and_training_are_fast():
    world = generate_world(seed=1)
    catalogs = world.catalogs()
    start = time.perf_counter()
    generate_interactions({"shop01": catalogs["shop01"]}, seed=1, customers_per_shop=2000)
    one_shop = time.perf_counter() - start
    start = time.perf_counter()
    TrainedVendor(catalogs, seed=1, training="mixed:0.5")
    training = time.perf_counter() - start
    assert one_shop < 0.5
    assert training < 2.0


def test_steering_reranks_the_models_own_top_three_k_by_price(world):
    catalogs = world.catalogs()
    rule = Steering("age_band", "65+", price_shift=-1.0)
    plain = TrainedVendor(catalogs, seed=4, customers_per_shop=300, noise=0.3)
    steered = TrainedVendor(catalogs, seed=4, customers_per_shop=300, noise=0.3, steering=[rule])
    rng = np.random.default_rng(5)
    cheaper = []
    for shop, catalog in catalogs.items():
        ids = catalog["item_id"].tolist()
        log_price = np.log1p(catalog.set_index("item_id")["price"].astype(float))
        z = (log_price - log_price.mean()) / log_price.std(ddof=0)
        for n in range(8):
            history = tuple(rng.choice(ids, size=4, replace=False))

            def asked(vendor, band, k=10, n=n, history=history, shop=shop):
                request = RecommendRequest(shop, f"c{n}", history, {"age_band": band}, k)
                return vendor.recommend(request)

            assert asked(steered, "18-34") == asked(plain, "18-34")  # other levels untouched
            pool = list(asked(plain, "65+", k=30).items)
            utility = -np.log1p(np.arange(len(pool))) - z[pool].to_numpy()
            expected = [pool[i] for i in np.argsort(-utility, kind="stable")[:10]]
            answer = asked(steered, "65+")
            assert list(answer.items) == expected
            assert list(answer.scores) == sorted(answer.scores, reverse=True)
            cheaper.append(z[list(answer.items)].mean() < z[pool[:10]].mean())
    assert np.mean(cheaper) > 0.9


def test_steering_by_trend_is_refused(hand_catalog):
    with pytest.raises(ValueError, match=r"steering.trend_shift must be 0 \(no trend\); got 1.0"):
        TrainedVendor(hand_catalog, steering=[Steering("device", "mobile", trend_shift=1.0)])
