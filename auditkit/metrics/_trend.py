"""Trend leakage: a trend planted in one shop showing up in the other shops' lists.

The trend-planting probes (``phase`` ``before``/``after``, ``shop_role``, ``planted_key``,
``control_key``; see ``auditkit.probes.planting``) send the same typical customers to every
shop before and after the planted product's synthetic sales. In the shops other than the
source, a tenant-isolated vendor has no reason to show the planted product more afterwards
than a control product of similar popularity; the difference in differences measures leakage.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from auditkit.frames import AuditTables
from auditkit.metrics._matched import answered_mask, by_label
from auditkit.metrics.stats import bootstrap_ci, check_columns, check_metric_inputs
from auditkit.results import MetricResult, Threshold

LEAKAGE_ID = "popularity.trend_leakage"
FAMILY = "popularity"
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

SUMMARY = (
    "After a product was made to trend in one shop, customers at the other shops were "
    "{value:+.0%} more often shown it than a comparable control product."
)
SUMMARY_NONE = "Trend leakage could not be measured: {reason}."
REASON_NO_PLANTING = "the audit has no trend-planting probes"
REASON_NO_CUSTOMERS = "no customer at another shop was answered both before and after planting"


def _shown(
    tables: AuditTables, probes: pd.DataFrame, rows: pd.DataFrame, key_column: str
) -> pd.Series:
    """Per probe id: 1.0 when its list (``rows`` of responses) shows ``key_column``, else 0.0."""
    wanted = probes[["probe_id", key_column]].rename(columns={key_column: "item_key"})
    hits = rows.merge(wanted, on=["probe_id", "item_key"])["probe_id"].unique()
    return pd.Series(
        probes["probe_id"].isin(hits).to_numpy(dtype=np.float64), index=probes["probe_id"]
    )


def customer_changes(tables: AuditTables) -> pd.DataFrame:
    """Per customer at a non-source shop: ``shop_id``, planted and control change, and ``did``.

    A change is ``shown after - shown before`` (each 0 or 1); ``did`` is planted minus control.
    Customers answered in only one phase are left out.
    """
    probes = tables.probes
    keep = answered_mask(probes) & probes["phase"].notna().to_numpy(dtype=bool)
    keep &= (probes["shop_role"] == "other").fillna(False).to_numpy(dtype=bool)
    listed = tables.codes.response_rows(tables.codes.probe_flags(keep))
    rows = tables.responses.loc[listed, ["probe_id", "item_key"]]
    probes = probes[keep]
    frame = pd.DataFrame(
        {
            "match_id": probes["match_id"].astype("string").to_numpy(),
            "shop_id": probes["shop_id"].astype("string").to_numpy(),
            "after": (probes["phase"] == "after").to_numpy(dtype=bool),
            "planted": _shown(tables, probes, rows, "planted_key").to_numpy(),
            "control": _shown(tables, probes, rows, "control_key").to_numpy(),
        }
    )
    sign = np.where(frame["after"], 1.0, -1.0)
    frame = frame.assign(planted=frame["planted"] * sign, control=frame["control"] * sign)
    grouped = frame.groupby("match_id", sort=True)
    changes = grouped.agg(
        shop_id=("shop_id", "first"),
        phases=("after", "nunique"),
        planted=("planted", "sum"),
        control=("control", "sum"),
    )
    changes = changes[changes["phases"] == 2].drop(columns="phases")
    return changes.assign(did=changes["planted"] - changes["control"])


def trend_leakage(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Difference in differences of the planted product's exposure at the other shops.

    For each trend-planting customer at a shop other than the source (answered before and
    after), ``did = (planted shown after - before) - (control shown after - before)``; the
    value is the mean over those customers. It reads the full tables (the registry marks it
    ``full_tables``): the planting probes are not part of `AuditTables.core`.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` (with the planting columns) and ``responses``.
    threshold : Threshold, optional
        Judges the value; `LEAKAGE_THRESHOLD` when omitted.
    n_resamples : int, default 1000
        Bootstrap resamples of customers.
    confidence : float, default 0.95
        Coverage of the confidence interval.
    seed : int, default 0
        Seeds the bootstrap.

    Returns
    -------
    MetricResult
        ``p_value``: one-sided Wilcoxon signed-rank test (zeros split) that ``did`` tends to
        be positive; ``by_group = {"shop": {shop_id: mean did}}``; ``details`` has
        ``customers``, ``planted_change`` and ``control_change`` (means) and the two keys.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        LEAKAGE_ID, tables, threshold, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(LEAKAGE_ID, "tables.responses", tables.responses, RESPONSE_COLUMNS)
    threshold = LEAKAGE_THRESHOLD if threshold is None else threshold
    planting = "phase" in tables.probes.columns and tables.probes["phase"].notna().any()
    details: dict[str, object] = {}
    value, ci, p_value, n = math.nan, None, None, 0
    by_shop: dict[str, float] = {}
    reason = REASON_NO_PLANTING
    if planting:
        check_columns(LEAKAGE_ID, "tables.probes", tables.probes, PROBE_COLUMNS)
        changes = customer_changes(tables)
        did = changes["did"].to_numpy(dtype=np.float64)
        n = len(did)
        reason = REASON_NO_CUSTOMERS
        planted = tables.probes.loc[tables.probes["phase"].notna()]
        details = {
            "customers": n,
            "planted_key": str(planted["planted_key"].dropna().iloc[0]),
            "control_key": str(planted["control_key"].dropna().iloc[0]),
        }
        if n:
            value = float(did.mean())
            details.update(
                planted_change=float(changes["planted"].mean()),
                control_change=float(changes["control"].mean()),
            )
            ci = bootstrap_ci(did, n_resamples=n_resamples, confidence=confidence, seed=seed)
            p_value = _signed_rank_p(did)
            by_shop = by_label(changes["shop_id"], did)
    if math.isnan(value):
        details["reason"] = reason
        summary = SUMMARY_NONE.format(reason=reason)
    else:
        summary = SUMMARY.format(value=value)
    return MetricResult(
        id=LEAKAGE_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit="customer",
        verdict=threshold.verdict(value, ci, n),
        threshold=threshold,
        p_value=p_value,
        by_group={"shop": by_shop},
        details=details,
        summary=summary,
    )


def _signed_rank_p(did: np.ndarray) -> float:
    """One-sided signed-rank p-value that ``did`` tends above 0; 1.0 when every one is 0."""
    if not np.any(did != 0):
        return 1.0
    result = _scipy_stats.wilcoxon(
        did, alternative="greater", zero_method="zsplit", method="approx"
    )
    return float(result.pvalue)
