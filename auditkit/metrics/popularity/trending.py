"""The global trending set: the products trending across all shops.

The spec's list of trending canonical ids when it gives one (the catalogs' ``trending``
column, see `auditkit.tables.mark_trending`), else the `TRENDING_TOP_N` canonical products
with the highest popularity summed over every shop's catalog. `trend_share` measures how much
of the lists it fills; `trend_leakage` says whether its planted and control products were in
it already; claim verification reads its keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.metrics.popularity._arrays import flags, numbers
from auditkit.metrics.popularity._catalog import catalog_tables
from auditkit.tables import AuditTables

TRENDING_TOP_N = 20
# The catalogs column that marks the spec's trending products (see `tables.mark_trending`).
TRENDING_COLUMN = "trending"
RULE_SPEC = "spec"
RULE_TOP = "top_popularity"
# What the trending set needs from the catalogs.
TRENDING_CATALOG_COLUMNS: tuple[str, ...] = ("item_key", "canonical_id", "popularity")


@dataclass(frozen=True)
class TrendingSet:
    """The trending set as sorted ``item_key`` codes of its tables, and the rule that made it.

    ``rule`` is `RULE_SPEC` (the spec's list) or `RULE_TOP` (the top summed popularity);
    ``dictionary`` is the tables' ``item_key`` dictionary the codes index.
    """

    keys: np.ndarray
    rule: str
    dictionary: np.ndarray

    def mask(self) -> np.ndarray:
        """Per ``item_key`` code, padded for -1 (NA): whether it is trending."""
        mask = np.zeros(len(self.dictionary) + 1, dtype=bool)
        mask[self.keys] = True
        return mask

    def names(self) -> set[str]:
        """The item keys in the set."""
        return {str(self.dictionary[code]) for code in self.keys}


def trending_set(tables: AuditTables, top_n: int = TRENDING_TOP_N) -> TrendingSet:
    """The trending set of ``tables``' catalogs.

    The spec's list when the catalogs carry its ``trending`` column (rule `RULE_SPEC`), else
    the ``top_n`` canonical products by popularity summed over every shop's catalog, ties by
    key (rule `RULE_TOP`).
    """
    catalogs = tables.catalogs
    dictionary = tables.codes.dictionary("item_key")
    key = tables.codes.of("catalogs", "item_key")
    if TRENDING_COLUMN in catalogs.columns:
        marked = key[flags(catalogs[TRENDING_COLUMN])]
        return TrendingSet(np.unique(marked[marked >= 0]).astype(np.int32), RULE_SPEC, dictionary)
    shared = catalogs["canonical_id"].notna().to_numpy(dtype=bool) & (key >= 0)
    keys = key[shared]
    popularity = numbers(catalogs["popularity"])[shared]  # a copy: NaN can become 0 in place
    np.nan_to_num(popularity, copy=False, nan=0.0)
    size = len(dictionary)
    totals = np.bincount(keys, weights=popularity, minlength=size)
    # Any key of positive total outranks a listed key of total 0 or less; with top_n such
    # keys the set is among them. Only totals reaching the top_n-th largest can be in it.
    candidates = np.flatnonzero(totals > 0)
    if candidates.size < top_n:
        candidates = np.flatnonzero(np.bincount(keys, minlength=size))
    if candidates.size > top_n > 0:
        cut = np.partition(totals[candidates], candidates.size - top_n)[candidates.size - top_n]
        candidates = candidates[totals[candidates] >= cut]
    # Highest total first; equal totals in key order (codes are in key order).
    top = candidates[np.lexsort((candidates, -totals[candidates]))][:top_n]
    return TrendingSet(np.sort(top).astype(np.int32), RULE_TOP, dictionary)


def trending_keys(catalogs: pd.DataFrame | AuditTables, top_n: int = TRENDING_TOP_N) -> set[str]:
    """The item keys of the trending set (see `trending_set`), from tables or catalogs.

    Without the spec's ``trending`` column: the ``top_n`` canonical products by popularity
    summed over every shop, ties by id.
    """
    tables = catalogs if isinstance(catalogs, AuditTables) else catalog_tables(catalogs)
    return trending_set(tables, top_n).names()
