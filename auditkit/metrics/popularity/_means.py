"""Estimates that are a mean over units: over probes of their shown items, or over shops.

The interval is the bootstrap over the units (a probe's unit is its customer); with no unit
the value is NaN and the estimate (and its ``details``) says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from auditkit.metrics._customers import probe_customers
from auditkit.metrics._shown import ShownItems, probe_means, shown_items
from auditkit.metrics.popularity._arrays import label_means, numbers
from auditkit.metrics.popularity._inputs import FAMILY
from auditkit.metrics.stats import bootstrap_ci, cluster_bootstrap_ci
from auditkit.results import Estimate
from auditkit.tables import AuditTables

REASON_NO_POPULARITY = "no shop catalog gives item popularity"
UNIT = "customer"
REASON_NO_PROBES = "no answered probe recommended a catalog item of known popularity"


def mean_estimate(
    metric_id: str,
    unit: str,
    values: np.ndarray,
    *,
    by_group: dict[str, dict[str, float]],
    details: dict[str, object],
    reason: str,
    n_resamples: int,
    confidence: float,
    seed: int,
    words: dict[str, object] | None = None,
    clusters: np.ndarray | None = None,
    strata: np.ndarray | None = None,
) -> Estimate:
    """The mean of ``values`` with its bootstrap interval; NaN for ``reason``.

    ``values`` are one per unit, or with ``clusters`` one per row of a cluster (a customer's
    probes): the clusters are then the units, resampled whole (within their ``strata``, the
    design's personas, one per cluster), and ``n`` counts them.
    """
    if len(values) == 0:
        return Estimate(
            id=metric_id,
            family=FAMILY,
            value=math.nan,
            ci=None,
            n=0,
            unit=unit,
            by_group=by_group,
            details={**details, "reason": reason},
            words=words or {},
            reason=reason,
        )
    if clusters is None:
        n = len(values)
        ci = bootstrap_ci(values, n_resamples=n_resamples, confidence=confidence, seed=seed)
    else:
        n = len(np.unique(clusters))
        ci = cluster_bootstrap_ci(
            values,
            clusters,
            strata=strata,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
    return Estimate(
        id=metric_id,
        family=FAMILY,
        value=float(values.mean()),
        ci=ci,
        n=n,
        unit=unit,
        by_group=by_group,
        details=details,
        words=words or {},
    )


def per_probe_estimate(
    metric_id: str,
    item_value: Callable[[AuditTables, ShownItems], np.ndarray],
    tables: AuditTables,
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
    details: dict[str, object] | None = None,
    words: dict[str, object] | None = None,
) -> Estimate:
    """A mean over probes of the mean of ``item_value`` over each probe's shown items.

    The unit is the customer: its probes (every shop, twin and context) are resampled together.
    """
    shown = shown_items(tables)
    used, array = probe_means(shown, item_value(tables, shown))
    persona = tables.codes.per_probe("persona_id")
    # Why nothing was measured, when nothing was: read the catalogs only then.
    no_popularity = (
        len(array) == 0 and not np.isfinite(numbers(tables.catalogs["popularity"])).any()
    )
    labels = tables.codes.dictionary("persona_id")
    return mean_estimate(
        metric_id,
        UNIT,
        array,
        by_group={"persona": label_means(persona[used], array, labels)},
        details={
            "probes": len(array),
            "probes_skipped": len(shown.probes) - len(array),
            **(details or {}),
        },
        reason=REASON_NO_POPULARITY if no_popularity else REASON_NO_PROBES,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        words=words,
        clusters=probe_customers(tables, used) if len(array) else None,
        strata=persona[used],
    )
