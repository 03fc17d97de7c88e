"""The sentences of the homogenization metrics.

A sentence reads the estimate's value; an estimate with a ``reason`` was not measured, and its
sentence says why (in the metric's own words where it has a fixed one).
"""

from __future__ import annotations

from collections.abc import Callable

from auditkit.metrics.homogenization import (
    DIVERGENCE_ID,
    INDEX_ID,
    METRIC_ID,
    RBO_ID,
    SIGNATURE_ID,
    WITHIN_ID,
)
from auditkit.results import Estimate

SUMMARY = {
    METRIC_ID: "Matched customers at different shops get overlapping recommendations: of the "
    "products both shops sell, on average {value:.0%} of those in the two lists appear in both.",
    RBO_ID: "Matched customers at different shops get lists that agree, weighted toward the "
    "top, {value:.0%} (rank-biased overlap).",
    DIVERGENCE_ID: "Matched customers' lists at different shops differ in their mix of "
    "categories by {value:.2f} bits of Jensen–Shannon divergence (0 = the same mix).",
    INDEX_ID: "On the products both shops sell, matched customers' lists at two shops agree "
    "{value:.0%} as much as the vendor's lists agree with themselves when asked twice.",
    WITHIN_ID: "At the same shop, two different customers' lists have on average {value:.0%} "
    "as many products in common as they have products between them.",
    SIGNATURE_ID: "Shops' signature products get {value:.2f} times the exposure their share of "
    "the catalog would give them (1 = their fair share).",
}
CROSS_SHOP_NONE = (
    "There were not enough matched customers answered at two or more shops to measure "
    "overlap between shops."
)
SUMMARY_NONE = {
    METRIC_ID: CROSS_SHOP_NONE,
    RBO_ID: CROSS_SHOP_NONE,
    DIVERGENCE_ID: CROSS_SHOP_NONE,
    INDEX_ID: "The homogenization index could not be measured: {reason}.",
    WITHIN_ID: "No shop has two different customers answered, so nothing to compare.",
    SIGNATURE_ID: "Signature retention could not be measured: {reason}.",
}


def _sentence(estimate: Estimate, alpha: float) -> str:
    """The metric's template with the value, or why it was not measured."""
    if estimate.reason is not None:
        return SUMMARY_NONE[estimate.id].format(reason=estimate.reason)
    return SUMMARY[estimate.id].format(value=estimate.value)


SENTENCES: dict[str, Callable[[Estimate, float], str]] = dict.fromkeys(SUMMARY, _sentence)
