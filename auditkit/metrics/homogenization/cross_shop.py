"""Homogenization across client shops: matched customers shown the same products everywhere.

`cross_shop_jaccard`, `cross_shop_rbo` and `category_divergence` compare the lists that the same
synthetic customer (a match group, ``match_id``) receives at different shops, on ``item_key``
(canonical ids where catalogs share products); `index` places that overlap between the catalog
baseline and the noise ceiling; `within_shop_jaccard` and `signature_retention` look inside each
shop. The integer-coded pair kernels live in ``_overlap``.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd

from auditkit.metrics._lists import (
    answered_probes,
    group_means,
    item_sets,
    pairwise_jaccard,
    probe_pairs,
)
from auditkit.metrics._matched import (
    MATCH_PROBE_COLUMNS,
    MatchedPairs,
    by_label,
    column_labels,
    group_mean,
    matched_jaccard,
    matched_pairs,
)
from auditkit.metrics._overlap import index_dtype, pair_rbo, pair_sums
from auditkit.metrics.homogenization.homogenization_index import (
    INDEX_ID,
    INDEX_THRESHOLD,
    baseline_lists,
    index,
)
from auditkit.metrics.homogenization.shop_identity import (
    SIGNATURE_ID,
    SIGNATURE_THRESHOLD,
    WITHIN_ID,
    WITHIN_THRESHOLD,
    signature_retention,
    within_shop_jaccard,
)
from auditkit.metrics.stats import (
    INVALID_ARGUMENT,
    check_columns,
    check_metric_inputs,
    cluster_bootstrap_ci,
)
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, distinct, run_starts

METRIC_ID = "homogenization.cross_shop_jaccard"
FAMILY = "homogenization"
UNIT = "customer"
# On the products both shops sell. Jaccard J of two sets of n sharing s is s / (2n - s): 0.55
# means about 71% shared, 0.7 about 82%. Set on both built-in worlds and every shipped suite's
# design, where models trained on each shop's own logs reach 0.5 (docs/metrics.md).
DEFAULT_THRESHOLD = Threshold(warn=0.55, fail=0.7)

PROBE_COLUMNS = MATCH_PROBE_COLUMNS
RESPONSE_COLUMNS: tuple[str, ...] = ("probe_id", "rank", "item_key")

RBO_ID = "homogenization.cross_shop_rbo"
# Persistence 0.9: the first 10 ranks carry 86% of the weight (Webber et al. 2010, eq. 21).
RBO_P = 0.9
# RBO weighs the top of the lists; for unrelated top-10 lists it sits near Jaccard, and
# identical top-3s alone already give about 0.27. See docs/metrics.md.
RBO_THRESHOLD = Threshold(warn=0.3, fail=0.5)
RULE_PERSISTENCE = "a number strictly between 0 and 1"

DIVERGENCE_ID = "homogenization.category_divergence"
# Lower is worse: matched customers' category mixes at two shops barely differ.
DIVERGENCE_THRESHOLD = Threshold(warn=0.2, fail=0.1, direction="lower_is_worse")

REASON_NONE = "no match group has answered probes at two or more shops"
# by_group["shop pair"] keys: the two shops, sorted, joined by this.
PAIR_JOIN = " × "
REASON_NOTHING_SOLD_BY_BOTH = (
    "no matched customer's lists at two shops hold a product both shops sell, so there is "
    "nothing the vendor could have shown alike"
)


def _per_group(
    tables: AuditTables, matched: MatchedPairs, pair_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per match group with a value: its mean pair value, persona and customer."""
    n_groups = int(matched.group.max()) + 1 if matched.group.size else 0
    means = group_mean(matched.pair_group, pair_values, n_groups)
    persona = np.empty(n_groups, dtype=object)
    persona[matched.group] = column_labels(tables, "persona_id", matched.rows)
    present = np.isfinite(means)
    return means[present], persona[present], matched.group_customers()[present]


def _by_shop_pair(
    tables: AuditTables, matched: MatchedPairs, pair_values: np.ndarray
) -> dict[str, float]:
    """Mean pair value per pair of shops (``"shop01 × shop02"``, the shops in sorted order).

    Summed over integer pair codes; only the distinct pairs of shops are named.
    """
    names, shop = np.unique(
        np.asarray(column_labels(tables, "shop_id", matched.rows), dtype=str), return_inverse=True
    )
    a, b = shop[matched.pair_a], shop[matched.pair_b]
    low, high = np.minimum(a, b), np.maximum(a, b)
    finite = np.isfinite(pair_values)
    code = (low * len(names) + high)[finite]
    sums = np.bincount(code, weights=pair_values[finite], minlength=len(names) ** 2)
    counts = np.bincount(code, minlength=len(names) ** 2)
    return {
        f"{names[c // len(names)]}{PAIR_JOIN}{names[c % len(names)]}": float(sums[c] / counts[c])
        for c in np.flatnonzero(counts)
    }


def _cross_shop_estimate(
    metric_id: str,
    tables: AuditTables,
    matched: MatchedPairs,
    pair_values: np.ndarray,
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
    details: dict[str, object] | None = None,
) -> Estimate:
    """The estimate of a mean over match groups of the mean over their cross-shop pairs.

    A customer's match groups (one per context, its twins') are one unit: the interval
    resamples customers, within their persona (each has a fixed number by design).
    """
    values, persona, customer = _per_group(tables, matched, pair_values)
    n = int(distinct(customer).size)
    info: dict[str, object] = {
        "match_groups": len(values),
        "customers": n,
        "probe_pairs": int(np.isfinite(pair_values).sum()),
        **(details or {}),
    }
    reason = None
    if n == 0:
        value, ci = math.nan, None
        reason = REASON_NOTHING_SOLD_BY_BOTH if matched.pair_a.size else REASON_NONE
        info["reason"] = reason
    else:
        value = float(values.mean())
        ci = cluster_bootstrap_ci(
            values,
            customer,
            strata=persona,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
    return Estimate(
        id=metric_id,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        by_group={
            "persona": by_label(pd.Series(persona, dtype="string"), values),
            "shop pair": _by_shop_pair(tables, matched, pair_values),
        },
        details=info,
        reason=reason,
    )


def _check(
    metric_id: str, tables: AuditTables, n_resamples: int, confidence: float, seed: int
) -> None:
    check_metric_inputs(
        metric_id, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(metric_id, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(metric_id, "tables.responses", tables.responses, RESPONSE_COLUMNS)


def cross_shop_jaccard(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Mean Jaccard overlap of matched customers' lists at different shops.

    For each match group (the same synthetic customer carried into every shop), the Jaccard
    similarity ``|A' ∩ B'| / |A' ∪ B'|`` is averaged over all pairs of its answered
    first-repetition probes at different shops, where ``A'`` holds the ``item_key`` of list A
    that B's shop also sells (and ``B'`` back): a product one shop lacks cannot be shown at
    both, so it is left out rather than read as a difference. The value is the mean over
    match groups. Groups answered at fewer than two shops are skipped, and so are pairs with
    no product of their lists sold by both shops. Higher means the shops converge.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` and ``responses``.
    n_resamples, confidence, seed
        The bootstrap over customers (all of a customer's match groups at once).

    Returns
    -------
    Estimate
        ``n`` counts customers; ``by_group = {"persona": {persona_id: mean over its match
        groups}, "shop pair": {"shop01 × shop02": mean over that pair's probe pairs}}``;
        ``details`` counts ``match_groups``, ``customers`` and ``probe_pairs``.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    _check(METRIC_ID, tables, n_resamples, confidence, seed)
    matched = matched_pairs(tables)
    jaccard = matched_jaccard(tables)
    return _cross_shop_estimate(
        METRIC_ID,
        tables,
        matched,
        jaccard,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


def cross_shop_rbo(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    p: float = RBO_P,
) -> Estimate:
    """Mean rank-biased overlap of matched customers' lists at different shops.

    As `cross_shop_jaccard`, with the extrapolated rank-biased overlap of Webber, Moffat &
    Zobel (2010, eq. 32) in place of the Jaccard similarity: agreement at the top of the lists
    weighs most (the first ``d`` ranks carry a weight that grows with ``d`` as set by ``p``).

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` and ``responses`` (with ``rank``).
    n_resamples, confidence, seed
        The bootstrap over customers (all of a customer's match groups at once).
    p : float, default `RBO_P`
        Persistence, strictly between 0 and 1: at 0.9 the first 10 ranks carry 86% of the
        weight.

    Returns
    -------
    Estimate
        ``by_group = {"persona": {...}, "shop pair": {...}}`` as `cross_shop_jaccard`;
        ``details`` has ``match_groups``, ``probe_pairs``
        and ``p``.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    _check(RBO_ID, tables, n_resamples, confidence, seed)
    if isinstance(p, bool) or not isinstance(p, Real) or not 0.0 < float(p) < 1.0:
        raise ValueError(
            INVALID_ARGUMENT.format(where=RBO_ID, key="p", rule=RULE_PERSISTENCE, value=p)
        )
    matched = matched_pairs(tables)
    rbo = pair_rbo(matched.lists, matched.group, matched.pair_a, matched.pair_b, p=float(p))
    return _cross_shop_estimate(
        RBO_ID,
        tables,
        matched,
        rbo,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        details={"p": float(p)},
    )


def _category_entries(
    tables: AuditTables, matched: MatchedPairs
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each matched probe's category counts, sparse: ``(probe, category, count, length)``.

    Entries are sorted by probe code, then category code (known categories only);
    ``length[c]`` counts probe ``c``'s distinct categories.
    """
    codes = tables.codes
    n_probes = len(matched.lists.length)
    n_categories = len(codes.dictionary("category"))
    # (probe, category) cells as one integer key: int32 when they fit (half the memory).
    dtype = index_dtype(n_probes * max(n_categories, 1))
    local = np.full(len(codes.probe_ids) + 1, -1, dtype=dtype)
    local[matched.probe_codes[matched.probe_codes >= 0]] = np.arange(n_probes, dtype=dtype)
    position = local[codes.response_probe]
    category = codes.of("responses", "category")
    known = (position >= 0) & (category >= 0)
    key = position[known]
    del position
    key *= n_categories
    key += category[known]
    del known
    key.sort()
    starts = run_starts(key)
    count = np.diff(np.r_[starts, key.size]).astype(np.float64)
    key = key[starts]
    probe = key // max(n_categories, 1)
    length = np.bincount(probe, minlength=n_probes)
    return probe, key % max(n_categories, 1), count, length


def _matched_js_divergence(tables: AuditTables, matched: MatchedPairs) -> np.ndarray:
    """`pair_js_divergence` of the matched pairs, from the categories each pair shares.

    A category in one list only adds its share to ``KL(P || M)`` in bits (``P log2(2P / P)``),
    so with ``P``, ``Q`` the two shares of a shared category,
    ``JS = 1 + 1/2 Σ_shared (P log2(2P / (P + Q)) + Q log2(2Q / (P + Q)) - P - Q)``.
    """
    probe, category, count, length = _category_entries(tables, matched)
    total = np.bincount(probe, weights=count, minlength=length.size)
    share = count / total[probe]

    def terms(pair: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[np.ndarray | None]:
        share_a, share_b = share[a], share[b]
        both = share_a + share_b
        kl_a = share_a * np.log2(2.0 * share_a / both)
        kl_b = share_b * np.log2(2.0 * share_b / both)
        return [kl_a + kl_b - both]

    (sums,) = pair_sums(category, length, matched.group, matched.pair_a, matched.pair_b, terms)
    usable = (total[matched.pair_a] > 0) & (total[matched.pair_b] > 0)
    return np.where(usable, np.clip(1.0 + sums / 2.0, 0.0, 1.0), np.nan)


# Pairs per block of the divergence computation: bounded memory whatever the pair count.
_JS_BLOCK = 1 << 16


def _kl_terms(share: np.ndarray, mixture: np.ndarray) -> np.ndarray:
    """``share * log2(share / mixture)`` where ``share > 0``, else 0 (logs of nonzeros only)."""
    terms = np.zeros_like(share)
    positive = share > 0
    values = share[positive]
    terms[positive] = values * np.log2(values / mixture[positive])
    return terms


def pair_js_divergence(counts: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (base 2, in [0, 1]) of each pair's category distributions.

    ``counts`` has one row of category counts per probe code; a pair with an empty row is NaN.
    """
    out = np.full(pair_a.size, np.nan)
    for start in range(0, pair_a.size, _JS_BLOCK):
        a = counts[pair_a[start : start + _JS_BLOCK]].astype(np.float64)
        b = counts[pair_b[start : start + _JS_BLOCK]].astype(np.float64)
        total_a, total_b = a.sum(axis=1), b.sum(axis=1)
        usable = (total_a > 0) & (total_b > 0)
        a = a[usable] / total_a[usable, None]
        b = b[usable] / total_b[usable, None]
        mixture = (a + b) / 2.0
        kl_a = _kl_terms(a, mixture).sum(axis=1)
        kl_b = _kl_terms(b, mixture).sum(axis=1)
        block = np.full(usable.size, np.nan)
        block[usable] = np.clip((kl_a + kl_b) / 2.0, 0.0, 1.0)
        out[start : start + block.size] = block
    return out


def category_divergence(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Mean Jensen–Shannon divergence of matched customers' category mixes at different shops.

    For each pair of a match group's answered first-repetition probes at different shops, the
    divergence ``JS(P, Q) = (KL(P || M) + KL(Q || M)) / 2``, ``M = (P + Q) / 2``, in bits
    (so in [0, 1]), of the category distributions of the two lists (items of known category);
    averaged over the group's pairs, then over match groups. Lower means the shops' lists have
    converged to the same mix of categories.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` and ``responses`` (with ``category``).
    n_resamples, confidence, seed
        The bootstrap over customers (all of a customer's match groups at once).

    Returns
    -------
    Estimate
        ``by_group = {"persona": {...}, "shop pair": {...}}`` as `cross_shop_jaccard`;
        ``details = {"match_groups", "probe_pairs"}``.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    _check(DIVERGENCE_ID, tables, n_resamples, confidence, seed)
    check_columns(DIVERGENCE_ID, "tables.responses", tables.responses, ("probe_id", "category"))
    matched = matched_pairs(tables)
    divergence = _matched_js_divergence(tables, matched)
    return _cross_shop_estimate(
        DIVERGENCE_ID,
        tables,
        matched,
        divergence,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


__all__ = [
    "DEFAULT_THRESHOLD",
    "DIVERGENCE_ID",
    "DIVERGENCE_THRESHOLD",
    "FAMILY",
    "INDEX_ID",
    "INDEX_THRESHOLD",
    "METRIC_ID",
    "RBO_ID",
    "RBO_P",
    "RBO_THRESHOLD",
    "SIGNATURE_ID",
    "SIGNATURE_THRESHOLD",
    "WITHIN_ID",
    "WITHIN_THRESHOLD",
    "answered_probes",
    "baseline_lists",
    "category_divergence",
    "cross_shop_jaccard",
    "cross_shop_rbo",
    "group_means",
    "index",
    "item_sets",
    "pair_js_divergence",
    "pairwise_jaccard",
    "probe_pairs",
    "signature_retention",
    "within_shop_jaccard",
]
