"""Average recommendation popularity: how popular the shown items are in their own shop."""

from __future__ import annotations

import numpy as np

from auditkit.metrics._shown import ShownItems
from auditkit.metrics.popularity._arrays import numbers
from auditkit.metrics.popularity._catalog import shop_popularity
from auditkit.metrics.popularity._inputs import check_exposure_inputs
from auditkit.metrics.popularity._means import per_probe_estimate
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables

ARP_ID = "popularity.arp"
# Relative popularity: 1 = as popular as the shop's average item. On the built-in world a list
# of each shop's own bestsellers scores about 11, a personalized one about 9. See docs/metrics.md.
ARP_THRESHOLD = Threshold(warn=10.0, fail=20.0)


def _shop_mean_popularity(tables: AuditTables) -> np.ndarray:
    """Per shop code, the mean known popularity of its catalog (NaN unless positive), padded."""
    sums, counts = shop_popularity(tables)
    mean = np.full(sums.size + 1, np.nan)
    np.divide(sums, counts, out=mean[:-1], where=counts > 0)
    mean[~(mean > 0)] = np.nan
    return mean


def _relative_popularity(tables: AuditTables, shown: ShownItems) -> np.ndarray:
    """Each shown item's popularity over its shop's mean catalog popularity."""
    popularity = numbers(tables.responses["popularity"])[shown.rows]
    return popularity / _shop_mean_popularity(tables)[shown.shop]


def arp(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Average recommendation popularity, relative to each shop's average product.

    Per answered first-repetition probe, the mean over its recommended catalog items of known
    popularity of ``popularity(i) / mean popularity of the shop's catalog``; the value is the
    mean over probes. 1 means as popular as the shop's average product.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over probes.

    Returns
    -------
    Estimate
        ``by_group = {"persona": {...}}``; ``details`` counts probes used and skipped.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_exposure_inputs(
        ARP_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    return per_probe_estimate(
        ARP_ID,
        _relative_popularity,
        tables,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
