"""Intervals of statistics of a shop's item counts, resampling customers.

Coverage, the Gini coefficient of exposure and the within-shop pooled Jaccard are not means
over units: each is a function of how many lists show each of a shop's items. Those counts are
sums over customers, so a bootstrap resample of customers (`resampled_counts`: how often each
customer is drawn) gives the resampled counts of every item as one sparse product, and the
statistic is recomputed from them, a chunk of resamples at once. The customer is the unit, as
in every other interval: the shops are the audit's design, not a sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix

from auditkit.metrics._bootstrap import (
    COUNT_CHUNK_ELEMENTS,
    expanded_confidence,
    percentile_interval,
    resampled_counts,
)


def customer_incidence(
    cell: np.ndarray, customer: np.ndarray, n_cells: int, n_customers: int
) -> csr_matrix:
    """How many entries of each customer fall in each cell: a sparse (cells x customers)."""
    ones = np.ones(cell.size, dtype=np.float64)
    matrix = coo_matrix((ones, (cell, customer)), shape=(n_cells, n_customers))
    return matrix.tocsr()


def resampled_statistic_ci(
    statistic: Callable[[np.ndarray], np.ndarray],
    n_customers: int,
    *,
    n_cells: int,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over bootstrap resamples of the customers.

    ``statistic(counts)`` takes the draw counts of a slice of resamples (resamples x
    customers) and returns one value per resample. Slices keep ``n_cells`` resampled values
    per resample within `COUNT_CHUNK_ELEMENTS`. The interval is read at the expanded level
    of `expanded_confidence` for ``n_customers`` units; ``(nan, nan)`` below two customers.
    """
    if n_customers < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    values = np.empty(n_resamples)
    step = max(1, COUNT_CHUNK_ELEMENTS // max(1, n_cells))
    for start, counts in resampled_counts(rng, n_customers, n_resamples):
        for offset in range(0, len(counts), step):
            part = counts[offset : offset + step]
            values[start + offset : start + offset + len(part)] = statistic(part)
    return percentile_interval(values, expanded_confidence(confidence, n_customers))


def resampled_cells(incidence: csr_matrix, counts: np.ndarray) -> np.ndarray:
    """Each cell's resampled sum, per resample: (cells x resamples), dense."""
    return np.asarray(incidence @ counts.T)
