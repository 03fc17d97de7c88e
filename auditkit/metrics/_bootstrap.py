"""The one bootstrap engine: every interval in auditkit resamples through `resampled_sums`.

`resampled_sums` draws units with replacement (within strata, when asked) in bounded chunks and
returns each resample's column sums; the interval functions build their statistic (a mean, a
ratio of sums, means of clusters or of groups) from those sums. A mean or ratio of sums gets the
studentized (bootstrap-t) interval (`studentized_interval`), other statistics the percentile
interval. Every random draw comes from ``np.random.default_rng(np.random.SeedSequence(seed))``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from auditkit.metrics._arguments import (
    RULE_CLUSTERS,
    RULE_FINITE_2D,
    RULE_STRATA,
    RULE_WEIGHTS,
    as_finite,
    check_inference_options,
    invalid,
)
from auditkit.tables import distinct

# Above this many units a bootstrap resamples random groups of units (`random_groups`):
# at a million units and 1000 resamples the unit-level draws alone take seconds per metric,
# while intervals from this many independent groups are as good in practice.
MAX_RESAMPLED_UNITS = 50_000
MIN_GROUPS_PER_STRATUM = 50
# Index draws per chunk of resamples (resamples x units): 8 MiB of int32 indices and 16 MiB
# of gathered values (twice that for a ratio), so memory stays bounded whatever the units,
# and a chunk's arrays stay near the cache: 2**23 draws per chunk made a first call of 1000
# resamples of 50,000 groups 2-3 times slower, paying for fresh memory.
CHUNK_ELEMENTS = 1 << 21
# Index draws per chunk of a bootstrap-t interval (`studentized_interval`): its chunk is
# gathered and then read once per pair of columns, so a chunk that stays in the 2 MiB cache
# (1 MiB of indices, 2 MiB per gathered column) made intervals of 50,000 units 1.3-1.4
# times faster than `CHUNK_ELEMENTS`; halving it again lost as much to the calls per chunk.
STUDENTIZED_CHUNK_ELEMENTS = 1 << 18
# Draws per chunk when resamples are reduced by counts (`resampled_sums` with
# ``reduce="counts"``): a chunk is one matrix product, and fewer, larger products are faster.
COUNT_CHUNK_ELEMENTS = 1 << 22
# Strata with at least this many units on average are drawn a stratum at a time
# (`_draw_by_stratum`): fewer, and each call's overhead outweighs the faster draws.
MIN_RUN_DRAWS = 256


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


def draw_chunks(
    rng: np.random.Generator,
    n: int,
    n_resamples: int,
    *,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    chunk_elements: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Bootstrap draws by chunk: ``(start, index)``, ``index[r]`` the units of ``start + r``.

    With ``bounds = (low, high)``, unit ``i`` is redrawn from ``[low[i], high[i])``: the units
    of its own stratum, so every resample keeps the design's stratum sizes (large strata are
    drawn one at a time, `_draw_by_stratum`: the same draws, faster). A chunk holds at
    most ``chunk_elements`` draws (`CHUNK_ELEMENTS` by default; at least one resample), so
    memory stays bounded.
    """
    budget = CHUNK_ELEMENTS if chunk_elements is None else chunk_elements
    per_chunk = max(1, min(n_resamples, budget // max(1, n)))
    strata = None if bounds is None else distinct(bounds[0])
    for start in range(0, n_resamples, per_chunk):
        size = min(per_chunk, n_resamples - start)
        if bounds is None:
            yield start, draw_indices(rng, 0, n, (size, n))
        elif strata is not None and n >= MIN_RUN_DRAWS * strata.size:
            yield start, _draw_by_stratum(rng, bounds, strata, (size, n))
        else:
            yield start, draw_indices(rng, bounds[0], bounds[1], (size, n))


def _draw_by_stratum(
    rng: np.random.Generator,
    bounds: tuple[np.ndarray, np.ndarray],
    strata: np.ndarray,
    size: tuple[int, int],
) -> np.ndarray:
    """`draw_indices` within ``bounds``, drawn one stratum of one resample at a time.

    numpy draws a bounded integer the same way whether its bounds come as scalars or as
    arrays, one element after the other, so these are the very draws of the array call (a
    test holds them equal); the scalar calls are about five times faster per draw.
    """
    if int(bounds[1].max()) > np.iinfo(np.int32).max:
        return draw_indices(rng, bounds[0], bounds[1], size)
    ends = np.append(strata[1:], size[1])
    out = np.empty(size, dtype=np.int32)
    for row in out:
        for first, end in zip(strata.tolist(), ends.tolist(), strict=True):
            low, high = int(bounds[0][first]), int(bounds[1][first])
            row[first:end] = rng.integers(low, high, size=end - first, dtype=np.int32)
    return out


def resampled_sums(
    columns: np.ndarray,
    n_resamples: int,
    rng: np.random.Generator,
    *,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    reduce: Literal["gather", "counts"] = "gather",
) -> np.ndarray:
    """Column sums of ``n_resamples`` bootstrap resamples of the units (the columns' entries).

    Parameters
    ----------
    columns : ndarray of float, shape (m, n)
        One row per quantity, one column per unit.
    n_resamples : int
        Resamples, each of ``n`` units drawn with replacement.
    rng : Generator
        The source of every draw.
    bounds : pair of ndarray, optional
        Each unit's stratum as an index range (`stratum_bounds`): draws stay in the stratum.
    reduce : {"gather", "counts"}
        ``"gather"`` sums the drawn units' values (cheap for a few quantities); ``"counts"``
        counts how often each unit was drawn and multiplies (one ``(m x n) @ (n x resamples)``
        product per chunk, cheap for many quantities, e.g. every group's sum at once).

    Returns
    -------
    ndarray of float, shape (n_resamples, m)
    """
    m, n = columns.shape
    out = np.empty((n_resamples, m), dtype=np.float64)
    if reduce == "gather":
        for start, index in draw_chunks(rng, n, n_resamples, bounds=bounds):
            for row in range(m):
                out[start : start + len(index), row] = columns[row][index].sum(axis=1)
        return out
    for start, rows in resampled_counts(rng, n, n_resamples, bounds=bounds):
        # Written as (m x n) @ (n x resamples): OpenBLAS is many times slower on the same
        # product with a short first dimension and a long inner one.
        out[start : start + len(rows)] = (columns @ rows.T).T
    return out


def resampled_counts(
    rng: np.random.Generator,
    n: int,
    n_resamples: int,
    *,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Bootstrap resamples by chunk as draw counts: ``(start, counts)``.

    ``counts[r, i]`` is how often unit ``i`` is drawn in resample ``start + r`` (the draws of
    `draw_chunks`, so the same seed gives the same resamples). The array is reused between
    chunks: use it before asking for the next.
    """
    chunks = draw_chunks(rng, n, n_resamples, bounds=bounds, chunk_elements=COUNT_CHUNK_ELEMENTS)
    counts = np.empty((max(1, min(n_resamples, COUNT_CHUNK_ELEMENTS // max(1, n))), n))
    for start, index in chunks:
        size = len(index)
        draws = index.astype(np.int64) + (np.arange(size) * n)[:, None]
        rows = counts[:size]
        np.copyto(rows, np.bincount(draws.ravel(), minlength=size * n).reshape(rows.shape))
        yield start, rows


def _resampled_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The mean of each of ``n_resamples`` bootstrap resamples of ``values``."""
    return resampled_sums(values[None, :], n_resamples, rng)[:, 0] / len(values)


class _StratumMoments:
    """Per resample: each stratum's column sums and the cross-products, chunk by chunk.

    Called with a chunk of draws (`draw_chunks`), it returns the sums, shape (resamples,
    strata, m), and the cross-products of the columns over the drawn units weighted by their
    stratum's ``n_h / (n_h - 1)``, shape (resamples, m, m): all a linearized variance needs,
    for any coefficients (`_linearized_variance`). The drawn units' values are gathered
    (``np.take``) into one buffer reused between chunks. A column that is constant within
    every stratum (weights of 1, the unit counts of equal random groups) is not gathered: a
    resample draws ``n_h`` units of each stratum, so its sums and products follow from the
    stratum's value and the other columns' sums.
    """

    def __init__(self, columns: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None):
        n = columns.shape[1]
        self.starts = np.zeros(1, np.int64) if bounds is None else distinct(bounds[0])
        self.sizes = np.array([n]) if bounds is None else (bounds[1] - bounds[0])[self.starts]
        self.factors = self.sizes / (self.sizes - 1.0)
        # Each stratum's first value of each column, (strata, m), and the columns that keep it.
        self.levels = columns[:, self.starts].T
        fixed = (columns == np.repeat(self.levels.T, self.sizes, axis=1)).all(axis=1)
        self.fixed, self.drawn = np.flatnonzero(fixed), np.flatnonzero(~fixed)
        self.columns = columns[self.drawn]
        self.buffer = np.empty((self.drawn.size, 0, n))

    def __call__(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows, m = index.shape[0], self.levels.shape[1]
        if self.buffer.shape[1] < rows:
            self.buffer = np.empty((self.drawn.size, rows, index.shape[1]))
        drawn = self.buffer[:, :rows]
        for values, out in zip(self.columns, drawn, strict=True):
            # The draws are valid indices: "clip" only spares numpy a buffered copy.
            np.take(values, index, out=out, mode="clip")
        sums = np.empty((rows, self.sizes.size, m))
        sums[:, :, self.drawn] = np.moveaxis(np.add.reduceat(drawn, self.starts, axis=2), 0, 2)
        sums[:, :, self.fixed] = self.sizes[:, None] * self.levels[:, self.fixed]
        cross = np.zeros((rows, m, m))
        ends = np.append(self.starts[1:], index.shape[1])
        for first, end, factor in zip(self.starts, ends, self.factors, strict=True):
            block = drawn[:, :, first:end]
            for a, j in enumerate(self.drawn):
                for b, k in enumerate(self.drawn[a:], start=a):
                    # einsum sums the products without a temporary.
                    cross[:, j, k] += factor * np.einsum("rn,rn->r", block[a], block[b])
        # Products with a fixed column: its stratum value times the other column's sums.
        weighted = self.factors[:, None] * self.levels[:, self.fixed]
        cross[:, :, self.fixed] = np.einsum("rhj,hk->rjk", sums, weighted)
        cross[:, self.fixed, :] = np.swapaxes(cross[:, :, self.fixed], 1, 2)
        upper = np.triu_indices(m, 1)
        cross[:, upper[1], upper[0]] = cross[:, upper[0], upper[1]]
        return sums, cross


def _linearized_variance(
    sums: np.ndarray, cross: np.ndarray, coefficients: np.ndarray, sizes: np.ndarray
) -> np.ndarray:
    """``Σ_h n_h/(n_h - 1) Σ_(i in h) (z_i - z̄_h)²`` of ``z = columns' coefficients`` per resample.

    ``cross`` is already weighted by each unit's ``n_h/(n_h - 1)`` (`_StratumMoments`).
    """
    factor = sizes / (sizes - 1.0)
    within = np.einsum("rj,rjk,rk->r", coefficients, cross, coefficients)
    between = np.einsum("rhj,rj->rh", sums, coefficients) ** 2 / sizes
    return within - between @ factor


def _pivot_ends(
    se: float, shifts: np.ndarray, spreads: np.ndarray, scale: np.ndarray, confidence: float
) -> tuple[float, float]:
    """``(-q(1 - a/2) se, -q(a/2) se)``, ``q`` the quantiles of ``t* = shift / se*``.

    ``se* = sqrt(spread) / scale``. A resample with no spread (every drawn unit alike, up to
    rounding) has ``t* = ±inf`` if it moved, 0 if not; an undefined one (NaN) is dropped. An
    end that reaches into an infinite tail is infinite: the caller reads it elsewhere.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        flat = spreads <= 1e-12 * np.nanmax(np.abs(spreads), initial=0.0)
        pivots = shifts * scale / np.sqrt(np.where(flat, 1.0, spreads))
        unbounded = np.where(shifts == 0.0, 0.0, np.copysign(np.inf, shifts))
        pivots = np.where(flat, unbounded, pivots)
        defined = pivots[~np.isnan(pivots)]
        if defined.size == 0:
            return (-math.inf, math.inf)
        alpha = 1.0 - confidence
        # Linear interpolation into an infinite tail gives inf or nan: that end is unbounded.
        upper, lower = np.quantile(defined, [1.0 - alpha / 2.0, alpha / 2.0])
    low, high = float(-upper * se), float(-lower * se)
    return (low if math.isfinite(low) else -math.inf, high if math.isfinite(high) else math.inf)


def _bounded_ends(
    ends: tuple[float, float], shifts: np.ndarray, confidence: float, units: int
) -> tuple[float, float]:
    """``ends`` of ``θ* - θ``, an unbounded one read from the resampled shifts instead.

    That end is the shifts' percentile end at the expanded level of ``units``
    (`expanded_confidence`).
    """
    if all(map(math.isfinite, ends)):
        return ends
    fallback = percentile_interval(shifts, expanded_confidence(confidence, units))
    low, high = (e if math.isfinite(e) else alt for e, alt in zip(ends, fallback, strict=True))
    return (low, high)


def studentized_interval(
    values: np.ndarray,
    weights: np.ndarray,
    n_resamples: int,
    rng: np.random.Generator,
    confidence: float,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """The bootstrap-t interval of ``R = sum(values) / sum(weights)`` (weights of 1: the mean).

    Each resample is studentized by its own standard error: ``t* = (R* - R) / se*``, and the
    interval is ``(R - q(1 - a/2) se, R - q(a/2) se)`` with ``q`` the quantiles of ``t*``
    (Efron and Tibshirani, *An Introduction to the Bootstrap*, ch. 12). Unlike the percentile
    interval it corrects for a skewed statistic and for a standard error that moves with the
    estimate, which is what left some metrics' 95% intervals covering 91-92% of audits.
    ``se`` is the linearized (delta-method) one of a ratio within strata: with ``z = values -
    R weights``, ``se² = Σ_h n_h / (n_h - 1) Σ_(i in h) (z_i - z̄_h)² / (Σ weights)²``, the
    same formula on the audit and on every resample, from per-stratum sums of the drawn units
    (no loop per resample). Units are drawn within their stratum when ``bounds`` are given.
    A resample with no weight is dropped; one with no spread (``se* = 0``: every drawn unit
    alike) has ``t* = ±inf`` if it moved. When such resamples are more than ``a/2`` of one tail
    (two units, a few two-valued ones), that end of the interval is unbounded and is read
    from the resampled ``R*`` instead, at the expanded level (`expanded_confidence`).
    Returns ``(R, R)`` when the units have no spread, ``(nan, nan)`` without weight.
    """
    n = values.size
    total = float(weights.sum())
    if total <= 0:
        return (math.nan, math.nan)
    estimate = float(values.sum()) / total
    # Residuals about the audit's ratio keep the sums small (no cancellation in se*).
    columns = np.vstack([values - estimate * weights, weights])
    stratum_moments = _StratumMoments(columns, bounds)
    sizes = stratum_moments.sizes

    def moments(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per resample: R* - R, the linearized spread and the sum of weights."""
        sums, cross = stratum_moments(index)
        residual, drawn_total = sums[:, :, 0].sum(axis=1), sums[:, :, 1].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = residual / drawn_total
        coefficients = np.column_stack([np.ones_like(shift), -shift])
        return shift, _linearized_variance(sums, cross, coefficients, sizes), drawn_total

    _, spread, _ = moments(np.arange(n)[None, :])
    se = math.sqrt(max(float(spread[0]), 0.0)) / total
    if se == 0.0:
        return (estimate, estimate)
    shifts, spreads, scale = (np.empty(n_resamples) for _ in range(3))
    chunks = draw_chunks(
        rng, n, n_resamples, bounds=bounds, chunk_elements=STUDENTIZED_CHUNK_ELEMENTS
    )
    for start, index in chunks:
        rows = slice(start, start + len(index))
        shifts[rows], spreads[rows], scale[rows] = moments(index)
    low, high = _bounded_ends(
        _pivot_ends(se, shifts, spreads, scale, confidence), shifts, confidence, n
    )
    return (estimate + low, estimate + high)


def studentized_product_interval(
    columns: np.ndarray,
    powers: np.ndarray,
    n_resamples: int,
    rng: np.random.Generator,
    confidence: float,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """The bootstrap-t interval of ``θ = Π_j (Σ_i columns[j, i]) ** powers[j]``, on its log.

    A ratio of ratios (the homogenization index: observed overlap over the noise ceiling, each
    a sum over a count) is such a product. ``log θ`` is linear in the log totals, so its
    linearized residual is ``z_i = Σ_j powers[j] columns[j, i] / T_j`` and ``se`` follows as in
    `studentized_interval`, within strata; ``t* = (log θ* - log θ) / se*`` and the interval is
    ``exp`` of ``(log θ - q(1 - a/2) se, log θ - q(a/2) se)``. ``(0, 0)`` when a numerator's
    units are all 0, else ``(nan, nan)`` unless every total is positive; a resample with a
    total of 0 is dropped, and an unbounded end is read from the resampled ``θ*`` at the
    expanded level, as in `studentized_interval`.
    """
    n = columns.shape[1]
    totals = columns.sum(axis=1)
    if (totals[powers < 0] > 0).all() and (columns[powers > 0] == 0).all(axis=1).any():
        return (0.0, 0.0)  # a numerator of zeros: θ = 0 in every resample
    if not (totals > 0).all():
        return (math.nan, math.nan)
    log_estimate = float(powers @ np.log(totals))
    stratum_moments = _StratumMoments(columns, bounds)
    sizes = stratum_moments.sizes

    def moments(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per resample: log θ* - log θ and the linearized spread of log θ*."""
        sums, cross = stratum_moments(index)
        drawn_totals = sums.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.log(drawn_totals) @ powers - log_estimate
            coefficients = powers / drawn_totals
            spread = _linearized_variance(sums, cross, coefficients, sizes)
        return np.where(np.isfinite(shift), shift, np.nan), spread

    _, spread = moments(np.arange(n)[None, :])
    se = math.sqrt(max(float(spread[0]), 0.0))
    if se == 0.0:
        return (math.exp(log_estimate), math.exp(log_estimate))
    shifts, spreads = np.empty(n_resamples), np.empty(n_resamples)
    chunks = draw_chunks(
        rng, n, n_resamples, bounds=bounds, chunk_elements=STUDENTIZED_CHUNK_ELEMENTS
    )
    for start, index in chunks:
        rows = slice(start, start + len(index))
        shifts[rows], spreads[rows] = moments(index)
    pivot_ends = _pivot_ends(se, shifts, spreads, np.ones(n_resamples), confidence)
    low, high = _bounded_ends(pivot_ends, shifts, confidence, n)
    return (math.exp(log_estimate + low), math.exp(log_estimate + high))


def stable_order(codes: np.ndarray) -> np.ndarray:
    """The stable sort order of non-negative integer ``codes``.

    Codes below 2**16 are sorted as ``uint16``, which numpy sorts stably by radix sort in
    linear time (several times faster than a merge sort of wider integers).
    """
    if codes.size and int(codes.min()) >= 0 and int(codes.max()) <= np.iinfo(np.uint16).max:
        codes = codes.astype(np.uint16)
    return np.argsort(codes, kind="stable")


def random_groups(
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


def group_sums(group: np.ndarray, values: np.ndarray | None, n_groups: int) -> np.ndarray:
    """Per group, the sum of ``values`` (the unit count when ``values`` is None)."""
    return np.bincount(group, weights=values, minlength=n_groups).astype(np.float64)


def stratum_bounds(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the index range of its stratum, for units already sorted by stratum code."""
    _, first, counts = np.unique(codes, return_index=True, return_counts=True)
    low = np.repeat(first, counts)
    return low, low + np.repeat(counts, counts)


def rescaled(values: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Units spread about their stratum mean by ``sqrt(n_h / (n_h - 1))`` (Rao and Wu, 1988).

    Resampling ``n_h`` units within a stratum shrinks the variance of its mean by
    ``(n_h - 1) / n_h``; with the few customers a persona has, that makes intervals too
    narrow. Spreading the units first gives the resampled means the unbiased variance, and
    leaves every stratum mean, hence the estimate, unchanged. A stratum of one unit is kept.
    """
    starts = distinct(bounds[0])
    sizes = (bounds[1] - bounds[0])[starts]
    means = np.repeat(np.add.reduceat(values, starts) / sizes, sizes)
    counts = np.repeat(sizes, sizes).astype(np.float64)
    scale = np.sqrt(np.divide(counts, counts - 1.0, out=np.ones_like(counts), where=counts > 1))
    return means + scale * (values - means)


def stratum_codes(where: str, strata: Any, n: int) -> np.ndarray | None:
    """Integer codes of the stratum labels (any hashable labels), checked against ``n``.

    None when some stratum has a single unit: its variance cannot be seen by resampling
    within it (every resample draws that one unit), so the units are resampled unstratified.
    """
    codes = stratum_labels(where, strata, n)
    if codes.size and np.bincount(codes).min() < 2:
        return None
    return codes


def stratum_labels(where: str, strata: Any, n: int) -> np.ndarray:
    """Integer codes of the stratum labels (any hashable labels), checked against ``n``.

    Codes number the labels in the order of their text, whatever their type. Integer labels
    (distinct numbers, distinct texts) are coded first and only the distinct ones turned to
    text: at a million units, turning every label to text took longer than the interval.
    """
    labels = np.asarray(strata)
    if labels.dtype.kind in "iub" and labels.shape == (n,):
        codes, uniques = pd.factorize(labels)
        return pd.factorize(pd.Series(uniques.astype(object)).astype("string"), sort=True)[0][
            codes
        ]
    labels = np.asarray(strata, dtype=object)
    if labels.shape != (n,):
        raise invalid(where, "strata", RULE_STRATA, labels.shape)
    return pd.factorize(pd.Series(labels).astype("string"), sort=True)[0]


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
    array = np.asarray(statistics, dtype=np.float64)
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return (math.nan, math.nan)
    alpha = 1.0 - float(confidence)
    low, high = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(low), float(high))


def expanded_confidence(confidence: float, units: int, strata: int | None = None) -> float:
    """The level at which to read a percentile interval of ``units`` units (Hesterberg 2015).

    The percentile bootstrap is too narrow for few units: it reads normal quantiles off a
    distribution whose spread is the plug-in one. The expanded percentile interval reads the
    quantiles at ``alpha' / 2 = Phi(-c * t(nu, 1 - alpha / 2))``: ``nu = units - 1`` and ``c =
    sqrt(units / (units - 1))`` for plain resampling; with ``strata`` (units resampled within
    them, spread by `rescaled`, which already gives the unbiased variance) ``nu = units -
    strata`` and ``c = 1``. Many units leave the level as it was.
    """
    nu = units - (1 if strata is None else strata)
    if nu < 1:
        return confidence
    scale = math.sqrt(units / (units - 1)) if strata is None else 1.0
    tail = _scipy_stats.norm.cdf(-scale * _scipy_stats.t.ppf(0.5 + confidence / 2.0, nu))
    return float(1.0 - 2.0 * tail)


def strata_level(confidence: float, strata: Any, units: int) -> float:
    """`expanded_confidence` for ``units`` resampled within ``strata`` (or plainly, if None).

    The strata decide as in `bootstrap_ci`: with a stratum of one unit they are not used.
    """
    codes = None if strata is None else stratum_codes("strata_level", strata, units)
    count = None if codes is None else int(distinct(codes).size)
    return expanded_confidence(confidence, units, count)


def bootstrap_ci(
    values: Any,
    *,
    weights: Any = None,
    strata: Any = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap-t confidence interval of a mean over independent units (`studentized_interval`).

    With ``weights``, the statistic is the ratio of sums ``sum(values) / sum(weights)``, and
    values and weights are resampled jointly (unit by unit). Each resample is studentized by
    its own linearized standard error, so a skewed statistic, or one whose spread moves with
    it, keeps its coverage where a percentile interval falls short.

    Parameters
    ----------
    values : array-like of float, shape (n,)
        One finite value per independent unit.
    weights : array-like of float, shape (n,), optional
        Non-negative finite denominators of a ratio estimator, one per unit.
    strata : array-like, shape (n,), optional
        The design stratum of each unit (e.g. its persona). Units are then resampled within
        their stratum, so every resample has the design's stratum sizes: variation between
        strata that the design fixes does not widen the interval, and the standard error is
        the stratified one.
    n_resamples : int, default 1000
        Bootstrap resamples. They are drawn in chunks so that memory stays bounded
        (at most about 40 MiB whatever ``n``). Above `MAX_RESAMPLED_UNITS` units, random
        groups of units are resampled instead (the random group method, `random_groups`),
        so the cost stops growing with ``n``.
    confidence : float, default 0.95
        Coverage of the interval, strictly between 0 and 1.
    seed : int, default 0
        Seeds ``np.random.default_rng(np.random.SeedSequence(seed))``.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when there are fewer than two units (or no positive
        sum of weights); ``(R, R)`` when every unit has the same value (or ratio). The units
        are sorted before resampling, so the interval depends on the units and the seed,
        never on the order they come in.

    Raises
    ------
    ValueError
        When an option or array is invalid (message `INVALID_ARGUMENT`).
    """
    where = "bootstrap_ci"
    check_inference_options(where, n_resamples=n_resamples, confidence=confidence, seed=seed)
    array = as_finite(where, "values", values)
    weight_array = None
    if weights is not None:
        weight_array = as_finite(where, "weights", weights)
        if weight_array.shape != array.shape or (weight_array < 0).any():
            raise invalid(where, "weights", RULE_WEIGHTS, weight_array.shape)
    if array.size < 2:
        return (math.nan, math.nan)
    codes = None if strata is None else stratum_codes(where, strata, array.size)
    weight_array = np.ones_like(array) if weight_array is None else weight_array
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    (values_, weights_), bounds = resampling_units(np.vstack([array, weight_array]), codes, rng)
    return studentized_interval(
        values_, weights_, int(n_resamples), rng, float(confidence), bounds
    )


def bootstrap_product_ci(
    columns: Any,
    powers: Any,
    *,
    strata: Any = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap-t interval of ``Π_j (Σ_i columns[i, j]) ** powers[j]`` over independent units.

    A ratio of ratios of sums (the homogenization index: mean observed overlap over the mean
    repeat overlap, each a sum over a count) has this form; `studentized_product_interval`
    studentizes it on the log scale. Units (rows) are resampled within ``strata`` as in
    `bootstrap_ci`, sorted first and grouped above `MAX_RESAMPLED_UNITS` the same way.

    Returns ``(low, high)``; ``(nan, nan)`` with fewer than two units or a total that is not
    positive.
    """
    where = "bootstrap_product_ci"
    check_inference_options(where, n_resamples=n_resamples, confidence=confidence, seed=seed)
    try:
        matrix = np.asarray(columns, dtype=np.float64)
    except (TypeError, ValueError):
        raise invalid(where, "columns", RULE_FINITE_2D, columns) from None
    if matrix.ndim != 2 or not np.isfinite(matrix).all():
        raise invalid(where, "columns", RULE_FINITE_2D, matrix.shape)
    if matrix.shape[0] < 2:
        return (math.nan, math.nan)
    codes = None if strata is None else stratum_codes(where, strata, matrix.shape[0])
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    units, bounds = resampling_units(matrix.T.copy(), codes, rng)
    exponents = np.asarray(powers, dtype=np.float64)
    return studentized_product_interval(
        units, exponents, int(n_resamples), rng, float(confidence), bounds
    )


def resampling_units(
    columns: np.ndarray, codes: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The units (columns of ``columns``, one row per quantity) as the engine resamples them.

    Sorted by their values (within strata), so an interval depends on the set of units and
    not on their order; above `MAX_RESAMPLED_UNITS` dealt into random groups whose sums are
    the units (`random_groups`). Returns them with their strata's bounds (`stratum_bounds`),
    None without ``codes``.
    """
    order = np.lexsort(columns[::-1])
    if codes is not None:
        order = order[stable_order(codes[order])]
        codes = codes[order]
    columns = columns[:, order]
    if columns.shape[1] > MAX_RESAMPLED_UNITS:
        grouped = random_groups(
            np.zeros(columns.shape[1], np.int64) if codes is None else codes, rng
        )
        if grouped is not None:
            group, group_strata = grouped
            columns = np.vstack([group_sums(group, row, group_strata.size) for row in columns])
            codes = None if codes is None else group_strata
    return columns, None if codes is None else stratum_bounds(codes)


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
    first = np.sort(as_finite(where, "a", a))
    second = np.sort(as_finite(where, "b", b))
    if first.size < 2 or second.size < 2:
        return (math.nan, math.nan)
    seed_a, seed_b = np.random.SeedSequence(seed).spawn(2)
    stats_a = _resampled_means(first, int(n_resamples), np.random.default_rng(seed_a))
    stats_b = _resampled_means(second, int(n_resamples), np.random.default_rng(seed_b))
    return percentile_interval(stats_a - stats_b, float(confidence))


def bootstrap_means(
    columns: Any, *, strata: Any = None, n_resamples: int = 1000, seed: int = 0
) -> np.ndarray:
    """Bootstrap distribution of column means, rows resampled jointly.

    The building block of intervals whose statistic combines several per-unit quantities
    (a ratio of means, a difference of means of the same units): every resample draws the
    same rows for every column.

    Parameters
    ----------
    columns : array-like of float, shape (n, m)
        One row per independent unit, one column per quantity; finite values.
    strata : array-like, shape (n,), optional
        Each unit's design stratum (e.g. its persona): units are resampled within it, spread
        about their stratum means as in `bootstrap_ci` (`rescaled`).
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
    check_inference_options(where, n_resamples=n_resamples, seed=seed)
    try:
        matrix = np.asarray(columns, dtype=np.float64)
    except (TypeError, ValueError):
        raise invalid(where, "columns", RULE_FINITE_2D, columns) from None
    if matrix.ndim != 2 or matrix.shape[0] == 0 or not np.isfinite(matrix).all():
        raise invalid(where, "columns", RULE_FINITE_2D, matrix.shape)
    order = np.lexsort(matrix.T[::-1]) if matrix.shape[1] else np.arange(matrix.shape[0])
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    codes = None if strata is None else stratum_codes(where, strata, matrix.shape[0])
    if codes is not None:
        order = order[stable_order(codes[order])]
        bounds = stratum_bounds(codes[order])
        matrix = np.column_stack([rescaled(column, bounds) for column in matrix[order].T])
        sums = resampled_sums(matrix.T.copy(), int(n_resamples), rng, bounds=bounds)
        return sums / float(matrix.shape[0])
    matrix = matrix[order]
    n, m = matrix.shape
    counts = None
    grouped = random_groups(np.zeros(n, np.int64), rng) if n > MAX_RESAMPLED_UNITS else None
    if grouped is not None:
        group, n_groups = grouped[0], grouped[1].size
        counts = group_sums(group, None, n_groups)
        matrix = np.column_stack([group_sums(group, matrix[:, c], n_groups) for c in range(m)])
        n = n_groups
    if counts is None:
        return resampled_sums(matrix.T.copy(), int(n_resamples), rng) / float(n)
    sums = resampled_sums(np.vstack([matrix.T, counts]), int(n_resamples), rng)
    return sums[:, :m] / sums[:, m:]


def cluster_bootstrap_ci(
    values: Any,
    clusters: Any,
    *,
    weights: Any = None,
    strata: Any = None,
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
    strata : array-like, shape (n,), optional
        Each row's design stratum (e.g. its persona), one per cluster: clusters are then
        resampled within their stratum, as units are in `bootstrap_ci`.
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
    array = as_finite(where, "values", values)
    labels = np.asarray(clusters)
    if labels.shape != array.shape:
        raise invalid(where, "clusters", RULE_CLUSTERS, labels.shape)
    weight_array = np.ones_like(array)
    if weights is not None:
        weight_array = as_finite(where, "weights", weights)
        if weight_array.shape != array.shape or (weight_array < 0).any():
            raise invalid(where, "weights", RULE_WEIGHTS, weight_array.shape)
    try:
        _, codes = np.unique(labels, return_inverse=True)
    except TypeError:
        raise invalid(where, "clusters", RULE_CLUSTERS, labels.shape) from None
    sums = np.bincount(codes, weights=array)
    totals = np.bincount(codes, weights=weight_array)
    if sums.size < 2:
        return (math.nan, math.nan)
    cluster_strata = None
    if strata is not None:
        stratum = stratum_labels(where, strata, array.size)
        cluster_strata = np.zeros(sums.size, dtype=np.int64)
        cluster_strata[codes] = stratum
    return bootstrap_ci(
        sums,
        weights=totals,
        strata=cluster_strata,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


def cluster_bootstrap_means(
    values: np.ndarray,
    groups: np.ndarray,
    clusters: np.ndarray,
    n_groups: int,
    *,
    n_resamples: int,
    seed: int,
) -> np.ndarray:
    """Group means of ``n_resamples`` bootstrap resamples of clusters.

    Parameters
    ----------
    values : ndarray of float, shape (n,)
        One finite outcome per row.
    groups : ndarray of int, shape (n, m)
        Each row's group code (``0 .. n_groups - 1``) in each of ``m`` groupings; ``-1``
        leaves the row out of that grouping.
    clusters : ndarray of int, shape (n,)
        Each row's cluster code (``0 .. C - 1``), the unit that is resampled.
    n_groups : int
        Number of group codes over all groupings.
    n_resamples, seed : int
        Resamples, and the seed of ``np.random.default_rng(np.random.SeedSequence(seed))``.

    Returns
    -------
    ndarray of float, shape (n_resamples, n_groups)
        NaN where a resample holds no row of a group. Each resample draws ``C`` clusters with
        replacement; a cluster's rows contribute their sums and counts to every group at
        once (`resampled_sums` by counts), so nothing loops over clusters or resamples.
    """
    n_clusters = int(clusters.max()) + 1 if len(clusters) else 0
    sums = np.zeros((n_clusters, n_groups))
    counts = np.zeros((n_clusters, n_groups))
    size = n_clusters * n_groups
    for column in range(groups.shape[1]):
        member = groups[:, column] >= 0
        cell = clusters[member] * n_groups + groups[member, column]
        sums += np.bincount(cell, weights=values[member], minlength=size).reshape(sums.shape)
        counts += np.bincount(cell, minlength=size).reshape(counts.shape)
    stacked = np.ascontiguousarray(np.hstack([sums, counts]).T)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    both = resampled_sums(stacked, n_resamples, rng, reduce="counts")
    total, number = both[:, :n_groups], both[:, n_groups:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(number > 0, total / number, np.nan)
