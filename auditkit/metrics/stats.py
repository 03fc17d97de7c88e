"""The inference core of auditkit: bootstrap intervals, a rank test and FDR control.

Every metric reports a percentile bootstrap confidence interval over its independent unit
(probe, pair group or match group); every hypothesis test reports a p-value, adjusted across
the whole audit with Benjamini–Hochberg. Everything here is a pure function over arrays with
keyword-only options; every random draw comes from
``np.random.default_rng(np.random.SeedSequence(seed))``, never from a global generator.

The boundary checks that every metric shares (its tables, threshold and inference options)
live here too, so that all of them raise the one message template `INVALID_ARGUMENT`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from auditkit.results import Threshold
from auditkit.tables import AuditTables

INVALID_ARGUMENT = "{where}: {key} must be {rule}; got {value!r}"
RULE_POSITIVE_INT = "a positive integer"
RULE_SEED = "a non-negative integer"
RULE_CONFIDENCE = "a number strictly between 0 and 1"
RULE_FINITE_1D = "a 1-D array of finite numbers"
RULE_WEIGHTS = "a 1-D array of non-negative finite numbers as long as values"
RULE_STRATA = "a 1-D array of labels as long as values"
RULE_CLUSTERS = "a 1-D array of sortable labels as long as values"
RULE_FINITE_2D = "a 2-D array of finite numbers with at least one row"
RULE_P_VALUES = "a 1-D sequence of numbers in [0, 1], NaN or None"
RULE_ALTERNATIVE = "one of 'greater', 'less', 'two-sided'"
RULE_COLUMNS = "a table with columns {columns}"
RULE_TABLES = "an AuditTables"
RULE_THRESHOLD = "a Threshold or None"

ALTERNATIVES: tuple[str, ...] = ("greater", "less", "two-sided")

# Above this many units a bootstrap resamples random groups of units (`_random_groups`):
# at a million units and 1000 resamples the unit-level draws alone take seconds per metric,
# while intervals from this many independent groups are as good in practice.
MAX_RESAMPLED_UNITS = 50_000
MIN_GROUPS_PER_STRATUM = 50
# Index draws per chunk of resamples (resamples x units): 8 MiB of int32 indices and 16 MiB
# of gathered values (twice that for a ratio), so memory stays bounded whatever the units,
# and a chunk's arrays stay near the cache: 2**23 draws per chunk made a first call of 1000
# resamples of 50,000 groups 2-3 times slower, paying for fresh memory.
_CHUNK_ELEMENTS = 1 << 21


def _invalid(where: str, key: str, rule: str, value: object) -> ValueError:
    return ValueError(INVALID_ARGUMENT.format(where=where, key=key, rule=rule, value=value))


def check_inference_options(
    where: str, *, n_resamples: object, confidence: object, seed: object
) -> None:
    """Raise `ValueError` (one template) unless the bootstrap options are usable.

    Parameters
    ----------
    where : str
        Who is checking (a function or metric id), the start of the message.
    n_resamples, confidence, seed
        The options as the caller received them.
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, Integral) or n_resamples < 1:
        raise _invalid(where, "n_resamples", RULE_POSITIVE_INT, n_resamples)
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise _invalid(where, "confidence", RULE_CONFIDENCE, confidence)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise _invalid(where, "seed", RULE_SEED, seed)


def check_metric_inputs(
    where: str,
    tables: object,
    threshold: object,
    *,
    n_resamples: object,
    confidence: object,
    seed: object,
) -> None:
    """Raise `ValueError` (one template) unless a metric's inputs are usable.

    Parameters
    ----------
    where : str
        The metric id, the start of the message.
    tables, threshold, n_resamples, confidence, seed
        The metric's arguments as it received them.
    """
    if not isinstance(tables, AuditTables):
        raise _invalid(where, "tables", RULE_TABLES, type(tables).__name__)
    if threshold is not None and not isinstance(threshold, Threshold):
        raise _invalid(where, "threshold", RULE_THRESHOLD, threshold)
    check_inference_options(where, n_resamples=n_resamples, confidence=confidence, seed=seed)


def check_columns(where: str, key: str, frame: Any, columns: Sequence[str]) -> None:
    """Raise `ValueError` (one template) unless ``frame`` has every one of ``columns``.

    Parameters
    ----------
    where : str
        Who is checking (a metric id), the start of the message.
    key : str
        How the caller names the table, e.g. ``"tables.responses"``.
    frame : DataFrame
        The table (anything with ``columns``).
    columns : sequence of str
        The columns the caller reads.
    """
    present = list(frame.columns)
    if any(column not in present for column in columns):
        rule = RULE_COLUMNS.format(columns=list(columns))
        raise _invalid(where, key, rule, present)


def _as_finite(where: str, key: str, values: Any) -> np.ndarray:
    """``values`` as a 1-D float64 array of finite numbers, else raise."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise _invalid(where, key, RULE_FINITE_1D, values) from None
    if array.ndim != 1:
        raise _invalid(where, key, RULE_FINITE_1D, array.shape)
    bad = ~np.isfinite(array)
    if bad.any():
        raise _invalid(where, key, RULE_FINITE_1D, float(array[bad][0]))
    return array


def draw_indices(
    rng: np.random.Generator, low: int | np.ndarray, high: int | np.ndarray, size: tuple[int, ...]
) -> np.ndarray:
    """Uniform integer draws in ``[low, high)``, as int32 when they fit.

    numpy's bounded 32-bit generator is several times faster than its 64-bit one, and
    gathering through int32 indices halves their memory: at a million units and a thousand
    resamples the draws are most of a bootstrap's cost.
    """
    if int(np.max(high)) <= np.iinfo(np.int32).max:
        low = low.astype(np.int32) if isinstance(low, np.ndarray) else low
        high = high.astype(np.int32) if isinstance(high, np.ndarray) else high
        return rng.integers(low, high, size=size, dtype=np.int32)
    return rng.integers(low, high, size=size)


def _resample_statistics(
    values: np.ndarray,
    weights: np.ndarray | None,
    n_resamples: int,
    rng: np.random.Generator,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The statistic (mean, or ratio of sums) of ``n_resamples`` bootstrap resamples.

    With ``bounds = (low, high)``, unit ``i`` is redrawn from ``[low[i], high[i])``: the units
    of its own stratum, so every resample keeps the design's stratum sizes.
    """
    n = len(values)
    per_chunk = max(1, min(n_resamples, _CHUNK_ELEMENTS // n))
    out = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, per_chunk):
        size = min(per_chunk, n_resamples - start)
        if bounds is None:
            index = draw_indices(rng, 0, n, (size, n))
        else:
            index = draw_indices(rng, bounds[0], bounds[1], (size, n))
        numerator = values[index].sum(axis=1)
        if weights is None:
            out[start : start + size] = numerator / n
            continue
        denominator = weights[index].sum(axis=1)
        # A resample whose weights are all zero has no ratio; it is dropped below.
        with np.errstate(divide="ignore", invalid="ignore"):
            out[start : start + size] = np.where(denominator > 0, numerator / denominator, np.nan)
    return out


def stable_order(codes: np.ndarray) -> np.ndarray:
    """The stable sort order of non-negative integer ``codes``.

    Codes below 2**16 are sorted as ``uint16``, which numpy sorts stably by radix sort in
    linear time (several times faster than a merge sort of wider integers).
    """
    if codes.size and int(codes.min()) >= 0 and int(codes.max()) <= np.iinfo(np.uint16).max:
        codes = codes.astype(np.uint16)
    return np.argsort(codes, kind="stable")


def _random_groups(
    codes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray] | None:
    """A random group per unit within its stratum, or None when the units stay units.

    The random group method (Wolter, *Introduction to Variance Estimation*, ch. 2): units
    dealt at random into groups of ``m`` make independent groups, so resampling the groups'
    sums (of values, and of weights or unit counts as the ratio's denominator) has the units'
    bootstrap distribution in the limit, at a cost set by the number of groups instead of the
    number of units. ``m`` keeps at most `MAX_RESAMPLED_UNITS` groups and at least
    `MIN_GROUPS_PER_STRATUM` in every stratum; when that leaves ``m = 1`` the units are
    resampled as they are. ``codes`` (stratum per unit) must be sorted. Returns each unit's
    group and each group's stratum code (groups numbered in stratum order).
    """
    n = codes.size
    _, starts, sizes = np.unique(codes, return_index=True, return_counts=True)
    size = min(math.ceil(n / MAX_RESAMPLED_UNITS), int(sizes.min()) // MIN_GROUPS_PER_STRATUM)
    if size <= 1:
        return None
    # A random order within each stratum (a shuffle, then a stable sort by stratum: a radix
    # sort on small codes), then consecutive runs of ``size`` units per group.
    order = rng.permutation(n)
    if sizes.size > 1:
        order = order[stable_order(np.repeat(np.arange(sizes.size), sizes)[order])]
    rank = np.arange(n) - np.repeat(starts, sizes)
    groups_per_stratum = -(-sizes // size)
    offset = np.repeat(np.cumsum(groups_per_stratum) - groups_per_stratum, sizes)
    group = np.empty(n, dtype=np.int64)
    group[order] = offset + rank // size
    return group, np.repeat(np.arange(sizes.size), groups_per_stratum)


def _group_sums(group: np.ndarray, values: np.ndarray | None, n_groups: int) -> np.ndarray:
    """Per group, the sum of ``values`` (the unit count when ``values`` is None)."""
    return np.bincount(group, weights=values, minlength=n_groups).astype(np.float64)


def _stratum_bounds(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the index range of its stratum, for units already sorted by stratum code."""
    _, first, counts = np.unique(codes, return_index=True, return_counts=True)
    low = np.repeat(first, counts)
    return low, low + np.repeat(counts, counts)


def _rescaled(values: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Units spread about their stratum mean by ``sqrt(n_h / (n_h - 1))`` (Rao and Wu, 1988).

    Resampling ``n_h`` units within a stratum shrinks the variance of its mean by
    ``(n_h - 1) / n_h``; with the few customers a persona has, that makes intervals too
    narrow. Spreading the units first gives the resampled means the unbiased variance, and
    leaves every stratum mean, hence the estimate, unchanged. A stratum of one unit is kept.
    """
    starts = np.unique(bounds[0])
    sizes = (bounds[1] - bounds[0])[starts]
    means = np.repeat(np.add.reduceat(values, starts) / sizes, sizes)
    counts = np.repeat(sizes, sizes).astype(np.float64)
    scale = np.sqrt(np.divide(counts, counts - 1.0, out=np.ones_like(counts), where=counts > 1))
    return means + scale * (values - means)


def _stratum_codes(where: str, strata: Any, n: int) -> np.ndarray:
    """Integer codes of the stratum labels (any hashable labels), checked against ``n``."""
    labels = np.asarray(strata, dtype=object)
    if labels.shape != (n,):
        raise _invalid(where, "strata", RULE_STRATA, labels.shape)
    return pd.factorize(pd.Series(labels).astype("string"), sort=True)[0]


def _percentile_interval(statistics: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` interval of the finite bootstrap statistics."""
    finite = statistics[np.isfinite(statistics)]
    if finite.size == 0:
        return (math.nan, math.nan)
    alpha = 1.0 - confidence
    low, high = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(low), float(high))


def bootstrap_ci(
    values: Any,
    *,
    weights: Any = None,
    strata: Any = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a mean over independent units.

    With ``weights``, the statistic is the ratio of sums ``sum(values) / sum(weights)``, and
    values and weights are resampled jointly (unit by unit).

    Parameters
    ----------
    values : array-like of float, shape (n,)
        One finite value per independent unit.
    weights : array-like of float, shape (n,), optional
        Non-negative finite denominators of a ratio estimator, one per unit.
    strata : array-like, shape (n,), optional
        The design stratum of each unit (e.g. its persona). Units are then resampled within
        their stratum, so every resample has the design's stratum sizes: variation between
        strata that the design fixes does not widen the interval.
    n_resamples : int, default 1000
        Bootstrap resamples. They are drawn in chunks so that memory stays bounded
        (at most about 40 MiB whatever ``n``). Above `MAX_RESAMPLED_UNITS` units, random
        groups of units are resampled instead (the random group method, `_random_groups`),
        so the cost stops growing with ``n``.
    confidence : float, default 0.95
        Coverage of the interval, strictly between 0 and 1.
    seed : int, default 0
        Seeds ``np.random.default_rng(np.random.SeedSequence(seed))``.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when there are fewer than two units (or no resample
        has a positive sum of weights). The units are sorted before resampling, so the
        interval depends on the units and the seed, never on the order they come in.

    Raises
    ------
    ValueError
        When an option or array is invalid (message `INVALID_ARGUMENT`).
    """
    where = "bootstrap_ci"
    check_inference_options(where, n_resamples=n_resamples, confidence=confidence, seed=seed)
    array = _as_finite(where, "values", values)
    weight_array = None
    if weights is not None:
        weight_array = _as_finite(where, "weights", weights)
        if weight_array.shape != array.shape or (weight_array < 0).any():
            raise _invalid(where, "weights", RULE_WEIGHTS, weight_array.shape)
    if array.size < 2:
        return (math.nan, math.nan)
    codes = None if strata is None else _stratum_codes(where, strata, array.size)
    # Sorted units make the interval a function of the set of units, not of their order.
    # Equal values are interchangeable units: one key needs no stable sort.
    order = np.argsort(array) if weight_array is None else np.lexsort([array, weight_array])
    if codes is not None:
        order = order[stable_order(codes[order])]
    array = array[order]
    weight_array = None if weight_array is None else weight_array[order]
    codes = None if codes is None else codes[order]
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    if array.size > MAX_RESAMPLED_UNITS:
        grouped = _random_groups(np.zeros(array.size, np.int64) if codes is None else codes, rng)
        if grouped is not None:
            group, group_strata = grouped
            array = _group_sums(group, array, group_strata.size)
            weight_array = _group_sums(group, weight_array, group_strata.size)
            codes = None if codes is None else group_strata
    bounds = None
    if codes is not None:
        bounds = _stratum_bounds(codes)
        array = _rescaled(array, bounds)
        weight_array = None if weight_array is None else _rescaled(weight_array, bounds)
    statistics = _resample_statistics(array, weight_array, int(n_resamples), rng, bounds)
    return _percentile_interval(statistics, float(confidence))


def bootstrap_diff_ci(
    a: Any,
    b: Any,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``mean(a) - mean(b)``.

    The two samples are independent, so each is resampled on its own (with its own child
    seed of ``seed``).

    Parameters
    ----------
    a, b : array-like of float
        One finite value per independent unit of each sample.
    n_resamples : int, default 1000
        Bootstrap resamples of each sample.
    confidence : float, default 0.95
        Coverage of the interval, strictly between 0 and 1.
    seed : int, default 0
        Root of the two samples' child seeds (``SeedSequence(seed).spawn(2)``).

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when either sample has fewer than two units. As in
        `bootstrap_ci`, the order of the units does not matter.

    Raises
    ------
    ValueError
        When an option or array is invalid (message `INVALID_ARGUMENT`).
    """
    where = "bootstrap_diff_ci"
    check_inference_options(where, n_resamples=n_resamples, confidence=confidence, seed=seed)
    first = np.sort(_as_finite(where, "a", a))
    second = np.sort(_as_finite(where, "b", b))
    if first.size < 2 or second.size < 2:
        return (math.nan, math.nan)
    seed_a, seed_b = np.random.SeedSequence(seed).spawn(2)
    stats_a = _resample_statistics(first, None, int(n_resamples), np.random.default_rng(seed_a))
    stats_b = _resample_statistics(second, None, int(n_resamples), np.random.default_rng(seed_b))
    return _percentile_interval(stats_a - stats_b, float(confidence))


def mann_whitney_p(x: Any, y: Any, *, alternative: str = "greater") -> float:
    """P-value of the Mann–Whitney U test that ``x`` tends to exceed ``y``.

    Parameters
    ----------
    x, y : array-like of float
        Two independent samples of finite values.
    alternative : {"greater", "less", "two-sided"}, default "greater"
        The alternative hypothesis, as in `scipy.stats.mannwhitneyu`.

    Returns
    -------
    float
        The p-value; ``nan`` when either sample is empty, and ``1.0`` when every value is
        the same (every relabelling gives the same U, so nothing is unusual).

    Raises
    ------
    ValueError
        When an array or ``alternative`` is invalid (message `INVALID_ARGUMENT`).
    """
    where = "mann_whitney_p"
    if alternative not in ALTERNATIVES:
        raise _invalid(where, "alternative", RULE_ALTERNATIVE, alternative)
    first = _as_finite(where, "x", x)
    second = _as_finite(where, "y", y)
    if first.size == 0 or second.size == 0:
        return math.nan
    pooled = np.concatenate([first, second])
    if pooled.min() == pooled.max():
        return 1.0
    result = _scipy_stats.mannwhitneyu(first, second, alternative=alternative)
    return float(result.pvalue)


def bootstrap_means(columns: Any, *, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of column means, rows resampled jointly.

    The building block of intervals whose statistic combines several per-unit quantities
    (a ratio of means, a difference of means of the same units): every resample draws the
    same rows for every column.

    Parameters
    ----------
    columns : array-like of float, shape (n, m)
        One row per independent unit, one column per quantity; finite values.
    n_resamples : int, default 1000
        Bootstrap resamples, drawn in bounded chunks as in `bootstrap_ci`.
    seed : int, default 0
        Seeds ``np.random.default_rng(np.random.SeedSequence(seed))``.

    Returns
    -------
    ndarray of float, shape (n_resamples, m)
        Each resample's column means. Rows are sorted before resampling, so the result
        depends on the set of units and the seed, not on their order. Above
        `MAX_RESAMPLED_UNITS` rows, random groups of rows are resampled, as in `bootstrap_ci`.

    Raises
    ------
    ValueError
        When an option is invalid or ``columns`` is not a 2-D array of finite numbers with at
        least one row (message `INVALID_ARGUMENT`).
    """
    where = "bootstrap_means"
    check_inference_options(where, n_resamples=n_resamples, confidence=0.5, seed=seed)
    try:
        matrix = np.asarray(columns, dtype=np.float64)
    except (TypeError, ValueError):
        raise _invalid(where, "columns", RULE_FINITE_2D, columns) from None
    if matrix.ndim != 2 or matrix.shape[0] == 0 or not np.isfinite(matrix).all():
        raise _invalid(where, "columns", RULE_FINITE_2D, matrix.shape)
    matrix = matrix[np.lexsort(matrix.T[::-1])] if matrix.shape[1] else matrix
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n, m = matrix.shape
    counts = None
    grouped = _random_groups(np.zeros(n, np.int64), rng) if n > MAX_RESAMPLED_UNITS else None
    if grouped is not None:
        group, n_groups = grouped[0], grouped[1].size
        counts = _group_sums(group, None, n_groups)
        matrix = np.column_stack([_group_sums(group, matrix[:, c], n_groups) for c in range(m)])
        n = n_groups
    per_chunk = max(1, min(int(n_resamples), _CHUNK_ELEMENTS // n))
    out = np.empty((int(n_resamples), m), dtype=np.float64)
    for start in range(0, int(n_resamples), per_chunk):
        size = min(per_chunk, int(n_resamples) - start)
        index = draw_indices(rng, 0, n, (size, n))
        units = np.full(size, float(n)) if counts is None else counts[index].sum(axis=1)
        for column in range(m):
            out[start : start + size, column] = matrix[:, column][index].sum(axis=1) / units
    return out


def percentile_interval(statistics: Any, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` interval of the finite values of a bootstrap distribution.

    Parameters
    ----------
    statistics : array-like of float
        The statistic of each resample; NaN and infinite entries (undefined resamples) are
        dropped.
    confidence : float
        Coverage, strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(low, high)``, or ``(nan, nan)`` when no resample is finite.
    """
    return _percentile_interval(np.asarray(statistics, dtype=np.float64), float(confidence))


def cluster_bootstrap_ci(
    values: Any,
    clusters: Any,
    *,
    weights: Any = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean when units come in clusters.

    When the same unit appears several times (repeated probes of one customer, the lists of one
    match group), its rows are not independent; the clusters, not the rows, are resampled. The
    statistic is ``sum(values) / sum(weights)`` over all rows (the plain mean with unit weights),
    so each resample is a ratio of resampled cluster sums: one `bincount` per input and the
    chunked resampler of `bootstrap_ci`, no loop over resamples or clusters.

    Parameters
    ----------
    values : array-like of float, shape (n,)
        One finite value per row.
    clusters : array-like, shape (n,)
        The cluster label of each row (any hashable, sortable labels).
    weights : array-like of float, shape (n,), optional
        Non-negative row weights (the denominator of the ratio); 1 per row when omitted.
    n_resamples : int, default 1000
        Bootstrap resamples of clusters.
    confidence : float, default 0.95
        Coverage of the interval, strictly between 0 and 1.
    seed : int, default 0
        Seeds the resampling as in `bootstrap_ci`.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` with fewer than two clusters. With one row per
        cluster it is exactly `bootstrap_ci` of the same values and weights.

    Raises
    ------
    ValueError
        When an option or array is invalid (message `INVALID_ARGUMENT`).
    """
    where = "cluster_bootstrap_ci"
    check_inference_options(where, n_resamples=n_resamples, confidence=confidence, seed=seed)
    array = _as_finite(where, "values", values)
    labels = np.asarray(clusters)
    if labels.shape != array.shape:
        raise _invalid(where, "clusters", RULE_CLUSTERS, labels.shape)
    weight_array = np.ones_like(array)
    if weights is not None:
        weight_array = _as_finite(where, "weights", weights)
        if weight_array.shape != array.shape or (weight_array < 0).any():
            raise _invalid(where, "weights", RULE_WEIGHTS, weight_array.shape)
    try:
        _, codes = np.unique(labels, return_inverse=True)
    except TypeError:
        raise _invalid(where, "clusters", RULE_CLUSTERS, labels.shape) from None
    sums = np.bincount(codes, weights=array)
    totals = np.bincount(codes, weights=weight_array)
    if sums.size < 2:
        return (math.nan, math.nan)
    return bootstrap_ci(
        sums, weights=totals, n_resamples=n_resamples, confidence=confidence, seed=seed
    )


def permutation_diff_p(
    a: Any,
    b: Any,
    *,
    alternative: str = "greater",
    n_resamples: int = 9999,
    seed: int = 0,
) -> float:
    """P-value of the two-sample permutation test of ``mean(a) - mean(b)``.

    `scipy.stats.permutation_test` does the work (``permutation_type="independent"``, a
    vectorized statistic, batches bounding memory); with few units it enumerates every
    relabelling and the p-value is exact.

    Parameters
    ----------
    a, b : array-like of float
        Two independent samples of finite values.
    alternative : {"greater", "less", "two-sided"}, default "greater"
        ``"greater"``: ``a`` tends to exceed ``b``.
    n_resamples : int, default 9999
        Random relabellings when the exact count is larger.
    seed : int, default 0
        Seeds ``np.random.default_rng(np.random.SeedSequence(seed))``.

    Returns
    -------
    float
        The p-value; ``nan`` when either sample is empty, ``1.0`` when every value is the same.

    Raises
    ------
    ValueError
        When an option or array is invalid (message `INVALID_ARGUMENT`).
    """
    where = "permutation_diff_p"
    check_inference_options(where, n_resamples=n_resamples, confidence=0.5, seed=seed)
    if alternative not in ALTERNATIVES:
        raise _invalid(where, "alternative", RULE_ALTERNATIVE, alternative)
    first = np.sort(_as_finite(where, "a", a))
    second = np.sort(_as_finite(where, "b", b))
    if first.size == 0 or second.size == 0:
        return math.nan
    pooled = np.concatenate([first, second])
    if pooled.min() == pooled.max():
        return 1.0

    def difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    # About 2 million values per batch, the same bound as the bootstrap.
    batch = max(1, _CHUNK_ELEMENTS // pooled.size)
    result = _scipy_stats.permutation_test(
        (first, second),
        difference,
        permutation_type="independent",
        vectorized=True,
        n_resamples=int(n_resamples),
        batch=batch,
        alternative=alternative,
        rng=np.random.default_rng(np.random.SeedSequence(seed)),
    )
    return float(min(1.0, result.pvalue))


def benjamini_hochberg(p_values: Iterable[float | None]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values) of a family of tests.

    Parameters
    ----------
    p_values : sequence of float or None
        One p-value per test; ``None`` and NaN mark tests that were not run.

    Returns
    -------
    ndarray of float
        The adjusted p-values in input order, computed over the present p-values only
        (`scipy.stats.false_discovery_control` with ``method="bh"``); NaN where the input
        was NaN or None.

    Raises
    ------
    ValueError
        When a p-value is not a number in [0, 1] (message `INVALID_ARGUMENT`).
    """
    where = "benjamini_hochberg"
    raw = (
        p_values if isinstance(p_values, np.ndarray) else np.asarray(list(p_values), dtype=object)
    )
    if raw.ndim != 1:
        raise _invalid(where, "p_values", RULE_P_VALUES, raw.shape)
    array = np.empty(raw.shape, dtype=np.float64)
    for i, entry in enumerate(raw.tolist()):
        try:
            array[i] = math.nan if entry is None else float(entry)
        except (TypeError, ValueError):
            raise _invalid(where, "p_values", RULE_P_VALUES, entry) from None
    present = ~np.isnan(array)
    outside = present & ~((array >= 0.0) & (array <= 1.0))
    if outside.any():
        raise _invalid(where, "p_values", RULE_P_VALUES, float(array[outside][0]))
    adjusted = np.full(array.shape, np.nan)
    if present.any():
        adjusted[present] = _scipy_stats.false_discovery_control(array[present], method="bh")
    return adjusted


RULE_N_RESAMPLES_SIGN = "a positive integer"
# Sign vectors per chunk (resamples x units): about 8 MiB of packed-and-unpacked bits and
# 64 MiB of their float64 copy, whatever the number of pairs.
_SIGN_CHUNK_ELEMENTS = 1 << 23
# Two sums of flipped differences closer than this share of sum(|d|) count as tied, so that
# rounding in the matrix product never decides whether a resample is as extreme.
_TIE_TOLERANCE = 1e-10


def _flipped_sums(
    differences: np.ndarray, n_resamples: int, rng: np.random.Generator | None
) -> np.ndarray:
    """Sums of ``differences`` with signs flipped at random (or every way, when ``rng`` is None).

    A sign vector is a row of bits ``b``; its flipped sum is ``2 * b @ d - sum(d)``, one
    matrix-vector product per chunk of rows.
    """
    n = len(differences)
    total = float(differences.sum())
    per_chunk = max(1, min(n_resamples, _SIGN_CHUNK_ELEMENTS // n))
    out = np.empty(n_resamples, dtype=np.float64)
    powers = np.arange(n, dtype=np.int64)
    # One float buffer reused by every chunk: allocating it anew costs more than the product.
    buffer = np.empty((per_chunk, n), dtype=np.float64)
    for start in range(0, n_resamples, per_chunk):
        size = min(per_chunk, n_resamples - start)
        if rng is None:
            codes = np.arange(start, start + size, dtype=np.int64)
            bits: np.ndarray = (codes[:, None] >> powers[None, :]) & 1
        else:
            packed = rng.integers(0, 256, size=(size, (n + 7) // 8), dtype=np.uint8)
            bits = np.unpackbits(packed, axis=1, count=n)
        rows = buffer[:size]
        np.copyto(rows, bits)
        out[start : start + size] = 2.0 * (rows @ differences) - total
    return out


def sign_flip_p(
    differences: Any,
    *,
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    seed: int = 0,
) -> float:
    """P-value of the paired sign-flip (randomization) test that the mean difference is 0.

    Under the null hypothesis each paired difference is as likely to be ``+d`` as ``-d`` (the
    twins are exchangeable), so flipping signs at random draws from the null distribution of
    the mean. With ``2**n <= n_resamples`` every sign vector is enumerated and the p-value is
    exact; otherwise ``n_resamples`` random sign vectors are drawn and the p-value is
    ``(1 + #{as extreme}) / (1 + n_resamples)``, never 0. The two-sided p-value is twice the
    smaller one-sided one, at most 1. This matches `scipy.stats.permutation_test` with
    ``permutation_type="samples"`` on one sample, which the tests check.

    Parameters
    ----------
    differences : array-like of float, shape (n,)
        One finite paired difference per independent unit (e.g. pair group).
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        ``"greater"``: the mean difference is positive.
    n_resamples : int, default 9999
        Random sign vectors; drawn in chunks so that memory stays bounded (about 80 MiB
        whatever ``n``).
    seed : int, default 0
        Seeds ``np.random.default_rng(np.random.SeedSequence(seed))``.

    Returns
    -------
    float
        The p-value; ``nan`` without differences, ``1.0`` when every difference is 0. The
        differences are sorted first, so the p-value depends on them and the seed, never on
        their order.

    Raises
    ------
    ValueError
        When an option or the array is invalid (message `INVALID_ARGUMENT`).
    """
    where = "sign_flip_p"
    if alternative not in ALTERNATIVES:
        raise _invalid(where, "alternative", RULE_ALTERNATIVE, alternative)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, Integral) or n_resamples < 1:
        raise _invalid(where, "n_resamples", RULE_N_RESAMPLES_SIGN, n_resamples)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise _invalid(where, "seed", RULE_SEED, seed)
    array = np.sort(_as_finite(where, "differences", differences))
    if array.size == 0:
        return math.nan
    scale = float(np.abs(array).sum())
    if scale == 0.0:
        return 1.0
    observed = float(array.sum())
    exact = array.size < 63 and 2**array.size <= n_resamples
    if exact:
        null = _flipped_sums(array, 2**array.size, None)
        count, adjustment = len(null), 0
    else:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        null = _flipped_sums(array, int(n_resamples), rng)
        count, adjustment = int(n_resamples), 1
    tolerance = _TIE_TOLERANCE * scale
    p_greater = (int((null >= observed - tolerance).sum()) + adjustment) / (count + adjustment)
    p_less = (int((null <= observed + tolerance).sum()) + adjustment) / (count + adjustment)
    if alternative == "greater":
        return float(p_greater)
    if alternative == "less":
        return float(p_less)
    return float(min(1.0, 2.0 * min(p_greater, p_less)))
