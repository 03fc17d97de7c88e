"""Segment groups compared through fairlearn's MetricFrame, with cluster-bootstrap intervals.

For one per-probe outcome (see `auditkit.metrics.segments.outcomes`), `compare_groups` builds a
`fairlearn.metrics.MetricFrame` per segment attribute and one over the intersection of all of
them (each group entering as its sum of outcomes weighted by its probe count): per-group means,
``difference()`` (highest minus lowest) and ``ratio()`` (lowest over highest, the impact
ratio). MetricFrame is the user-facing breakdown; the intervals come from
`cluster_bootstrap_means`, which resamples customers and recomputes every group mean of every
attribute at once with one matrix product per chunk of resamples, instead of refitting a frame
per resample (MetricFrame's ``n_boot`` takes seconds for ten thousand probes).

The registered metrics, `price_gap`, `exposure_impact_ratio` and `hit_rate_ratio`, report the
attribute with the largest gap and give every attribute's result in ``details``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from scipy import stats as _scipy_stats

from auditkit.metrics.segments.outcomes import (
    CUSTOMER,
    PROBE_COLUMNS,
    RESPONSE_COLUMNS,
    shared_probe_outcomes,
)
from auditkit.metrics.stats import (
    benjamini_hochberg,
    check_columns,
    check_metric_inputs,
    cluster_bootstrap_means,
    expanded_confidence,
    percentile_interval,
)
from auditkit.results import Estimate, Threshold
from auditkit.tables import SEGMENT_PREFIX, AuditTables, distinct

FAMILY = "segment"
UNIT = "customer"
INTERSECTION = " × "

PRICE_GAP_ID = "segment.price_gap"
# 1 - ratio of group mean list prices: 0.1 means one group's lists cost 10% less than
# another's; 0.2 a fifth less. See docs/metrics.md.
PRICE_GAP_THRESHOLD = Threshold(warn=0.1, fail=0.2)
EXPOSURE_ID = "segment.exposure_impact_ratio"
# The four-fifths rule: a group shown premium products at under 80% of another's rate.
EXPOSURE_THRESHOLD = Threshold(warn=0.8, fail=0.5, direction="lower_is_worse")
HIT_RATE_ID = "segment.hit_rate_ratio"
# The same four-fifths rule, for the quality of the match to the customer's own tastes.
HIT_RATE_THRESHOLD = Threshold(warn=0.8, fail=0.5, direction="lower_is_worse")

REASON_NO_ATTRIBUTE = "no segment attribute has two or more groups of answered probes"
# Fewest customers with a nonzero outcome (a hit, a premium product shown) a group needs for
# its ratio to another group to have an interval: the bootstrap resamples customers, and
# cannot draw a hit a group never had, so a group of 0 or 1 such customers gives a ratio
# interval of [0, 0] (certain, and wrong), and a group of a few gives a resampled ratio that
# barely moves (the same few customers in every resample). Counted in customers, the unit
# resampled, not in probes: a customer asked at every member shop (the cooperative suite's
# browser) can bring 8 hits alone. Measured, not assumed: on the SMB suite's design (simulated
# vendor, 1000 audits) the hit-rate ratio's intervals held the design mean in 92.8% of audits
# at 5 events, 92.6% at 6, 94.9% at 7 and 97.4% at 8; on the cooperative suite's design,
# counted in probes, 8 hits came from 2-5 customers and the intervals covered in 91% of 203
# audits, most misses [1, 1] (`benchmarks/interval_coverage.py`).
MIN_EVENTS = 8


def _weighted_mean(y_true: np.ndarray, y_pred: np.ndarray, counts: np.ndarray) -> float:
    """MetricFrame's metric: a group's mean outcome from its rows' sums and probe counts."""
    return float(np.sum(y_pred) / np.sum(counts))


@dataclass(frozen=True)
class GroupComparison:
    """One attribute (or intersection of attributes) compared across its groups.

    ``frame`` is the fairlearn MetricFrame; ``levels`` and ``means`` its groups in sorted
    order, ``counts`` their probes and ``with_events`` their customers with a nonzero
    outcome (`MIN_EVENTS`); the intervals are percentile intervals of the cluster bootstrap, and ``p_value``
    the Wald test of equal group means with the bootstrap covariance.
    """

    name: str
    frame: MetricFrame
    levels: tuple[str, ...]
    means: np.ndarray
    counts: np.ndarray
    with_events: np.ndarray
    difference: float
    ratio: float
    difference_ci: tuple[float, float]
    ratio_ci: tuple[float, float]
    p_value: float

    @property
    def lowest(self) -> str:
        """The group with the lowest mean."""
        return self.levels[int(np.argmin(self.means))]

    @property
    def highest(self) -> str:
        """The group with the highest mean."""
        return self.levels[int(np.argmax(self.means))]


def _equal_means_p(boot: np.ndarray, means: np.ndarray, clusters: np.ndarray) -> float:
    """Wald test that all group means are equal, with the bootstrap covariance of the means.

    ``T = (D m)' (D V D')^+ (D m)`` for the contrasts ``D`` of each group against the first,
    with ``V`` the bootstrap covariance scaled by ``C / (C - 1)`` (the bootstrap's variance of
    a mean is short by that factor); ``T / r`` is referred to ``F(r, c - 1)``, ``r`` the rank
    of the contrasts' covariance and ``c`` the fewest customers in any group, so that a small
    group does not make the test over-confident.
    """
    finite = np.isfinite(boot).all(axis=1)
    g = len(means)
    total = int(clusters.sum()) if len(clusters) else 0
    fewest = int(clusters.min()) if len(clusters) else 0
    if g < 2 or fewest < 2 or finite.sum() < 3:
        return math.nan
    contrasts = np.hstack([-np.ones((g - 1, 1)), np.eye(g - 1)])
    diff = contrasts @ means
    scale = total / max(1, total - 1)
    covariance = scale * (contrasts @ np.cov(boot[finite].T).reshape(g, g) @ contrasts.T)
    rank = int(np.linalg.matrix_rank(covariance)) if np.isfinite(covariance).all() else 0
    if rank == 0:
        return 1.0 if np.allclose(diff, 0.0) else 0.0
    statistic = float(diff @ np.linalg.pinv(covariance) @ diff)
    return float(_scipy_stats.f.sf(statistic / rank, rank, fewest - 1))


def _customers_per_group(clusters: np.ndarray, groups: np.ndarray, width: int) -> np.ndarray:
    """Distinct customers in each of ``width`` groups; a customer may be in several."""
    cells = distinct(clusters.astype(np.int64) * width + groups)
    return np.bincount(cells % width, minlength=width)


def segment_attributes(outcomes: pd.DataFrame) -> list[str]:
    """The segment columns with two or more groups among ``outcomes``' rows, in order."""
    return [
        column
        for column in outcomes.columns
        if column.startswith(SEGMENT_PREFIX) and outcomes[column].dropna().nunique() >= 2
    ]


def _name(columns: tuple[str, ...]) -> str:
    return INTERSECTION.join(c[len(SEGMENT_PREFIX) :] for c in columns)


def compare_groups(
    outcomes: pd.DataFrame,
    column: str,
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> list[GroupComparison]:
    """Compare the mean of one outcome across the groups of every segment attribute.

    Parameters
    ----------
    outcomes : DataFrame
        From `probe_outcomes`; rows with a NaN ``column`` are left out.
    column : str
        The outcome to compare, e.g. ``"mean_price"``.
    n_resamples, confidence, seed
        The cluster bootstrap's options.

    Returns
    -------
    list of GroupComparison
        One per attribute with two or more groups, then (with two or more such attributes)
        one for their intersection, named ``"age_band × device"``.
    """
    rows = outcomes[np.isfinite(outcomes[column].to_numpy(dtype=np.float64))]
    attributes = segment_attributes(rows)
    sets: list[tuple[str, ...]] = [(a,) for a in attributes]
    if len(attributes) > 1:
        sets.append(tuple(attributes))
    if not sets:
        return []
    values = rows[column].to_numpy(dtype=np.float64)
    clusters_raw = rows[CUSTOMER].to_numpy()
    _, clusters = np.unique(clusters_raw, return_inverse=True)
    level = expanded_confidence(confidence, int(clusters.max(initial=-1)) + 1)
    codes = np.full((len(rows), len(sets)), -1, dtype=np.int64)
    offsets = [0]
    twin_of = rows["pair_attribute"].astype("string") if "pair_attribute" in rows else None
    for index, columns in enumerate(sets):
        chosen = np.ones(len(rows), dtype=bool)
        if twin_of is not None and len(columns) == 1:
            # An attribute with counterfactual twins is compared on them alone: every customer
            # at every level, so its groups hold the same customers, not different ones.
            twins = (twin_of == columns[0][len(SEGMENT_PREFIX) :]).fillna(False).to_numpy(bool)
            if twins.any():
                chosen = twins
        grouped = rows[chosen].groupby(list(columns), dropna=True, sort=True)
        code = np.full(len(rows), np.nan)
        code[chosen] = grouped.ngroup().to_numpy(dtype=np.float64)
        present = np.isfinite(code)
        codes[present, index] = code[present].astype(np.int64) + offsets[-1]
        offsets.append(offsets[-1] + grouped.ngroups)
    boot = cluster_bootstrap_means(
        values, codes, clusters, offsets[-1], n_resamples=n_resamples, seed=seed
    )
    comparisons = []
    for index, columns in enumerate(sets):
        member = codes[:, index] >= 0
        local = codes[member, index] - offsets[index]
        # Each group enters the frame as one row, its sum weighted by its probe count: the
        # same group means, differences and ratios as a row per probe, at any scale.
        first = np.unique(local, return_index=True)[1]
        keys = rows.loc[member, list(columns)].iloc[first].astype("string")
        sums = np.bincount(local, weights=values[member])
        frame = MetricFrame(
            metrics={"mean": _weighted_mean},
            y_true=sums,
            y_pred=sums,
            sensitive_features=keys.reset_index(drop=True),
            sample_params={"mean": {"counts": np.bincount(local).astype(np.float64)}},
        )
        by_group = frame.by_group["mean"].dropna()
        means = by_group.to_numpy(dtype=np.float64)
        # The frame lists the present groups in sorted order, as the bootstrap codes them.
        counts = np.bincount(local, minlength=len(means))
        customers = _customers_per_group(clusters[member], local, len(means))
        part = boot[:, offsets[index] : offsets[index + 1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio_boot = np.nanmin(part, axis=1) / np.nanmax(part, axis=1)
        event = values[member] != 0
        with_events = _customers_per_group(clusters[member][event], local[event], len(means))
        if with_events.min() < MIN_EVENTS:
            ratio_boot = np.full_like(ratio_boot, np.nan)  # too few events: no interval
        difference_boot = np.nanmax(part, axis=1) - np.nanmin(part, axis=1)
        levels = tuple(
            INTERSECTION.join(str(v) for v in (k if isinstance(k, tuple) else (k,)))
            for k in by_group.index
        )
        comparisons.append(
            GroupComparison(
                name=_name(columns),
                frame=frame,
                levels=levels,
                means=means,
                counts=counts,
                with_events=with_events,
                difference=float(frame.difference()["mean"]),
                ratio=float(frame.ratio()["mean"]),
                difference_ci=percentile_interval(difference_boot, level),
                ratio_ci=percentile_interval(ratio_boot, level),
                p_value=_equal_means_p(part, means, customers),
            )
        )
    return comparisons


def _details(comparisons: list[GroupComparison]) -> dict[str, object]:
    """Every comparison's numbers, with p-values adjusted within the metric (BH)."""
    q_values = benjamini_hochberg([c.p_value for c in comparisons])
    return {
        c.name: {
            "lowest": c.lowest,
            "highest": c.highest,
            "difference": c.difference,
            "difference_ci": list(c.difference_ci),
            "ratio": c.ratio,
            "ratio_ci": list(c.ratio_ci),
            "p_value": c.p_value,
            "q_value": float(q),
            "groups": {level: int(n) for level, n in zip(c.levels, c.counts, strict=True)},
            "customers_with_events": {
                level: int(n) for level, n in zip(c.levels, c.with_events, strict=True)
            },
        }
        for c, q in zip(comparisons, q_values, strict=True)
    }


def _family_p(comparisons: list[GroupComparison]) -> float | None:
    """The smallest BH-adjusted p-value of the single attributes (their Simes combination)."""
    singles = [c.p_value for c in comparisons if INTERSECTION not in c.name]
    present = [p for p in singles if p is not None and math.isfinite(p)]
    if not present:
        return None
    return float(np.nanmin(benjamini_hochberg(present)))


def _significant(comparisons: list[GroupComparison], alpha: float) -> list[GroupComparison]:
    """The single attributes whose BH-adjusted p-value (within the metric) is below alpha."""
    singles = [c for c in comparisons if INTERSECTION not in c.name]
    q_values = benjamini_hochberg([c.p_value for c in singles])
    return [c for c, q in zip(singles, q_values, strict=True) if q < alpha]


def _group_metric(
    metric_id: str,
    tables: AuditTables,
    column: str,
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
    signatures: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[list[GroupComparison], int]:
    """The group comparisons of one outcome over first-repetition probes, and customer count."""
    check_metric_inputs(
        metric_id, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(metric_id, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(metric_id, "tables.responses", tables.responses, RESPONSE_COLUMNS)
    outcomes = shared_probe_outcomes(tables, signatures=signatures)
    outcomes = outcomes[(outcomes["repetition"] == 0).to_numpy(dtype=bool)]
    comparisons = compare_groups(
        outcomes, column, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    finite = np.isfinite(outcomes[column].to_numpy(dtype=np.float64))
    return comparisons, int(outcomes.loc[finite, CUSTOMER].nunique())


def _by_group(comparisons: list[GroupComparison]) -> dict[str, dict[str, float]]:
    return {
        c.name: {level: float(m) for level, m in zip(c.levels, c.means, strict=True)}
        for c in comparisons
    }


def price_gap(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Largest relative gap in mean list price between the groups of a segment attribute.

    Per attribute, each group's mean list price is the mean over its first-repetition probes
    of the mean price of the listed items (fairlearn's MetricFrame); the attribute's gap is
    ``1 - ratio()``, i.e. ``1 - lowest group mean / highest group mean``. The value is the
    largest gap over the attributes, and names that attribute.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses``, ``histories`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over customers.

    Returns
    -------
    Estimate
        The CI is the cluster bootstrap's for the named attribute. The p-value is the
        smallest Benjamini–Hochberg-adjusted p-value of the attributes' tests of equal means
        (their Simes combination), which the "tested" rule reads; each comparison also enters the
        audit-wide correction on its own. ``by_group`` gives every attribute's and the
        intersection's group means; ``details`` the attribute, its lowest and highest groups,
        and each comparison's difference, ratio, intervals and p- and q-values.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    comparisons, n = _group_metric(
        PRICE_GAP_ID,
        tables,
        "mean_price",
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    return _worst_attribute_estimate(
        PRICE_GAP_ID,
        comparisons,
        n,
        confidence=confidence,
        worst_of=lambda candidates: max(candidates, key=lambda c: (1.0 - c.ratio, c.name)),
        measure=lambda worst: (
            1.0 - worst.ratio,
            (1.0 - worst.ratio_ci[1], 1.0 - worst.ratio_ci[0]),
        ),
    )


def exposure_impact_ratio(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Lowest impact ratio of exposure to the shop's premium products over the attributes.

    Per attribute, each group's exposure is the mean over its first-repetition probes of the
    share of listed items in the top price third of the shop's catalog; the impact ratio is
    fairlearn's ``ratio()``, the lowest group's exposure over the highest's. The value is the
    lowest ratio over the attributes, and names that attribute.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses``, ``histories`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over customers.

    Returns
    -------
    Estimate
        As `price_gap`, with the ratio in place of the gap.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    return _impact_ratio(
        EXPOSURE_ID,
        "premium_share",
        tables,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


def hit_rate_ratio(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Lowest impact ratio of the hit rate on held-out taste products over the attributes.

    Per attribute, each group's hit rate is the share of its first-repetition probes whose
    list holds one of the probe's held-out taste products (plan column ``heldout``); the
    ratio is fairlearn's ``ratio()``, the lowest group's hit rate over the highest's: one
    segment served worse matches for the same tastes.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` (with ``heldout``), ``responses``, ``histories`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over customers.

    Returns
    -------
    Estimate
        As `exposure_impact_ratio`; NaN, with a ``reason``, when no probe has held-out
        products.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    return _impact_ratio(
        HIT_RATE_ID,
        "hit_rate",
        tables,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


def _impact_ratio(
    metric_id: str,
    column: str,
    tables: AuditTables,
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> Estimate:
    """The lowest impact ratio of ``column`` over the attributes, as an `Estimate`."""
    comparisons, n = _group_metric(
        metric_id,
        tables,
        column,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    return _worst_attribute_estimate(
        metric_id,
        comparisons,
        n,
        confidence=confidence,
        worst_of=lambda candidates: min(candidates, key=lambda c: (c.ratio, c.name)),
        measure=lambda worst: (worst.ratio, worst.ratio_ci),
    )


def _worst_attribute_estimate(
    metric_id: str,
    comparisons: list[GroupComparison],
    n: int,
    *,
    confidence: float,
    worst_of: Callable[[list[GroupComparison]], GroupComparison],
    measure: Callable[[GroupComparison], tuple[float, tuple[float, float]]],
) -> Estimate:
    """The estimate for the worst attribute (among the significant ones, if any are).

    ``measure`` gives the metric's value and interval from the chosen comparison; the
    estimate's ``words`` name its attribute and its lowest and highest groups.
    """
    singles = [c for c in comparisons if INTERSECTION not in c.name]
    details: dict[str, object] = {"comparisons": _details(comparisons), "customers": n}
    if not singles:
        details["reason"] = REASON_NO_ATTRIBUTE
        return Estimate(
            id=metric_id,
            family=FAMILY,
            value=math.nan,
            ci=None,
            n=n,
            unit=UNIT,
            details=details,
            reason=REASON_NO_ATTRIBUTE,
        )
    worst = worst_of(_significant(comparisons, 1.0 - confidence) or singles)
    value, interval = measure(worst)
    # A ratio of groups with too few customers with events (`MIN_EVENTS`) has no interval.
    ci = interval if all(map(math.isfinite, interval)) else None
    details.update(attribute=worst.name, lowest=worst.lowest, highest=worst.highest)
    return Estimate(
        id=metric_id,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        p_value=_family_p(comparisons),
        by_group=_by_group(comparisons),
        details=details,
        words={
            "attribute": worst.name.replace("_", " "),
            "lowest": worst.lowest,
            "highest": worst.highest,
        },
    )
