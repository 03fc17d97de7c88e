"""Integer-coded list-overlap kernels: Jaccard and rank-biased overlap of many pairs at once.

The metrics compare millions of pairs of short ranked lists. Strings are factorized once into
integer codes; every pair's shared items come from one self-join of the (group, item) entries,
done by sorting, so the cost is the number of list entries plus the number of shared items,
never a Python loop per pair or an N × N matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.frames import AuditTables


@dataclass(frozen=True)
class RankedLists:
    """The deduplicated ranked lists of some probes, as integer codes.

    ``probe_ids[c]`` is the probe with code ``c``; entry ``e`` says that item ``item[e]`` is at
    position ``rank[e]`` (1-based) of probe ``probe[e]``'s list; ``length[c]`` counts its items.
    Entries are sorted by probe, then rank.
    """

    probe_ids: np.ndarray
    probe: np.ndarray
    item: np.ndarray
    rank: np.ndarray
    length: np.ndarray

    @property
    def max_length(self) -> int:
        """The longest list (0 when every list is empty)."""
        return int(self.length.max()) if self.length.size else 0


def ranked_lists(responses: pd.DataFrame, probe_ids: pd.Series | np.ndarray) -> RankedLists:
    """The ranked lists of ``probe_ids`` (sorted; probes without rows get empty lists).

    Reads ``probe_id``, ``rank`` and ``item_key`` of ``responses``; an item listed twice keeps
    its first position and later items move up.
    """
    ids = np.unique(np.asarray(probe_ids, dtype=object).astype(str))
    rows = responses[["probe_id", "rank", "item_key"]].dropna()
    # Hash lookups on the string columns as they are (no conversion to Python objects).
    probe = pd.Index(ids, dtype="string").get_indexer(rows["probe_id"].astype("string"))
    item, _ = pd.factorize(rows["item_key"].astype("string"))
    return list_entries(ids, probe, rows["rank"].to_numpy(dtype=np.int64), item)


def table_lists(tables: AuditTables, probe_codes: np.ndarray) -> RankedLists:
    """`ranked_lists` of ``tables.responses`` for the probes with these `TableCodes` codes.

    Items are the shared ``item_key`` codes of the tables, so lists from different calls
    compare directly.
    """
    codes = tables.codes
    chosen = np.unique(probe_codes[probe_codes >= 0])
    local = np.full(len(codes.probe_ids) + 1, -1, dtype=np.int32)
    local[chosen] = np.arange(chosen.size, dtype=np.int32)
    probe = local[codes.response_probe]
    item = codes.of("responses", "item_key")
    rank_column = tables.responses["rank"]
    if pd.api.types.is_integer_dtype(rank_column.dtype) and not rank_column.hasnans:
        rank = rank_column.to_numpy(dtype=np.int64)
        present = (probe >= 0) & (item >= 0)
    else:
        values = rank_column.to_numpy(dtype=np.float64, na_value=np.nan)
        present = (probe >= 0) & (item >= 0) & ~np.isnan(values)
        rank = np.where(present, values, 0).astype(np.int64)
    if not present.all():
        probe, rank, item = probe[present], rank[present], item[present]
    return list_entries(codes.probe_ids[chosen], probe, rank, item)


def list_entries(
    ids: np.ndarray, probe: np.ndarray, rank: np.ndarray, item: np.ndarray
) -> RankedLists:
    """`RankedLists` of ``ids`` from entries: probe position (-1: not wanted), rank, item code.

    Entries may come in any order; an item listed twice keeps its best position.
    """
    known = probe >= 0
    probe = probe[known].astype(np.int64)
    rank = rank[known]
    item = np.asarray(item)[known].astype(np.int64)
    order = np.lexsort((rank, probe))
    probe, item, rank = probe[order], item[order], rank[order]
    if probe.size:
        key = probe * (int(item.max()) + 1) + item
        first = np.ones(key.size, dtype=bool)
        # Duplicates of an item in one list: keep the best position.
        seen = np.argsort(key, kind="stable")
        first[seen[1:][key[seen[1:]] == key[seen[:-1]]]] = False
        probe, item = probe[first], item[first]
    length = np.bincount(probe, minlength=len(ids)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(length)[:-1]])
    rank = np.arange(probe.size, dtype=np.int64) - starts[probe] + 1
    return RankedLists(ids, probe, item, rank, length)


def sorted_lists(
    ids: np.ndarray, probe: np.ndarray, rank: np.ndarray, item: np.ndarray
) -> RankedLists:
    """`RankedLists` of ``ids`` from entries already sorted by probe with ranks ``1..n`` each.

    The caller guarantees no item twice in a list.
    """
    length = np.bincount(probe, minlength=len(ids)).astype(np.int64)
    return RankedLists(ids, probe.astype(np.int64), item.astype(np.int64), rank, length)


def run_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of positions ``(i, j)``, ``i < j``, within runs of equal values of ``keys``.

    ``keys`` must be sorted; the pairs come out grouped by run, in order.
    """
    n = keys.size
    if n < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    boundary = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], boundary])
    ends = np.concatenate([boundary, [n]])
    run_end = np.repeat(ends, ends - starts)
    # Position i pairs with every later position of its run.
    later = run_end - np.arange(n) - 1
    first = np.repeat(np.arange(n, dtype=np.int64), later)
    block_start = np.repeat(np.cumsum(later) - later, later)
    second = first + 1 + (np.arange(first.size, dtype=np.int64) - block_start)
    return first, second


def group_pairs(
    groups: np.ndarray, differ: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of probe codes in the same group (``a < b``), optionally differing in ``differ``.

    Returns ``(group, a, b)`` sorted by group, then ``a``, then ``b``.
    """
    codes = np.arange(groups.size, dtype=np.int64)
    order = np.lexsort((codes, groups))
    first, second = run_pairs(groups[order])
    a, b = order[first], order[second]
    low, high = np.minimum(a, b), np.maximum(a, b)
    keep = np.ones(low.size, dtype=bool) if differ is None else differ[low] != differ[high]
    group, low, high = groups[low[keep]], low[keep], high[keep]
    ordered = np.lexsort((high, low, group))
    return group[ordered], low[ordered], high[ordered]


def shared_entries(
    lists: RankedLists, groups: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For every item two paired lists share: the pair's index and the deeper of its two ranks.

    ``groups[c]`` is probe ``c``'s group; only pairs inside one group can share entries, so
    the join is over (group, item). ``pair_a < pair_b`` are probe codes.
    """
    n_items = int(lists.item.max()) + 1 if lists.item.size else 1
    key = groups[lists.probe].astype(np.int64) * n_items + lists.item
    order = np.argsort(key, kind="stable")
    first, second = run_pairs(key[order])
    entry_x, entry_y = order[first], order[second]
    probe_x, probe_y = lists.probe[entry_x], lists.probe[entry_y]
    low, high = np.minimum(probe_x, probe_y), np.maximum(probe_x, probe_y)
    n_probes = max(lists.length.size, 1)
    wanted = pair_a.astype(np.int64) * n_probes + pair_b
    sort_wanted = np.argsort(wanted, kind="stable")
    found = low * n_probes + high
    position = np.searchsorted(wanted[sort_wanted], found)
    position = np.minimum(position, max(wanted.size - 1, 0))
    hit = wanted[sort_wanted][position] == found if wanted.size else np.zeros(found.size, bool)
    pair = sort_wanted[position[hit]]
    depth = np.maximum(lists.rank[entry_x[hit]], lists.rank[entry_y[hit]])
    return pair, depth


def pair_jaccard(
    lists: RankedLists, groups: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray
) -> np.ndarray:
    """Jaccard similarity of each pair's item sets; NaN when both lists are empty."""
    pair, _ = shared_entries(lists, groups, pair_a, pair_b)
    shared = np.bincount(pair, minlength=pair_a.size).astype(np.float64)
    union = lists.length[pair_a] + lists.length[pair_b] - shared
    out = np.full(pair_a.size, np.nan)
    np.divide(shared, union, out=out, where=union > 0)
    return out


# Pairs per block of the depth histogram: about 40 MB of counts at k = 20.
_RBO_BLOCK = 1 << 18


def pair_rbo(
    lists: RankedLists,
    groups: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    *,
    p: float,
) -> np.ndarray:
    """Extrapolated rank-biased overlap of each pair of lists (Webber et al. 2010, eq. 32).

    With ``s`` and ``l`` the shorter and longer lengths and ``X_d`` the overlap of the two
    prefixes of depth ``d`` (the shorter list whole once ``d > s``)::

        RBO_ext = (1 - p) / p * (sum_{d=1..l} X_d / d * p^d
                                 + sum_{d=s+1..l} X_s * (d - s) / (s * d) * p^d)
                  + ((X_l - X_s) / l + X_s / s) * p^l

    Two empty lists give NaN (no evidence); one empty list gives 0.
    """
    pair, depth = shared_entries(lists, groups, pair_a, pair_b)
    n_pairs = pair_a.size
    out = np.full(n_pairs, np.nan)
    width = lists.max_length
    if n_pairs == 0 or width == 0:
        return out
    len_a, len_b = lists.length[pair_a], lists.length[pair_b]
    short = np.minimum(len_a, len_b)
    long = np.maximum(len_a, len_b)
    d = np.arange(1, width + 1, dtype=np.float64)
    weight = p**d
    order = np.argsort(pair, kind="stable")
    pair, depth = pair[order], depth[order]
    for start in range(0, n_pairs, _RBO_BLOCK):
        stop = min(start + _RBO_BLOCK, n_pairs)
        lo, hi = np.searchsorted(pair, [start, stop])
        cells = (pair[lo:hi] - start) * width + (depth[lo:hi] - 1)
        counts = np.bincount(cells, minlength=(stop - start) * width)
        overlap = np.cumsum(counts.reshape(stop - start, width), axis=1).astype(np.float64)
        s, length = short[start:stop], long[start:stop]
        inside = d[None, :] <= length[:, None]
        agreement = np.where(inside, overlap / d[None, :], 0.0) @ weight
        safe_s = np.maximum(s, 1)
        x_s = np.take_along_axis(overlap, (safe_s - 1)[:, None], axis=1)[:, 0]
        x_l = np.take_along_axis(overlap, (np.maximum(length, 1) - 1)[:, None], axis=1)[:, 0]
        beyond = (d[None, :] > s[:, None]) & inside
        tail = np.where(beyond, (d[None, :] - s[:, None]) / (safe_s[:, None] * d[None, :]), 0.0)
        disjoint = x_s * (tail @ weight)
        ext = ((x_l - x_s) / np.maximum(length, 1) + x_s / safe_s) * p ** length.astype(float)
        value = (1.0 - p) / p * (agreement + disjoint) + ext
        value = np.where(s == 0, 0.0, np.clip(value, 0.0, 1.0))
        out[start:stop] = np.where(length == 0, np.nan, value)
    return out
