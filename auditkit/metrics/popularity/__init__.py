"""Reliance on popular and trending items: popularity of lists over histories, exposure, trends.

Each metric returns an `auditkit.results.Estimate`; `auditkit.judging` judges it against the
default threshold exported beside it.
"""

from auditkit.metrics.popularity._inputs import FAMILY
from auditkit.metrics.popularity.arp import ARP_ID, ARP_THRESHOLD, arp
from auditkit.metrics.popularity.catalog_exposure import (
    COVERAGE_ID,
    COVERAGE_THRESHOLD,
    GINI_ID,
    GINI_THRESHOLD,
    coverage,
    gini,
)
from auditkit.metrics.popularity.lift import DEFAULT_THRESHOLD, METRIC_ID, popularity_lift
from auditkit.metrics.popularity.long_tail import (
    LONG_TAIL_ID,
    LONG_TAIL_THRESHOLD,
    long_tail_share,
)
from auditkit.metrics.popularity.trend_leakage import LEAKAGE_ID, LEAKAGE_THRESHOLD, trend_leakage
from auditkit.metrics.popularity.trend_share import (
    TREND_SHARE_ID,
    TREND_SHARE_THRESHOLD,
    trend_share,
)
from auditkit.metrics.popularity.trending import trending_keys

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
