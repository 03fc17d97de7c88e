"""Segment bias: one segment attribute alone changing what a customer is shown.

`counterfactual_divergence` compares counterfactual twins (probes sharing a ``pair_id``,
identical but for ``pair_attribute``) against the vendor's own randomness, measured on
identical repeats (the same probe sent again with a new customer id).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.metrics._customers import customer_codes
from auditkit.metrics._lists import group_means, item_sets, pairwise_jaccard, probe_pairs
from auditkit.metrics._matched import answered_mask
from auditkit.metrics._overlap import group_pairs, list_entries, pair_sums
from auditkit.metrics.segments.outcomes import PROBE_COLUMNS
from auditkit.metrics.stats import (
    benjamini_hochberg,
    bootstrap_means,
    check_columns,
    check_metric_inputs,
    cluster_bootstrap_ci,
    mann_whitney_p,
    percentile_interval,
    sign_flip_p,
    strata_level,
)
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, distinct

METRIC_ID = "segment.counterfactual_divergence"
FAMILY = "segment"
UNIT = "pair group"
# At a noise divergence near 0.4 (about 7.6 of 10 items in common), an excess of 0.1 is about
# one more item in ten changed by the attribute alone, 0.25 about two and a half. See
# docs/metrics.md.
DEFAULT_THRESHOLD = Threshold(warn=0.1, fail=0.25)

RESPONSE_COLUMNS: tuple[str, ...] = ("probe_id", "item_key")
NOISE_UNAVAILABLE = "unavailable"

REASON_NONE = "no pair group has two or more answered probes with a recommendation"
# Excesses equal to this many decimals are the same size (the attribute's name then decides).
_TIE_DIGITS = 9


def _pair_divergence(probes: pd.DataFrame, lists: _CodedLists) -> pd.DataFrame:
    """Per pair group: ``pair_id, pair_attribute, customer, divergence`` (mean 1 - Jaccard)."""
    paired = probes["pair_id"].notna().to_numpy(dtype=bool)
    groups = np.full(len(probes), -1, dtype=np.int64)
    groups[paired] = probes[paired].groupby("pair_id", sort=True).ngroup().to_numpy()
    pair_group, jaccard = lists.group_jaccard(groups)
    means = group_means(pair_group, 1.0 - jaccard)
    keys = (
        probes[paired]
        .groupby("pair_id", sort=True)
        .agg(pair_attribute=("pair_attribute", "first"), customer=("_customer", "first"))
        .reset_index()
    )
    return keys.iloc[means.index.to_numpy()].assign(divergence=means.to_numpy())


def _noise_divergence(
    probes: pd.DataFrame, lists: _CodedLists, segment_columns: list[str]
) -> pd.DataFrame:
    """Per repeat group (identical probes, different repetitions): customer, mean 1 - Jaccard."""
    keys = ["match_id", "shop_id", "persona_id", *segment_columns]
    grouped = probes.groupby(keys, sort=True, dropna=False)
    pair_group, jaccard = lists.group_jaccard(
        grouped.ngroup().to_numpy(), differ=probes["repetition"].to_numpy()
    )
    means = group_means(pair_group, 1.0 - jaccard)
    customer = grouped["_customer"].first().to_numpy(np.int64)
    return pd.DataFrame(
        {"customer": customer[means.index.to_numpy()], "divergence": means.to_numpy()}
    )


@dataclass(frozen=True)
class _CodedLists:
    """The answered probes' item sets as integer codes, and the Jaccard of pairs of them.

    ``order`` puts the probes (rows of the answered probes' frame) in probe id order, so that
    a pair ``a < b`` of positions in it is a pair of ids in sorted order, as `probe_pairs`
    gives them; ``item`` holds each probe's distinct ``item_key`` codes in that order,
    ``length`` their count.
    """

    order: np.ndarray
    item: np.ndarray
    length: np.ndarray

    @classmethod
    def build(cls, tables: AuditTables, rows: np.ndarray) -> _CodedLists | None:
        """The item sets of the answered probes at ``rows``; None unless their ids are unique."""
        codes = tables.codes
        probe = codes.probe[rows]
        if (probe < 0).any() or distinct(probe).size != probe.size:
            return None
        order = np.argsort(probe, kind="stable")
        local = np.full(len(codes.probe_ids) + 1, -1, dtype=np.int64)
        local[probe[order]] = np.arange(order.size)
        entry_probe = local[codes.response_probe]
        item = codes.of("responses", "item_key")
        # Sets: ranks play no part (all ties keep the rows' order); an item twice counts once.
        rank = np.zeros(item.size, dtype=np.int64)
        lists = list_entries(
            np.arange(order.size), np.where(item >= 0, entry_probe, -1), rank, item
        )
        return cls(order, lists.item, lists.length)

    def group_jaccard(
        self, groups: np.ndarray, *, differ: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every pair of probes in one group (``groups`` per row, -1 for none), its Jaccard.

        Returns ``(group, jaccard)`` per pair, sorted by group, then by the pair's ids;
        the Jaccard is NaN when both sets are empty.
        """
        by_id = np.asarray(groups, dtype=np.int64)[self.order]
        alone = by_id < 0
        # A probe in no group is a group of its own: it has no pair.
        by_id[alone] = by_id.max(initial=-1) + 1 + np.arange(int(alone.sum()))
        group, a, b = group_pairs(by_id, None if differ is None else differ[self.order])
        (shared,) = pair_sums(self.item, self.length, by_id, a, b, lambda *_: [None])
        union = self.length[a] + self.length[b] - shared
        jaccard = np.full(a.size, np.nan)
        np.divide(shared, union, out=jaccard, where=union > 0)
        return group, jaccard


def _frame_pair_divergence(probes: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """`_pair_divergence` through pandas joins, for probes whose ids are not unique."""
    paired = probes[probes["pair_id"].notna().to_numpy(dtype=bool)]
    pairs = probe_pairs(paired, ["pair_id"])
    means = group_means(pairs["group"].to_numpy(), 1.0 - pairwise_jaccard(items, pairs))
    keys = (
        paired.groupby("pair_id", sort=True)
        .agg(pair_attribute=("pair_attribute", "first"), customer=("_customer", "first"))
        .reset_index()
    )
    return keys.iloc[means.index.to_numpy()].assign(divergence=means.to_numpy())


def _frame_noise_divergence(
    probes: pd.DataFrame, items: pd.DataFrame, segment_columns: list[str]
) -> pd.DataFrame:
    """`_noise_divergence` through pandas joins, for probes whose ids are not unique."""
    keys = ["match_id", "shop_id", "persona_id", *segment_columns]
    pairs = probe_pairs(probes, keys, differ="repetition")
    means = group_means(pairs["group"].to_numpy(), 1.0 - pairwise_jaccard(items, pairs))
    customer = (
        probes.groupby(keys, sort=True, dropna=False)["_customer"].first().to_numpy(np.int64)
    )
    return pd.DataFrame(
        {"customer": customer[means.index.to_numpy()], "divergence": means.to_numpy()}
    )


def divergences(
    tables: AuditTables, probes: pd.DataFrame, rows: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per pair group and per repeat group, the divergence of their lists (see the metric).

    ``probes`` are the answered rows ``rows`` of ``tables.probes``, with ``_customer``. The
    item sets are integer codes (`_CodedLists`); probes whose ids repeat take the pandas path.
    """
    lists = _CodedLists.build(tables, rows)
    if lists is None:
        items = item_sets(tables.responses, probes["probe_id"])
        return (
            _frame_pair_divergence(probes, items),
            _frame_noise_divergence(probes, items, tables.segment_columns),
        )
    return (
        _pair_divergence(probes, lists),
        _noise_divergence(probes, lists, tables.segment_columns),
    )


@dataclass(frozen=True)
class _AttributeTest:
    """One attribute's excess divergence over the noise, its interval and one-sided p-value."""

    attribute: str
    excess: float
    ci: tuple[float, float] | None
    p_value: float | None
    pair_groups: int
    customers: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "attribute": self.attribute,
            "excess": self.excess,
            "ci": None if self.ci is None else list(self.ci),
            "p_value": self.p_value,
            "pair_groups": self.pair_groups,
            "customers": self.customers,
        }


def _attribute_test(
    pairs: pd.DataFrame,
    noise: pd.DataFrame,
    persona: np.ndarray,
    *,
    attribute: str,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> _AttributeTest:
    """The test of one attribute: customers resampled with their pair and repeat groups.

    ``persona`` is each customer code's persona code: customers are resampled within it.

    The excess is the attribute's mean pair divergence minus the mean noise divergence. Each
    resample draws customers with all their pair groups of the attribute and all their repeat
    groups, so the two means move together as the customers do. The p-value is the one-sided
    sign-flip test of each customer's own excess (its pair groups' mean minus its repeat
    groups' mean, where it has both): exchangeable twins and repeats give mean zero.
    """
    customer = pairs["customer"].to_numpy(np.int64)
    divergence = pairs["divergence"].to_numpy(np.float64)
    # Summed exactly (fsum): the value does not depend on the order of the groups.
    pair_mean = math.fsum(divergence) / divergence.size
    if noise.empty:
        ci = cluster_bootstrap_ci(
            divergence,
            customer,
            strata=persona[customer],
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        return _AttributeTest(attribute, pair_mean, ci, None, len(pairs), len(set(customer)))
    n_customers = persona.size
    noise_customer = noise["customer"].to_numpy(np.int64)
    noise_divergence = noise["divergence"].to_numpy(np.float64)
    columns = np.column_stack(
        [
            np.bincount(customer, weights=divergence, minlength=n_customers),
            np.bincount(customer, minlength=n_customers),
            np.bincount(noise_customer, weights=noise_divergence, minlength=n_customers),
            np.bincount(noise_customer, minlength=n_customers),
        ]
    ).astype(np.float64)
    present = (columns[:, 1] > 0) | (columns[:, 3] > 0)
    columns = columns[present]
    bootstrap_seed, flip_seed = np.random.SeedSequence(seed).generate_state(2)
    draws = bootstrap_means(
        columns, strata=persona[present], n_resamples=n_resamples, seed=int(bootstrap_seed)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        statistics = draws[:, 0] / draws[:, 1] - draws[:, 2] / draws[:, 3]
    both = (columns[:, 1] > 0) & (columns[:, 3] > 0)
    own = columns[both, 0] / columns[both, 1] - columns[both, 2] / columns[both, 3]
    if own.size >= 2:
        p_value = sign_flip_p(
            own, alternative="greater", n_resamples=max(n_resamples, 999), seed=int(flip_seed)
        )
    else:  # no customer has both: pair groups against repeat groups, as independent samples
        p_value = mann_whitney_p(divergence, noise_divergence, alternative="greater")
    return _AttributeTest(
        attribute,
        pair_mean - math.fsum(noise_divergence) / noise_divergence.size,
        percentile_interval(statistics, strata_level(confidence, persona[present], len(columns))),
        p_value,
        len(pairs),
        len(set(customer)),
    )


def counterfactual_divergence(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Divergence of counterfactual twins' lists beyond the vendor's own randomness, by attribute.

    Per pair group (probes sharing ``pair_id``, identical but for ``pair_attribute``), the
    pair divergence is the mean over its probe pairs of ``1 - Jaccard`` of their ``item_key``
    sets. Per repeat group (probes sharing ``match_id``, ``shop_id``, ``persona_id`` and every
    segment column, with different ``repetition``), the noise divergence is the same mean.
    An attribute's excess is its mean pair divergence minus the mean noise divergence: 0 means
    the attribute changes nothing beyond the vendor's randomness. The value is the largest
    excess (among the attributes significant after Benjamini–Hochberg within the metric, when
    any is), so a steered attribute is not diluted by unsteered ones and is named. Without
    repeats the noise term is 0 and there is no test.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` and ``responses``.
    n_resamples, confidence, seed
        The bootstrap over customers (with all their pair and repeat groups), and at least
        999 sign flips per attribute.

    Returns
    -------
    Estimate
        ``n`` counts the named attribute's pair groups; its interval and one-sided p-value are
        those of `_attribute_test`, the p-value BH-adjusted over the attributes (the smallest,
        their Simes combination). ``by_group = {"attribute": {attribute: excess}}``;
        ``details`` names the attribute, gives both means of it, the group counts,
        ``noise_ceiling`` and every attribute's test.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        METRIC_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(METRIC_ID, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(METRIC_ID, "tables.responses", tables.responses, RESPONSE_COLUMNS)

    answered = answered_mask(tables.probes)
    rows = np.flatnonzero(answered)
    customers = customer_codes(tables, rows)
    probes = tables.probes.iloc[rows].assign(_customer=customers)
    per_pair, noise = divergences(tables, probes, rows)
    per_pair = per_pair[per_pair["pair_attribute"].notna().to_numpy(dtype=bool)]
    noise_mean = math.fsum(noise["divergence"]) / len(noise) if len(noise) else 0.0
    details: dict[str, object] = {
        "pair_groups": len(per_pair),
        "repeat_groups": len(noise),
        "noise_ceiling": noise_mean if len(noise) else NOISE_UNAVAILABLE,
    }
    if per_pair.empty:
        details["reason"] = REASON_NONE
        return Estimate(
            id=METRIC_ID,
            family=FAMILY,
            value=math.nan,
            ci=None,
            n=0,
            unit=UNIT,
            details=details,
            words={"attribute": "segment"},
            reason=REASON_NONE,
        )
    groups = list(per_pair.groupby("pair_attribute", sort=True))
    seeds = np.random.SeedSequence(seed).generate_state(len(groups))
    persona = np.zeros(int(customers.max()) + 1, dtype=np.int64)
    persona[customers] = tables.codes.of("probes", "persona_id")[rows]
    tests = [
        _attribute_test(
            part,
            noise,
            persona,
            attribute=str(attribute),
            n_resamples=n_resamples,
            confidence=confidence,
            seed=int(child),
        )
        for (attribute, part), child in zip(groups, seeds, strict=True)
    ]
    tested = [t.p_value for t in tests if t.p_value is not None]
    q_values = benjamini_hochberg(tested) if tested else np.empty(0)
    q_of = iter(q_values.tolist())
    q = [None if t.p_value is None else next(q_of) for t in tests]
    alpha = 1.0 - confidence
    significant = [t for t, v in zip(tests, q, strict=True) if v is not None and v < alpha]
    worst = max(significant or tests, key=lambda t: (round(t.excess, _TIE_DIGITS), t.attribute))
    present = [v for v in q if v is not None and math.isfinite(v)]
    details.update(
        attribute=worst.attribute,
        pair_divergence=worst.excess + noise_mean,
        tests=[{**t.to_dict(), "q_value": v} for t, v in zip(tests, q, strict=True)],
    )
    return Estimate(
        id=METRIC_ID,
        family=FAMILY,
        value=worst.excess,
        ci=worst.ci,
        n=worst.pair_groups,
        unit=UNIT,
        p_value=min(present) if present else None,
        by_group={"attribute": {t.attribute: t.excess for t in tests}},
        details=details,
        words={
            "attribute": worst.attribute.replace("_", " "),
            "pair": worst.excess + noise_mean,
            "noise": noise_mean if len(noise) else None,
        },
    )
