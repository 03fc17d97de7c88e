"""A simulated recommendation vendor whose every bias is a knob: the planted-effect fixture.

Each item of the requesting shop gets a score, and the top ``k`` are returned::

    score = (1 - pooling) * z(log shop popularity) + pooling * z(log pooled popularity)
          + trend_weight * TREND_SCALE * trending
          + personalization * PERSONALIZATION_SCALE * share of the history in the item's category
          + noise * Gumbel(seed, shop_id, customer_id)
          + for each matching steering rule:
                price_shift * z(log price) + trend_shift * TREND_SCALE * trending

``z`` standardizes within the shop; pooled popularity sums a product's popularity over every
shop that carries it (exclusive items keep their own); ``trending`` marks the top
``trending_top_n`` canonical products by pooled popularity.

With ``calibrated_lift`` set, a customer with a history is served a popularity-calibrated list
instead: each history item in turn picks the free item whose shop popularity is closest to
``(1 + calibrated_lift)`` times its own (plus whatever earlier picks fell short), from its
category when one there is close. At ``calibrated_lift = 0`` the list is as popular as what
the customer already chose, whatever the way the history was drawn: the vendor without
popularity bias relative to the customer (Abdollahpouri et al. 2021), the null world of the
popularity lift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditkit.vendors._base import (
    RecommendRequest,
    RecommendResponse,
    VendorCapabilities,
)
from auditkit.world._generator import _integer, _invalid, _number, trending_keys
from auditkit.world._served import WorldVendor

# A trending item with trend_weight = 1 jumps two within-shop standard deviations of
# (log) popularity: a strong, unmistakable effect.
TREND_SCALE = 2.0
# A history entirely in one category lifts that category's items by four within-shop
# standard deviations at personalization = 1, so they fill most of the list.
PERSONALIZATION_SCALE = 4.0

# A boosted item gains two standard deviations; diversity at 1 costs an item three for each
# item of its category already in the list.
BOOST_SCALE = 2.0
DIVERSITY_SCALE = 3.0
OPTIONS = ("personalized", "trending", "diversity", "boost", "exclude")
UNKNOWN_OPTION = "SimulatedVendor: request option must be one of {valid}; got {name!r}"

# Calibrated lists break near-ties in popularity at random: the Gumbel noise at this scale
# (in log popularity) moves a pick between neighbours, never across the catalog.
CALIBRATION_JITTER = 0.1
# A calibrated pick stays in its history item's category when an item there is this close to
# the target (in log popularity, about 10%); else it is the closest item of the whole shop.
CALIBRATION_TOLERANCE = 0.1
CALIBRATED_LIFT_RULE = "None or a finite number above -1"

EXPLAIN_HISTORY = "Because you viewed items in {category}"
EXPLAIN_TRENDING = "Trending now"
EXPLAIN_SHOP = "Popular at this shop"
EXPLAIN_NETWORK = "Popular across our network"


@dataclass(frozen=True)
class Steering:
    """A planted segment effect: customers with ``context[attribute] == level`` are steered.

    ``price_shift`` adds ``price_shift * z(log price)`` (negative steers toward cheaper items);
    ``trend_shift`` adds ``trend_shift * TREND_SCALE`` to trending items.
    """

    attribute: str
    level: str
    price_shift: float = 0.0
    trend_shift: float = 0.0


@dataclass(frozen=True)
class _ShopArrays:
    """Everything ``recommend`` needs about one shop, precomputed."""

    item_ids: np.ndarray
    index: dict[str, int]
    category_codes: np.ndarray
    category_names: tuple[str, ...]
    history_texts: tuple[str, ...]
    base: np.ndarray
    log_popularity: np.ndarray
    trending: np.ndarray
    steering: tuple[np.ndarray, ...]


def _zscore(values: np.ndarray) -> np.ndarray:
    """Standardize within a shop; a constant column scores zero everywhere."""
    std = values.std()
    if not np.isfinite(std) or std == 0.0:
        return np.zeros_like(values)
    return (values - values.mean()) / std


def _log_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """``log1p`` of a non-negative numeric column; missing values count as zero."""
    return np.log1p(frame[column].astype("float64").fillna(0.0).to_numpy())


def _calibrated_lift(where: str, value: object) -> float | None:
    """``value`` as a float above -1, or None; else raise."""
    if value is None:
        return None
    try:
        lift = _number(where, "calibrated_lift", value)
    except ValueError:
        lift = -1.0
    if lift <= -1.0:
        raise _invalid(where, "calibrated_lift", CALIBRATED_LIFT_RULE, value)
    return lift


def _noise_seed(seed: int, shop_id: str, customer_id: str) -> int:
    """A 64-bit seed from (seed, shop, customer) only, so call order never matters."""
    digest = hashlib.sha256(f"{seed}\x1f{shop_id}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


class SimulatedVendor(WorldVendor[_ShopArrays]):
    """A recommender whose homogenization, trend reliance and segment steering are knobs.

    It serves the given catalogs, so tests can check that an audit detects what was planted.
    It takes events (all in one call) and, living in the run's process, forgets them when the
    run ends.

    Parameters
    ----------
    catalogs : mapping of str to DataFrame
        Validated catalogs keyed by shop id (see `auditkit.catalogs.validate_catalog`).
    seed : int, default 0
        Seeds the noise together with the shop and customer ids.
    pooling : float, default 0.0
        0 ranks each shop by its own sales; 1 by sales pooled over all shops (one global
        model: the same ordering of shared products at every shop).
    trend_weight : float, default 0.0
        Boost of globally trending products; 1.0 is a strong effect.
    personalization : float, default 1.0
        Boost of the history's categories; 1–2 fills most of the list with them.
    noise : float, default 0.3
        Scale of the Gumbel noise per (shop, customer); 0 makes the vendor deterministic.
    steering : sequence of Steering, default ()
        Segment effects applied when the request's context matches.
    trending_top_n : int, default 20
        Size of the global trending set (see `auditkit.world.trending_keys`).
    signatures : mapping of str to sequence of str, optional
        Each shop's signature categories (for the ``boost: [signature]`` option).
    ignored_options : sequence of str, default ()
        Request options the vendor accepts but ignores: a knob that is claimed and does
        nothing, to test that an audit contradicts the claim.
    calibrated_lift : float, optional
        When set (a number above -1), a customer with a history gets a popularity-calibrated
        list: history item ``j mod len(history)`` picks list slot ``j``, the free item closest
        in ``log(1 + shop popularity)`` to what the list still lacks of ``(1 +
        calibrated_lift)`` times the popularity of the history items matched so far (a pick
        that falls short, nothing being left above a bestseller, is made up by the next). The
        pick comes from the history item's category when an item there is within
        `CALIBRATION_TOLERANCE` of that target and ``personalization`` is not 0, else from the
        whole shop; near-ties are broken by ``noise``. ``0`` is the vendor with no popularity
        bias relative to the customer: its list is as popular as the history however the
        history was drawn (uniformly or by popularity, inside a taste or not; a history of
        bestsellers can only be matched from below). ``0.5`` plants recommendations half again
        as popular as the history. The other knobs and the request options but ``exclude`` do
        not change a calibrated list; a customer without a history is ranked by the score.

    Notes
    -----
    Requests may carry ``options``: ``personalized: false`` ignores the history (a
    non-personalized mode), ``trending: "off"`` drops the trending boost, ``diversity: x``
    (0–1) re-ranks against repeated categories, ``boost: ["signature" | category, ...]``
    lifts those categories, ``exclude: [item ids]`` never shows those items.
    """

    _capabilities = VendorCapabilities(events=True, keeps_events=False)

    def __init__(
        self,
        catalogs: Mapping[str, pd.DataFrame],
        *,
        seed: int = 0,
        pooling: float = 0.0,
        trend_weight: float = 0.0,
        personalization: float = 1.0,
        noise: float = 0.3,
        steering: Sequence[Steering] = (),
        trending_top_n: int = 20,
        signatures: Mapping[str, Sequence[str]] | None = None,
        ignored_options: Sequence[str] = (),
        calibrated_lift: float | None = None,
    ) -> None:
        where = "SimulatedVendor"
        if not catalogs:
            raise _invalid(
                where, "catalogs", "a non-empty mapping of shop id to catalog", catalogs
            )
        self.seed = _integer(where, "seed", seed, low=0)
        self.pooling = _number(where, "pooling", pooling, low=0.0, high=1.0)
        self.trend_weight = _number(where, "trend_weight", trend_weight)
        self.personalization = _number(where, "personalization", personalization)
        self.noise = _number(where, "noise", noise, low=0.0)
        rules = tuple(steering)
        for rule in rules:
            if not isinstance(rule, Steering):
                raise _invalid(where, "steering", "a sequence of Steering", rule)
            _number(where, "steering.price_shift", rule.price_shift)
            _number(where, "steering.trend_shift", rule.trend_shift)
        self.steering = rules
        self.trending_top_n = _integer(where, "trending_top_n", trending_top_n, low=1)
        for name in ignored_options:
            if name not in OPTIONS:
                raise _invalid(where, "ignored_options", f"among {list(OPTIONS)}", name)
        self.ignored_options = frozenset(ignored_options)
        self.calibrated_lift = _calibrated_lift(where, calibrated_lift)
        self.signatures = {str(k): tuple(v) for k, v in (signatures or {}).items()}
        self._catalogs = {str(shop): frame.copy() for shop, frame in catalogs.items()}
        self.trending = frozenset(trending_keys(self._catalogs, trending_top_n))
        self._shops = self._precompute(self._catalogs)

    def _precompute(self, catalogs: Mapping[str, pd.DataFrame]) -> dict[str, _ShopArrays]:
        """Per-shop score components that do not depend on the request."""
        shop_ids = sorted(catalogs)
        # One factorization of every shop's canonical ids: pooled sums by bincount, no joins.
        canonical = pd.concat(
            [catalogs[s]["canonical_id"].astype("string") for s in shop_ids], ignore_index=True
        )
        codes, keys = pd.factorize(canonical)
        own_all = np.concatenate(
            [catalogs[s]["popularity"].astype("float64").fillna(0.0).to_numpy() for s in shop_ids]
        )
        shared = codes >= 0
        totals = np.bincount(codes[shared], weights=own_all[shared], minlength=len(keys))
        is_trending_key = np.asarray(pd.Index(keys).isin(list(self.trending)), dtype=bool)
        shops: dict[str, _ShopArrays] = {}
        start = 0
        for shop_id in shop_ids:
            frame = catalogs[shop_id]
            stop = start + len(frame)
            code, own = codes[start:stop], own_all[start:stop]
            start = stop
            pooled = np.where(code >= 0, totals[code], own)
            trending = np.where(code >= 0, is_trending_key[code], False).astype(np.float64)
            base = (
                (1.0 - self.pooling) * _zscore(np.log1p(own))
                + self.pooling * _zscore(np.log1p(pooled))
                + self.trend_weight * TREND_SCALE * trending
            )
            item_ids = frame["item_id"].astype("string").to_numpy(dtype=object)
            category_codes, names = pd.factorize(frame["category"].astype("string"), sort=True)
            price = _zscore(_log_column(frame, "price"))
            shops[str(shop_id)] = _ShopArrays(
                item_ids=item_ids,
                index={item: i for i, item in enumerate(item_ids.tolist())},
                category_codes=category_codes.astype(np.intp),
                category_names=tuple(str(n) for n in names),
                history_texts=tuple(EXPLAIN_HISTORY.format(category=n) for n in names),
                base=base,
                log_popularity=np.log1p(own),
                trending=trending,
                steering=tuple(
                    rule.price_shift * price + rule.trend_shift * TREND_SCALE * trending
                    for rule in self.steering
                ),
            )
        return shops

    def send_events(self, shop_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Record interactions (one purchase per event) as new sales of ``shop_id``'s items.

        Sales feed the shop's own popularity, the pooled popularity of every shop that sells
        the same product, and the global trending set: with ``pooling`` or ``trend_weight``
        above 0, a trend planted in one shop leaks into the others.

        Parameters
        ----------
        shop_id : str
            The shop where the events happened.
        events : sequence of mappings
            Each with an ``item_id`` of that shop.
        """
        self._shop(shop_id)  # a shop it serves
        sales = pd.Series([str(event["item_id"]) for event in events]).value_counts()
        catalog = self._catalogs[shop_id]
        added = catalog["item_id"].astype("string").map(sales).fillna(0).astype("float64")
        catalog["popularity"] = catalog["popularity"].fillna(0.0) + added.to_numpy()
        self.trending = frozenset(trending_keys(self._catalogs, self.trending_top_n))
        self._shops = self._precompute(self._catalogs)

    def recommend(self, request: RecommendRequest) -> RecommendResponse:
        """Rank the shop's items for ``request`` and return the top ``request.k``.

        Never returns duplicates, items the shop does not sell, or items in the history.

        Parameters
        ----------
        request : RecommendRequest
            The probe: shop, customer, history, context (segment attributes) and ``k``.

        Returns
        -------
        RecommendResponse
            Item ids best first, their scores, and a short explanation for each.

        Raises
        ------
        KeyError
            When the vendor does not serve ``request.shop_id``.
        """
        shop = self._shop(request.shop_id)
        options = {k: v for k, v in request.options.items() if k not in self.ignored_options}
        for name in options:
            if name not in OPTIONS:
                raise ValueError(UNKNOWN_OPTION.format(valid=list(OPTIONS), name=name))
        history = () if options.get("personalized", True) is False else request.history
        seen = [i for i in (shop.index.get(item) for item in history) if i is not None]
        excluded = [
            i
            for i in (shop.index.get(str(x)) for x in options.get("exclude", ()))
            if i is not None
        ]
        rng = np.random.default_rng(_noise_seed(self.seed, request.shop_id, request.customer_id))
        if seen and self.calibrated_lift is not None:
            return self._calibrated(shop, seen, excluded, int(request.k), rng)
        scores = shop.base.copy()
        if options.get("trending") == "off":
            scores -= self.trend_weight * TREND_SCALE * shop.trending
        boosted = [str(c) for c in options.get("boost", ())]
        if boosted:
            categories = set(boosted) - {"signature"}
            if "signature" in boosted:
                categories |= set(self.signatures.get(request.shop_id, ()))
            lifted = np.isin(np.asarray(shop.category_names, dtype=object), list(categories))
            scores += BOOST_SCALE * lifted[shop.category_codes]
        personal = None
        if seen and self.personalization != 0.0:
            share = np.bincount(shop.category_codes[seen], minlength=len(shop.category_names))
            weight = self.personalization * PERSONALIZATION_SCALE / len(seen)
            personal = (weight * share)[shop.category_codes]
            scores += personal
        trend = self.trend_weight * TREND_SCALE
        for rule, shift in zip(self.steering, shop.steering, strict=True):
            if request.context.get(rule.attribute) == rule.level:
                scores += shift
                trend += rule.trend_shift * TREND_SCALE
        if self.noise > 0.0:
            scores += self.noise * rng.gumbel(size=len(scores))
        if seen:
            scores[seen] = -np.inf
        if excluded:
            scores[excluded] = -np.inf
        k = max(0, min(int(request.k), int(np.isfinite(scores).sum())))
        if k == 0:
            return RecommendResponse(items=(), scores=(), explanations=())
        diversity = float(options.get("diversity", 0.0))
        if diversity > 0.0:
            top = self._diversify(shop, scores, k, diversity)
        else:
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
        return RecommendResponse(
            items=tuple(shop.item_ids[top].tolist()),
            scores=tuple(scores[top].tolist()),
            explanations=self._explain(shop, top, personal, trend),
        )

    def _calibrated(
        self,
        shop: _ShopArrays,
        seen: list[int],
        excluded: list[int],
        k: int,
        rng: np.random.Generator,
    ) -> RecommendResponse:
        """The popularity-calibrated list: slot ``j`` matches history item ``j mod len``."""
        assert self.calibrated_lift is not None
        free = np.ones(len(shop.base), dtype=bool)
        free[seen] = False
        free[excluded] = False
        popularity = np.expm1(shop.log_popularity)
        targets = (1.0 + self.calibrated_lift) * popularity[seen]
        jitter = np.zeros(len(free))
        if self.noise > 0.0:
            jitter = self.noise * CALIBRATION_JITTER * rng.gumbel(size=len(free))
        by_category = self.personalization != 0.0
        picks: list[int] = []
        # What the list should have summed to so far, and what it sums to: a pick that falls
        # short (nothing above a bestseller is free) is made up by the next one.
        wanted = listed = 0.0
        for slot in range(max(0, min(k, int(free.sum())))):
            source = slot % len(seen)
            wanted += float(targets[source])
            goal = np.log1p(max(wanted - listed, 0.0))
            distance = np.abs(shop.log_popularity - goal)
            cost = np.where(free, distance - jitter, np.inf)
            best = int(np.argmin(cost))
            if by_category:
                same = shop.category_codes == shop.category_codes[seen[source]]
                near = np.where(same & (distance <= CALIBRATION_TOLERANCE), cost, np.inf)
                if np.isfinite(near).any():
                    best = int(np.argmin(near))
            picks.append(best)
            free[best] = False
            listed += float(popularity[best])
        top = np.asarray(picks, dtype=np.intp)
        personal = None
        if by_category:
            personal = np.isin(shop.category_codes, shop.category_codes[seen]).astype(np.float64)
        return RecommendResponse(
            items=tuple(shop.item_ids[top].tolist()),
            scores=tuple(float(len(top) - j) for j in range(len(top))),
            explanations=self._explain(shop, top, personal, 0.0),
        )

    @staticmethod
    def _diversify(shop: _ShopArrays, scores: np.ndarray, k: int, diversity: float) -> np.ndarray:
        """Greedy re-rank: each pick costs its category's later items ``DIVERSITY_SCALE``."""
        pool = np.argpartition(-scores, min(len(scores), 5 * k) - 1)[: min(len(scores), 5 * k)]
        pool = pool[np.isfinite(scores[pool])]
        adjusted = scores[pool].copy()
        codes = shop.category_codes[pool]
        picks: list[int] = []
        for _ in range(min(k, len(pool))):
            best = int(np.argmax(adjusted))
            picks.append(int(pool[best]))
            adjusted[codes == codes[best]] -= diversity * DIVERSITY_SCALE
            adjusted[best] = -np.inf
        return np.asarray(picks, dtype=np.intp)

    def _explain(
        self, shop: _ShopArrays, top: np.ndarray, personal: np.ndarray | None, trend: float
    ) -> tuple[str, ...]:
        """The largest planted reason for each item's place; pooling shows as network-wide."""
        history_boost = np.zeros(len(top)) if personal is None else personal[top]
        trend_boost = trend * shop.trending[top]
        by_history = (history_boost > 0.0) & (history_boost >= trend_boost)
        fallback = EXPLAIN_NETWORK if self.pooling > 0.5 else EXPLAIN_SHOP
        return tuple(
            shop.history_texts[code] if history else EXPLAIN_TRENDING if trending else fallback
            for code, history, trending in zip(
                shop.category_codes[top].tolist(),
                by_history.tolist(),
                (trend_boost > 0.0).tolist(),
                strict=True,
            )
        )
