"""The sentences of the popularity metrics.

A sentence reads the estimate's value, and its ``words`` for the trending set it measured
against; an estimate with a ``reason`` was not measured, and its sentence says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from auditkit.metrics.popularity import (
    ARP_ID,
    COVERAGE_ID,
    GINI_ID,
    LEAKAGE_ID,
    LONG_TAIL_ID,
    METRIC_ID,
    TREND_SHARE_ID,
)
from auditkit.metrics.popularity.trending import RULE_SPEC, RULE_TOP
from auditkit.results import Estimate

# How a sentence names the trending set, by the rule that made it.
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
LIFT_SUMMARY = (
    "Recommended products are {amount:.0%} {direction} popular in their shop, on average, than "
    "the products in the customers' own histories."
)
LIFT_SUMMARY_NONE = "The popularity lift could not be measured: {reason}."
LEAKAGE_SUMMARY = (
    "After a product was made to trend in one shop, customers at the other shops were "
    "{value:+.0%} more often shown it than a comparable control product."
)
LEAKAGE_TRENDING_NOTE = (
    " The {which} {products} among {trending} already, which weakens the comparison."
)
LEAKAGE_SUMMARY_NONE = "Trend leakage could not be measured: {reason}."


def _trending(words: Mapping[str, object]) -> str:
    """The trending set as a sentence names it, from ``trending_rule`` and its size."""
    return TRENDING_RULES[str(words["trending_rule"])].format(count=words["trending_products"])


def _mean(estimate: Estimate, alpha: float) -> str:
    """A mean over probes or shops: its template, or why it was not measured."""
    if estimate.reason is not None:
        return SUMMARY_NONE.format(name=estimate.id, reason=estimate.reason)
    return SUMMARY[estimate.id].format(value=estimate.value)


def _trend_share(estimate: Estimate, alpha: float) -> str:
    """The trend share, naming the trending set it counted."""
    if estimate.reason is not None:
        return _mean(estimate, alpha)
    return SUMMARY[TREND_SHARE_ID].format(value=estimate.value, trending=_trending(estimate.words))


def _lift(estimate: Estimate, alpha: float) -> str:
    """The popularity lift, as how much more (or less) popular the lists are."""
    if estimate.reason is not None:
        return LIFT_SUMMARY_NONE.format(reason=estimate.reason)
    value = estimate.value
    return LIFT_SUMMARY.format(amount=abs(value), direction="more" if value >= 0 else "less")


def _leakage(estimate: Estimate, alpha: float) -> str:
    """Trend leakage, noting when the planted or control product was trending already."""
    if estimate.reason is not None:
        return LEAKAGE_SUMMARY_NONE.format(reason=estimate.reason)
    text = LEAKAGE_SUMMARY.format(value=estimate.value)
    already = list(estimate.words.get("already", []))
    if already:
        text += LEAKAGE_TRENDING_NOTE.format(
            which=" and the ".join(already),
            products="product is" if len(already) == 1 else "products are",
            trending=_trending(estimate.words),
        )
    return text


SENTENCES: dict[str, Callable[[Estimate, float], str]] = {
    METRIC_ID: _lift,
    ARP_ID: _mean,
    LONG_TAIL_ID: _mean,
    GINI_ID: _mean,
    COVERAGE_ID: _mean,
    TREND_SHARE_ID: _trend_share,
    LEAKAGE_ID: _leakage,
}
