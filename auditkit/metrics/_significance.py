"""Hypothesis tests: a rank test, permutation and sign-flip tests, and FDR control.

Every test reports a p-value that the audit adjusts across all its tests with
Benjamini–Hochberg; random relabellings are seeded through ``np.random.SeedSequence(seed)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import stats as _scipy_stats

from auditkit.metrics._arguments import (
    RULE_P_VALUES,
    as_finite,
    check_alternative,
    check_inference_options,
    invalid,
)
from auditkit.metrics._bootstrap import CHUNK_ELEMENTS


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
    check_alternative(where, alternative)
    first = as_finite(where, "x", x)
    second = as_finite(where, "y", y)
    if first.size == 0 or second.size == 0:
        return math.nan
    pooled = np.concatenate([first, second])
    if pooled.min() == pooled.max():
        return 1.0
    result = _scipy_stats.mannwhitneyu(first, second, alternative=alternative)
    return float(result.pvalue)


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
    check_inference_options(where, n_resamples=n_resamples, seed=seed)
    check_alternative(where, alternative)
    first = np.sort(as_finite(where, "a", a))
    second = np.sort(as_finite(where, "b", b))
    if first.size == 0 or second.size == 0:
        return math.nan
    pooled = np.concatenate([first, second])
    if pooled.min() == pooled.max():
        return 1.0

    def difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    # About 2 million values per batch, the same bound as the bootstrap.
    batch = max(1, CHUNK_ELEMENTS // pooled.size)
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
        raise invalid(where, "p_values", RULE_P_VALUES, raw.shape)
    array = np.empty(raw.shape, dtype=np.float64)
    for i, entry in enumerate(raw.tolist()):
        try:
            array[i] = math.nan if entry is None else float(entry)
        except (TypeError, ValueError):
            raise invalid(where, "p_values", RULE_P_VALUES, entry) from None
    present = ~np.isnan(array)
    outside = present & ~((array >= 0.0) & (array <= 1.0))
    if outside.any():
        raise invalid(where, "p_values", RULE_P_VALUES, float(array[outside][0]))
    adjusted = np.full(array.shape, np.nan)
    if present.any():
        adjusted[present] = _scipy_stats.false_discovery_control(array[present], method="bh")
    return adjusted


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
    check_alternative(where, alternative)
    check_inference_options(where, n_resamples=n_resamples, seed=seed)
    array = np.sort(as_finite(where, "differences", differences))
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


def level_permutation_p(
    sums: Any, counts: Any, *, n_resamples: int = 999, seed: int = 0
) -> np.ndarray:
    """Two-sided p-values, one per level, of a test that relabels levels within each customer.

    ``sums[c, l]`` and ``counts[c, l]`` are customer ``c``'s summed paired differences and
    twins at level ``l`` (count 0 where the customer has no twin there); a level's statistic is
    ``sum over c of sums[c, l] / sum over c of counts[c, l]``. Under the null hypothesis that
    the attribute changes nothing, a customer's twins are exchangeable across the levels it
    was asked at, so each replicate permutes, per customer, its present levels' sums and
    counts together. This is the exact randomization test of the counterfactual design; with
    two levels it is the sign-flip test, but unlike sign flips it needs no symmetric
    differences, which three or more levels of a skewed outcome do not have.

    Parameters
    ----------
    sums, counts : array-like of float, shape (customers, levels)
        Finite; ``counts`` non-negative, and ``sums`` 0 where ``counts`` is.
    n_resamples : int, default 999
        Random relabellings.
    seed : int, default 0
        Seeds ``np.random.default_rng(np.random.SeedSequence(seed))``.

    Returns
    -------
    ndarray of float
        One p-value per level, ``(1 + #{|T*| >= |T|}) / (1 + n_resamples)``, or exact (every
        relabelling counted once) when there are no more than ``n_resamples`` of them; ``nan``
        for a level no customer was asked at, ``1.0`` for all when every sum is 0.

    Raises
    ------
    ValueError
        When an option or array is invalid (message `INVALID_ARGUMENT`).
    """
    where = "level_permutation_p"
    check_inference_options(where, n_resamples=n_resamples, seed=seed)
    s = np.asarray(sums, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    if s.ndim != 2 or s.shape != c.shape:
        raise invalid(where, "sums", "a 2-D array shaped like counts", s.shape)
    if not (np.isfinite(s).all() and np.isfinite(c).all()) or (c < 0).any():
        raise invalid(where, "counts", "finite sums and non-negative finite counts", "")
    n, levels = s.shape
    totals = c.sum(axis=0)
    p_values = np.full(levels, math.nan)
    asked = totals > 0
    if not asked.any():
        return p_values
    scale = float(np.abs(s).sum())
    if scale == 0.0:
        p_values[asked] = 1.0
        return p_values
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = s.sum(axis=0) / totals
    present = c > 0
    # Each customer's present levels first, in column order: the slots that values go to.
    slots = np.argsort(~present, axis=1, kind="stable")
    tolerance = _TIE_TOLERANCE * scale
    relabellings = math.prod(math.factorial(int(k)) for k in present.sum(axis=1))
    if relabellings <= n_resamples:
        null_s, null_c = _every_relabelling(s, c, present, slots)
        with np.errstate(divide="ignore", invalid="ignore"):
            null = null_s / null_c
        exceed = (~(np.abs(null) < np.abs(observed) - tolerance)).sum(axis=0)
        p_values[asked] = (exceed / relabellings)[asked]
        return p_values
    rows = np.arange(n)[None, :, None]
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    exceed = np.zeros(levels, dtype=np.int64)
    per_chunk = max(1, min(int(n_resamples), CHUNK_ELEMENTS // max(1, n * levels)))
    done = 0
    while done < n_resamples:
        r = min(per_chunk, int(n_resamples) - done)
        keys = rng.random((r, n, levels))
        keys[:, ~present] = np.inf  # absent levels sort last and keep their zeros
        order = np.argsort(keys, axis=2)
        target = np.broadcast_to(slots, (r, n, levels))
        drawn_s = np.zeros((r, n, levels))
        drawn_c = np.zeros((r, n, levels))
        np.put_along_axis(drawn_s, target, s[rows, order], axis=2)
        np.put_along_axis(drawn_c, target, c[rows, order], axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            null = drawn_s.sum(axis=1) / drawn_c.sum(axis=1)
        # A relabelling that leaves a level without twins counts as extreme (conservative).
        exceed += (~(np.abs(null) < np.abs(observed) - tolerance)).sum(axis=0)
        done += r
    p_values[asked] = ((exceed + 1) / (int(n_resamples) + 1))[asked]
    return p_values


def _every_relabelling(
    s: np.ndarray, c: np.ndarray, present: np.ndarray, slots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-level totals of sums and counts under each relabelling: (relabellings, levels)."""
    n, levels = s.shape
    choices = []
    for customer in range(n):
        k = int(present[customer].sum())
        own = slots[customer, :k]
        choices.append([own[list(p)] for p in itertools.permutations(range(k))])
    null_s, null_c = [], []
    for combination in itertools.product(*choices):
        total_s = np.zeros(levels)
        total_c = np.zeros(levels)
        for customer, source in enumerate(combination):
            target = slots[customer, : len(source)]
            total_s[target] += s[customer, source]
            total_c[target] += c[customer, source]
        null_s.append(total_s)
        null_c.append(total_c)
    return np.array(null_s), np.array(null_c)
