"""Reliance on popular and trending items.

`popularity_lift` follows the popularity lift of Abdollahpouri et al. (2021), computed per
probe: the average popularity of the recommended items against that of the probe's own history.
`arp`, `long_tail_share`, `gini`, `coverage` and `trend_share` (in ``_exposure``) describe what
the vendor exposes; `trend_leakage` (in ``_trend``) tests whether a trend planted in one shop
reaches the others.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from auditkit.frames import AuditTables
from auditkit.metrics._exposure import (
    ARP_ID,
    ARP_THRESHOLD,
    COVERAGE_ID,
    COVERAGE_THRESHOLD,
    GINI_ID,
    GINI_THRESHOLD,
    LONG_TAIL_ID,
    LONG_TAIL_THRESHOLD,
    TREND_SHARE_ID,
    TREND_SHARE_THRESHOLD,
    TRENDING_TOP_N,
    arp,
    coverage,
    gini,
    gini_coefficient,
    head_cutoffs,
    long_tail_share,
    trend_share,
    trending_keys,
)
from auditkit.metrics._trend import LEAKAGE_ID, LEAKAGE_THRESHOLD, customer_changes, trend_leakage
from auditkit.metrics.stats import bootstrap_ci, check_columns, check_metric_inputs
from auditkit.results import MetricResult, Threshold

METRIC_ID = "popularity.lift"
FAMILY = "popularity"
UNIT = "probe"
# 0.5: recommendations half again as popular as the customer's own choices; 1.0: twice as
# popular. See docs/metrics.md.
DEFAULT_THRESHOLD = Threshold(warn=0.5, fail=1.0)

PROBE_COLUMNS: tuple[str, ...] = ("probe_id", "persona_id", "repetition", "answered")
ITEM_COLUMNS: tuple[str, ...] = ("probe_id", "shop_id", "popularity")
CATALOG_COLUMNS: tuple[str, ...] = ("shop_id", "popularity")

SUMMARY = (
    "Recommended products are on average {amount:.0%} {direction} popular in their shop than "
    "the products in the customer's own history."
)
SUMMARY_NONE = "The popularity lift could not be measured: {reason}."
REASON_NO_POPULARITY = "no shop catalog gives item popularity"
REASON_NO_PROBES = (
    "no answered probe has both a history and recommendations with known, positive popularity"
)


def _popularity_share(items: pd.DataFrame, totals: pd.Series) -> pd.DataFrame:
    """``probe_id, share``: each item's share of its shop's total popularity (known only)."""
    share = items["popularity"].astype("float64") / items["shop_id"].map(totals).astype("float64")
    frame = pd.DataFrame({"probe_id": items["probe_id"].to_numpy(), "share": share.to_numpy()})
    return frame[np.isfinite(frame["share"].to_numpy())]


def _probe_lifts(tables: AuditTables, keep: np.ndarray, totals: pd.Series) -> pd.DataFrame:
    """Per usable probe in the mask ``keep``: ``probe_id, persona_id, arp_rec, arp_hist, lift``."""
    probes = tables.probes[keep]
    flags = tables.codes.probe_flags(keep)
    responses = tables.responses[tables.codes.response_rows(flags)]
    histories = tables.histories[tables.codes.history_rows(flags)]
    arp_rec = _popularity_share(responses, totals).groupby("probe_id")["share"].mean()
    arp_hist = _popularity_share(histories, totals).groupby("probe_id")["share"].mean()
    frame = (
        probes[["probe_id", "persona_id"]]
        .merge(arp_rec.rename("arp_rec").reset_index(), on="probe_id")
        .merge(arp_hist.rename("arp_hist").reset_index(), on="probe_id")
    )
    frame = frame[(frame["arp_hist"] > 0).to_numpy(dtype=bool)]
    frame = frame.assign(lift=(frame["arp_rec"] - frame["arp_hist"]) / frame["arp_hist"])
    return frame.sort_values("probe_id", ignore_index=True)


def popularity_lift(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Mean popularity lift of recommendations over the probe's own history.

    Per answered first-repetition probe, ``ARP_rec`` is the mean popularity of its recommended
    items and ``ARP_hist`` that of its history items (items of known popularity only), with
    popularity taken as each item's share of its shop's total catalog popularity; the lift is
    ``(ARP_rec - ARP_hist) / ARP_hist``, a ratio that does not depend on the shop's scale. The
    value is the mean lift over probes with a history (``ARP_hist > 0``) and recommendations of
    known popularity. Higher means the vendor pushes customers toward bestsellers.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses``, ``histories`` and ``catalogs``.
    threshold : Threshold, optional
        Judges the value; `DEFAULT_THRESHOLD` when omitted.
    n_resamples : int, default 1000
        Bootstrap resamples of probes.
    confidence : float, default 0.95
        Coverage of the confidence interval.
    seed : int, default 0
        Seeds the bootstrap.

    Returns
    -------
    MetricResult
        ``by_group = {"persona": {persona_id: mean lift}}``; ``details`` counts the probes used
        and skipped, and gives the mean ``ARP_rec`` and ``ARP_hist`` shares and ``delta_gap``,
        the paper's group form ``(mean ARP_rec - mean ARP_hist) / mean ARP_hist``. When no
        popularity is known the value is NaN, the verdict ``inconclusive`` and
        ``details["reason"]`` says why.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        METRIC_ID, tables, threshold, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(METRIC_ID, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(METRIC_ID, "tables.responses", tables.responses, ITEM_COLUMNS)
    check_columns(METRIC_ID, "tables.histories", tables.histories, ITEM_COLUMNS)
    check_columns(METRIC_ID, "tables.catalogs", tables.catalogs, CATALOG_COLUMNS)
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold

    answered = tables.probes["answered"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    keep = answered & (tables.probes["repetition"] == 0).to_numpy(dtype=bool)
    totals = tables.catalogs.groupby("shop_id")["popularity"].sum(min_count=1)
    totals = totals.where(totals > 0)
    per_probe = _probe_lifts(tables, keep, totals)

    lifts = per_probe["lift"].to_numpy(dtype=np.float64)
    n = len(lifts)
    details: dict[str, object] = {"probes": n, "probes_skipped": int(keep.sum()) - n}
    if n == 0:
        reason = REASON_NO_POPULARITY if totals.isna().all() else REASON_NO_PROBES
        value, ci = math.nan, None
        details["reason"] = reason
        summary = SUMMARY_NONE.format(reason=reason)
    else:
        value = float(lifts.mean())
        ci = bootstrap_ci(lifts, n_resamples=n_resamples, confidence=confidence, seed=seed)
        mean_rec = float(per_probe["arp_rec"].mean())
        mean_hist = float(per_probe["arp_hist"].mean())
        # The paper's group form (ΔGAP): a ratio of means, less swayed by niche histories.
        details.update(
            mean_arp_rec=mean_rec,
            mean_arp_hist=mean_hist,
            delta_gap=(mean_rec - mean_hist) / mean_hist,
        )
        summary = SUMMARY.format(amount=abs(value), direction="more" if value >= 0 else "less")
    by_persona = per_probe.groupby("persona_id", sort=True)["lift"].mean()
    return MetricResult(
        id=METRIC_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        verdict=threshold.verdict(value, ci, n),
        threshold=threshold,
        by_group={"persona": {str(k): float(v) for k, v in by_persona.items()}},
        details=details,
        summary=summary,
    )


__all__ = [
    "ARP_ID",
    "ARP_THRESHOLD",
    "COVERAGE_ID",
    "COVERAGE_THRESHOLD",
    "DEFAULT_THRESHOLD",
    "FAMILY",
    "GINI_ID",
    "GINI_THRESHOLD",
    "LEAKAGE_ID",
    "LEAKAGE_THRESHOLD",
    "LONG_TAIL_ID",
    "LONG_TAIL_THRESHOLD",
    "METRIC_ID",
    "TRENDING_TOP_N",
    "TREND_SHARE_ID",
    "TREND_SHARE_THRESHOLD",
    "arp",
    "coverage",
    "customer_changes",
    "gini",
    "gini_coefficient",
    "head_cutoffs",
    "long_tail_share",
    "popularity_lift",
    "trend_leakage",
    "trend_share",
    "trending_keys",
]
