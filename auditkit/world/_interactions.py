"""Seeded synthetic interaction logs: what each shop's customers bought, session by session.

Each customer of a shop has a few favourite categories, drawn in proportion to the
categories' shares of the shop's catalog. A customer's sessions each stay in one category (a
favourite with probability ``category_focus``, else any category by its share), and every
item of a session is drawn from that category with probability proportional to
``(1 + popularity) ** popularity_tilt``: the shop's own sales. Since shared products popular
in one shop tend to be popular in all (see `auditkit.world.generate_world`), the shops'
bestsellers partly agree, and a model trained on pooled logs sees that agreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from auditkit.world._generator import _integer, _invalid, _number

# Mixed into the seed so the logs never reuse the streams `generate_world` draws the
# catalogs from (both start from the audit's one seed).
INTERACTIONS_STREAM = 0x10C5


@dataclass(frozen=True, eq=False)
class InteractionLog:
    """One shop's interaction log: one row per purchase, as parallel arrays.

    ``customer`` and ``session`` are 0-based codes; ``item`` is the row of the purchased item
    in the shop's catalog, whose ``item_id`` column is ``item_ids``.
    """

    shop_id: str
    customer: np.ndarray
    session: np.ndarray
    item: np.ndarray
    n_customers: int
    item_ids: np.ndarray

    def matrix(self) -> sparse.csr_matrix:
        """The binary customer × item matrix (1 where the customer bought the item).

        Returns
        -------
        scipy.sparse.csr_matrix
            Shape ``(n_customers, len(item_ids))``, float64.
        """
        ones = np.ones(len(self.item), dtype=np.float64)
        shape = (self.n_customers, len(self.item_ids))
        matrix = sparse.csr_matrix((ones, (self.customer, self.item)), shape=shape)
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return matrix

    def to_frame(self) -> pd.DataFrame:
        """The log as a table: ``customer_id``, ``session``, ``item_id``.

        Returns
        -------
        DataFrame
            One row per purchase; customer ids read ``{shop_id}-u00001``...
        """
        width = max(5, len(str(self.n_customers)))
        names = np.array(
            [f"{self.shop_id}-u{n:0{width}d}" for n in range(1, self.n_customers + 1)]
        )
        return pd.DataFrame(
            {
                "customer_id": pd.array(names[self.customer], dtype="string"),
                "session": self.session,
                "item_id": pd.array(self.item_ids[self.item], dtype="string"),
            }
        )


def generate_interactions(
    catalogs: Mapping[str, pd.DataFrame],
    *,
    seed: int,
    customers_per_shop: int = 2000,
    sessions_per_customer: float = 3.0,
    items_per_session: float = 3.0,
    favourite_categories: int = 2,
    category_focus: float = 0.8,
    popularity_tilt: float = 1.0,
) -> dict[str, InteractionLog]:
    """Draw a seeded interaction log for every shop from its own catalog.

    Parameters
    ----------
    catalogs : mapping of str to DataFrame
        Validated catalogs keyed by shop id (``item_id``, ``category``; ``popularity``, if
        present, tilts the draws; missing popularity counts as zero).
    seed : int
        Non-negative seed; shop ``i`` of the sorted shop ids draws from child ``i`` of
        ``np.random.SeedSequence([INTERACTIONS_STREAM, seed])``.
    customers_per_shop : int, default 2000
        Customers of each shop (every one buys at least one item).
    sessions_per_customer : float, default 3.0
        Mean sessions per customer (at least one each: ``1 + Poisson(mean - 1)``).
    items_per_session : float, default 3.0
        Mean purchases per session (at least one each: ``1 + Poisson(mean - 1)``).
    favourite_categories : int, default 2
        Favourite categories per customer (at most the shop's number of categories).
    category_focus : float, default 0.8
        Probability that a session is in one of the customer's favourite categories.
    popularity_tilt : float, default 1.0
        Exponent of ``1 + popularity`` in the item draws: 0 is uniform within a category,
        1 proportional to the shop's sales.

    Returns
    -------
    dict of str to InteractionLog
        Keyed by shop id, sorted.

    Raises
    ------
    ValueError
        When a parameter is out of range, with the message `auditkit.errors.INVALID_ARGUMENT`.
    """
    where = "generate_interactions"
    seed = _integer(where, "seed", seed, low=0)
    customers_per_shop = _integer(where, "customers_per_shop", customers_per_shop, low=1)
    sessions_per_customer = _number(where, "sessions_per_customer", sessions_per_customer, low=1.0)
    items_per_session = _number(where, "items_per_session", items_per_session, low=1.0)
    favourite_categories = _integer(where, "favourite_categories", favourite_categories, low=1)
    category_focus = _number(where, "category_focus", category_focus, low=0.0, high=1.0)
    popularity_tilt = _number(where, "popularity_tilt", popularity_tilt, low=0.0)
    shop_ids = sorted(str(shop) for shop in catalogs)
    by_id = {str(shop): frame for shop, frame in catalogs.items()}
    seeds = np.random.SeedSequence([INTERACTIONS_STREAM, seed]).spawn(len(shop_ids))
    logs = {}
    for shop_id, child in zip(shop_ids, seeds, strict=True):
        frame = by_id[shop_id]
        if len(frame) == 0:
            raise _invalid(where, f"catalogs[{shop_id!r}]", "a catalog with items", len(frame))
        logs[shop_id] = _shop_log(
            shop_id,
            frame,
            np.random.default_rng(child),
            customers=customers_per_shop,
            sessions=sessions_per_customer,
            items=items_per_session,
            favourites=favourite_categories,
            focus=category_focus,
            tilt=popularity_tilt,
        )
    return logs


def _shop_log(
    shop_id: str,
    frame: pd.DataFrame,
    rng: np.random.Generator,
    *,
    customers: int,
    sessions: float,
    items: float,
    favourites: int,
    focus: float,
    tilt: float,
) -> InteractionLog:
    """One shop's log, every draw vectorized over customers, sessions and purchases."""
    category, _ = pd.factorize(frame["category"].astype("string"), sort=True)
    n_categories = int(category.max()) + 1
    if "popularity" in frame.columns:
        sales = frame["popularity"].astype("float64").fillna(0.0).to_numpy()
    else:
        sales = np.zeros(len(frame))
    weight = (1.0 + sales) ** tilt
    share = np.bincount(category, minlength=n_categories) / len(frame)

    # Each category's items as one run of a sorted array whose cumulative weights, scaled
    # within the run, rise from c to c + 1: one searchsorted draws every purchase at once.
    order = np.argsort(category, kind="stable")
    grouped = category[order]
    cumulative = np.cumsum(weight[order])
    totals = np.bincount(grouped, weights=weight[order], minlength=n_categories)
    before = np.concatenate([[0.0], np.cumsum(totals)[:-1]])
    cdf = grouped + (cumulative - before[grouped]) / totals[grouped]
    last = np.cumsum(np.bincount(grouped, minlength=n_categories)) - 1
    first = last - np.bincount(grouped, minlength=n_categories) + 1

    # Favourites without repeats: the Gumbel-top-k trick on the categories' log shares.
    picks = min(favourites, n_categories)
    keys = np.log(share)[None, :] + rng.gumbel(size=(customers, n_categories))
    favourite = np.argpartition(-keys, picks - 1, axis=1)[:, :picks]

    per_customer = 1 + rng.poisson(sessions - 1.0, size=customers)
    session_customer = np.repeat(np.arange(customers), per_customer)
    n_sessions = len(session_customer)
    focused = rng.random(n_sessions) < focus
    chosen = favourite[session_customer, rng.integers(picks, size=n_sessions)]
    anywhere = rng.choice(n_categories, size=n_sessions, p=share)
    session_category = np.where(focused, chosen, anywhere)

    per_session = 1 + rng.poisson(items - 1.0, size=n_sessions)
    session = np.repeat(np.arange(n_sessions), per_session)
    wanted = session_category[session]
    position = np.searchsorted(cdf, wanted + rng.random(len(session)), side="right")
    # Rounding can leave a run's ends a hair off c and c + 1.
    position = np.clip(position, first[wanted], last[wanted])
    return InteractionLog(
        shop_id=shop_id,
        customer=session_customer[session].astype(np.int64),
        session=session.astype(np.int64),
        item=order[position].astype(np.intp),
        n_customers=customers,
        item_ids=frame["item_id"].astype("string").to_numpy(dtype=object),
    )
