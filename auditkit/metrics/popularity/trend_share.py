"""Trend share: how much of each list the globally trending products fill."""

from __future__ import annotations

import numpy as np

from auditkit.metrics._shown import ShownItems
from auditkit.metrics.popularity._inputs import check_exposure_inputs
from auditkit.metrics.popularity._means import per_probe_estimate
from auditkit.metrics.popularity.trending import trending_set
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables

TREND_SHARE_ID = "popularity.trend_share"
TREND_SHARE_THRESHOLD = Threshold(warn=0.3, fail=0.45)


def trend_share(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Share of recommended products in the global trending set.

    The trending set is the spec's list of trending canonical ids when it gives one (the
    catalogs' ``trending`` column), else the `TRENDING_TOP_N` canonical products with the
    highest popularity summed over every shop's catalog (`trending_set`). Per probe, the
    share of its recommended catalog items in it; the value is the mean over probes.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over probes.

    Returns
    -------
    Estimate
        ``by_group = {"persona": {...}}``; ``details`` counts probes used and skipped, and
        says which rule made the set (``trending_rule``: ``"spec"`` or ``"top_popularity"``)
        and how many products it holds (``trending_products``); ``words`` says the same for
        the sentence.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_exposure_inputs(
        TREND_SHARE_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    trending = trending_set(tables)
    mask = trending.mask()

    def in_set(tables: AuditTables, shown: ShownItems) -> np.ndarray:
        return mask[tables.codes.of("responses", "item_key")[shown.rows]]

    about = {"trending_rule": trending.rule, "trending_products": len(trending.keys)}
    return per_probe_estimate(
        TREND_SHARE_ID,
        in_set,
        tables,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        details=about,
        words=dict(about),
    )
