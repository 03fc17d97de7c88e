"""Convergence across client shops: matched customers' overlap, the index, shops' identity."""

from auditkit.metrics.homogenization.cross_shop import (
    DEFAULT_THRESHOLD,
    DIVERGENCE_ID,
    DIVERGENCE_THRESHOLD,
    FAMILY,
    METRIC_ID,
    RBO_ID,
    RBO_THRESHOLD,
    category_divergence,
    cross_shop_jaccard,
    cross_shop_rbo,
)
from auditkit.metrics.homogenization.homogenization_index import INDEX_ID, INDEX_THRESHOLD, index
from auditkit.metrics.homogenization.shop_identity import (
    SIGNATURE_ID,
    SIGNATURE_THRESHOLD,
    WITHIN_ID,
    WITHIN_THRESHOLD,
    signature_retention,
    within_shop_jaccard,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "DIVERGENCE_ID",
    "DIVERGENCE_THRESHOLD",
    "FAMILY",
    "INDEX_ID",
    "INDEX_THRESHOLD",
    "METRIC_ID",
    "RBO_ID",
    "RBO_THRESHOLD",
    "SIGNATURE_ID",
    "SIGNATURE_THRESHOLD",
    "WITHIN_ID",
    "WITHIN_THRESHOLD",
    "category_divergence",
    "cross_shop_jaccard",
    "cross_shop_rbo",
    "index",
    "signature_retention",
    "within_shop_jaccard",
]
