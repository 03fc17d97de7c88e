"""Reliance on popular and trending items, measured on what the vendor exposes.

Per probe: average recommendation popularity (`arp`), the long-tail share (`long_tail_share`)
and the share of globally trending products (`trend_share`). Per shop, over its whole catalog:
the Gini coefficient of exposure (`gini`) and catalog coverage (`coverage`). All read the
answered first-repetition probes of the core tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from auditkit.frames import AuditTables
from auditkit.metrics._matched import answered_mask, by_label
from auditkit.metrics.stats import bootstrap_ci, check_columns, check_metric_inputs
from auditkit.results import MetricResult, Threshold

FAMILY = "popularity"
PROBE_COLUMNS: tuple[str, ...] = ("probe_id", "shop_id", "persona_id", "repetition", "answered")
RESPONSE_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "item_id",
    "item_key",
    "popularity",
    "in_catalog",
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
# The trending set: this many canonical products, by popularity summed over every shop.
TRENDING_TOP_N = 20
TREND_SHARE_THRESHOLD = Threshold(warn=0.3, fail=0.45)

SUMMARY = {
    ARP_ID: "Recommended products are on average {value:.1f} times as popular as their shop's "
    "average product.",
    LONG_TAIL_ID: "{value:.0%} of recommended products come from the long tail (outside each "
    "shop's 20% most popular products).",
    GINI_ID: "Exposure is concentrated: the Gini coefficient of how often each catalog product "
    "is shown is {value:.2f} (0 = all shown equally, 1 = one product shown alone).",
    COVERAGE_ID: "The recommendations reach {value:.0%} of each shop's catalog on average.",
    TREND_SHARE_ID: "{value:.0%} of recommended products are among the {top_n} products "
    "trending across all shops.",
}
SUMMARY_NONE = "{name} could not be measured: {reason}."
REASON_NO_POPULARITY = "no shop catalog gives item popularity"
REASON_NO_PROBES = "no answered probe recommended a catalog item of known popularity"
REASON_NO_SHOPS = "no shop has an answered probe and a catalog"


def _checked(metric_id: str, tables: AuditTables, threshold: object, **options: object) -> None:
    check_metric_inputs(metric_id, tables, threshold, **options)  # type: ignore[arg-type]
    check_columns(metric_id, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(metric_id, "tables.responses", tables.responses, RESPONSE_COLUMNS)
    check_columns(metric_id, "tables.catalogs", tables.catalogs, CATALOG_COLUMNS)


def core_mask(tables: AuditTables) -> np.ndarray:
    """Which rows of ``probes`` are answered first-repetition probes."""
    probes = tables.probes
    return answered_mask(probes) & (probes["repetition"] == 0).to_numpy(dtype=bool)


def core_probes(tables: AuditTables) -> pd.DataFrame:
    """``probe_id, shop_id, persona_id`` of the answered first-repetition probes."""
    return tables.probes.loc[core_mask(tables), ["probe_id", "shop_id", "persona_id"]]


def shown_items(tables: AuditTables, keep: np.ndarray) -> pd.DataFrame:
    """The recommended in-catalog rows (``in_catalog``) of the probes in the mask ``keep``."""
    responses = tables.responses
    rows = tables.codes.response_rows(tables.codes.probe_flags(keep))
    rows &= responses["in_catalog"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return responses.loc[rows, list(RESPONSE_COLUMNS)]


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


def _per_probe_metric(
    metric_id: str,
    default: Threshold,
    item_value: Callable[[AuditTables, pd.DataFrame], pd.Series],
    tables: AuditTables,
    threshold: Threshold | None,
    n_resamples: int,
    confidence: float,
    seed: int,
    **summary: object,
) -> MetricResult:
    """A mean over probes of the mean of ``item_value`` over each probe's shown items."""
    options = {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}
    _checked(metric_id, tables, threshold, **options)
    threshold = default if threshold is None else threshold
    keep = core_mask(tables)
    probes = tables.probes.loc[keep, ["probe_id", "shop_id", "persona_id"]]
    shown = shown_items(tables, keep)
    values = item_value(tables, shown)
    frame = pd.DataFrame({"probe_id": shown["probe_id"].to_numpy(), "value": values.to_numpy()})
    frame = frame[np.isfinite(frame["value"].to_numpy(dtype=np.float64))]
    per_probe = frame.groupby("probe_id", sort=True)["value"].mean()
    persona = probes.set_index("probe_id")["persona_id"].reindex(per_probe.index)
    array = per_probe.to_numpy(dtype=np.float64)
    ci = (
        bootstrap_ci(array, n_resamples=n_resamples, confidence=confidence, seed=seed)
        if len(array)
        else None
    )
    no_popularity = tables.catalogs["popularity"].isna().all()
    return _result(
        metric_id,
        "probe",
        array,
        threshold=threshold,
        ci=ci,
        by_group={"persona": by_label(persona, array)},
        details={"probes": len(array), "probes_skipped": len(probes) - len(array)},
        reason=REASON_NO_POPULARITY if no_popularity else REASON_NO_PROBES,
        **summary,
    )


def _relative_popularity(tables: AuditTables, shown: pd.DataFrame) -> pd.Series:
    """Each shown item's popularity over its shop's mean catalog popularity."""
    mean = tables.catalogs.groupby("shop_id")["popularity"].mean()
    mean = mean.where(mean > 0)
    return shown["popularity"].astype("float64") / shown["shop_id"].map(mean).astype("float64")


def head_cutoffs(catalogs: pd.DataFrame, head_share: float = HEAD_SHARE) -> pd.DataFrame:
    """Per shop: the popularity of its last short-head item and the last item id at that value.

    The short head is the ``ceil(head_share · catalog size)`` most popular items, ties broken
    by item id; an item is in it when its popularity is above ``cutoff``, or equal to it with
    an id up to ``last_id``. Items of unknown popularity are never in it; a shop without any
    popularity has no row.
    """
    frame = catalogs[["shop_id", "item_id", "popularity"]]
    shop_codes, shops = pd.factorize(frame["shop_id"].astype("string"), sort=True)
    popularity = frame["popularity"].to_numpy(dtype=np.float64, na_value=np.nan)
    sizes = np.bincount(shop_codes, minlength=len(shops))
    order = np.argsort(shop_codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    item_ids = frame["item_id"].astype("string").to_numpy(dtype=object)
    rows = []
    # One pass per shop (not per item or probe): a partial sort finds the head's cutoff.
    for code, shop in enumerate(shops):
        members = order[bounds[code] : bounds[code + 1]]
        values = popularity[members]
        known = np.isfinite(values)
        if not known.any():
            continue
        head = min(math.ceil(head_share * members.size), int(known.sum()))
        if head == 0:
            continue
        ranked = values[known]
        cutoff = float(np.partition(ranked, ranked.size - head)[ranked.size - head])
        above = int((ranked > cutoff).sum())
        tied = np.sort(item_ids[members[known & (values == cutoff)]].astype(str))
        rows.append((str(shop), cutoff, str(tied[head - above - 1])))
    return pd.DataFrame(rows, columns=["shop_id", "cutoff", "last_id"])


def _in_tail(tables: AuditTables, shown: pd.DataFrame) -> pd.Series:
    """1.0 for a shown item outside its shop's head, 0.0 inside, NaN without popularity."""
    cutoffs = head_cutoffs(tables.catalogs).set_index("shop_id")
    shop = shown["shop_id"].astype("string")
    cutoff = shop.map(cutoffs["cutoff"]).to_numpy(dtype=np.float64, na_value=np.nan)
    last = shop.map(cutoffs["last_id"]).astype("string")
    popularity = shown["popularity"].to_numpy(dtype=np.float64, na_value=np.nan)
    tie = (popularity == cutoff) & (shown["item_id"].astype("string") <= last).fillna(
        False
    ).to_numpy(dtype=bool)
    head = (popularity > cutoff) | tie
    return pd.Series(np.where(np.isfinite(cutoff), 1.0 - head, np.nan), index=shown.index)


def trending_keys(catalogs: pd.DataFrame, top_n: int = TRENDING_TOP_N) -> set[str]:
    """The ``top_n`` canonical products by popularity summed over every shop (ties by id)."""
    shared = catalogs[catalogs["canonical_id"].notna()]
    totals = shared.groupby("item_key")["popularity"].sum().reset_index()
    totals = totals.sort_values(["popularity", "item_key"], ascending=[False, True])
    return set(totals["item_key"].head(top_n).astype(str))


def _trending(tables: AuditTables, shown: pd.DataFrame) -> pd.Series:
    """1.0 for a shown item in the trending set, else 0.0."""
    keys = trending_keys(tables.catalogs)
    return shown["item_key"].astype(str).isin(keys).astype("float64")


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

    The trending set is the `TRENDING_TOP_N` canonical products with the highest popularity
    summed over every shop's catalog (`trending_keys`). Per probe, the share of its recommended
    catalog items in it; the value is the mean over probes.

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
        ``by_group = {"persona": {...}}``; ``details`` counts probes used and skipped.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    return _per_probe_metric(
        TREND_SHARE_ID,
        TREND_SHARE_THRESHOLD,
        _trending,
        tables,
        threshold,
        n_resamples,
        confidence,
        seed,
        top_n=TRENDING_TOP_N,
    )


def _shop_exposure(
    tables: AuditTables,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exposure counts of the items shown per shop, their shop codes, catalog sizes, shop ids.

    Shops are those with an answered probe and a catalog, coded in sorted order of their ids.
    """
    keep = core_mask(tables)
    probes = tables.probes.loc[keep, ["probe_id", "shop_id", "persona_id"]]
    shown = shown_items(tables, keep)
    sizes = tables.catalogs["shop_id"].astype("string").value_counts()
    names = np.sort(
        np.intersect1d(
            probes["shop_id"].astype("string").unique().to_numpy(dtype=object).astype(str),
            sizes.index.to_numpy(dtype=object).astype(str),
        )
    )
    shop = pd.Index(names, dtype="string").get_indexer(shown["shop_id"].astype("string"))
    item, _ = pd.factorize(shown["item_id"].astype("string"))
    usable = shop >= 0
    cells, counts = np.unique(
        shop[usable].astype(np.int64) * (int(item.max(initial=0)) + 1) + item[usable],
        return_counts=True,
    )
    cell_shop = cells // (int(item.max(initial=0)) + 1)
    catalog_size = sizes.reindex(names).to_numpy(dtype=np.int64)
    return counts.astype(np.float64), cell_shop, catalog_size, names


def gini_coefficient(counts: np.ndarray, shops: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Gini per shop over ``sizes[s]`` items, of which only the listed ``counts`` may be non-zero.

    ``G = Σ_i (2i - n - 1) x_(i) / (n Σ x)`` over the shop's ``n`` counts in ascending order
    (unlisted items are zeros); NaN for a shop whose counts are all zero.
    """
    order = np.lexsort((counts, shops))
    x, s = counts[order], shops[order]
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
    _checked(GINI_ID, tables, threshold, **options)
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
    _checked(COVERAGE_ID, tables, threshold, **options)
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
