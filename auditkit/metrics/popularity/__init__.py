"""Reliance on trending items: popularity of lists over histories, exposure, trends."""

from auditkit.metrics.popularity.exposure import (
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
    arp,
    coverage,
    gini,
    long_tail_share,
    trend_share,
    trending_keys,
)
from auditkit.metrics.popularity.lift import DEFAULT_THRESHOLD, FAMILY, METRIC_ID, popularity_lift
from auditkit.metrics.popularity.trend import LEAKAGE_ID, LEAKAGE_THRESHOLD, trend_leakage

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
    "TREND_SHARE_ID",
    "TREND_SHARE_THRESHOLD",
    "arp",
    "coverage",
    "gini",
    "long_tail_share",
    "popularity_lift",
    "trend_leakage",
    "trend_share",
    "trending_keys",
]
