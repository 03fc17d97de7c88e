"""Matched probes across shops as integer codes: the input every cross-shop metric shares.

A match group (``match_id``) is one synthetic customer carried into every shop; the metrics
compare its answered first-repetition lists at different shops, pair by pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.metrics._customers import customer_codes
from auditkit.metrics._overlap import (
    RankedLists,
    group_pairs,
    pair_jaccard,
    sold_counts,
    table_lists,
)
from auditkit.tables import AuditTables, distinct

MATCH_PROBE_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "persona_id",
    "match_id",
    "repetition",
    "answered",
)
MATCH_RESPONSE_COLUMNS: tuple[str, ...] = ("probe_id", "rank", "item_key")
# Customers asked with the very same history at two shops, enough for a verdict on their own
# (a `Threshold`'s default ``min_units``): with as many, the cross-shop metrics compare them.
SAME_CUSTOMERS = 10


def answered_mask(probes: pd.DataFrame) -> np.ndarray:
    """Which probes the vendor answered (a missing flag counts as unanswered)."""
    return probes["answered"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def sorted_rows(tables: AuditTables, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``probes`` of the rows of the mask ``keep``, sorted by id, and their codes.

    A probe without an id goes last, as in ``sort_values``.
    """
    rows = np.flatnonzero(keep)
    probe_codes = tables.codes.probe[rows]
    # Sorting by code is sorting by id.
    order = np.argsort(
        np.where(probe_codes < 0, np.iinfo(np.int32).max, probe_codes), kind="stable"
    )
    return rows[order], probe_codes[order]


def column_codes(tables: AuditTables, column: str, rows: np.ndarray) -> np.ndarray:
    """`codes` of the ``probes`` column at ``rows``, read from the shared table codes.

    Dense codes ``0..m-1`` in sorted order of the values, NA first (a value of its own).
    """
    _, found = np.unique(tables.codes.of("probes", column)[rows], return_inverse=True)
    return found.astype(np.int64)


def column_labels(tables: AuditTables, column: str, rows: np.ndarray) -> np.ndarray:
    """The ``probes`` column's values at ``rows`` (object array of str, ``pd.NA`` for NA)."""
    found = tables.codes.of("probes", column)[rows]
    names = np.append(tables.codes.dictionary(column).astype(object), pd.NA)
    return names[np.where(found < 0, names.size - 1, found)]


@dataclass(frozen=True)
class MatchedPairs:
    """First-repetition answered probes (sorted by id), their lists, and cross-shop pairs.

    Probe code ``c`` is row ``rows[c]`` of ``tables.probes`` (table probe code
    ``probe_codes[c]``); ``group[c]`` its match group code and ``customer[c]`` its customer
    (`customer_codes`); ``pair_a < pair_b`` the probe codes of every pair in one match group at
    different shops, ``pair_group`` that group's code.
    """

    rows: np.ndarray
    probe_codes: np.ndarray
    lists: RankedLists
    group: np.ndarray
    pair_group: np.ndarray
    pair_a: np.ndarray
    pair_b: np.ndarray
    customer: np.ndarray

    def group_customers(self) -> np.ndarray:
        """Per match group code: its customer (all of a group's probes share one)."""
        n_groups = int(self.group.max()) + 1 if self.group.size else 0
        out = np.zeros(n_groups, dtype=np.int64)
        out[self.group] = self.customer
        return out


def matched_pairs(tables: AuditTables) -> MatchedPairs:
    """The cross-shop pairs of the answered first-repetition probes of ``tables``.

    Built once per tables and shared by every cross-shop metric (`TableCodes.shared`).
    """
    return tables.codes.shared("matched_pairs", lambda: _frozen(_matched_pairs(tables)))


def matched_jaccard(tables: AuditTables) -> np.ndarray:
    """The Jaccard overlap of every pair of `matched_pairs` on the products both shops sell.

    Shared like the pairs. A pair whose lists hold no product that both shops sell is NaN:
    it says nothing about whether the vendor shows both shops the same things.
    """
    matched = matched_pairs(tables)

    def build() -> np.ndarray:
        shop = tables.codes.of("probes", "shop_id")[matched.rows]
        comparable = comparable_lengths(
            tables, matched.lists, shop, matched.pair_a, matched.pair_b
        )
        return read_only(
            pair_jaccard(
                matched.lists, matched.group, matched.pair_a, matched.pair_b, comparable=comparable
            )
        )

    return tables.codes.shared("matched_jaccard", build)


def comparable_lengths(
    tables: AuditTables,
    lists: RankedLists,
    shop: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: how many items of list ``pair_a`` the shop of ``pair_b`` sells, and back.

    ``shop[c]`` is list ``c``'s shop code. Items are ``item_key`` codes, so a product is sold by
    another shop when that shop's catalog has the same canonical id.
    """
    n_items = len(tables.codes.dictionary("item_key"))

    def build() -> np.ndarray:
        codes = tables.codes
        shops = codes.of("catalogs", "shop_id").astype(np.int64)
        items = codes.of("catalogs", "item_key")
        known = (shops >= 0) & (items >= 0)
        return read_only(distinct(shops[known] * n_items + items[known]))

    sold = tables.codes.shared("sold_items", build)
    n_a = sold_counts(lists, pair_a, shop[pair_b], sold, n_items)
    n_b = sold_counts(lists, pair_b, shop[pair_a], sold, n_items)
    return n_a, n_b


def read_only(array: np.ndarray) -> np.ndarray:
    """``array``, no longer writeable: it is shared by every metric of the tables."""
    array.flags.writeable = False
    return array


def _frozen(matched: MatchedPairs) -> MatchedPairs:
    """``matched`` with every array read-only (see `read_only`)."""
    for part in (matched, matched.lists):
        for value in vars(part).values():
            if isinstance(value, np.ndarray):
                read_only(value)
    return matched


def _matched_pairs(tables: AuditTables) -> MatchedPairs:
    probes = tables.probes
    keep = answered_mask(probes) & (probes["repetition"] == 0).to_numpy(dtype=bool)
    rows, probe_codes = sorted_rows(tables, keep)
    lists = table_lists(tables, probe_codes)
    group = column_codes(tables, "match_id", rows)
    shop = tables.codes.of("probes", "shop_id")[rows]
    pair_group, pair_a, pair_b = group_pairs(group, shop)
    customer = customer_codes(tables, rows)
    if "history_mapped" in probes.columns:
        pair_group, pair_a, pair_b = _same_customer_pairs(
            probes["history_mapped"].to_numpy(dtype=np.float64, na_value=np.nan)[rows],
            customer,
            pair_group,
            pair_a,
            pair_b,
        )
    return MatchedPairs(rows, probe_codes, lists, group, pair_group, pair_a, pair_b, customer)


def _same_customer_pairs(
    mapped: np.ndarray,
    customer: np.ndarray,
    pair_group: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs between shops that got the very same history, where the design has them.

    ``mapped`` is each probe's ``history_mapped``: 1 when every history product was carried
    as itself. A pair of two such probes is one customer asked as itself at two shops: what a
    shared model answers alike. When `SAME_CUSTOMERS` customers or more have such pairs, the
    pairs compared are those alone: the others (substituted histories, each shop's own typical
    or signature customer) ask different questions at each shop and would dilute the very
    agreement pooling makes. With fewer, a match group with such a pair keeps only those and a
    group without one keeps all its pairs.
    """
    exact = mapped[pair_a] == 1.0
    exact &= mapped[pair_b] == 1.0
    if exact.all() or not exact.any():
        return pair_group, pair_a, pair_b
    if distinct(customer[pair_a[exact]]).size >= SAME_CUSTOMERS:
        return pair_group[exact], pair_a[exact], pair_b[exact]
    has_exact = np.zeros(int(pair_group.max()) + 1, dtype=bool)
    has_exact[pair_group[exact]] = True
    keep = exact | ~has_exact[pair_group]
    return pair_group[keep], pair_a[keep], pair_b[keep]


def group_mean(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of the finite ``values`` per group code; NaN for a group with none."""
    finite = np.isfinite(values)
    sums = np.bincount(groups[finite], weights=values[finite], minlength=n_groups)
    counts = np.bincount(groups[finite], minlength=n_groups)
    out = np.full(n_groups, np.nan)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def by_label(labels: pd.Series, values: np.ndarray) -> dict[str, float]:
    """Mean of the finite ``values`` per label, as a plain dict sorted by label."""
    frame = pd.DataFrame({"label": labels.astype("string").to_numpy(), "value": values})
    frame = frame[np.isfinite(values)]
    means = frame.groupby("label", sort=True)["value"].mean()
    return {str(k): float(v) for k, v in means.items()}
