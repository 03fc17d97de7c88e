"""Reliance on popular and trending items, measured on what the vendor exposes.

Per probe: average recommendation popularity (`arp`), the long-tail share (`long_tail_share`)
and the share of globally trending products (`trend_share`). Per shop, over its whole catalog:
the Gini coefficient of exposure (`gini`) and catalog coverage (`coverage`). All read the
answered first-repetition probes of the core tables.

Everything runs on integer arrays: the id columns through the tables' shared codes
(`AuditTables.codes`), the numbers straight from their columns. A per-probe value is one
``np.bincount`` over the probe codes of the list rows; a recommended item's shop is its
probe's (the responses carry their probe's ``shop_id``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditkit.metrics._matched import group_mean, read_only
from auditkit.metrics._overlap import code_bounds, code_counts, code_sums, index_dtype
from auditkit.metrics._shown import ShownItems, core_mask, probe_means, shown_items
from auditkit.metrics.stats import bootstrap_ci, check_columns, check_metric_inputs
from auditkit.results import MetricResult, Threshold
from auditkit.tables import (
    AuditTables,
    arrow_strings,
    lookup_codes,
    run_starts,
    shared_dictionary,
)

FAMILY = "popularity"
PROBE_COLUMNS: tuple[str, ...] = ("probe_id", "shop_id", "persona_id", "repetition", "answered")
RESPONSE_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "item_id",
    "item_key",
    "popularity",
    "catalog_row",
)
CATALOG_COLUMNS: tuple[str, ...] = ("shop_id", "item_id", "item_key", "canonical_id", "popularity")

ARP_ID = "popularity.arp"
# Relative popularity: 1 = as popular as the shop's average item. On the built-in world a list
# of each shop's own bestsellers scores about 11, a personalized one about 9. See docs/metrics.md.
ARP_THRESHOLD = Threshold(warn=10.0, fail=20.0)
LONG_TAIL_ID = "popularity.long_tail_share"
# Share of a list outside the shop's short head (its 20% most popular items); lower is worse.
LONG_TAIL_THRESHOLD = Threshold(warn=0.1, fail=0.02, direction="lower_is_worse")
HEAD_SHARE = 0.2
GINI_ID = "popularity.gini"
# Shop-level metrics: a verdict needs five shops. See docs/metrics.md.
GINI_THRESHOLD = Threshold(warn=0.95, fail=0.99, min_units=5)
COVERAGE_ID = "popularity.coverage"
COVERAGE_THRESHOLD = Threshold(warn=0.2, fail=0.1, direction="lower_is_worse", min_units=5)
TREND_SHARE_ID = "popularity.trend_share"
# The trending set, unless the spec names it: this many canonical products, by popularity
# summed over every shop.
TRENDING_TOP_N = 20
TREND_SHARE_THRESHOLD = Threshold(warn=0.3, fail=0.45)
# The catalogs column that marks the spec's trending products (see `frames.mark_trending`).
TRENDING_COLUMN = "trending"
RULE_SPEC = "spec"
RULE_TOP = "top_popularity"
TRENDING_RULES = {
    RULE_SPEC: "the {count} products the audit spec names as trending",
    RULE_TOP: "the {count} products trending across all shops (highest popularity summed "
    "over every shop's catalog)",
}

SUMMARY = {
    ARP_ID: "Recommended products are on average {value:.1f} times as popular as their shop's "
    "average product.",
    LONG_TAIL_ID: "{value:.0%} of recommended products come from the long tail (outside each "
    "shop's 20% most popular products).",
    GINI_ID: "Exposure is concentrated: the Gini coefficient of how often each catalog product "
    "is shown is {value:.2f} (0 = all shown equally, 1 = one product shown alone).",
    COVERAGE_ID: "The recommendations reach {value:.0%} of each shop's catalog on average.",
    TREND_SHARE_ID: "{value:.0%} of recommended products are among {trending}.",
}
SUMMARY_NONE = "{name} could not be measured: {reason}."
REASON_NO_POPULARITY = "no shop catalog gives item popularity"
REASON_NO_PROBES = "no answered probe recommended a catalog item of known popularity"
REASON_NO_SHOPS = "no shop has an answered probe and a catalog"


def _checked(
    metric_id: str,
    tables: AuditTables,
    threshold: object,
    options: dict[str, Any],
) -> None:
    check_metric_inputs(metric_id, tables, threshold, **options)
    check_columns(metric_id, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(metric_id, "tables.responses", tables.responses, RESPONSE_COLUMNS)
    check_columns(metric_id, "tables.catalogs", tables.catalogs, CATALOG_COLUMNS)


def flags(column: pd.Series) -> np.ndarray:
    """A boolean column as a numpy mask, NA counted as False (no copy for a plain bool one)."""
    if column.dtype == np.bool_:
        return column.to_numpy()
    return column.astype("boolean").fillna(False).to_numpy(dtype=bool)


def numbers(column: pd.Series) -> np.ndarray:
    """A numeric column as float64, NA as NaN (no copy for a float64 column)."""
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def padded(values: np.ndarray, fill: object) -> np.ndarray:
    """``values`` with ``fill`` appended: indexing with code -1 (NA) then reads ``fill``."""
    return np.concatenate([values, np.array([fill], dtype=values.dtype)])


def _result(
    metric_id: str,
    unit: str,
    values: np.ndarray,
    *,
    threshold: Threshold,
    ci: tuple[float, float] | None,
    by_group: dict[str, dict[str, float]],
    details: dict[str, object],
    reason: str,
    **summary: object,
) -> MetricResult:
    n = len(values)
    if n == 0:
        value = math.nan
        details = {**details, "reason": reason}
        text = SUMMARY_NONE.format(name=metric_id, reason=reason)
    else:
        value = float(values.mean())
        text = SUMMARY[metric_id].format(value=value, **summary)
    return MetricResult(
        id=metric_id,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=unit,
        verdict=threshold.verdict(value, ci, n),
        threshold=threshold,
        by_group=by_group,
        details=details,
        summary=text,
    )


def label_means(codes: np.ndarray, values: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Mean of the finite ``values`` per label code (into ``labels``), sorted by label.

    Code -1 (no label) is left out, as are labels without a finite value.
    """
    known = codes >= 0
    means = group_mean(codes[known], values[known], len(labels))
    return {str(labels[i]): float(means[i]) for i in np.flatnonzero(np.isfinite(means))}


def _per_probe_metric(
    metric_id: str,
    default: Threshold,
    item_value: Callable[[AuditTables, ShownItems], np.ndarray],
    tables: AuditTables,
    threshold: Threshold | None,
    n_resamples: int,
    confidence: float,
    seed: int,
    *,
    details: dict[str, object] | None = None,
    **summary: object,
) -> MetricResult:
    """A mean over probes of the mean of ``item_value`` over each probe's shown items."""
    options = {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}
    _checked(metric_id, tables, threshold, options)
    threshold = default if threshold is None else threshold
    shown = shown_items(tables)
    used, array = probe_means(shown, item_value(tables, shown))
    persona = tables.codes.per_probe("persona_id")
    ci = (
        bootstrap_ci(array, n_resamples=n_resamples, confidence=confidence, seed=seed)
        if len(array)
        else None
    )
    # Why nothing was measured, when nothing was: read the catalogs only then.
    no_popularity = (
        len(array) == 0 and not np.isfinite(numbers(tables.catalogs["popularity"])).any()
    )
    labels = tables.codes.dictionary("persona_id")
    return _result(
        metric_id,
        "probe",
        array,
        threshold=threshold,
        ci=ci,
        by_group={"persona": label_means(persona[used], array, labels)},
        details={
            "probes": len(array),
            "probes_skipped": len(shown.probes) - len(array),
            **(details or {}),
        },
        reason=REASON_NO_POPULARITY if no_popularity else REASON_NO_PROBES,
        **summary,
    )


def shop_popularity(tables: AuditTables) -> tuple[np.ndarray, np.ndarray]:
    """Per shop code: the sum of its catalog's known popularity, and how many items know it."""
    shop = tables.codes.of("catalogs", "shop_id")
    popularity = numbers(tables.catalogs["popularity"])
    size = len(tables.codes.dictionary("shop_id"))
    known = np.isfinite(popularity)
    if not known.all():
        shop = np.where(known, shop, -1)  # an item of unknown popularity counts in no shop
    return code_sums(shop, popularity, size), code_counts(shop, size)


def _shop_mean_popularity(tables: AuditTables) -> np.ndarray:
    """Per shop code, the mean known popularity of its catalog (NaN unless positive), padded."""
    sums, counts = shop_popularity(tables)
    mean = np.full(sums.size + 1, np.nan)
    np.divide(sums, counts, out=mean[:-1], where=counts > 0)
    mean[~(mean > 0)] = np.nan
    return mean


def _relative_popularity(tables: AuditTables, shown: ShownItems) -> np.ndarray:
    """Each shown item's popularity over its shop's mean catalog popularity."""
    popularity = numbers(tables.responses["popularity"])[shown.rows]
    return popularity / _shop_mean_popularity(tables)[shown.shop]


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
    ids = pc.take(arrow_strings(item_ids), pa.array(np.concatenate(tied), pa.int64()))
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
    codes = _catalog_tables(catalogs).codes
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
        item_ids = arrow_strings(tables.responses["item_id"])
        rank = lookup_codes(pc.take(item_ids, pa.array(rows, type=pa.int64())), found.tied_ids)
        head[tied] = (rank >= 0) & (rank <= padded(found.last, -1)[shown.shop[tied]])
    known = np.isfinite(cutoff)
    if known.all():
        return ~head  # a share: booleans, no NaN to filter
    return np.where(known, 1.0 - head, np.nan)


def _catalog_tables(catalogs: pd.DataFrame) -> AuditTables:
    """Tables of the catalogs alone, to code their id columns."""
    empty = pd.DataFrame()
    return AuditTables(probes=empty, responses=empty, histories=empty, catalogs=catalogs)


def trending_codes(tables: AuditTables, top_n: int = TRENDING_TOP_N) -> tuple[np.ndarray, str]:
    """The trending set as sorted ``item_key`` codes, and the rule that made it.

    The spec's list when the catalogs carry its ``trending`` column (rule `RULE_SPEC`), else
    the ``top_n`` canonical products by popularity summed over every shop's catalog, ties by
    key (rule `RULE_TOP`).
    """
    catalogs = tables.catalogs
    key = tables.codes.of("catalogs", "item_key")
    if TRENDING_COLUMN in catalogs.columns:
        marked = key[flags(catalogs[TRENDING_COLUMN])]
        return np.unique(marked[marked >= 0]).astype(np.int32), RULE_SPEC
    shared = catalogs["canonical_id"].notna().to_numpy(dtype=bool) & (key >= 0)
    keys = key[shared]
    popularity = numbers(catalogs["popularity"])[shared]  # a copy: NaN can become 0 in place
    np.nan_to_num(popularity, copy=False, nan=0.0)
    size = len(tables.codes.dictionary("item_key"))
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
    return np.sort(top).astype(np.int32), RULE_TOP


def trending_keys(catalogs: pd.DataFrame | AuditTables, top_n: int = TRENDING_TOP_N) -> set[str]:
    """The item keys of the trending set (see `trending_codes`), from tables or catalogs.

    Without the spec's ``trending`` column: the ``top_n`` canonical products by popularity
    summed over every shop, ties by id.
    """
    tables = catalogs if isinstance(catalogs, AuditTables) else _catalog_tables(catalogs)
    keys, _ = trending_codes(tables, top_n)
    dictionary = tables.codes.dictionary("item_key")
    return {str(dictionary[code]) for code in keys}


def _trending_mask(tables: AuditTables) -> tuple[np.ndarray, str, int]:
    """Per ``item_key`` code (padded for -1): whether it is trending; the rule; the set size."""
    keys, rule = trending_codes(tables)
    mask = np.zeros(len(tables.codes.dictionary("item_key")) + 1, dtype=bool)
    mask[keys] = True
    return mask, rule, len(keys)


def arp(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Average recommendation popularity, relative to each shop's average product.

    Per answered first-repetition probe, the mean over its recommended catalog items of known
    popularity of ``popularity(i) / mean popularity of the shop's catalog``; the value is the
    mean over probes. 1 means as popular as the shop's average product.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    threshold : Threshold, optional
        Judges the value; `ARP_THRESHOLD` when omitted.
    n_resamples, confidence, seed
        The bootstrap over probes.

    Returns
    -------
    MetricResult
        ``by_group = {"persona": {...}}``; ``details`` counts probes used and skipped.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    return _per_probe_metric(
        ARP_ID,
        ARP_THRESHOLD,
        _relative_popularity,
        tables,
        threshold,
        n_resamples,
        confidence,
        seed,
    )


def long_tail_share(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Share of recommended products from the long tail of each shop's catalog.

    The short head of a shop is its ``ceil(0.2 · catalog size)`` most popular items (ties by
    item id); the rest, and items of unknown popularity, are the long tail. Per probe, the share
    of its recommended catalog items in the tail; the value is the mean over probes.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    threshold : Threshold, optional
        Judges the value; `LONG_TAIL_THRESHOLD` (lower is worse) when omitted.
    n_resamples, confidence, seed
        The bootstrap over probes.

    Returns
    -------
    MetricResult
        ``by_group = {"persona": {...}}``; ``details`` counts probes used and skipped.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    return _per_probe_metric(
        LONG_TAIL_ID,
        LONG_TAIL_THRESHOLD,
        _in_tail,
        tables,
        threshold,
        n_resamples,
        confidence,
        seed,
    )


def trend_share(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Share of recommended products in the global trending set.

    The trending set is the spec's list of trending canonical ids when it gives one (the
    catalogs' ``trending`` column), else the `TRENDING_TOP_N` canonical products with the
    highest popularity summed over every shop's catalog (`trending_codes`). Per probe, the
    share of its recommended catalog items in it; the value is the mean over probes.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    threshold : Threshold, optional
        Judges the value; `TREND_SHARE_THRESHOLD` when omitted.
    n_resamples, confidence, seed
        The bootstrap over probes.

    Returns
    -------
    MetricResult
        ``by_group = {"persona": {...}}``; ``details`` counts probes used and skipped, and
        says which rule made the set (``trending_rule``: ``"spec"`` or ``"top_popularity"``)
        and how many products it holds (``trending_products``).

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    _checked(
        TREND_SHARE_ID,
        tables,
        threshold,
        {"n_resamples": n_resamples, "confidence": confidence, "seed": seed},
    )
    trending, rule, count = _trending_mask(tables)

    def in_set(tables: AuditTables, shown: ShownItems) -> np.ndarray:
        return trending[tables.codes.of("responses", "item_key")[shown.rows]]

    return _per_probe_metric(
        TREND_SHARE_ID,
        TREND_SHARE_THRESHOLD,
        in_set,
        tables,
        threshold,
        n_resamples,
        confidence,
        seed,
        details={"trending_rule": rule, "trending_products": count},
        trending=TRENDING_RULES[rule].format(count=count),
    )


def _shop_exposure(
    tables: AuditTables,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exposure counts of the items shown per shop, their shop codes, catalog sizes, shop ids.

    Shops are those with an answered probe and a catalog, coded in sorted order of their ids.
    Gini and coverage both start from these counts: built once per tables, shared read-only.
    """

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        counts, shops, sizes, names = _count_exposure(tables)
        return read_only(counts), read_only(shops), read_only(sizes), read_only(names)

    return tables.codes.shared("shop_exposure", build)


def _count_exposure(
    tables: AuditTables,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    codes = tables.codes
    names = codes.dictionary("shop_id")
    catalog_shop = codes.of("catalogs", "shop_id")
    sizes = code_counts(catalog_shop, len(names))
    shown = shown_items(tables)
    probed = codes.per_probe("shop_id")[shown.probes]
    has_probe = np.zeros(len(names), dtype=bool)
    has_probe[probed[probed >= 0]] = True
    used = np.flatnonzero(has_probe & (sizes > 0))
    # A shop's items are its catalog rows (item ids are unique per shop): count those.
    cells, counts = _row_counts(shown.catalog_row, len(tables.catalogs))
    cell_shop = catalog_shop[cells]
    if used.size < len(names):  # a shop's position among the used shops is not its code
        position = np.full(len(names) + 1, -1, dtype=np.int32)
        position[used] = np.arange(used.size)
        cell_shop = position[cell_shop]
        counted = cell_shop >= 0
        counts, cell_shop = counts[counted], cell_shop[counted]
    return counts, cell_shop, sizes[used].astype(np.int64), names[used]


def _row_counts(rows: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``rows`` (each in ``0..n_rows-1``), ascending, and how often each occurs.

    Fewer rows than ``n_rows`` are sorted (a sort of the rows touches less memory than a
    count per possible row); more are counted in one ``np.bincount``, whose cost is in its
    ``n_rows`` bins, not in the rows.
    """
    if rows.size < n_rows:
        ordered = np.sort(rows.astype(index_dtype(n_rows)))
        starts = run_starts(ordered)
        return ordered[starts], np.diff(np.append(starts, ordered.size))
    per_row = np.bincount(rows, minlength=n_rows)
    cells = np.flatnonzero(per_row != 0)  # a bool mask: several times faster than of int64
    return cells, per_row[cells]


def _whole_width(counts: np.ndarray) -> int | None:
    """``max + 1`` when every count is a whole number in ``0..2**31``, else None."""
    if counts.size == 0:
        return 1
    top = float(counts.max())
    if top >= 2**31 or not bool((counts >= 0).all()):
        return None
    if counts.dtype.kind == "f" and not bool((counts == np.floor(counts)).all()):
        return None
    return int(top) + 1


def _sorted_by_shop(
    counts: np.ndarray, shops: np.ndarray, width: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """``counts`` and ``shops`` ordered by shop, then count.

    Whole counts below ``width`` are packed with their shop into one integer and sorted by
    value, several times faster than a lexsort of the two keys.
    """
    if width is None or int(shops.max(initial=0)) >= 2**31:
        order = np.lexsort((counts, shops))
        return counts[order], shops[order]
    dtype = index_dtype((int(shops.max(initial=0)) + 1) * width)
    packed = np.sort(shops.astype(dtype) * width + counts.astype(dtype))
    return (packed % width).astype(np.float64), packed // width


# The per-(shop, count) table of `_gini_by_count` may have this many cells per listed count
# (plus a fixed allowance) before sorting the counts is the cheaper way.
_CELLS_PER_COUNT = 4


def gini_coefficient(counts: np.ndarray, shops: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Gini per shop over ``sizes[s]`` items, of which only the listed ``counts`` may be non-zero.

    ``G = Σ_i (2i - n - 1) x_(i) / (n Σ x)`` over the shop's ``n`` counts in ascending order
    (unlisted items are zeros); NaN for a shop whose counts are all zero.
    """
    width = _whole_width(counts)
    if width is not None and sizes.size * width <= _CELLS_PER_COUNT * counts.size + 4096:
        numerator, total = _gini_by_count(counts, shops, sizes, width)
    else:
        x, s = _sorted_by_shop(counts, shops, width)
        exposed = np.bincount(s, minlength=sizes.size)
        start = np.concatenate([[0], np.cumsum(exposed)[:-1]])
        # The zeros sort first, so the i-th exposed item has rank zeros + i.
        rank = (sizes - exposed)[s] + np.arange(x.size) - start[s] + 1
        n = sizes[s].astype(np.float64)
        numerator = np.bincount(s, weights=(2 * rank - n - 1) * x, minlength=sizes.size)
        total = np.bincount(s, weights=x, minlength=sizes.size)
    out = np.full(sizes.size, np.nan)
    np.divide(numerator, sizes * total, out=out, where=total > 0)
    return out


def _gini_by_count(
    counts: np.ndarray, shops: np.ndarray, sizes: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """The Gini numerator and ``Σ x`` per shop from how many of its items have each count.

    The ``h`` items with count ``c``, above the ``a`` items with smaller counts, hold ranks
    ``a+1..a+h``, whose ``Σ (2i - n - 1)`` is ``h (2a + h - n)``: no sort of the counts.
    """
    cells = shops.astype(np.int64)  # a copy, packed in place
    cells *= width
    cells += counts.astype(np.int64, copy=False)
    items = np.bincount(cells, minlength=sizes.size * width).reshape(sizes.size, width)
    items[:, 0] = sizes - items[:, 1:].sum(axis=1)  # unlisted items count 0
    below = np.cumsum(items, axis=1) - items
    mass = items * np.arange(width)
    numerator = (mass * (2 * below + items - sizes[:, None])).sum(axis=1)
    return numerator.astype(np.float64), mass.sum(axis=1).astype(np.float64)


def _per_shop_result(
    metric_id: str,
    values: np.ndarray,
    names: np.ndarray,
    *,
    threshold: Threshold,
    n_resamples: int,
    confidence: float,
    seed: int,
    details: dict[str, object],
) -> MetricResult:
    present = np.isfinite(values)
    values, names = values[present], names[present]
    ci = (
        bootstrap_ci(values, n_resamples=n_resamples, confidence=confidence, seed=seed)
        if len(values)
        else None
    )
    return _result(
        metric_id,
        "shop",
        values,
        threshold=threshold,
        ci=ci,
        by_group={"shop": {str(k): float(v) for k, v in zip(names, values, strict=True)}},
        details={"shops": len(values), **details},
        reason=REASON_NO_SHOPS,
    )


def gini(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Gini coefficient of exposure over each shop's whole catalog, averaged over shops.

    Each catalog item's exposure is the number of answered first-repetition lists that show
    it; items never shown count with 0. The value is the mean over shops of the Gini
    coefficient of those counts.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    threshold : Threshold, optional
        Judges the value; `GINI_THRESHOLD` when omitted.
    n_resamples, confidence, seed
        The bootstrap over shops.

    Returns
    -------
    MetricResult
        ``by_group = {"shop": {shop_id: Gini}}``.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    options = {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}
    _checked(GINI_ID, tables, threshold, options)
    counts, shops, sizes, names = _shop_exposure(tables)
    values = gini_coefficient(counts, shops, sizes)
    return _per_shop_result(
        GINI_ID,
        values,
        names,
        threshold=GINI_THRESHOLD if threshold is None else threshold,
        details={},
        **options,  # type: ignore[arg-type]
    )


def coverage(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Share of each shop's catalog recommended at least once, averaged over shops.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    threshold : Threshold, optional
        Judges the value; `COVERAGE_THRESHOLD` (lower is worse) when omitted.
    n_resamples, confidence, seed
        The bootstrap over shops.

    Returns
    -------
    MetricResult
        ``by_group = {"shop": {shop_id: coverage}}``; ``details["lists"]`` the lists counted
        (coverage grows with the number of lists, so compare audits of the same design).

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    options = {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}
    _checked(COVERAGE_ID, tables, threshold, options)
    _, shops, sizes, names = _shop_exposure(tables)
    reached = np.bincount(shops, minlength=len(names)).astype(np.float64)
    values = np.full(len(names), np.nan)
    np.divide(reached, sizes, out=values, where=sizes > 0)
    return _per_shop_result(
        COVERAGE_ID,
        values,
        names,
        threshold=COVERAGE_THRESHOLD if threshold is None else threshold,
        details={"lists": int(core_mask(tables).sum())},
        **options,  # type: ignore[arg-type]
    )
