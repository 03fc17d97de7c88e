"""Estimates that are a mean over units: over probes of their shown items, or over shops.

The interval is the bootstrap over those units; with no unit the value is NaN and the estimate
(and its ``details``) says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from auditkit.metrics._shown import ShownItems, probe_means, shown_items
from auditkit.metrics.popularity._arrays import label_means, numbers
from auditkit.metrics.popularity._inputs import FAMILY
from auditkit.metrics.stats import bootstrap_ci
from auditkit.results import Estimate
from auditkit.tables import AuditTables

REASON_NO_POPULARITY = "no shop catalog gives item popularity"
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
) -> Estimate:
    """The mean of ``values`` (one per unit) with its bootstrap interval; NaN for ``reason``."""
    n = len(values)
    if n == 0:
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
    return Estimate(
        id=metric_id,
        family=FAMILY,
        value=float(values.mean()),
        ci=bootstrap_ci(values, n_resamples=n_resamples, confidence=confidence, seed=seed),
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
    """A mean over probes of the mean of ``item_value`` over each probe's shown items."""
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
        "probe",
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
    )
