"""The long tail of each shop's catalog, and the share of recommendations drawn from it.

A shop's short head is its ``ceil(HEAD_SHARE · catalog size)`` most popular items, ties broken
by item id; the rest, and items of unknown popularity, are its long tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from auditkit.metrics._overlap import code_bounds
from auditkit.metrics._shown import ShownItems
from auditkit.metrics.popularity._arrays import numbers, padded
from auditkit.metrics.popularity._catalog import catalog_tables
from auditkit.metrics.popularity._inputs import check_exposure_inputs
from auditkit.metrics.popularity._means import per_probe_estimate
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, arrow_strings, lookup_codes, shared_dictionary

LONG_TAIL_ID = "popularity.long_tail_share"
# Share of a list outside the shop's short head (its 20% most popular items); lower is worse.
LONG_TAIL_THRESHOLD = Threshold(warn=0.1, fail=0.02, direction="lower_is_worse")
HEAD_SHARE = 0.2


@dataclass(frozen=True)
class HeadCutoffs:
    """Per shop code: the popularity of its last short-head item, and how ties at it break.

    ``cutoff`` is NaN for a shop without a head. Items of popularity equal to the cutoff are
    in the head when their id is at most the shop's ``last_id``; ``tied_ids`` holds the sorted
    ids of every shop's tied items, ``last`` the position of each shop's ``last_id`` in it.
    """

    cutoff: np.ndarray
    last: np.ndarray
    tied_ids: pa.Array

    def last_ids(self) -> list[str | None]:
        """Each shop's ``last_id`` (None for a shop without a head)."""
        return [None if code < 0 else str(self.tied_ids[int(code)].as_py()) for code in self.last]


def shop_head_cutoffs(
    shop: np.ndarray,
    n_shops: int,
    popularity: np.ndarray,
    item_ids: pd.Series,
    head_share: float = HEAD_SHARE,
) -> HeadCutoffs:
    """The short head of each shop code's catalog rows (``shop``, -1 for none).

    The head is the ``ceil(head_share · catalog size)`` most popular rows, ties broken by
    item id, and never more than the rows of known popularity.
    """
    bounds = code_bounds(shop, n_shops)
    order: np.ndarray | None = None  # rows in order of shop; None: already (a shop is a slice)
    if bounds is None:
        order = np.argsort(shop, kind="stable")
        bounds = np.searchsorted(shop[order], np.arange(n_shops + 1, dtype=shop.dtype))
    cutoff = np.full(n_shops, np.nan)
    wanted = np.zeros(n_shops, dtype=np.int64)
    tied: list[np.ndarray] = []
    # One pass per shop (not per item or probe): a partial sort finds the head's cutoff.
    for code in range(n_shops):
        lo, hi = int(bounds[code]), int(bounds[code + 1])
        values = popularity[lo:hi] if order is None else popularity[order[lo:hi]]
        known = np.isfinite(values)
        count = int(known.sum())
        head = min(math.ceil(head_share * (hi - lo)), count)
        if head == 0:
            tied.append(np.empty(0, dtype=np.int64))
            continue
        ranked = values[known]
        cutoff[code] = float(np.partition(ranked, count - head)[count - head])
        wanted[code] = head - int((ranked > cutoff[code]).sum())
        at_cutoff = lo + np.flatnonzero(known & (values == cutoff[code]))
        tied.append(at_cutoff if order is None else order[at_cutoff])
    # Only the tied items' ids, taken before any string is made (ids may be dictionary codes).
    ids = arrow_strings(item_ids.iloc[np.concatenate(tied)])
    tied_ids, (codes,) = shared_dictionary([ids])
    last = np.full(n_shops, -1, dtype=np.int64)
    start = 0
    for code, members in enumerate(tied):
        if members.size:
            ranks = codes[start : start + members.size]
            last[code] = np.partition(ranks, wanted[code] - 1)[wanted[code] - 1]
        start += members.size
    return HeadCutoffs(cutoff, last, tied_ids)


def head_cutoffs(catalogs: pd.DataFrame, head_share: float = HEAD_SHARE) -> pd.DataFrame:
    """Per shop: the popularity of its last short-head item and the last item id at that value.

    The short head is the ``ceil(head_share · catalog size)`` most popular items, ties broken
    by item id; an item is in it when its popularity is above ``cutoff``, or equal to it with
    an id up to ``last_id``. Items of unknown popularity are never in it; a shop without any
    popularity has no row.
    """
    codes = catalog_tables(catalogs).codes
    shops = codes.dictionary("shop_id")
    found = shop_head_cutoffs(
        codes.of("catalogs", "shop_id"),
        len(shops),
        numbers(catalogs["popularity"]),
        catalogs["item_id"],
        head_share,
    )
    has_head = np.isfinite(found.cutoff)
    last_ids = found.last_ids()
    return pd.DataFrame(
        {
            "shop_id": [str(shops[i]) for i in np.flatnonzero(has_head)],
            "cutoff": found.cutoff[has_head],
            "last_id": [last_ids[i] for i in np.flatnonzero(has_head)],
        }
    )


def _in_tail(tables: AuditTables, shown: ShownItems) -> np.ndarray:
    """1.0 for a shown item outside its shop's head, 0.0 inside, NaN without popularity."""
    codes = tables.codes
    found = shop_head_cutoffs(
        codes.of("catalogs", "shop_id"),
        len(codes.dictionary("shop_id")),
        numbers(tables.catalogs["popularity"]),
        tables.catalogs["item_id"],
    )
    cutoff = padded(found.cutoff, np.nan)[shown.shop]
    popularity = numbers(tables.responses["popularity"])[shown.rows]
    head = popularity > cutoff
    tied = np.flatnonzero(popularity == cutoff)
    if tied.size:
        # Only the rows at their shop's cutoff need their item id: its place among the ties.
        rows = np.flatnonzero(shown.rows)[tied]
        rank = lookup_codes(tables.responses["item_id"].iloc[rows], found.tied_ids)
        head[tied] = (rank >= 0) & (rank <= padded(found.last, -1)[shown.shop[tied]])
    known = np.isfinite(cutoff)
    if known.all():
        return ~head  # a share: booleans, no NaN to filter
    return np.where(known, 1.0 - head, np.nan)


def long_tail_share(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Share of recommended products from the long tail of each shop's catalog.

    The short head of a shop is its ``ceil(0.2 · catalog size)`` most popular items (ties by
    item id); the rest, and items of unknown popularity, are the long tail. Per probe, the share
    of its recommended catalog items in the tail; the value is the mean over probes.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over probes.

    Returns
    -------
    Estimate
        ``by_group = {"persona": {...}}``; ``details`` counts probes used and skipped.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_exposure_inputs(
        LONG_TAIL_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    return per_probe_estimate(
        LONG_TAIL_ID,
        _in_tail,
        tables,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
