"""Every metric auditkit can compute, by id: a plain dict and two lookups.

The ids are ``<family>.<name>``; a spec's ``metrics`` section names them, and the audit calls
each ``compute`` with the same keyword options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from auditkit.frames import AuditTables
from auditkit.metrics import (
    homogenization,
    popularity,
    segment_groups,
    segment_pairs,
    segments,
)
from auditkit.results import MetricResult, Threshold

UNKNOWN_METRIC = "get_metric: name must be one of {valid}; got {value!r}"


class MetricFunction(Protocol):
    """The signature every metric shares."""

    def __call__(
        self,
        tables: AuditTables,
        *,
        threshold: Threshold | None = ...,
        n_resamples: int = ...,
        confidence: float = ...,
        seed: int = ...,
    ) -> MetricResult:
        """Compute the metric over the audit's tables."""
        ...


@dataclass(frozen=True)
class MetricDef:
    """A registered metric: its id, family, function, default threshold and a description."""

    id: str
    family: str
    compute: MetricFunction
    default_threshold: Threshold
    description: str


METRICS: dict[str, MetricDef] = {
    definition.id: definition
    for definition in (
        MetricDef(
            id=homogenization.METRIC_ID,
            family=homogenization.FAMILY,
            compute=homogenization.cross_shop_jaccard,
            default_threshold=homogenization.DEFAULT_THRESHOLD,
            description="Mean Jaccard overlap of matched customers' lists at different shops.",
        ),
        MetricDef(
            id=popularity.METRIC_ID,
            family=popularity.FAMILY,
            compute=popularity.popularity_lift,
            default_threshold=popularity.DEFAULT_THRESHOLD,
            description="Mean relative popularity of recommendations over the probe's history.",
        ),
        MetricDef(
            id=segments.METRIC_ID,
            family=segments.FAMILY,
            compute=segments.counterfactual_divergence,
            default_threshold=segments.DEFAULT_THRESHOLD,
            description=("Divergence of counterfactual twins' lists beyond repeats' divergence."),
        ),
        MetricDef(
            id=segment_groups.PRICE_GAP_ID,
            family=segment_groups.FAMILY,
            compute=segment_groups.price_gap,
            default_threshold=segment_groups.PRICE_GAP_THRESHOLD,
            description="Largest relative gap in mean list price between segment groups.",
        ),
        MetricDef(
            id=segment_groups.EXPOSURE_ID,
            family=segment_groups.FAMILY,
            compute=segment_groups.exposure_impact_ratio,
            default_threshold=segment_groups.EXPOSURE_THRESHOLD,
            description="Lowest impact ratio of segment groups' exposure to premium products.",
        ),
        MetricDef(
            id=segment_groups.HIT_RATE_ID,
            family=segment_groups.FAMILY,
            compute=segment_groups.hit_rate_ratio,
            default_threshold=segment_groups.HIT_RATE_THRESHOLD,
            description="Lowest impact ratio of segment groups' hit rate on held-out tastes.",
        ),
        MetricDef(
            id=segment_pairs.PRICE_GAP_ID,
            family=segment_groups.FAMILY,
            compute=segment_pairs.counterfactual_price_gap,
            default_threshold=segment_pairs.DEFAULT_THRESHOLD,
            description="Relative change in list price one attribute alone makes between twins.",
        ),
        MetricDef(
            id=segment_pairs.POPULARITY_GAP_ID,
            family=segment_groups.FAMILY,
            compute=segment_pairs.counterfactual_popularity_gap,
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
