"""Synthetic customers' histories: drawn from a taste, carried from shop to shop.

Products are banded once over all shops: price terciles (``budget``, ``mid``, ``premium``) and
popularity bands (``head`` = top 20% of products by popularity summed over shops, ``torso`` =
the next 30%, ``tail`` = the bottom 50%), so a persona's taste means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.errors import DesignError
from auditkit.spec import PersonaSpec

HEAD_SHARE = 0.2
TORSO_SHARE = 0.5
NO_MATCH = (
    "persona {persona!r}: no product matches its taste (categories {categories}, "
    "price_band {price!r}, popularity_band {popularity!r}){where}"
)
EXACT_WHERE = " among the products two or more shops sell (carry 'exact')"
NEEDS_POPULARITY = "persona {persona!r}: {what} needs the catalogs' popularity column"
NO_SIGNATURE = "persona {persona!r}: history_from 'signature' needs a signature for shop {shop!r}"


def band_products(stacked: pd.DataFrame) -> pd.DataFrame:
    """Add ``price_band`` and ``popularity_band`` to stacked catalogs (one band per product)."""
    products = stacked.groupby("item_key", sort=True).agg(
        price=("price", "median"), popularity=("popularity", "sum")
    )
    known = stacked.groupby("item_key", sort=True)["popularity"].count() > 0
    products.loc[~known, "popularity"] = np.nan
    low, high = products["price"].quantile([1 / 3, 2 / 3]).to_numpy()
    price_band = np.select(
        [products["price"] <= low, products["price"] > high, products["price"].notna()],
        ["budget", "premium", "mid"],
        default="unknown",
    )
    rank = products["popularity"].rank(ascending=False, method="first", pct=True)
    popularity_band = np.select(
        [rank <= HEAD_SHARE, rank <= TORSO_SHARE, rank.notna()],
        ["head", "torso", "tail"],
        default="unknown",
    )
    bands = pd.DataFrame(
        {"price_band": price_band, "popularity_band": popularity_band}, index=products.index
    )
    return stacked.join(bands, on="item_key")


def taste_mask(items: pd.DataFrame, persona: PersonaSpec) -> pd.Series:
    """Rows of ``items`` (banded) that match the persona's categories and bands."""
    mask = pd.Series(True, index=items.index)
    if persona.categories:
        mask &= items["category"].isin(persona.categories)
    if persona.price_band != "any":
        mask &= items["price_band"] == persona.price_band
    if persona.popularity_band != "any":
        mask &= items["popularity_band"] == persona.popularity_band
    return mask


def no_match(persona: PersonaSpec, where: str = "") -> DesignError:
    """The error for a taste that selects nothing."""
    return DesignError(
        NO_MATCH.format(
            persona=persona.id,
            categories=list(persona.categories),
            price=persona.price_band,
            popularity=persona.popularity_band,
            where=where,
        )
    )


def draw(
    pool: pd.DataFrame,
    size: int,
    rng: np.random.Generator,
    *,
    by_popularity: bool,
    persona: PersonaSpec,
    column: str = "item_key",
) -> tuple[str, ...]:
    """Draw ``size`` distinct values of ``column`` from ``pool``, evenly or by popularity."""
    size = min(size, len(pool))
    if size == 0:
        return ()
    weights = None
    if by_popularity:
        popularity = pool["popularity"].to_numpy(dtype="float64")
        if np.isnan(popularity).all():
            raise DesignError(NEEDS_POPULARITY.format(persona=persona.id, what="this sampling"))
        popularity = np.nan_to_num(popularity) + 1e-9
        weights = popularity / popularity.sum()
    picks = rng.choice(len(pool), size=size, replace=False, p=weights)
    return tuple(str(v) for v in pool[column].to_numpy()[np.sort(picks)])


@dataclass(frozen=True)
class ShopIndex:
    """One shop's items, indexed for carrying histories in without scanning the catalog."""

    by_key: dict[str, str]
    by_category_bands: dict[tuple[str, str, str], np.ndarray]
    by_category_band: dict[tuple[str, str], np.ndarray]
    by_category: dict[str, np.ndarray]
    items: np.ndarray

    @classmethod
    def build(cls, shop: pd.DataFrame) -> ShopIndex:
        """Index a banded shop catalog."""
        ids = shop["item_id"].to_numpy(dtype=object)
        return cls(
            by_key=dict(zip(shop["item_key"], shop["item_id"], strict=True)),
            by_category_bands={
                (str(key[0]), str(key[1]), str(key[2])): ids[idx]
                for key, idx in shop.groupby(
                    ["category", "price_band", "popularity_band"]
                ).indices.items()
                if isinstance(key, tuple)
            },
            by_category_band={
                (str(key[0]), str(key[1])): ids[idx]
                for key, idx in shop.groupby(["category", "price_band"]).indices.items()
                if isinstance(key, tuple)
            },
            by_category={str(c): ids[idx] for c, idx in shop.groupby("category").indices.items()},
            items=ids,
        )


def _pick(candidates: np.ndarray, taken: set[str], rng: np.random.Generator) -> str | None:
    """A random candidate not yet taken (None when all are)."""
    free = [c for c in candidates if c not in taken] if len(candidates) <= 64 else None
    if free is not None:
        return None if not free else str(free[rng.integers(len(free))])
    for _ in range(32):
        candidate = str(candidates[rng.integers(len(candidates))])
        if candidate not in taken:
            return candidate
    return _pick(np.asarray([c for c in candidates if c not in taken], dtype=object), taken, rng)


def carry_history(
    keys: Sequence[str],
    shop: ShopIndex,
    product: Mapping[str, tuple[str, str, str]],
    rng: np.random.Generator,
) -> tuple[list[str], int]:
    """Carry a history of products into one shop; return its item ids and the exact count.

    Each product maps to itself where the shop sells it (through ``canonical_id``), else to one
    of the same category, price band and popularity band, else of the same category and price
    band, else of the same category, else to any product. ``product`` gives each key's
    (category, price band, popularity band).
    """
    items: list[str] = []
    taken: set[str] = set()
    exact = 0
    for key in keys:
        choice = shop.by_key.get(key)
        if choice is not None and choice not in taken:
            exact += 1
        else:
            category, band, popularity = product[key]
            choice = None
            for candidates in (
                shop.by_category_bands.get((category, band, popularity)),
                shop.by_category_band.get((category, band)),
                shop.by_category.get(category),
                shop.items,
            ):
                if candidates is not None and len(candidates):
                    choice = _pick(candidates, taken, rng)
                    if choice is not None:
                        break
        if choice is not None:
            items.append(choice)
            taken.add(choice)
    return items, exact


def shop_history(
    persona: PersonaSpec,
    shop: pd.DataFrame,
    signature: tuple[str, ...],
    rng: np.random.Generator,
) -> tuple[str, ...]:
    """A history drawn inside one shop: its typical customer, or a lover of its signature."""
    shop_id = str(shop["shop_id"].iloc[0])
    if persona.history_from == "signature":
        if not signature:
            raise DesignError(NO_SIGNATURE.format(persona=persona.id, shop=shop_id))
        pool = shop[shop["category"].isin(signature) | shop["item_id"].isin(signature)]
        by_popularity = persona.sampling == "popularity"
    else:
        pool = shop[taste_mask(shop, persona)]
        by_popularity = True
    if persona.history_length and pool.empty:
        raise no_match(persona, f" at shop {shop_id!r}")
    return draw(
        pool,
        persona.history_length,
        rng,
        by_popularity=by_popularity,
        persona=persona,
        column="item_id",
    )
