"""The metrics of an audit and the inference they share.

Each metric is a pure function ``fn(tables, *, n_resamples, confidence, seed)`` returning an
`Estimate`; `METRICS` registers them by id, and `auditkit.judging` turns estimates into
verdicts. See ``docs/metrics.md``.
"""

from auditkit.metrics.homogenization.cross_shop import cross_shop_jaccard
from auditkit.metrics.popularity.lift import popularity_lift
from auditkit.metrics.registry import METRICS, MetricDef, get_metric, metric_ids
from auditkit.metrics.segments.counterfactual import counterfactual_divergence
from auditkit.metrics.stats import (
    benjamini_hochberg,
    bootstrap_ci,
    bootstrap_diff_ci,
    mann_whitney_p,
)

__all__ = [
    "METRICS",
    "MetricDef",
    "benjamini_hochberg",
    "bootstrap_ci",
    "bootstrap_diff_ci",
    "counterfactual_divergence",
    "cross_shop_jaccard",
    "get_metric",
    "mann_whitney_p",
    "metric_ids",
    "popularity_lift",
]
