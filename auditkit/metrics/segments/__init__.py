"""Segment bias: counterfactual twins and segment groups, per outcome."""

from auditkit.metrics.segments import counterfactual, groups, pairs
from auditkit.metrics.segments.counterfactual import counterfactual_divergence
from auditkit.metrics.segments.groups import exposure_impact_ratio, hit_rate_ratio, price_gap
from auditkit.metrics.segments.pairs import (
    counterfactual_popularity_gap,
    counterfactual_price_gap,
)

__all__ = [
    "counterfactual",
    "counterfactual_divergence",
    "counterfactual_popularity_gap",
    "counterfactual_price_gap",
    "exposure_impact_ratio",
    "groups",
    "hit_rate_ratio",
    "pairs",
    "price_gap",
]
