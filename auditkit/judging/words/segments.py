"""The sentences of the segment metrics.

A sentence reads the estimate's value and its ``words`` (the attribute, groups or level it
names); a gap whose test cannot tell it from chance at ``alpha`` says so, and an estimate with
a ``reason`` was not measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from auditkit.metrics.segments.counterfactual import METRIC_ID as DIVERGENCE_ID
from auditkit.metrics.segments.groups import EXPOSURE_ID, HIT_RATE_ID, PRICE_GAP_ID
from auditkit.metrics.segments.pairs import POPULARITY_GAP_ID
from auditkit.metrics.segments.pairs import PRICE_GAP_ID as PAIRED_PRICE_ID
from auditkit.results import Estimate

DIVERGENCE_SUMMARY = (
    "Changing only a customer's {attribute} makes {pair:.0%} of the products differ between "
    "otherwise identical customers' lists, against {noise:.0%} when the same customer simply "
    "asks again."
)
DIVERGENCE_NO_NOISE = (
    "Changing only a customer's {attribute} makes {pair:.0%} of the products differ between "
    "otherwise identical customers' lists; no repeated probes were sent to tell how much of "
    "that is the vendor's own randomness."
)
DIVERGENCE_NONE = "No answered counterfactual pairs were available to measure segment effects."

GROUP_SUMMARY = {
    PRICE_GAP_ID: "Customers whose {attribute} is {lowest} are shown lists that cost {value:.0%} "
    "less on average than those whose {attribute} is {highest}.",
    EXPOSURE_ID: "Customers whose {attribute} is {lowest} see the shop's premium products at "
    "{value:.0%} of the rate of those whose {attribute} is {highest}.",
    HIT_RATE_ID: "Customers whose {attribute} is {lowest} find their own held-out tastes in "
    "their lists at {value:.0%} of the rate of those whose {attribute} is {highest}.",
}
GROUP_NONE = "Segment groups could not be compared: {reason}."

PAIRED_SUMMARY = (
    "Changing only a customer's {attribute} to {level} makes the recommended products "
    "{value:.0%} {direction} than for the same customer otherwise."
)
PAIRED_NONE = "No answered counterfactual twins had {what} to compare."

FEW_EVENTS = (
    " A group had too few of them (under 5 probes) for the ratio to have an interval; more "
    "customers would settle it."
)
NOISE = " The probes cannot tell this from chance (p = {p:.2g}); more customers would settle it."


def _chance(estimate: Estimate, alpha: float) -> str:
    """The note for a gap its test cannot tell from chance at ``alpha`` (else nothing)."""
    p_value = estimate.p_value
    if p_value is not None and p_value < alpha:
        return ""
    return NOISE.format(p=math.nan if p_value is None else p_value)


def _divergence(estimate: Estimate, alpha: float) -> str:
    """Twins' divergence against the vendor's own, when repeats measured it."""
    if estimate.reason is not None:
        return DIVERGENCE_NONE
    words = estimate.words
    if words["noise"] is None:
        return DIVERGENCE_NO_NOISE.format(**words)
    return DIVERGENCE_SUMMARY.format(**words)


def _groups(estimate: Estimate, alpha: float) -> str:
    """The attribute with the largest gap, naming its lowest and highest groups."""
    if estimate.reason is not None:
        return GROUP_NONE.format(reason=estimate.reason)
    text = GROUP_SUMMARY[estimate.id].format(value=estimate.value, **estimate.words)
    if estimate.ci is None:
        return text + FEW_EVENTS
    return text + _chance(estimate, alpha)


def _paired(estimate: Estimate, alpha: float) -> str:
    """The level one attribute alone moves most, and which way."""
    if estimate.reason is not None:
        return PAIRED_NONE.format(**estimate.words)
    return PAIRED_SUMMARY.format(value=estimate.value, **estimate.words) + _chance(estimate, alpha)


SENTENCES: dict[str, Callable[[Estimate, float], str]] = {
    DIVERGENCE_ID: _divergence,
    **dict.fromkeys(GROUP_SUMMARY, _groups),
    PAIRED_PRICE_ID: _paired,
    POPULARITY_GAP_ID: _paired,
}
