"""A real recommender trained on synthetic interaction logs: the algorithm beside the formula.

`SimulatedVendor` plants each bias by a knob; `TrainedVendor` is an actual implicit-feedback
algorithm fit to each shop's logs (see `auditkit.world.generate_interactions`), so an audit's
verdicts can be checked on a recommender nobody tuned them on. Its one deployment choice is
the one the audit is about, ``training``:

- ``isolated``: one model per shop, trained on that shop's logs only;
- ``pooled``: one model trained on every shop's logs together, each shop served from it
  restricted to its own catalog;
- ``mixed:ALPHA``: item similarity ``ALPHA * pooled + (1 - ALPHA) * own``.

Items are one product across shops through the catalogs' ``item_key`` (the ``canonical_id``
where there is one, else ``shop_id:item_id``). Two algorithms give the item similarity:

- ``item_knn``: cosine similarity of the item columns of the binary customer × item matrix;
- ``als``: ridge-regularized least-squares factors ``X ≈ U Yᵀ`` (alternating, a few sweeps);
  the similarity of items ``i`` and ``j`` is ``y_i (YᵀY + λI)⁻¹ y_j``, so summing it over a
  history is folding the customer in.

Either way each item keeps its ``neighbours`` most similar items of the shop (positive
similarity only; ties to the lower catalog row). A request scores every item by its summed
similarity to the history, leaves the history out, breaks ties by the model's popularity and
then by item id, and fills what the neighbours do not cover (a new customer, or too few
neighbours) by the model's popularity: the share of its training customers who bought the
item (mixed as the similarity is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from auditkit.catalogs import stack_catalogs
from auditkit.spec._models import TRAINING_RULE, pooled_weight
from auditkit.vendors._base import (
    RecommendRequest,
    RecommendResponse,
    VendorCapabilities,
)
from auditkit.world._generator import _integer, _invalid, _number
from auditkit.world._interactions import InteractionLog, generate_interactions
from auditkit.world._served import WorldVendor
from auditkit.world._simulated import Steering, _log_column, _noise_seed, _zscore

ALGORITHMS = ("item_knn", "als")

# Mixed into the seed so the factors' starting values never reuse the logs' streams.
TRAINING_STREAM = 0x7A1
# Ridge penalty and sweeps of the least-squares factors: with a few purchases per customer
# the factors settle in well under ten sweeps.
ALS_REGULARIZATION = 1.0
ALS_SWEEPS = 8
# Rows of a dense similarity block (als): bounds memory at BLOCK_ROWS * catalog size floats.
BLOCK_ROWS = 512

EXPLAIN_SIMILAR = "Bought by customers who bought what you bought"
EXPLAIN_POPULAR = "Popular with our customers"
# A steered customer's list is re-ranked from the model's top STEER_POOL * k.
STEER_POOL = 3


@dataclass(frozen=True)
class _ShopModel:
    """Everything ``recommend`` needs about one shop, precomputed."""

    item_ids: np.ndarray
    index: dict[str, int]
    similarity: sparse.csr_matrix
    log_popularity: np.ndarray
    fill_rank: np.ndarray
    fill_order: np.ndarray
    price: np.ndarray
    """Standardized log price (zero where the catalog has no price spread)."""


@dataclass(frozen=True)
class _Factors:
    """Least-squares item factors ``right`` and ``left = right (rightᵀright + λI)⁻¹``."""

    left: np.ndarray
    right: np.ndarray

    def rows(self, rows: np.ndarray) -> _Factors:
        """The factors of some items only (a shop's, from the pooled model's)."""
        return _Factors(self.left[rows], self.right[rows])


def _cosine(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Cosine similarity of the columns of a binary matrix, the diagonal left out."""
    gram = (matrix.T @ matrix).tocoo()
    norm = np.sqrt(np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel())
    off = gram.row != gram.col
    row, col = gram.row[off], gram.col[off]
    data = gram.data[off] / (norm[row] * norm[col])
    n = matrix.shape[1]
    return sparse.csr_matrix((data, (row, col)), shape=(n, n))


def _least_squares_factors(
    matrix: sparse.csr_matrix, *, factors: int, rng: np.random.Generator
) -> _Factors:
    """Alternating ridge regressions ``U = X Y (YᵀY + λI)⁻¹``, ``Y = Xᵀ U (UᵀU + λI)⁻¹``."""
    ridge = ALS_REGULARIZATION * np.eye(factors)
    items = rng.normal(0.0, 1.0 / np.sqrt(factors), size=(matrix.shape[1], factors))
    for _ in range(ALS_SWEEPS):
        users = np.linalg.solve(items.T @ items + ridge, (matrix @ items).T).T
        items = np.linalg.solve(users.T @ users + ridge, (matrix.T @ users).T).T
    left = np.linalg.solve(items.T @ items + ridge, items.T).T
    return _Factors(left=left, right=items)


def _keep_top(
    row: np.ndarray, col: np.ndarray, data: np.ndarray, n: int, neighbours: int
) -> sparse.csr_matrix:
    """The ``neighbours`` largest positive entries of each row (ties to the lower column)."""
    positive = data > 0.0
    row, col, data = row[positive], col[positive], data[positive]
    order = np.lexsort((col, -data, row))
    row, col, data = row[order], col[order], data[order]
    starts = np.searchsorted(row, np.arange(n))
    rank = np.arange(len(row)) - starts[row]
    kept = rank < neighbours
    return sparse.csr_matrix((data[kept], (row[kept], col[kept])), shape=(n, n))


def _shop_similarity(
    parts: list[tuple[float, sparse.csr_matrix | _Factors]], n: int, neighbours: int
) -> sparse.csr_matrix:
    """The weighted sum of a shop's similarity parts, each row pruned to its neighbours."""
    matrices = [(w, part) for w, part in parts if w > 0.0 and isinstance(part, sparse.csr_matrix)]
    factors = [(w, part) for w, part in parts if w > 0.0 and isinstance(part, _Factors)]
    total = sparse.csr_matrix((n, n))
    for weight, matrix in matrices:
        total = total + weight * matrix
    if not factors:
        coo = total.tocoo()
        return _keep_top(coo.row, coo.col, coo.data, n, neighbours)
    # Factors give a dense similarity: built a block of rows at a time, and only the entries
    # at or above each row's neighbours-th largest go on to the exact pruning.
    kth = min(neighbours, n) - 1
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, n, BLOCK_ROWS):
        rows = np.arange(start, min(n, start + BLOCK_ROWS))
        block = total[rows].toarray()
        for weight, part in factors:
            block += weight * (part.left[rows] @ part.right.T)
        block[np.arange(len(rows)), rows] = -np.inf
        floor = -np.partition(-block, kth, axis=1)[:, kth : kth + 1]
        r, c = np.nonzero(block >= floor)
        found.append((rows[r], c, block[r, c]))
    row, col, data = (np.concatenate(piece) for piece in zip(*found, strict=True))
    return _keep_top(row, col, data, n, neighbours)


class TrainedVendor(WorldVendor[_ShopModel]):
    """An item-kNN (or ALS) recommender trained per shop, pooled over shops, or a mix.

    Parameters
    ----------
    catalogs : mapping of str to DataFrame
        Validated catalogs keyed by shop id (see `auditkit.catalogs.validate_catalog`).
    seed : int, default 0
        Seeds the training logs, the factors' starting values and the noise.
    training : str, default "isolated"
        ``isolated``, ``pooled`` or ``mixed:ALPHA`` (ALPHA from 0 to 1; ``mixed:0`` is
        ``isolated``, ``mixed:1`` is ``pooled``).
    algorithm : {"item_knn", "als"}, default "item_knn"
        Cosine item-item kNN, or least-squares factors.
    neighbours : int, default 50
        Most similar items kept per item.
    factors : int, default 32
        Latent factors of ``als`` (unused by ``item_knn``).
    customers_per_shop : int, default 2000
        Synthetic customers in each shop's log (unused when ``logs`` is given).
    noise : float, default 0.0
        Scale of a Gumbel perturbation, seeded by (seed, shop, customer), of the log
        similarity and the log popularity: 0 is deterministic, a few tenths reorders
        near-equals; repeats of one customer at one shop always get the same list.
    logs : mapping of str to InteractionLog, optional
        Train on these logs (one per shop, over that shop's catalog rows) instead of drawing
        them with `auditkit.world.generate_interactions`.
    steering : sequence of Steering, default ()
        A planted segment rule on top of the model, as a vendor's business rule would be: for
        a customer with ``context[attribute] == level``, the model's top ``3 k`` are re-ranked
        by ``-log(1 + rank) + price_shift * z(log price)``, which is then the score.
        ``trend_shift`` is refused (this vendor knows no trend).

    Notes
    -----
    Request options are accepted; ``personalized: false`` ignores the history (the list is
    the model's popularity), and the others change nothing: this vendor has no knobs. It
    takes no events.
    """

    # Trained once, then read-only: one call at a time, and no event API (no trend planting).
    _capabilities = VendorCapabilities(events=False)

    def __init__(
        self,
        catalogs: Mapping[str, pd.DataFrame],
        *,
        seed: int = 0,
        training: str = "isolated",
        algorithm: str = "item_knn",
        neighbours: int = 50,
        factors: int = 32,
        customers_per_shop: int = 2000,
        noise: float = 0.0,
        logs: Mapping[str, InteractionLog] | None = None,
        steering: Sequence[Steering] = (),
    ) -> None:
        where = "TrainedVendor"
        if not catalogs:
            raise _invalid(
                where, "catalogs", "a non-empty mapping of shop id to catalog", catalogs
            )
        self.seed = _integer(where, "seed", seed, low=0)
        try:
            self.pooled_weight = pooled_weight(training)
        except ValueError:
            raise _invalid(where, "training", TRAINING_RULE, training) from None
        self.training = str(training)
        if algorithm not in ALGORITHMS:
            raise _invalid(where, "algorithm", f"one of {list(ALGORITHMS)}", algorithm)
        self.algorithm = str(algorithm)
        self.neighbours = _integer(where, "neighbours", neighbours, low=1)
        self.factors = _integer(where, "factors", factors, low=1)
        customers_per_shop = _integer(where, "customers_per_shop", customers_per_shop, low=1)
        self.noise = _number(where, "noise", noise, low=0.0)
        for rule in steering:
            if not isinstance(rule, Steering):
                raise _invalid(where, "steering", "a sequence of Steering", rule)
            _number(where, "steering.price_shift", rule.price_shift)
            if rule.trend_shift != 0.0:
                raise _invalid(where, "steering.trend_shift", "0 (no trend)", rule.trend_shift)
        self.steering = tuple(steering)
        frames = {str(shop): frame for shop, frame in catalogs.items()}
        if logs is None:
            logs = generate_interactions(
                frames, seed=self.seed, customers_per_shop=customers_per_shop
            )
        self.logs = {shop: _check_log(where, shop, frames[shop], logs) for shop in sorted(frames)}
        self._shops = self._train(frames)

    def _train(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, _ShopModel]:
        """Fit the own and/or pooled models, then each shop's pruned similarity."""
        shop_ids = sorted(frames)
        stacked = stack_catalogs(frames)
        codes, keys = pd.factorize(stacked["item_key"])
        bounds = np.cumsum([0, *(len(frames[shop]) for shop in shop_ids)])
        shop_codes = {
            shop: codes[start:stop].astype(np.intp)
            for shop, start, stop in zip(shop_ids, bounds[:-1], bounds[1:], strict=True)
        }
        matrices = {shop: self.logs[shop].matrix() for shop in shop_ids}
        alpha = self.pooled_weight
        seeds = np.random.SeedSequence([TRAINING_STREAM, self.seed]).spawn(1 + len(shop_ids))
        pooled: sparse.csr_matrix | _Factors | None = None
        pooled_share = np.zeros(len(keys))
        if alpha > 0.0:
            in_keys = sparse.csr_matrix(
                sparse.vstack([_to_keys(matrices[s], shop_codes[s], len(keys)) for s in shop_ids])
            )
            pooled = self._fit(in_keys, seeds[0])
            pooled_share = _buyer_share(in_keys)
        models = {}
        for shop, child in zip(shop_ids, seeds[1:], strict=True):
            rows = shop_codes[shop]
            parts: list[tuple[float, sparse.csr_matrix | _Factors]] = []
            share = np.zeros(len(rows))
            if alpha < 1.0:
                parts.append((1.0 - alpha, self._fit(matrices[shop], child)))
                share += (1.0 - alpha) * _buyer_share(matrices[shop])
            if pooled is not None:
                # The pooled model restricted to the shop's own catalog.
                part = pooled.rows(rows) if isinstance(pooled, _Factors) else pooled[rows][:, rows]
                parts.append((alpha, part))
                share += alpha * pooled_share[rows]
            models[shop] = self._shop_model(frames[shop], parts, share)
        return models

    def _fit(
        self, matrix: sparse.csr_matrix, seed: np.random.SeedSequence
    ) -> sparse.csr_matrix | _Factors:
        """One model's item similarity (item_knn) or factors (als) from its training matrix."""
        if self.algorithm == "als":
            return _least_squares_factors(
                matrix, factors=self.factors, rng=np.random.default_rng(seed)
            )
        return _cosine(matrix)

    def _shop_model(
        self,
        frame: pd.DataFrame,
        parts: list[tuple[float, sparse.csr_matrix | _Factors]],
        share: np.ndarray,
    ) -> _ShopModel:
        """Serve-time arrays of one shop: pruned similarity, popularity order, id lookup."""
        item_ids = frame["item_id"].astype("string").to_numpy(dtype=object)
        n = len(item_ids)
        # Fill order: the model's popularity, then item id (ranked once, as integers).
        id_rank = np.empty(n, dtype=np.intp)
        id_rank[np.argsort(item_ids, kind="stable")] = np.arange(n)
        fill_order = np.lexsort((id_rank, -share))
        fill_rank = np.empty(n, dtype=np.intp)
        fill_rank[fill_order] = np.arange(n)
        with np.errstate(divide="ignore"):
            log_popularity = np.log(share)
        return _ShopModel(
            item_ids=item_ids,
            index={item: i for i, item in enumerate(item_ids.tolist())},
            similarity=_shop_similarity(parts, n, self.neighbours),
            log_popularity=log_popularity,
            fill_rank=fill_rank,
            fill_order=fill_order,
            price=_zscore(_log_column(frame, "price")),
        )

    def recommend(self, request: RecommendRequest) -> RecommendResponse:
        """Rank the shop's items by summed similarity to the history; fill by popularity.

        Never returns duplicates, items the shop does not sell, or items in the history.

        Parameters
        ----------
        request : RecommendRequest
            The probe: shop, customer, history (the shop's item ids) and ``k``.

        Returns
        -------
        RecommendResponse
            Item ids best first, their scores (summed similarity; 0 for popularity fill) and
            an explanation for each.

        Raises
        ------
        KeyError
            When the vendor does not serve ``request.shop_id``.
        """
        shop = self._shop(request.shop_id)
        history = () if request.options.get("personalized", True) is False else request.history
        seen = np.unique(
            np.fromiter(
                (i for i in (shop.index.get(item) for item in history) if i is not None),
                dtype=np.intp,
            )
        )
        n = len(shop.item_ids)
        asked = max(0, min(int(request.k), n - len(seen)))
        shift = sum(
            rule.price_shift
            for rule in self.steering
            if request.context.get(rule.attribute) == rule.level
        )
        k = min(n - len(seen), STEER_POOL * asked) if shift else asked
        if k == 0:
            return RecommendResponse(items=(), scores=(), explanations=())
        gumbel = None
        if self.noise > 0.0:
            rng = np.random.default_rng(
                _noise_seed(self.seed, request.shop_id, request.customer_id)
            )
            gumbel = self.noise * rng.gumbel(size=n)
        gathered = shop.similarity[seen]
        candidate, inverse = np.unique(gathered.indices, return_inverse=True)
        score = np.bincount(inverse, weights=gathered.data, minlength=len(candidate))
        fresh = ~np.isin(candidate, seen)
        candidate, score = candidate[fresh], score[fresh]
        if gumbel is not None:
            score = score * np.exp(gumbel[candidate])
        order = np.lexsort((shop.fill_rank[candidate], -score))[:k]
        top, top_score = candidate[order], score[order]
        similar = len(top)
        needed = k - similar
        if needed > 0:
            blocked = np.zeros(n, dtype=bool)
            blocked[seen] = True
            blocked[top] = True
            if gumbel is None:
                fill = shop.fill_order[~blocked[shop.fill_order]][:needed]
            else:
                free = np.flatnonzero(~blocked)
                noisy = shop.log_popularity[free] + gumbel[free]
                fill = free[np.lexsort((shop.fill_rank[free], -noisy))[:needed]]
            top = np.concatenate([top, fill])
            top_score = np.concatenate([top_score, np.zeros(len(fill))])
        explain = np.where(np.arange(len(top)) < similar, EXPLAIN_SIMILAR, EXPLAIN_POPULAR)
        if shift:
            utility = -np.log1p(np.arange(len(top))) + shift * shop.price[top]
            keep = np.argsort(-utility, kind="stable")[:asked]
            top, top_score, explain = top[keep], utility[keep], explain[keep]
        return RecommendResponse(
            items=tuple(shop.item_ids[top].tolist()),
            scores=tuple(top_score.tolist()),
            explanations=tuple(explain.tolist()),
        )


def _to_keys(matrix: sparse.csr_matrix, codes: np.ndarray, n_keys: int) -> sparse.csr_matrix:
    """A shop's customer × catalog-row matrix as customer × item_key (still binary)."""
    coo = matrix.tocoo()
    keyed = sparse.csr_matrix(
        (coo.data, (coo.row, codes[coo.col])), shape=(matrix.shape[0], n_keys)
    )
    keyed.sum_duplicates()
    keyed.data[:] = 1.0
    return keyed


def _buyer_share(matrix: sparse.csr_matrix) -> np.ndarray:
    """Each column's share of the matrix's customers who bought it."""
    return np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel() / max(1, matrix.shape[0])


def _check_log(
    where: str, shop_id: str, frame: pd.DataFrame, logs: Mapping[str, InteractionLog]
) -> InteractionLog:
    """The shop's log when it is one over that shop's catalog rows, else raise."""
    log = logs.get(shop_id)
    if not isinstance(log, InteractionLog):
        raise _invalid(where, f"logs[{shop_id!r}]", "an InteractionLog", log)
    ids = frame["item_id"].astype("string").to_numpy(dtype=object)
    if len(log.item_ids) != len(ids) or not np.array_equal(log.item_ids, ids):
        rule = f"the shop's {len(ids)} catalog item ids, in catalog order"
        raise _invalid(where, f"logs[{shop_id!r}].item_ids", rule, list(log.item_ids[:3]))
    return log
