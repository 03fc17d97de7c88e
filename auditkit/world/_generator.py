"""The built-in synthetic world: seeded client shops with partly shared catalogs.

A universe of canonical products (ids ``P00001``...) has categories, log-normal prices and a
Zipf-like global popularity. Each shop carries a popularity-weighted draw of that universe
(``canonical_id`` set, so the same product is comparable across shops) plus products only it
sells (``canonical_id`` NA), over-represents its signature categories, and ranks its items by a
mix of global popularity and its own taste.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditkit.catalogs import validate_catalog
from auditkit.errors import invalid_argument

# Shops carry shared products with probability rising as popularity ** CARRY_EXPONENT:
# bestsellers are everywhere, the long tail at one or two shops.
CARRY_EXPONENT = 2.0
# How much more likely a shop is to carry a shared product of one of its signature categories.
SIGNATURE_CARRY = 3.0
# Share of a shop's exclusive products that fall in its signature categories.
EXCLUSIVE_SIGNATURE_SHARE = 0.7
# Added to a signature item's log popularity: a shop sells more of what it is known for.
SIGNATURE_BOOST = 1.0
# Universe size as a multiple of the shared products one shop carries: the long tail is thin
# enough that popular products are carried by most shops and niche ones by few.
UNIVERSE_FACTOR = 3
# Sales of a shop's bestseller, per catalog item (sales counts are rounded, at least 1).
TOP_SALES_PER_ITEM = 20
_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ra",
    "ve",
    "zu",
    "to",
    "ne",
    "sa",
    "di",
    "po",
    "li",
    "an",
    "ber",
    "cor",
    "fen",
)


@dataclass(frozen=True, eq=False)
class Shop:
    """One client shop: its validated catalog and the categories that make it distinctive."""

    shop_id: str
    catalog: pd.DataFrame
    signature_categories: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class World:
    """A generated set of client shops, keyed and sorted by shop id."""

    seed: int
    shops: dict[str, Shop]

    def catalogs(self) -> dict[str, pd.DataFrame]:
        """Each shop's catalog (a copy), keyed by shop id.

        Returns
        -------
        dict of str to DataFrame
            Validated catalogs, the input every other stage of an audit takes.
        """
        return {shop_id: shop.catalog.copy() for shop_id, shop in self.shops.items()}


def _invalid(where: str, key: str, rule: str, value: object) -> ValueError:
    return ValueError(invalid_argument(where, key, rule, value))


def _integer(where: str, key: str, value: object, *, low: int) -> int:
    """``value`` as an int when it is an integer (not a bool) >= ``low`` (0 or 1), else raise."""
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < low:
        rule = "a positive integer" if low == 1 else "a non-negative integer"
        raise _invalid(where, key, rule, value)
    return int(value)


def _number(
    where: str, key: str, value: object, *, low: float = -math.inf, high: float = math.inf
) -> float:
    """``value`` as a float when it is a finite real (not a bool) in [low, high], else raise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or not low <= float(value) <= high
    ):
        if math.isfinite(high):
            rule = f"a number between {low:g} and {high:g}"
        elif math.isfinite(low):
            rule = "a non-negative finite number" if low == 0 else f"a finite number >= {low:g}"
        else:
            rule = "a finite number"
        raise _invalid(where, key, rule, value)
    return float(value)


def _names(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded ids such as ``P00042``, built in Arrow (fast for millions of rows)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _brand_names(n: int, rng: np.random.Generator) -> pa.Array:
    """``n`` distinct made-up brand names (mixed-radix syllables, shuffled)."""
    base = len(_SYLLABLES)
    digits = 2
    while base**digits < n:
        digits += 1
    codes = rng.choice(base**digits, size=n, replace=False)
    names = []
    for code in codes.tolist():
        parts = []
        for _ in range(digits):
            code, digit = divmod(code, base)
            parts.append(_SYLLABLES[digit])
        names.append("".join(parts).capitalize())
    return pa.array(names, type=pa.string())


def _zipf_log(ranks: np.ndarray, skew: float) -> np.ndarray:
    """Log popularity of 1-based ``ranks`` under a Zipf law with exponent ``skew``."""
    return -skew * np.log(ranks.astype(np.float64))


def _weighted_sample(log_weights: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``size`` draws without replacement, probability ∝ exp(log_weights), sorted.

    The Gumbel-top-k trick: one vectorized pass instead of ``size`` sequential draws.
    """
    if size >= len(log_weights):
        return np.arange(len(log_weights))
    keys = log_weights + rng.gumbel(size=len(log_weights))
    return np.sort(np.argpartition(-keys, size - 1)[:size])


def _assign_signatures(
    n_shops: int, n_categories: int, per_shop: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Category codes of each shop's signature, least-used first (random among equals).

    Signatures are thus distinct across shops while there are enough categories.
    """
    usage = np.zeros(n_categories, dtype=np.int64)
    chosen = []
    for _ in range(n_shops):
        order = np.lexsort((rng.random(n_categories), usage))[:per_shop]
        usage[order] += 1
        chosen.append(np.sort(order))
    return chosen


def _prices(
    category: np.ndarray, log_price_level: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Log-normal prices around each category's level, rounded to cents."""
    raw = np.exp(log_price_level[category] + rng.normal(0.0, 0.5, size=len(category)))
    return np.maximum(np.round(raw, 2), 0.5)


def _pick_brands(
    category: np.ndarray, brands_per_category: int, rng: np.random.Generator
) -> np.ndarray:
    """A brand (index into the brand names) for each product, from its category's brands."""
    return category * brands_per_category + rng.integers(brands_per_category, size=len(category))


@dataclass(frozen=True)
class _Universe:
    """The canonical products (parallel arrays indexed by product number) and shared labels."""

    ids: pa.Array
    category: np.ndarray
    log_popularity: np.ndarray
    price: np.ndarray
    brand: np.ndarray
    brand_names: pa.Array
    brands_per_category: int
    category_names: pa.Array
    log_price_level: np.ndarray


def _make_universe(
    *, size: int, n_categories: int, items_per_shop: int, skew: float, rng: np.random.Generator
) -> _Universe:
    """Draw ``size`` canonical products; popularity ranks are random, not tied to ids."""
    category_names = _names("cat", np.arange(1, n_categories + 1), max(2, len(str(n_categories))))
    log_price_level = rng.normal(np.log(25.0), 0.7, size=n_categories)
    brands_per_category = max(3, -(-max(size, items_per_shop) // (25 * n_categories)))
    brand_names = _brand_names(n_categories * brands_per_category, rng)
    category = rng.integers(n_categories, size=size)
    ranks = rng.permutation(size) + 1
    return _Universe(
        ids=_names("P", np.arange(1, size + 1), max(5, len(str(size)))),
        category=category,
        log_popularity=_zipf_log(ranks, skew),
        price=_prices(category, log_price_level, rng),
        brand=_pick_brands(category, brands_per_category, rng),
        brand_names=brand_names,
        brands_per_category=brands_per_category,
        category_names=category_names,
        log_price_level=log_price_level,
    )


def generate_world(
    *,
    seed: int,
    n_shops: int = 6,
    items_per_shop: int = 300,
    n_categories: int = 12,
    shared_fraction: float = 0.6,
    popularity_skew: float = 1.1,
    shop_taste: float = 0.7,
    signature_categories: int = 2,
) -> World:
    """Generate seeded client shops whose catalogs partly overlap.

    The world is the embedded default of an audit: shops share popular products (so matched
    probes can be compared across shops through ``canonical_id``) yet each keeps an identity
    (signature categories, exclusive products, its own bestsellers).

    Parameters
    ----------
    seed : int
        Non-negative seed; the same arguments give identical catalogs.
    n_shops : int, default 6
        Number of shops, ids ``shop01``, ``shop02``...
    items_per_shop : int, default 300
        Catalog size of every shop.
    n_categories : int, default 12
        Number of categories, ids ``cat01``, ``cat02``...
    shared_fraction : float, default 0.6
        Share of each catalog drawn from the canonical universe (the rest is exclusive).
    popularity_skew : float, default 1.1
        Zipf exponent of popularity; higher means a few products sell most.
    shop_taste : float, default 0.7
        Weight of each shop's own random taste against global popularity in its sales:
        near 1 the shops' bestsellers differ, near 0 they agree.
    signature_categories : int, default 2
        Categories over-represented in each shop (distinct across shops where possible).

    Returns
    -------
    World
        The shops, each with a catalog that passed `auditkit.catalogs.validate_catalog`.

    Raises
    ------
    ValueError
        When a parameter is out of range, with the message `auditkit.errors.INVALID_ARGUMENT`.
    """
    where = "generate_world"
    seed = _integer(where, "seed", seed, low=0)
    n_shops = _integer(where, "n_shops", n_shops, low=1)
    items_per_shop = _integer(where, "items_per_shop", items_per_shop, low=1)
    n_categories = _integer(where, "n_categories", n_categories, low=1)
    shared_fraction = _number(where, "shared_fraction", shared_fraction, low=0.0, high=1.0)
    popularity_skew = _number(where, "popularity_skew", popularity_skew, low=0.0)
    shop_taste = _number(where, "shop_taste", shop_taste, low=0.0, high=1.0)
    signature_categories = _integer(where, "signature_categories", signature_categories, low=0)
    if signature_categories > n_categories:
        raise _invalid(
            where,
            "signature_categories",
            f"at most n_categories ({n_categories})",
            signature_categories,
        )

    world_seed, signature_seed, *shop_seeds = np.random.SeedSequence(seed).spawn(2 + n_shops)
    n_shared = round(shared_fraction * items_per_shop)
    universe = _make_universe(
        size=UNIVERSE_FACTOR * n_shared,
        n_categories=n_categories,
        items_per_shop=items_per_shop,
        skew=popularity_skew,
        rng=np.random.default_rng(world_seed),
    )
    signatures = _assign_signatures(
        n_shops, n_categories, signature_categories, np.random.default_rng(signature_seed)
    )
    shop_width = max(2, len(str(n_shops)))
    shops: dict[str, Shop] = {}
    for number, (shop_seed, signature) in enumerate(zip(shop_seeds, signatures, strict=True), 1):
        shop_id = f"shop{number:0{shop_width}d}"
        frame = _shop_catalog(
            shop_id,
            universe,
            np.random.default_rng(shop_seed),
            n_shared=n_shared,
            items_per_shop=items_per_shop,
            signature=signature,
            skew=popularity_skew,
            shop_taste=shop_taste,
        )
        shops[shop_id] = Shop(
            shop_id=shop_id,
            catalog=validate_catalog(frame, source=f"generate_world {shop_id}"),
            signature_categories=tuple(universe.category_names.take(signature).to_pylist()),
        )
    return World(seed=seed, shops=shops)


def _shop_catalog(
    shop_id: str,
    universe: _Universe,
    rng: np.random.Generator,
    *,
    n_shared: int,
    items_per_shop: int,
    signature: np.ndarray,
    skew: float,
    shop_taste: float,
) -> pd.DataFrame:
    """One shop's raw catalog: carried shared products and exclusive ones, shelved at random."""
    n_categories = len(universe.category_names)
    is_signature_category = np.zeros(n_categories, dtype=bool)
    is_signature_category[signature] = True

    carried = _weighted_sample(
        CARRY_EXPONENT * universe.log_popularity
        + np.log(SIGNATURE_CARRY) * is_signature_category[universe.category],
        n_shared,
        rng,
    )
    n_exclusive = items_per_shop - len(carried)
    if len(signature):
        in_signature = rng.random(n_exclusive) < EXCLUSIVE_SIGNATURE_SHARE
        exclusive_category = np.where(
            in_signature,
            signature[rng.integers(len(signature), size=n_exclusive)],
            rng.integers(n_categories, size=n_exclusive),
        )
    else:
        exclusive_category = rng.integers(n_categories, size=n_exclusive)
    # An exclusive product's wider appeal ranks it within a catalog-sized assortment.
    exclusive_log_pop = _zipf_log(rng.integers(1, items_per_shop + 1, size=n_exclusive), skew)

    source = np.concatenate([carried, np.full(n_exclusive, -1)])
    category = np.concatenate([universe.category[carried], exclusive_category])
    brand = np.concatenate(
        [
            universe.brand[carried],
            _pick_brands(exclusive_category, universe.brands_per_category, rng),
        ]
    )
    price = np.concatenate(
        [universe.price[carried], _prices(exclusive_category, universe.log_price_level, rng)]
    )
    log_global = np.concatenate([universe.log_popularity[carried], exclusive_log_pop])
    log_taste = _zipf_log(rng.permutation(items_per_shop) + 1, skew)
    log_pop = (
        (1.0 - shop_taste) * log_global
        + shop_taste * log_taste
        + SIGNATURE_BOOST * is_signature_category[category]
    )
    sales = np.exp(log_pop - log_pop.max()) * TOP_SALES_PER_ITEM * items_per_shop
    popularity = np.maximum(np.round(sales), 1.0)

    # Shelf order is random, so item numbers say nothing about popularity or sharing.
    order = rng.permutation(items_per_shop)
    source = source[order]
    item_id = _names(
        f"{shop_id}-", np.arange(1, items_per_shop + 1), max(4, len(str(items_per_shop)))
    )
    category_name = universe.category_names.take(pa.array(category[order]))
    canonical_id = universe.ids.take(pa.array(np.maximum(source, 0), mask=source < 0))
    brand_name = universe.brand_names.take(pa.array(brand[order]))
    title = pc.binary_join_element_wise(
        brand_name, category_name, "item", pc.coalesce(canonical_id, item_id), " "
    )
    return pd.DataFrame(
        {
            "item_id": pd.array(item_id, dtype="string"),
            "category": pd.array(category_name, dtype="string"),
            "canonical_id": pd.array(canonical_id, dtype="string"),
            "title": pd.array(title, dtype="string"),
            "brand": pd.array(brand_name, dtype="string"),
            "price": price[order],
            "popularity": popularity[order],
        }
    )


def trending_keys(catalogs: Mapping[str, pd.DataFrame], top_n: int = 20) -> list[str]:
    """The globally trending products: top canonical ids by popularity summed across shops.

    Shop-exclusive items (no ``canonical_id``) are left out; ties are broken by id so the
    list is deterministic.

    Parameters
    ----------
    catalogs : mapping of str to DataFrame
        Validated catalogs keyed by shop id.
    top_n : int, default 20
        Length of the list (shorter when fewer canonical products exist).

    Returns
    -------
    list of str
        Canonical ids, most popular first.
    """
    top_n = _integer("trending_keys", "top_n", top_n, low=1)
    parts = [frame[["canonical_id", "popularity"]] for frame in catalogs.values()]
    if not parts:
        return []
    stacked = pd.concat(parts, ignore_index=True).dropna(subset=["canonical_id"])
    if stacked.empty:
        return []
    totals = stacked.groupby(stacked["canonical_id"].astype(str))["popularity"].sum()
    ranked = totals.reset_index().sort_values(
        ["popularity", "canonical_id"], ascending=[False, True], kind="mergesort"
    )
    return [str(key) for key in ranked["canonical_id"].head(top_n)]
