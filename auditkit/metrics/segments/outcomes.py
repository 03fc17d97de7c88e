"""Per-probe outcomes of a recommendation list: what the segment metrics compare.

`probe_outcomes` turns the long Responses table into one row per answered probe, with the
price level, price-tier mix, category spread, popularity and signature exposure of its list
(and its hit rate on the persona's held-out products, when the plan records them). Every
column is computed for all probes at once, with group codes and `numpy.bincount`.

Price tiers are each shop's own: a product is ``budget`` or ``premium`` when its price is in
the bottom or top third of *its shop's* catalog (the banding rule of
`auditkit.probes.histories.band_products`, within each shop), so a shop of cheap goods still
has a premium tier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditkit.metrics._customers import CUSTOMER, customer_codes
from auditkit.metrics._matched import answered_mask, sorted_rows
from auditkit.tables import AuditTables, lookup_codes, run_starts

OUTCOMES: tuple[str, ...] = (
    "mean_price",
    "premium_share",
    "budget_share",
    "discount_share",
    "category_entropy",
    "popularity_lift",
    "signature_share",
    "hit_rate",
)
# The list columns the segment metrics require: those `probe_outcomes` reads to tell the
# rows and their items apart, and the price and catalog row it reads them by.
RESPONSE_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "item_id",
    "item_key",
    "price",
    "catalog_row",
)
# Carried from the probes table so that outcomes can be grouped and paired.
KEY_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "persona_id",
    "match_id",
    "pair_id",
    "pair_attribute",
    "repetition",
)
# What every outcome metric reads of the probes table.
PROBE_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, "answered")
LIST_PRICE = "list_price"
HELDOUT = "heldout"
HELDOUT_SEPARATOR = "|"


def _text(values: pd.Series) -> pa.Array:
    """A text column as an Arrow array (no copy when it is Arrow-backed already)."""
    array = pa.array(values.astype("string"))
    return array if array.type == pa.large_string() else array.cast(pa.large_string())


BUDGET, MID, PREMIUM, UNKNOWN = 0, 1, 2, 3


def _shop_price_bands(catalogs: pd.DataFrame) -> np.ndarray:
    """Per catalog row, its price band: `BUDGET`, `MID`, `PREMIUM` or `UNKNOWN` (int8).

    The rule of `auditkit.probes.histories.band_products` (``budget`` at or below the first
    tercile, ``premium`` above the second, ``unknown`` without a price), with the terciles of
    each shop's catalog instead of all shops' products together.
    """
    price = catalogs["price"].astype("float64")
    by_shop = price.groupby(catalogs["shop_id"].to_numpy(), sort=False)
    low = by_shop.transform(lambda p: p.quantile(1 / 3)).to_numpy()
    high = by_shop.transform(lambda p: p.quantile(2 / 3)).to_numpy()
    values = price.to_numpy()
    return np.select(
        [values <= low, values > high, np.isfinite(values)], [BUDGET, PREMIUM, MID], UNKNOWN
    ).astype(np.int8)


def _share(code: np.ndarray, hit: np.ndarray, counted: np.ndarray, n: int) -> np.ndarray:
    """Per probe code: share of ``counted`` rows with ``hit``; NaN where none counted."""
    numerator = np.bincount(code, weights=(hit & counted).astype(np.float64), minlength=n)
    denominator = np.bincount(code, weights=counted.astype(np.float64), minlength=n)
    out = np.full(n, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _mean(code: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per probe code: mean of the finite ``values``; NaN where none."""
    finite = np.isfinite(values)
    return _share_of_sums(code[finite], values[finite], n)


def _share_of_sums(code: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    total = np.bincount(code, weights=values, minlength=n)
    count = np.bincount(code, minlength=n).astype(np.float64)
    out = np.full(n, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def _entropy(code: np.ndarray, category: np.ndarray, n: int) -> np.ndarray:
    """Per probe code: Shannon entropy (bits) of the list's categories; NaN without any.

    ``category`` holds the rows' category codes (-1 for none). They are renumbered in order of
    first appearance, so each probe's terms add in the same order whatever the dictionary.
    """
    known = category >= 0
    category_code = np.full(category.size, -1, dtype=np.int64)
    category_code[known], names = pd.factorize(category[known])
    key = code[known].astype(np.int64) * max(1, len(names)) + category_code[known]
    key.sort()  # a sort, not numpy's hash table: np.unique's result, faster at millions
    starts = run_starts(key)
    cells, counts = key[starts], np.diff(np.append(starts, key.size))
    owner = cells // max(1, len(names))
    totals = np.bincount(owner, weights=counts, minlength=n)
    p = counts / totals[owner]
    entropy = np.bincount(owner, weights=-p * np.log2(p), minlength=n)
    return np.where(totals > 0, entropy + 0.0, np.nan)


def _shop_totals(tables: AuditTables) -> np.ndarray:
    """Per shop code (padded with NaN for -1): its catalog's total popularity, or NaN.

    NaN where the catalog has no popularity, or its total is not positive.
    """
    totals = tables.catalogs.groupby("shop_id")["popularity"].sum(min_count=1)
    totals = totals.where(totals > 0)
    shops = pd.Index(tables.codes.dictionary("shop_id"), dtype="string")
    out = np.full(len(shops) + 1, np.nan)
    out[shops.get_indexer(totals.index.astype("string"))] = totals.to_numpy(dtype=np.float64)
    return out


def _popularity_share(
    tables: AuditTables, table: str, rows: np.ndarray, totals: np.ndarray
) -> np.ndarray:
    """Popularity of ``table``'s ``rows`` as a share of their shop's total (NaN if unknown)."""
    shop = tables.codes.of(table, "shop_id")[rows]
    popularity = getattr(tables, table)["popularity"].astype("float64").to_numpy()[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        return popularity / totals[shop]


def _signature_rows(rows: pd.DataFrame, signatures: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Whether each row's item is in its shop's signature (a category or an item id)."""
    marks = pd.DataFrame(
        [(str(shop), str(value)) for shop, values in signatures.items() for value in values],
        columns=["shop_id", "value"],
    ).drop_duplicates()
    marks["shop_id"] = marks["shop_id"].astype("string")
    marks["value"] = marks["value"].astype("string")
    keys = pd.MultiIndex.from_frame(marks)
    by_category = pd.MultiIndex.from_arrays(
        [rows["shop_id"].astype("string"), rows["category"].astype("string")]
    )
    by_item = pd.MultiIndex.from_arrays(
        [rows["shop_id"].astype("string"), rows["item_id"].astype("string")]
    )
    return np.asarray(by_category.isin(keys) | by_item.isin(keys), dtype=bool)


# Held-out products per probe compared item by item up to this many; beyond, a sorted lookup.
_FEW_HELDOUT = 8


def _hits(
    tables: AuditTables, probes: pd.DataFrame, item: np.ndarray, code: np.ndarray, n: int
) -> np.ndarray:
    """Per probe: 1 when its list holds one of its held-out products, 0 if not, NaN if none.

    ``item`` and ``code`` are the list rows' ``item_key`` codes and probe codes.
    """
    if HELDOUT not in probes.columns:
        return np.full(n, np.nan)
    lists = pc.split_pattern(_text(probes[HELDOUT]), HELDOUT_SEPARATOR)
    keys = pc.list_flatten(lists)
    owner = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    named = pc.not_equal(keys, "").to_numpy(zero_copy_only=False)
    owner, keys = owner[named], keys.filter(pa.array(named))
    has_heldout = np.bincount(owner, minlength=n) > 0
    held = lookup_codes(keys, tables.codes.dictionary("item_key")).astype(np.int64)
    # A held-out product that no table holds cannot be hit.
    owner, held = owner[held >= 0], held[held >= 0]
    shown = item >= 0
    per_probe = np.bincount(owner, minlength=n)
    most = int(per_probe.max(initial=0))
    if most <= _FEW_HELDOUT:
        # Each probe's held-out codes in a row of a small grid (-1 pads), compared per row.
        grid = np.full((n, max(1, most)), -1, dtype=np.int64)
        order = np.argsort(owner, kind="stable")
        place = np.arange(owner.size) - (np.cumsum(per_probe) - per_probe)[owner[order]]
        grid[owner[order], place] = held[order]
        listed = item[shown].astype(np.int64)
        hit_rows = (grid[code[shown]] == listed[:, None]).any(axis=1)
    else:
        width = len(tables.codes.dictionary("item_key")) + 1
        listed = code[shown].astype(np.int64) * width + item[shown]
        hit_rows = np.isin(listed, owner * width + held)
    hit = np.zeros(n, dtype=bool)
    hit[code[shown][hit_rows]] = True
    return np.where(has_heldout, hit.astype(np.float64), np.nan)


def _in_probe_order(
    frame: pd.DataFrame, code: np.ndarray, within: str
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of listed probes (``code >= 0``) sorted by probe code, then ``within``.

    Returns their positions in ``frame`` and their probe codes. Rows written probe by probe
    in ``within`` order (as `build_tables` writes them) are not sorted again.
    """
    keep = np.flatnonzero(code >= 0)
    value, owner = frame[within].to_numpy()[keep], code[keep]
    in_order = owner.size < 2 or bool(
        ((owner[1:] > owner[:-1]) | ((owner[1:] == owner[:-1]) & (value[1:] >= value[:-1]))).all()
    )
    order = keep if in_order else keep[np.lexsort((value, owner))]
    return order, code[order].astype(np.intp)


def shared_probe_outcomes(
    tables: AuditTables, *, signatures: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """`probe_outcomes`, built once per tables (and signatures) for every segment metric.

    Every segment metric starts from the same outcomes; the first builds them. Callers select
    rows (a new frame) before changing anything, never the shared frame itself.
    """
    marks = None if signatures is None else sorted((k, tuple(v)) for k, v in signatures.items())
    return tables.codes.shared(
        f"probe_outcomes:{marks!r}", lambda: probe_outcomes(tables, signatures=signatures)
    )


def probe_outcomes(
    tables: AuditTables, *, signatures: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """One row per answered probe: its key columns, segment columns and list outcomes.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses``, ``histories`` and ``catalogs``.
    signatures : mapping of str to sequence of str, optional
        Each shop's signature categories and item ids; without it ``signature_share`` is NaN.

    Returns
    -------
    DataFrame
        Sorted by ``probe_id``; `KEY_COLUMNS`, every ``segment.<attribute>`` column,
        ``customer`` (the independent unit, see `auditkit.metrics._customers`) and
        `OUTCOMES`, each NaN where the probe's list gives no evidence:

        - ``mean_price``: mean price of the listed items of known price;
        - ``premium_share`` / ``budget_share``: share of them in the top / bottom price third
          of the shop's catalog;
        - ``discount_share``: share of items priced below the catalog's ``list_price`` (NaN
          when the catalogs have no ``list_price`` column);
        - ``category_entropy``: Shannon entropy, in bits, of the list's categories;
        - ``popularity_lift``: ``(ARP_rec - ARP_hist) / ARP_hist`` with popularity as a share
          of the shop's total (as `auditkit.metrics.popularity.popularity_lift`);
        - ``signature_share``: share of items in the shop's signature;
        - ``hit_rate``: 1 when the list holds one of the probe's held-out products (plan
          column ``heldout``, item keys joined by ``|``), 0 when not.
    """
    codes = tables.codes
    probe_rows, probe_codes = sorted_rows(tables, answered_mask(tables.probes))
    probes = tables.probes.iloc[probe_rows].reset_index(drop=True)
    n = len(probes)
    # Each planned probe code's place among the answered probes (in id order; -1 for none):
    # a probe id given twice takes its first place, as a lookup of the id would.
    local = np.full(len(codes.probe_ids) + 1, -1, dtype=np.int64)
    named = np.flatnonzero(probe_codes >= 0)[::-1]
    local[probe_codes[named]] = named
    # Rows in (probe, rank) order: every per-probe sum then adds in the same order, so the
    # outcomes do not depend on the order the table's rows come in, to the last bit.
    order, code = _in_probe_order(tables.responses, local[codes.response_probe], "rank")

    catalogs = tables.catalogs
    position = codes.catalog_rows("responses")[order]
    in_catalog = position >= 0
    # Bands come in the catalogs' row order, so the catalog position finds them too.
    band = np.where(in_catalog, _shop_price_bands(catalogs)[np.maximum(position, 0)], UNKNOWN)
    banded = band != UNKNOWN

    price = tables.responses["price"].astype("float64").to_numpy()[order]
    out = probes[[*KEY_COLUMNS, *tables.segment_columns]].copy()
    out["mean_price"] = _mean(code, price, n)
    out["premium_share"] = _share(code, band == PREMIUM, banded, n)
    out["budget_share"] = _share(code, band == BUDGET, banded, n)
    if LIST_PRICE in catalogs.columns:
        list_price = catalogs[LIST_PRICE].astype("float64").to_numpy()[np.maximum(position, 0)]
        list_price = np.where(in_catalog, list_price, np.nan)
        known = np.isfinite(price) & np.isfinite(list_price)
        out["discount_share"] = _share(code, price < list_price, known, n)
    else:
        out["discount_share"] = np.nan
    out["category_entropy"] = _entropy(code, codes.of("responses", "category")[order], n)

    totals = _shop_totals(tables)
    arp_rec = _mean(code, _popularity_share(tables, "responses", order, totals), n)
    hist_order, hist_code = _in_probe_order(
        tables.histories, local[codes.history_probe], "position"
    )
    arp_hist = _mean(hist_code, _popularity_share(tables, "histories", hist_order, totals), n)
    out[CUSTOMER] = customer_codes(tables, probe_rows)
    lift = np.full(n, np.nan)
    usable = np.isfinite(arp_rec) & (arp_hist > 0)
    lift[usable] = (arp_rec[usable] - arp_hist[usable]) / arp_hist[usable]
    out["popularity_lift"] = lift

    if signatures is None:
        out["signature_share"] = np.nan
    else:
        rows = tables.responses[["shop_id", "item_id", "category"]].iloc[order]
        marked = _signature_rows(rows, signatures)
        out["signature_share"] = _share(code, marked, np.ones(len(rows), dtype=bool), n)
    out["hit_rate"] = _hits(tables, probes, codes.of("responses", "item_key")[order], code, n)
    return out
