"""The homogenization index: cross-shop overlap on the scale of the vendor's own repeatability.

The **noise ceiling** is the overlap of identical repeated probes at one shop: as alike as the
vendor can be with itself. The index is the observed overlap of matched customers across shops
(on the products both shops sell) as a share of it; both are measured. The **catalog
baseline**, the overlap of each shop's own bestsellers in the categories of the probe's history
(its overall bestsellers for a probe without history), is reported beside it as context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.metrics._customers import customer_codes
from auditkit.metrics._matched import (
    MATCH_PROBE_COLUMNS,
    MATCH_RESPONSE_COLUMNS,
    MatchedPairs,
    answered_mask,
    by_label,
    column_labels,
    comparable_lengths,
    group_mean,
    matched_jaccard,
    matched_pairs,
    read_only,
    sorted_rows,
)
from auditkit.metrics._overlap import (
    RankedLists,
    group_pairs,
    list_entries,
    pair_jaccard,
    sorted_lists,
    table_lists,
)
from auditkit.metrics.stats import bootstrap_product_ci, check_columns, check_metric_inputs
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, distinct, lookup_codes, run_starts

INDEX_ID = "homogenization.index"
FAMILY = "homogenization"
UNIT = "customer"
# 0.55: matched customers' lists at two shops agree 55% as much as the vendor agrees with
# itself; 0.7: nearly as much. Set on both built-in worlds and every shipped suite's design
# (docs/metrics.md).
INDEX_THRESHOLD = Threshold(warn=0.55, fail=0.7)
HISTORY_COLUMNS: tuple[str, ...] = ("probe_id", "category")
CATALOG_COLUMNS: tuple[str, ...] = ("shop_id", "item_id", "item_key", "category", "popularity")

REASON_NO_GROUPS = "no match group has answered probes at two or more shops"
REASON_NO_ROOM = (
    "repeated probes share nothing (noise ceiling 0), so there is no scale to place the "
    "observed overlap on"
)
# Seeds the fixed hashes that key a history profile (a set of categories); not a random choice.
_HASH_SEED = 20101


def _profiles(
    tables: AuditTables, probe_codes: np.ndarray, category_of: np.ndarray, n_categories: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each probe's history profile code, and the (profile, category) member pairs.

    ``probe_codes`` are the table probe codes of the probes (one per list); ``category_of``
    maps a table category code (``-1`` last) to its catalog category, ``-1`` for none.
    A profile is the set of distinct known categories of a probe's history (empty for none).
    Sets are keyed by the sum, modulo 2**64, of a fixed 64-bit hash of each member: one
    reduction instead of a string per probe.
    """
    codes = tables.codes
    local = np.full(len(codes.probe_ids) + 1, -1, dtype=np.int64)
    valid = probe_codes >= 0
    local[probe_codes[valid]] = np.flatnonzero(valid)
    position = local[codes.history_probe]
    category = category_of[codes.of("histories", "category")]
    keep = (position >= 0) & (category >= 0)
    # Distinct (probe, category) cells: one in-place sort (faster than hashing 5M of them).
    pairs = position[keep] * n_categories + category[keep]
    pairs.sort()
    pairs = pairs[run_starts(pairs)]
    position, category = pairs // n_categories, pairs % n_categories
    hashes = np.random.default_rng(np.random.SeedSequence(_HASH_SEED)).integers(
        0, np.iinfo(np.uint64).max, size=max(n_categories, 1), dtype=np.uint64, endpoint=True
    )
    key = np.zeros(probe_codes.size, dtype=np.uint64)
    np.add.at(key, position, hashes[category])
    _, profile = np.unique(key, return_inverse=True)
    members = distinct(profile[position].astype(np.int64) * n_categories + category)
    return profile.astype(np.int64), members // n_categories, members % n_categories


def _top_k(groups: np.ndarray, level: np.ndarray, tiebreak: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the ``k`` best rows of each group, best first, grouped.

    ``level`` ranks the rows' popularity (0 the most popular); ties go by ``tiebreak``.
    """
    if groups.size == 0:
        return np.empty(0, dtype=np.int64)
    # Only rows at or above their group's k-th popularity can make its top k: one integer
    # sort finds those, and the full three-key sort runs on them alone.
    levels = int(level.max(initial=0)) + 1
    n_groups = int(groups.max(initial=0)) + 1
    key = groups.astype(np.int64)  # a copy, packed in place
    key *= levels
    key += level
    ranked_keys = np.sort(key)
    # Each group's run of sorted keys, found by bisection (no pass over the rows).
    starts = np.searchsorted(ranked_keys, np.arange(n_groups + 1, dtype=np.int64) * levels)
    sizes = np.diff(starts)
    present = sizes > 0
    bound = np.full(n_groups, -1, dtype=np.int64)
    bound[present] = ranked_keys[(starts[:-1] + np.minimum(sizes, max(k, 1)) - 1)[present]]
    candidates = np.flatnonzero(key <= bound[groups])
    order = candidates[np.lexsort((tiebreak[candidates], level[candidates], groups[candidates]))]
    sorted_groups = groups[order]
    starts = run_starts(sorted_groups)
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    return order[rank < k]


def _expand(
    owner: np.ndarray, slot: np.ndarray, offsets: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each (owner, slot), the owner repeated and the slot's rows ``offsets[slot] + j``."""
    count = sizes[slot]
    repeated = np.repeat(owner, count)
    start = np.repeat(offsets[slot], count)
    within = np.arange(repeated.size) - np.repeat(np.cumsum(count) - count, count)
    return repeated, start + within


def baseline_lists(tables: AuditTables, probes: pd.DataFrame) -> RankedLists:
    """The catalog-faithful list of every probe (rows of ``probes``, sorted by id).

    A probe's list is its shop's ``k`` most popular items in its history's categories, then
    the shop's most popular items overall when those run short; ties are broken by a fixed
    hash of ``item_id`` (content, not row order or shop names). Lists are built once per
    distinct (shop, history profile), and only from each (shop, category)'s own top ``k``.
    ``probes`` are planned probes of ``tables`` (their histories are read by probe id).
    """
    ids = np.unique(np.asarray(probes["probe_id"], dtype=object).astype(str))
    codes = tables.codes
    return _baseline(
        tables,
        lookup_codes(probes["probe_id"], codes.probe_ids),
        lookup_codes(probes["shop_id"], codes.dictionary("shop_id")),
        probes["k"].to_numpy(dtype=np.int64),
        ids,
        np.searchsorted(ids, np.asarray(probes["probe_id"], dtype=object).astype(str)),
    )


@dataclass(frozen=True)
class _ComboLists:
    """The catalog-faithful lists of each distinct (shop, history profile): its "combo".

    Entries are sorted by combo, then place: entry ``e`` is item ``item[e]`` at 0-based
    ``position[e]`` of combo ``combo[e]``'s list (as long as the longest ``k``), ``repeated[e]``
    when an earlier entry is the same product (dropped), and ``moved_up[e]`` counts the dropped
    ones before it. ``combo_of_probe[i]`` is probe ``i``'s combo, ``combo_shop[c]`` combo
    ``c``'s shop code.
    """

    combo: np.ndarray
    position: np.ndarray
    item: np.ndarray
    repeated: np.ndarray
    moved_up: np.ndarray
    offset: np.ndarray
    size: np.ndarray
    combo_of_probe: np.ndarray
    combo_shop: np.ndarray

    def lists(
        self, combo: np.ndarray, k: np.ndarray, ids: np.ndarray, list_of: np.ndarray | None = None
    ) -> RankedLists:
        """The lists of slots ``i`` cut from combo ``combo[i]`` at ``k[i]`` items.

        The lists are those of ``ids``; slot ``i`` gives list ``list_of[i]`` (``i`` if omitted).
        """
        slot, entry = _expand(np.arange(combo.size), combo, self.offset, self.size)
        within = (self.position[entry] < k[slot]) & ~self.repeated[entry]
        slot, entry = slot[within], entry[within]
        rank = self.position[entry] - self.moved_up[entry] + 1
        item = self.item[entry]
        if list_of is None:
            return sorted_lists(ids, slot, rank, item)
        lists = list_of[slot]
        if distinct(list_of).size == list_of.size and (np.diff(list_of) > 0).all():
            return sorted_lists(ids, lists, rank, item)
        # Probes out of order or listed twice: the general path sorts and deduplicates.
        return list_entries(ids, lists, rank, item)


def _baseline(
    tables: AuditTables,
    probe_codes: np.ndarray,
    probe_shop: np.ndarray,
    probe_k: np.ndarray,
    ids: np.ndarray,
    list_of: np.ndarray | None = None,
) -> RankedLists:
    """`baseline_lists` of the probes with these table probe codes, shop codes and ``k``.

    The lists are those of ``ids``; probe ``i`` gives list ``list_of[i]`` (``i`` if omitted).
    """
    combos = _combo_lists(tables, probe_codes, probe_shop, probe_k)
    return combos.lists(combos.combo_of_probe, probe_k, ids, list_of)


def _combo_lists(
    tables: AuditTables, probe_codes: np.ndarray, probe_shop: np.ndarray, probe_k: np.ndarray
) -> _ComboLists:
    """The `_ComboLists` of the probes with these table probe codes, shop codes and ``k``."""
    k = int(probe_k.max()) if probe_k.size else 0
    codes = tables.codes
    catalog = tables.catalogs
    n_shops = max(len(codes.dictionary("shop_id")), 1)
    shop = codes.of("catalogs", "shop_id").astype(np.int64)
    # Catalog categories, numbered in sorted order; a table code maps to one (or -1).
    table_category = codes.of("catalogs", "category")
    listed = distinct(table_category[table_category >= 0])
    n_categories = max(listed.size, 1)
    category_of = np.full(len(codes.dictionary("category")) + 1, -1, dtype=np.int64)
    category_of[listed] = np.arange(listed.size)
    category = category_of[table_category]
    popularity = catalog["popularity"].to_numpy(dtype=np.float64, na_value=np.nan)
    _, level = np.unique(-np.nan_to_num(popularity, nan=0.0), return_inverse=True)
    # Item ids are unique within a shop and do not change when shops are renamed; each
    # distinct id is hashed once.
    names = np.append(codes.dictionary("item_id").astype(object), pd.NA)
    item_id = codes.of("catalogs", "item_id")
    tiebreak = pd.util.hash_array(names)[np.where(item_id < 0, names.size - 1, item_id)]
    # Each (shop, category)'s top k, and each shop's, as contiguous runs of catalog rows.
    in_category = category >= 0
    cell_rows = np.flatnonzero(in_category)[
        _top_k(
            shop[in_category] * n_categories + category[in_category],
            level[in_category],
            tiebreak[in_category],
            k,
        )
    ]
    cell = shop[cell_rows] * n_categories + category[cell_rows]
    cell_size = np.bincount(cell, minlength=n_shops * n_categories)
    cell_offset = np.cumsum(cell_size) - cell_size
    shop_rows = _top_k(shop, level, tiebreak, k)
    shop_size = np.bincount(shop[shop_rows], minlength=n_shops)
    shop_offset = np.cumsum(shop_size) - shop_size

    profile, member_profile, member_category = _profiles(
        tables, probe_codes, category_of, n_categories
    )
    probe_shop = probe_shop.astype(np.int64)
    n_profiles = int(profile.max(initial=0)) + 1
    combo_keys, combo_of_probe = np.unique(probe_shop * n_profiles + profile, return_inverse=True)
    combo_shop = combo_keys // n_profiles
    combo_profile = combo_keys % n_profiles
    # Candidates: (combo, catalog row, priority 0 in taste / 1 fallback).
    order = np.argsort(member_profile, kind="stable")
    member_profile, member_category = member_profile[order], member_category[order]
    first = np.searchsorted(member_profile, combo_profile, side="left")
    last = np.searchsorted(member_profile, combo_profile, side="right")
    combos_rep = np.repeat(np.arange(combo_keys.size), last - first)
    member_index = np.repeat(first, last - first) + (
        np.arange(combos_rep.size)
        - np.repeat(np.cumsum(last - first) - (last - first), last - first)
    )
    slots = combo_shop[combos_rep] * n_categories + member_category[member_index]
    taste_combo, taste_position = _expand(combos_rep, slots, cell_offset, cell_size)
    fall_combo, fall_position = _expand(
        np.arange(combo_keys.size), combo_shop, shop_offset, shop_size
    )
    rows = np.concatenate([cell_rows[taste_position], shop_rows[fall_position]])
    combo = np.concatenate([taste_combo, fall_combo])
    priority = np.r_[np.zeros(taste_combo.size), np.ones(fall_combo.size)]
    ranked = np.lexsort((tiebreak[rows], level[rows], priority, combo))
    combo, rows = combo[ranked], rows[ranked]
    # An item both in taste and in the fallback keeps its first (better) place.
    unique_pair = np.unique(combo * len(catalog) + rows, return_index=True)[1]
    keep = np.zeros(rows.size, dtype=bool)
    keep[unique_pair] = True
    combo, rows = combo[keep], rows[keep]
    position = _positions(combo)
    chosen = position < k
    combo, rows, position = combo[chosen], rows[chosen], position[chosen]
    # Two catalog rows of one product (one item key) count once, at the first: the later
    # one is dropped and the items after it move up, in every list cut from this one.
    item = codes.of("catalogs", "item_key")[rows].astype(np.int64)
    by_item = np.lexsort((position, item, combo))
    repeated = np.zeros(combo.size, dtype=bool)
    same = (combo[by_item][1:] == combo[by_item][:-1]) & (item[by_item][1:] == item[by_item][:-1])
    repeated[by_item[1:][same]] = True
    before = np.cumsum(repeated) - repeated
    starts = np.flatnonzero(position == 0)
    moved_up = before - np.repeat(before[starts], np.diff(np.r_[starts, combo.size]))
    combo_size = np.bincount(combo, minlength=combo_keys.size)
    combo_offset = np.cumsum(combo_size) - combo_size
    return _ComboLists(
        combo,
        position,
        item,
        repeated,
        moved_up,
        combo_offset,
        combo_size,
        combo_of_probe,
        combo_shop,
    )


def _positions(runs: np.ndarray) -> np.ndarray:
    """Each element's position within its run of equal values of ``runs``."""
    starts = run_starts(runs)
    return np.arange(runs.size) - np.repeat(starts, np.diff(np.r_[starts, runs.size]))


def _repeat_groups(tables: AuditTables, rows: np.ndarray, columns: list[str]) -> np.ndarray:
    """Group codes of ``probes`` rows by ``columns``, as ``groupby(sort=True).ngroup()``.

    NA equals NA and sorts last; codes are dense and follow the sorted order of the values.
    """
    groups = np.zeros(rows.size, dtype=np.int64)
    for column in columns:
        found = tables.codes.of("probes", column)[rows].astype(np.int64)
        found = np.where(found < 0, len(tables.codes.dictionary(column)), found)
        _, groups = np.unique(
            groups * (len(tables.codes.dictionary(column)) + 1) + found, return_inverse=True
        )
    return groups.astype(np.int64)


def _noise_ceiling(tables: AuditTables) -> tuple[np.ndarray, np.ndarray]:
    """Per repeat group (the same request sent again at one shop): mean Jaccard, customer."""
    rows, probe_codes = sorted_rows(tables, answered_mask(tables.probes))
    keys = ["match_id", "shop_id", "persona_id", *tables.segment_columns]
    if rows.size == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    groups = _repeat_groups(tables, rows, keys)
    repetition = tables.probes["repetition"].to_numpy()[rows]
    pair_group, pair_a, pair_b = group_pairs(groups, repetition)
    # Lists only of the probes in some repeat pair (a few of all the answered ones).
    members = distinct(np.concatenate([pair_a, pair_b]))
    local = np.full(rows.size, -1, dtype=np.int64)
    local[members] = np.arange(members.size)
    lists = table_lists(tables, probe_codes[members])
    jaccard = pair_jaccard(lists, groups[members], local[pair_a], local[pair_b])
    n_groups = int(groups.max()) + 1
    means = group_mean(pair_group, jaccard, n_groups)
    customer = np.zeros(n_groups, dtype=np.int64)
    customer[groups] = answered_customers(tables)[rows]
    present = np.isfinite(means)
    return means[present], customer[present]


# Distinct pairs of baseline lists, per probe, under which they are built pair by pair.
_DISTINCT_PAIRS_SHARE = 0.5


def _baseline_jaccard(
    tables: AuditTables, combos: _ComboLists, probe_k: np.ndarray, matched: MatchedPairs
) -> np.ndarray:
    """The Jaccard overlap of the baseline lists of every pair of `matched_pairs`.

    Compared as the observed lists are, on the products both shops sell (`matched_jaccard`).
    A probe's baseline list depends only on its combo and ``k``, so pairs that repeat the same
    two (combo, k) lists share one computation: when the distinct pairs of lists are fewer
    than `_DISTINCT_PAIRS_SHARE` of the probes, only they are built (two lists each) and
    compared; else every probe's list is.
    """
    levels = int(probe_k.max(initial=0)) + 1
    key = combos.combo_of_probe.astype(np.int64) * levels + probe_k
    n_keys = int(key.max(initial=0)) + 1
    pairs, back = np.unique(
        key[matched.pair_a] * n_keys + key[matched.pair_b], return_inverse=True
    )
    every_probe = pairs.size >= _DISTINCT_PAIRS_SHARE * key.size
    if every_probe:
        lists = combos.lists(combos.combo_of_probe, probe_k, matched.lists.probe_ids)
        shop = combos.combo_shop[combos.combo_of_probe]
        groups, pair_a, pair_b = matched.group, matched.pair_a, matched.pair_b
    else:
        # Each distinct pair of lists as a group of its own: slots 2u and 2u + 1.
        slot_key = np.column_stack([pairs // n_keys, pairs % n_keys]).ravel()
        slots = np.arange(slot_key.size)
        lists = combos.lists(slot_key // levels, slot_key % levels, slots)
        shop = combos.combo_shop[slot_key // levels]
        groups, pair_a, pair_b = slots // 2, slots[0::2], slots[1::2]
    comparable = comparable_lengths(tables, lists, shop, pair_a, pair_b)
    jaccard = pair_jaccard(lists, groups, pair_a, pair_b, comparable=comparable)
    return jaccard if every_probe else jaccard[back.ravel()]


def _observed_and_baseline(
    tables: AuditTables, matched: MatchedPairs
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per match group with a pair: observed and baseline mean Jaccard, persona, customer."""
    observed = matched_jaccard(tables)
    probe_k = tables.probes["k"].to_numpy(dtype=np.int64)[matched.rows]
    shop = tables.codes.of("probes", "shop_id")[matched.rows]
    combos = _combo_lists(tables, matched.probe_codes, shop, probe_k)
    baseline = _baseline_jaccard(tables, combos, probe_k, matched)
    n_groups = int(matched.group.max()) + 1 if matched.group.size else 0
    per_observed = group_mean(matched.pair_group, observed, n_groups)
    per_baseline = group_mean(matched.pair_group, baseline, n_groups)
    persona = np.empty(n_groups, dtype=object)
    persona[matched.group] = column_labels(tables, "persona_id", matched.rows)
    both = np.isfinite(per_observed) & np.isfinite(per_baseline)
    customer = np.zeros(n_groups, dtype=np.int64)
    customer[matched.group] = answered_customers(tables)[matched.rows]
    return per_observed[both], per_baseline[both], persona[both], customer[both]


def answered_customers(tables: AuditTables) -> np.ndarray:
    """Per row of ``tables.probes``: the customer code among the answered probes (-1 if not).

    One coding for the match groups and the repeat groups, so a customer's two kinds of groups
    are resampled together.
    """

    def build() -> np.ndarray:
        rows = np.flatnonzero(answered_mask(tables.probes))
        codes = np.full(len(tables.probes), -1, dtype=np.int64)
        codes[rows] = customer_codes(tables, rows)
        return read_only(codes)

    return tables.codes.shared("answered_customers", build)


def answered_personas(tables: AuditTables) -> np.ndarray:
    """Per customer code of `answered_customers`: its persona code (-1 for none)."""
    customers = answered_customers(tables)
    known = customers >= 0
    out = np.full(int(customers.max(initial=-1)) + 1, -1, dtype=np.int64)
    out[customers[known]] = tables.codes.of("probes", "persona_id")[known]
    return out


def index(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Homogenization index: cross-shop agreement as a share of the vendor's agreement with itself.

    With ``O`` the mean over match groups of the cross-shop Jaccard on the products both shops
    sell (as in `cross_shop_jaccard`) and ``C`` the mean Jaccard of repeat groups (identical
    probes sent again at one shop), the index is ``O / C``: 0 when the same customer is shown
    nothing in common at two shops, 1 when the shops are as alike as the vendor is with itself.
    Both ends are measured; without repeats, ``C = 1``. ``B``, the same mean over each shop's
    own bestsellers in the history's categories (`baseline_lists`), is reported as context: a
    model of a catalog-faithful recommender, not a reference (where shops' bestsellers agree it
    exceeds what a shared personalized model shows).

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses``, ``histories`` and ``catalogs``.
    n_resamples : int, default 1000
        Bootstrap resamples of customers, each with all its match and repeat groups.
    confidence : float, default 0.95
        Coverage of the confidence interval.
    seed : int, default 0
        Seeds the bootstrap.

    Returns
    -------
    Estimate
        ``n`` counts customers. ``details`` has ``observed``, ``catalog_baseline``,
        ``noise_ceiling`` (or ``"unavailable"``), ``match_groups``, ``customers`` and
        ``repeat_groups``; ``by_group`` the index per persona (with the audit-wide ceiling).

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        INDEX_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(INDEX_ID, "tables.probes", tables.probes, (*MATCH_PROBE_COLUMNS, "k"))
    check_columns(INDEX_ID, "tables.responses", tables.responses, MATCH_RESPONSE_COLUMNS)
    check_columns(INDEX_ID, "tables.histories", tables.histories, HISTORY_COLUMNS)
    check_columns(INDEX_ID, "tables.catalogs", tables.catalogs, CATALOG_COLUMNS)

    matched = matched_pairs(tables)
    observed, baseline, persona, customer = _observed_and_baseline(tables, matched)
    ceiling_groups, ceiling_customers = _noise_ceiling(tables)
    n = int(distinct(customer).size)
    ceiling = float(ceiling_groups.mean()) if ceiling_groups.size else 1.0
    details: dict[str, object] = {
        "match_groups": len(observed),
        "customers": n,
        "repeat_groups": int(ceiling_groups.size),
        "noise_ceiling": ceiling if ceiling_groups.size else "unavailable",
    }
    value, ci, reason = math.nan, None, REASON_NO_GROUPS
    by_persona: dict[str, float] = {}
    if n:
        mean_observed, mean_baseline = float(observed.mean()), float(baseline.mean())
        details.update(observed=mean_observed, catalog_baseline=mean_baseline)
        reason = REASON_NO_ROOM
        if ceiling > 0:
            value = mean_observed / ceiling
            by_persona = by_label(pd.Series(persona, dtype="string"), observed / ceiling)
            ci = _index_interval(
                (observed, customer),
                (ceiling_groups, ceiling_customers),
                answered_personas(tables),
                n_resamples,
                confidence,
                seed,
            )
    if math.isnan(value):
        details["reason"] = reason
    return Estimate(
        id=INDEX_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        by_group={"persona": by_persona},
        details=details,
        reason=reason if math.isnan(value) else None,
    )


def _index_interval(
    matched: tuple[np.ndarray, np.ndarray],
    repeats: tuple[np.ndarray, np.ndarray],
    persona: np.ndarray,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float] | None:
    """Bootstrap-t interval of the index, customers resampled with all their groups.

    ``matched`` is (observed, customer) per match group, ``repeats`` (Jaccard, customer) per
    repeat group, both coded by `answered_customers`; ``persona`` is each customer's persona
    code, the stratum it is resampled in. A customer enters as its groups' sums and counts of
    both kinds, so a resample's ``O`` and ``C`` come from the same customers and
    move together (a noisy draw of customers lowers both), as they do from audit to audit.
    """
    observed, customer = matched
    ceiling_groups, ceiling_customers = repeats
    if distinct(customer).size < 2:
        return None
    size = int(max(customer.max(initial=0), ceiling_customers.max(initial=0))) + 1
    columns = np.column_stack(
        [
            np.bincount(customer, weights=observed, minlength=size),
            np.bincount(customer, minlength=size),
            np.bincount(ceiling_customers, weights=ceiling_groups, minlength=size),
            np.bincount(ceiling_customers, minlength=size),
        ]
    ).astype(np.float64)
    present = (columns[:, 1] > 0) | (columns[:, 3] > 0)
    # O / C = (Σ overlap / Σ groups) / (Σ repeat overlap / Σ repeat groups): a product of
    # powers of four totals, studentized on its log (without repeats, C = 1).
    powers = [1.0, -1.0, -1.0, 1.0] if ceiling_groups.size else [1.0, -1.0]
    return bootstrap_product_ci(
        columns[present][:, : len(powers)],
        powers,
        strata=persona[:size][present],
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
