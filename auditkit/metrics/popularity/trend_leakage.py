"""Trend leakage: a trend planted in one shop showing up in the other shops' lists.

The trend-planting probes (``phase`` ``before``/``after``, ``shop_role``, ``planted_key``,
``control_key``; see ``auditkit.probes.planting``) send the same typical customers to every
shop before and after the planted product's synthetic sales. In the shops other than the
source, a tenant-isolated vendor has no reason to show the planted product more afterwards
than a control product of similar popularity; the difference in differences measures leakage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from auditkit.metrics._matched import answered_mask
from auditkit.metrics.popularity._arrays import flags, label_means, padded
from auditkit.metrics.popularity._inputs import FAMILY
from auditkit.metrics.popularity.trending import TRENDING_CATALOG_COLUMNS, trending_set
from auditkit.metrics.stats import bootstrap_ci, check_columns, check_metric_inputs
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, lookup_codes

LEAKAGE_ID = "popularity.trend_leakage"
# 0.1: one customer in ten at other shops newly shown the planted product beyond the control;
# 0.3: three in ten. See docs/metrics.md.
LEAKAGE_THRESHOLD = Threshold(warn=0.1, fail=0.3)
PROBE_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "match_id",
    "answered",
    "phase",
    "shop_role",
    "planted_key",
    "control_key",
)
RESPONSE_COLUMNS: tuple[str, ...] = ("probe_id", "item_key")

REASON_NO_PLANTING = "the audit has no trend-planting probes"
REASON_NO_CUSTOMERS = "no customer at another shop was answered both before and after planting"


def key_codes(values: pd.Series, dictionary: np.ndarray) -> np.ndarray:
    """Codes in ``dictionary`` (sorted distinct strings) of a column with few distinct values.

    Each distinct value is looked up once by bisection; -1 for NA or a value not in it.
    """
    distinct = np.sort(np.asarray(values.dropna().unique(), dtype=object))
    at = np.searchsorted(dictionary, distinct)
    found = at < len(dictionary)
    found[found] = dictionary[at[found]] == distinct[found]
    codes = padded(np.where(found, at, -1), -1)
    return codes[lookup_codes(values, distinct)]


@dataclass(frozen=True)
class Changes:
    """Per customer (a ``match_id`` code, sorted): shop code, planted and control change."""

    match: np.ndarray
    shop: np.ndarray
    planted: np.ndarray
    control: np.ndarray

    @property
    def did(self) -> np.ndarray:
        """The difference in differences: planted change minus control change."""
        return self.planted - self.control


def planting_rows(probes: pd.DataFrame) -> np.ndarray:
    """Positions in ``probes`` of the trend-planting probes (those with a ``phase``)."""
    if "phase" not in probes.columns:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(probes["phase"].notna().to_numpy(dtype=bool))


def _changes(tables: AuditTables, planting: np.ndarray | None = None) -> Changes:
    """The changes of the planting customers (rows ``planting`` of ``probes``) at other shops."""
    codes = tables.codes
    planting = planting_rows(tables.probes) if planting is None else planting
    # The planting probes are few: only their rows of ``probes`` are read.
    probes = tables.probes[list(PROBE_COLUMNS)].iloc[planting]
    chosen = answered_mask(probes) & flags(probes["shop_role"] == "other")
    keep, probes = planting[chosen], probes[chosen]
    listed = codes.response_positions(codes.probe[keep])
    row_probe = codes.response_probe[listed]
    row_key = codes.of("responses", "item_key")[listed]
    probe = codes.probe[keep]
    keys = codes.dictionary("item_key")
    sign = np.where(flags(probes["phase"] == "after"), 1.0, -1.0)
    match = codes.of("probes", "match_id")[keep]
    known = (match >= 0) & (probe >= 0)
    size = len(codes.dictionary("match_id"))
    change = {}
    for column in ("planted_key", "control_key"):
        # Per probe code: the key it watches, then whether its list shows that key.
        wanted = np.full(len(codes.probe_ids) + 1, -1, dtype=np.int64)
        wanted[probe] = key_codes(probes[column], keys)
        shown = np.zeros(len(codes.probe_ids) + 1, dtype=bool)
        shown[row_probe[(row_key == wanted[row_probe]) & (row_key >= 0)]] = True
        signed = (sign * shown[probe])[known]
        change[column] = np.bincount(match[known], weights=signed, minlength=size)
    after = np.bincount(match[known & (sign > 0)], minlength=size)
    before = np.bincount(match[known & (sign < 0)], minlength=size)
    customers = np.flatnonzero((after > 0) & (before > 0))
    # Each customer's shop: that of its first probe in row order.
    groups, first = np.unique(match[known], return_index=True)
    shop = codes.of("probes", "shop_id")[keep[known][first]]
    return Changes(
        match=customers,
        shop=shop[np.searchsorted(groups, customers)],
        planted=change["planted_key"][customers],
        control=change["control_key"][customers],
    )


def customer_changes(tables: AuditTables) -> pd.DataFrame:
    """Per customer at a non-source shop: ``shop_id``, planted and control change, and ``did``.

    A change is ``shown after - shown before`` (each 0 or 1); ``did`` is planted minus control.
    Customers answered in only one phase are left out. Rows are indexed and sorted by
    ``match_id``.
    """
    found = _changes(tables)
    codes = tables.codes
    return pd.DataFrame(
        {
            "shop_id": pd.array(
                padded(codes.dictionary("shop_id"), None)[found.shop], dtype="string"
            ),
            "planted": found.planted,
            "control": found.control,
            "did": found.did,
        },
        index=pd.Index(codes.dictionary("match_id")[found.match], dtype="string", name="match_id"),
    )


def trend_leakage(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Difference in differences of the planted product's exposure at the other shops.

    For each trend-planting customer at a shop other than the source (answered before and
    after), ``did = (planted shown after - before) - (control shown after - before)``; the
    value is the mean over those customers. It reads the full tables (the registry marks it
    ``full_tables``): the planting probes are not part of `AuditTables.core`.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` (with the planting columns) and ``responses``.
    n_resamples, confidence, seed
        The bootstrap over customers.

    Returns
    -------
    Estimate
        ``p_value``: one-sided Wilcoxon signed-rank test (zeros split) that ``did`` tends to
        be positive; ``by_group = {"shop": {shop_id: mean did}}``; ``details`` has
        ``customers``, ``planted_change`` and ``control_change`` (means), the two keys, and
        whether each was already in the global trending set (``planted_trending``,
        ``control_trending``; the set by ``trending_rule``, as in `trend_share`); ``words`` names
        those already trending (``already``) for the sentence.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        LEAKAGE_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(LEAKAGE_ID, "tables.responses", tables.responses, RESPONSE_COLUMNS)
    planting = planting_rows(tables.probes)
    details: dict[str, object] = {}
    value, ci, p_value, n = math.nan, None, None, 0
    by_shop: dict[str, float] = {}
    reason: str | None = REASON_NO_PLANTING
    if planting.size:
        check_columns(LEAKAGE_ID, "tables.probes", tables.probes, PROBE_COLUMNS)
        changes = _changes(tables, planting)
        did = changes.did
        n = len(did)
        reason = REASON_NO_CUSTOMERS
        planted = tables.probes[["planted_key", "control_key"]].iloc[planting]
        details = {
            "customers": n,
            "planted_key": str(planted["planted_key"].dropna().iloc[0]),
            "control_key": str(planted["control_key"].dropna().iloc[0]),
            **_trending_details(tables, planted),
        }
        if n:
            value = float(did.mean())
            details.update(
                planted_change=float(changes.planted.mean()),
                control_change=float(changes.control.mean()),
            )
            ci = bootstrap_ci(did, n_resamples=n_resamples, confidence=confidence, seed=seed)
            p_value = _signed_rank_p(did)
            by_shop = label_means(changes.shop, did, tables.codes.dictionary("shop_id"))
    words: dict[str, object] = {}
    if math.isnan(value):
        details["reason"] = reason
    else:
        reason = None
        words = {
            "already": [k for k in ("planted", "control") if details.get(f"{k}_trending")],
            "trending_rule": details.get("trending_rule"),
            "trending_products": details.get("trending_products"),
        }
    return Estimate(
        id=LEAKAGE_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit="customer",
        p_value=p_value,
        by_group={"shop": by_shop},
        details=details,
        words=words,
        reason=reason,
    )


def _trending_details(tables: AuditTables, planted: pd.DataFrame) -> dict[str, object]:
    """Whether the planted and control products were already in the global trending set."""
    if not set(TRENDING_CATALOG_COLUMNS) <= set(tables.catalogs.columns):
        return {}
    trending = trending_set(tables)
    names = trending.names()
    return {
        "trending_rule": trending.rule,
        "trending_products": len(trending.keys),
        "planted_trending": bool(planted["planted_key"].isin(names).any()),
        "control_trending": bool(planted["control_key"].isin(names).any()),
    }


def _signed_rank_p(did: np.ndarray) -> float:
    """One-sided signed-rank p-value that ``did`` tends above 0; 1.0 when every one is 0."""
    if not np.any(did != 0):
        return 1.0
    result = _scipy_stats.wilcoxon(
        did, alternative="greater", zero_method="zsplit", method="approx"
    )
    return float(result.pvalue)
