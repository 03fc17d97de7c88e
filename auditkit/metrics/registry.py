"""Every metric auditkit can compute, by id: a plain dict and two lookups.

The ids are ``<family>.<name>``; a spec's ``metrics`` section names them, and the audit calls
each ``estimate`` with the same keyword options, then `auditkit.judging` judges it by ``rule``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, Protocol

from auditkit.metrics import homogenization, popularity
from auditkit.metrics.segments import counterfactual as segments
from auditkit.metrics.segments import groups as segment_groups
from auditkit.metrics.segments import pairs as segment_pairs
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables

UNKNOWN_METRIC = "get_metric: name must be one of {valid}; got {value!r}"


class MetricEstimator(Protocol):
    """The signature every metric shares: tables and inference options in, an estimate out.

    ``n_resamples`` (default 1000) counts the bootstrap's resamples of the metric's unit,
    ``confidence`` (0.95) is the coverage of its interval and ``1 - confidence`` the level of
    its tests, and ``seed`` (0) seeds every random draw; a metric may add options of its own.
    """

    def __call__(
        self,
        tables: AuditTables,
        *,
        n_resamples: int = ...,
        confidence: float = ...,
        seed: int = ...,
    ) -> Estimate:
        """Estimate the metric over the audit's tables."""
        ...


@dataclass(frozen=True)
class MetricDef:
    """A registered metric: its id, family, estimator, default threshold and a description.

    ``full_tables`` marks a metric that reads the special-purpose probes too (trend planting,
    claim verification); every other metric gets `AuditTables.core`.
    """

    id: str
    family: str
    default_threshold: Threshold
    description: str
    estimate: MetricEstimator
    full_tables: bool = False
    # Where the value can lie (the interval may reach past it); a threshold outside is a typo.
    value_range: tuple[float, float] = (-math.inf, math.inf)
    # How `auditkit.judging` turns the estimate into a verdict ("tested": warn and fail also
    # need the estimate's test to reject chance; "reported": judged only against a threshold
    # the auditor sets, the default one being a starting point, not a verdict).
    rule: Literal["interval", "tested", "reported"] = "interval"

    def measure(
        self, tables: AuditTables, *, n_resamples: int, confidence: float, seed: int
    ) -> Estimate:
        """The metric's estimate, its interval kept inside ``value_range``.

        Resamples spread about their stratum means (`auditkit.metrics._bootstrap.rescaled`) can
        reach past the values the metric can take, and so can their interval; no value there
        is possible, so the interval stops at the range.
        """
        found = self.estimate(tables, n_resamples=n_resamples, confidence=confidence, seed=seed)
        if found.ci is None or not all(map(math.isfinite, found.ci)):
            return found
        low, high = self.value_range
        clipped = (min(max(found.ci[0], low), high), min(max(found.ci[1], low), high))
        return found if clipped == found.ci else dataclasses.replace(found, ci=clipped)


METRICS: dict[str, MetricDef] = {
    definition.id: definition
    for definition in (
        MetricDef(
            id=homogenization.METRIC_ID,
            family=homogenization.FAMILY,
            estimate=homogenization.cross_shop_jaccard,
            default_threshold=homogenization.DEFAULT_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Jaccard overlap of matched customers' lists on products both shops sell.",
        ),
        MetricDef(
            id=homogenization.RBO_ID,
            family=homogenization.FAMILY,
            estimate=homogenization.cross_shop_rbo,
            default_threshold=homogenization.RBO_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Mean rank-biased overlap of matched customers' lists at different shops.",
        ),
        MetricDef(
            id=homogenization.DIVERGENCE_ID,
            family=homogenization.FAMILY,
            estimate=homogenization.category_divergence,
            default_threshold=homogenization.DIVERGENCE_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Jensen-Shannon divergence of matched lists' category mixes across shops.",
            rule="reported",
        ),
        MetricDef(
            id=homogenization.INDEX_ID,
            family=homogenization.FAMILY,
            estimate=homogenization.index,
            default_threshold=homogenization.INDEX_THRESHOLD,
            value_range=(0.0, math.inf),
            description="Cross-shop overlap as a share of the vendor's agreement with itself.",
        ),
        MetricDef(
            id=homogenization.SIGNATURE_ID,
            family=homogenization.FAMILY,
            estimate=homogenization.signature_retention,
            default_threshold=homogenization.SIGNATURE_THRESHOLD,
            value_range=(0.0, math.inf),
            description="Exposure of shops' signature products over their catalog share.",
            rule="reported",
        ),
        MetricDef(
            id=homogenization.WITHIN_ID,
            family=homogenization.FAMILY,
            estimate=homogenization.within_shop_jaccard,
            default_threshold=homogenization.WITHIN_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Pooled Jaccard overlap of different customers' lists at one shop.",
            rule="reported",
        ),
        MetricDef(
            id=popularity.METRIC_ID,
            family=popularity.FAMILY,
            estimate=popularity.popularity_lift,
            default_threshold=popularity.DEFAULT_THRESHOLD,
            value_range=(-1.0, math.inf),
            description="Popularity of recommendations over the customers' histories (ΔGAP).",
            rule="reported",
        ),
        MetricDef(
            id=popularity.ARP_ID,
            family=popularity.FAMILY,
            estimate=popularity.arp,
            default_threshold=popularity.ARP_THRESHOLD,
            value_range=(0.0, math.inf),
            description="Mean popularity of recommendations relative to the shop's average item.",
            rule="reported",
        ),
        MetricDef(
            id=popularity.LONG_TAIL_ID,
            family=popularity.FAMILY,
            estimate=popularity.long_tail_share,
            default_threshold=popularity.LONG_TAIL_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Share of recommendations from outside each shop's most popular fifth.",
            rule="reported",
        ),
        MetricDef(
            id=popularity.GINI_ID,
            family=popularity.FAMILY,
            estimate=popularity.gini,
            default_threshold=popularity.GINI_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Gini coefficient of exposure over each shop's whole catalog.",
            rule="reported",
        ),
        MetricDef(
            id=popularity.COVERAGE_ID,
            family=popularity.FAMILY,
            estimate=popularity.coverage,
            default_threshold=popularity.COVERAGE_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Share of each shop's catalog recommended at least once.",
            rule="reported",
        ),
        MetricDef(
            id=popularity.TREND_SHARE_ID,
            family=popularity.FAMILY,
            estimate=popularity.trend_share,
            default_threshold=popularity.TREND_SHARE_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Share of recommendations among the products trending across shops.",
        ),
        MetricDef(
            id=popularity.LEAKAGE_ID,
            family=popularity.FAMILY,
            estimate=popularity.trend_leakage,
            default_threshold=popularity.LEAKAGE_THRESHOLD,
            value_range=(-2.0, 2.0),
            description="Rise of a planted trend at the other shops against a control product.",
            full_tables=True,
        ),
        MetricDef(
            id=segments.METRIC_ID,
            family=segments.FAMILY,
            estimate=segments.counterfactual_divergence,
            # Without repeats there is no measured noise to exceed: no test, no verdict.
            rule="tested",
            default_threshold=segments.DEFAULT_THRESHOLD,
            value_range=(-1.0, 1.0),
            description=("Divergence of counterfactual twins' lists beyond repeats' divergence."),
        ),
        MetricDef(
            id=segment_groups.PRICE_GAP_ID,
            family=segment_groups.FAMILY,
            estimate=segment_groups.price_gap,
            rule="tested",
            default_threshold=segment_groups.PRICE_GAP_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Largest relative gap in mean list price between segment groups.",
        ),
        MetricDef(
            id=segment_groups.EXPOSURE_ID,
            family=segment_groups.FAMILY,
            estimate=segment_groups.exposure_impact_ratio,
            rule="tested",
            default_threshold=segment_groups.EXPOSURE_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Lowest impact ratio of segment groups' exposure to premium products.",
        ),
        MetricDef(
            id=segment_groups.HIT_RATE_ID,
            family=segment_groups.FAMILY,
            estimate=segment_groups.hit_rate_ratio,
            rule="tested",
            default_threshold=segment_groups.HIT_RATE_THRESHOLD,
            value_range=(0.0, 1.0),
            description="Lowest impact ratio of segment groups' hit rate on held-out tastes.",
        ),
        MetricDef(
            id=segment_pairs.PRICE_GAP_ID,
            family=segment_groups.FAMILY,
            estimate=segment_pairs.counterfactual_price_gap,
            rule="tested",
            default_threshold=segment_pairs.DEFAULT_THRESHOLD,
            description="Relative change in list price one attribute alone makes between twins.",
        ),
        MetricDef(
            id=segment_pairs.POPULARITY_GAP_ID,
            family=segment_groups.FAMILY,
            estimate=segment_pairs.counterfactual_popularity_gap,
            rule="tested",
            default_threshold=segment_pairs.DEFAULT_THRESHOLD,
            description="Relative change in popularity one attribute alone makes between twins.",
        ),
    )
}


def metric_ids() -> tuple[str, ...]:
    """The registered metric ids, in registry order."""
    return tuple(METRICS)


def get_metric(name: str) -> MetricDef:
    """The registered metric called ``name``.

    Parameters
    ----------
    name : str
        A metric id such as ``"homogenization.cross_shop_jaccard"``.

    Returns
    -------
    MetricDef

    Raises
    ------
    KeyError
        When ``name`` is not registered; the message lists the valid ids.
    """
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        raise KeyError(UNKNOWN_METRIC.format(valid=sorted(METRICS), value=name)) from None
