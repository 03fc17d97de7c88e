"""The homogenization index: observed cross-shop overlap between two reference points.

The **catalog baseline** is the overlap that a recommender faithful to each shop would give the
same matched probes: each shop's own bestsellers in the categories of the probe's history
(its overall bestsellers for a probe without history), ranked by that shop's popularity. The
**noise ceiling** is the overlap of identical repeated probes at one shop: as alike as the
vendor can be with itself. The index places the observed overlap between them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from auditkit.frames import AuditTables
from auditkit.metrics._matched import (
    MATCH_PROBE_COLUMNS,
    MATCH_RESPONSE_COLUMNS,
    MatchedPairs,
    answered_mask,
    by_label,
    group_mean,
    matched_pairs,
)
from auditkit.metrics._overlap import RankedLists, group_pairs, pair_jaccard, ranked_lists
from auditkit.metrics.stats import (
    bootstrap_means,
    check_columns,
    check_metric_inputs,
    percentile_interval,
)
from auditkit.results import MetricResult, Threshold

INDEX_ID = "homogenization.index"
FAMILY = "homogenization"
UNIT = "match group"
# 0.25: a quarter of the way from what the catalogs explain to the vendor's own repeatability;
# 0.5: half way. See docs/metrics.md.
INDEX_THRESHOLD = Threshold(warn=0.25, fail=0.5)
HISTORY_COLUMNS: tuple[str, ...] = ("probe_id", "category")
CATALOG_COLUMNS: tuple[str, ...] = ("shop_id", "item_key", "category", "popularity")

SUMMARY = (
    "Shops' lists for matched customers are {value:.0%} of the way from as alike as their "
    "catalogs make them (0%) to as alike as the vendor is with itself (100%)."
)
SUMMARY_NONE = "The homogenization index could not be measured: {reason}."
REASON_NO_GROUPS = "no match group has answered probes at two or more shops"
REASON_NO_ROOM = (
    "the noise ceiling is not above the catalog baseline, so there is no room to place the "
    "observed overlap between them"
)
# Seeds the fixed hashes that key a history profile (a set of categories); not a random choice.
_HASH_SEED = 20101


def _profiles(tables: AuditTables, probes: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each probe's history profile code, and ``profile, category`` for every profile.

    A profile is the set of distinct known categories of a probe's history (empty for none).
    Sets are keyed by the sum, modulo 2**64, of a fixed 64-bit hash of each member, computed
    with one sorted reduction instead of a string per probe.
    """
    history = tables.histories[["probe_id", "category"]].dropna()
    history = history[history["probe_id"].isin(probes["probe_id"])].drop_duplicates()
    category, names = pd.factorize(history["category"].astype("string"), sort=True)
    hashes = np.random.default_rng(np.random.SeedSequence(_HASH_SEED)).integers(
        0, np.iinfo(np.uint64).max, size=max(len(names), 1), dtype=np.uint64, endpoint=True
    )
    ids = probes["probe_id"].to_numpy(dtype=object).astype(str)
    position = np.searchsorted(ids, history["probe_id"].to_numpy(dtype=object).astype(str))
    key = np.zeros(len(ids), dtype=np.uint64)
    np.add.at(key, position, hashes[category])
    _, profile = np.unique(key, return_inverse=True)
    members = pd.DataFrame(
        {"profile": profile[position], "category": np.asarray(names, dtype=object)[category]}
    ).drop_duplicates()
    return profile.astype(np.int64), members


def baseline_lists(tables: AuditTables, probes: pd.DataFrame) -> RankedLists:
    """The catalog-faithful list of every probe (rows of ``probes``, sorted by id).

    A probe's list is its shop's ``k`` most popular items in its history's categories, then
    the shop's most popular items overall when those run short; ties broken by ``item_key``.
    Lists are built once per distinct (shop, history profile), not per probe.
    """
    k = int(probes["k"].max()) if len(probes) else 0
    catalog = tables.catalogs[list(CATALOG_COLUMNS)].copy()
    catalog["popularity"] = catalog["popularity"].astype("float64").fillna(0.0)
    catalog = catalog.sort_values(
        ["shop_id", "popularity", "item_key"], ascending=[True, False, True], kind="stable"
    )
    top_by_category = catalog.groupby(["shop_id", "category"], sort=False).head(k)
    top_overall = catalog.groupby("shop_id", sort=False).head(k)
    profile, members = _profiles(tables, probes)
    combos = pd.DataFrame(
        {"shop_id": probes["shop_id"].astype("string").to_numpy(), "profile": profile}
    )
    unique = combos.drop_duplicates(ignore_index=True)
    unique["combo"] = np.arange(len(unique))
    wanted = unique.merge(members, on="profile")
    in_taste = wanted.merge(top_by_category, on=["shop_id", "category"]).assign(priority=0)
    fallback = unique.merge(top_overall, on="shop_id").assign(priority=1)
    columns = ["combo", "priority", "popularity", "item_key"]
    candidates = pd.concat([in_taste[columns], fallback[columns]], ignore_index=True)
    candidates = candidates.sort_values(
        ["combo", "priority", "popularity", "item_key"],
        ascending=[True, True, False, True],
        kind="stable",
    ).drop_duplicates(["combo", "item_key"])
    chosen = candidates.groupby("combo", sort=False).head(k)
    chosen = chosen.assign(rank=chosen.groupby("combo", sort=False).cumcount() + 1)
    combo_of_probe = combos.merge(unique, on=["shop_id", "profile"], how="left")["combo"]
    per_probe = pd.DataFrame(
        {
            "probe_id": probes["probe_id"].astype("string").to_numpy(),
            "combo": combo_of_probe.to_numpy(),
            "k": probes["k"].to_numpy(),
        }
    ).merge(chosen[["combo", "rank", "item_key"]], on="combo")
    per_probe = per_probe[per_probe["rank"] <= per_probe["k"]]
    return ranked_lists(per_probe, probes["probe_id"])


def _noise_ceiling(tables: AuditTables) -> np.ndarray:
    """Mean Jaccard of each repeat group (the same request sent again at one shop)."""
    probes = tables.probes[answered_mask(tables.probes)].sort_values("probe_id", ignore_index=True)
    keys = ["match_id", "shop_id", "persona_id", *tables.segment_columns]
    if probes.empty:
        return np.empty(0)
    groups = probes.groupby(keys, dropna=False, sort=True).ngroup().to_numpy(dtype=np.int64)
    pair_group, pair_a, pair_b = group_pairs(groups, probes["repetition"].to_numpy())
    lists = ranked_lists(tables.responses, probes["probe_id"])
    jaccard = pair_jaccard(lists, groups, pair_a, pair_b)
    means = group_mean(pair_group, jaccard, int(groups.max()) + 1)
    return means[np.isfinite(means)]


def _observed_and_baseline(
    tables: AuditTables, matched: MatchedPairs
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per match group with a defined pair: observed and baseline mean Jaccard, and persona."""
    observed = pair_jaccard(matched.lists, matched.group, matched.pair_a, matched.pair_b)
    baseline = pair_jaccard(
        baseline_lists(tables, matched.probes), matched.group, matched.pair_a, matched.pair_b
    )
    n_groups = int(matched.group.max()) + 1 if matched.group.size else 0
    per_observed = group_mean(matched.pair_group, observed, n_groups)
    per_baseline = group_mean(matched.pair_group, baseline, n_groups)
    persona = np.empty(n_groups, dtype=object)
    persona[matched.group] = matched.probes["persona_id"].astype("string").to_numpy()
    both = np.isfinite(per_observed) & np.isfinite(per_baseline)
    return per_observed[both], per_baseline[both], persona[both]


def index(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Homogenization index: observed cross-shop overlap scaled by baseline and ceiling.

    With ``O`` the mean over match groups of the observed cross-shop Jaccard (as in
    `cross_shop_jaccard`), ``B`` the same mean over the catalog-faithful lists of the same
    probes (`baseline_lists`), and ``C`` the mean Jaccard of repeat groups (identical probes
    sent again at one shop), the index is ``(O - B) / (C - B)``. Without repeats, ``C = 1``.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses``, ``histories`` and ``catalogs``.
    threshold : Threshold, optional
        Judges the value; `INDEX_THRESHOLD` when omitted.
    n_resamples : int, default 1000
        Bootstrap resamples: match groups (observed and baseline jointly) and, independently,
        repeat groups.
    confidence : float, default 0.95
        Coverage of the confidence interval.
    seed : int, default 0
        Seeds the two bootstraps (``SeedSequence(seed).spawn(2)``).

    Returns
    -------
    MetricResult
        ``details`` has ``observed``, ``catalog_baseline``, ``noise_ceiling`` (or
        ``"unavailable"``), ``match_groups`` and ``repeat_groups``; ``by_group`` the index per
        persona (with the audit-wide baseline and ceiling).

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        INDEX_ID, tables, threshold, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(INDEX_ID, "tables.probes", tables.probes, (*MATCH_PROBE_COLUMNS, "k"))
    check_columns(INDEX_ID, "tables.responses", tables.responses, MATCH_RESPONSE_COLUMNS)
    check_columns(INDEX_ID, "tables.histories", tables.histories, HISTORY_COLUMNS)
    check_columns(INDEX_ID, "tables.catalogs", tables.catalogs, CATALOG_COLUMNS)
    threshold = INDEX_THRESHOLD if threshold is None else threshold

    matched = matched_pairs(tables)
    observed, baseline, persona = _observed_and_baseline(tables, matched)
    ceiling_groups = _noise_ceiling(tables)
    n = len(observed)
    ceiling = float(ceiling_groups.mean()) if ceiling_groups.size else 1.0
    details: dict[str, object] = {
        "match_groups": n,
        "repeat_groups": int(ceiling_groups.size),
        "noise_ceiling": ceiling if ceiling_groups.size else "unavailable",
    }
    value, ci, reason = math.nan, None, REASON_NO_GROUPS
    by_persona: dict[str, float] = {}
    if n:
        mean_observed, mean_baseline = float(observed.mean()), float(baseline.mean())
        details.update(observed=mean_observed, catalog_baseline=mean_baseline)
        room = ceiling - mean_baseline
        reason = REASON_NO_ROOM
        if room > 0:
            value = (mean_observed - mean_baseline) / room
            by_persona = by_label(pd.Series(persona, dtype="string"), (observed - baseline) / room)
            ci = _index_interval(observed, baseline, ceiling_groups, n_resamples, confidence, seed)
    if math.isnan(value):
        details["reason"] = reason
        summary = SUMMARY_NONE.format(reason=reason)
    else:
        summary = SUMMARY.format(value=value)
    return MetricResult(
        id=INDEX_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        verdict=threshold.verdict(value, ci, n),
        threshold=threshold,
        by_group={"persona": by_persona},
        details=details,
        summary=summary,
    )


def _index_interval(
    observed: np.ndarray,
    baseline: np.ndarray,
    ceiling_groups: np.ndarray,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float] | None:
    """Percentile interval of the index; match and repeat groups resampled independently."""
    if len(observed) < 2:
        return None
    seed_groups, seed_repeats = (
        int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2)
    )
    draws = bootstrap_means(
        np.column_stack([observed, baseline]), n_resamples=n_resamples, seed=seed_groups
    )
    if ceiling_groups.size >= 2:
        ceiling = bootstrap_means(
            ceiling_groups[:, None], n_resamples=n_resamples, seed=seed_repeats
        )[:, 0]
    else:
        ceiling = np.full(
            n_resamples, float(ceiling_groups.mean()) if ceiling_groups.size else 1.0
        )
    room = ceiling - draws[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        statistics = np.where(room > 0, (draws[:, 0] - draws[:, 1]) / room, np.nan)
    return percentile_interval(statistics, confidence)
