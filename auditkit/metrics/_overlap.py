"""Integer-coded list-overlap kernels: Jaccard and rank-biased overlap of many pairs at once.

The metrics compare millions of pairs of short ranked lists. Items are the tables' shared
integer codes (`auditkit.tables.TableCodes`); every pair's shared items come from one
self-join of the (group, item) entries, done by a value sort of packed int64 keys, so the cost
is the number of list entries plus the number of shared items, never a Python loop per pair or
an N × N matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.tables import AuditTables, distinct, run_starts


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
    chosen = distinct(probe_codes[probe_codes >= 0])
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


def _bits(n: int) -> int:
    """Bits that hold every value in ``0..n-1``."""
    return max(int(n - 1).bit_length(), 1)


def _sort_order(key: np.ndarray) -> np.ndarray:
    """The stable order of the non-negative int64 ``key``: one value sort of key and position.

    Sorting values (vectorized) is several times faster than ``argsort``; the position
    packed into the low bits makes it stable. Falls back to ``argsort`` when they do not fit.
    """
    n = key.size
    top = int(key.max()) if n else 0
    shift = _bits(n)
    if top >= 1 << (63 - shift):
        return np.argsort(key, kind="stable")
    packed = (key << shift) | np.arange(n, dtype=np.int64)
    packed.sort()
    packed &= (1 << shift) - 1
    return packed


def code_bounds(codes: np.ndarray, size: int) -> np.ndarray | None:
    """Where the run of each code ``0..size`` begins, when ``codes`` are in order; else None.

    The catalogs come stacked by shop: each shop's rows are then the slice between two bounds.
    """
    if codes.size and codes[0] >= 0 and bool((codes[1:] >= codes[:-1]).all()):
        # Needles of the codes' own type: mixed types would cast every code first.
        return np.searchsorted(codes, np.arange(size + 1, dtype=codes.dtype))
    return None


def code_counts(codes: np.ndarray, size: int) -> np.ndarray:
    """How many of ``codes`` equal each of ``0..size-1`` (negative codes, NA, are skipped).

    Codes already in order (the catalogs come stacked by shop) are counted by bisection,
    without the pass a ``np.bincount`` makes over them.
    """
    bounds = code_bounds(codes, size)
    if bounds is not None:
        return np.diff(bounds)
    return np.bincount(codes[codes >= 0], minlength=size)[:size]


def code_sums(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """The sum of ``values`` (float64) over the rows of each code ``0..size-1``.

    Negative codes (NA) are skipped. Codes in order are summed run by run
    (``np.add.reduceat``), several times faster than a weighted ``np.bincount``.
    """
    bounds = code_bounds(codes, size)
    if bounds is None:
        known = codes >= 0
        return np.bincount(codes[known], weights=values[known], minlength=size)[:size]
    sums = np.zeros(size)
    filled = bounds[1:] > bounds[:-1]  # reduceat reads an empty run as its next value
    if filled.any():
        sums[filled] = np.add.reduceat(values[: bounds[-1]], bounds[:-1][filled], dtype=np.float64)
    return sums


def index_dtype(n: int) -> type[np.signedinteger]:
    """int32 when every value in ``-n..n`` fits (half the memory of int64), else int64."""
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def _positions_in_lists(probe: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Each entry's 0-based place in its list (entries sorted by probe, ``length`` per list)."""
    index = index_dtype(probe.size)
    starts = (np.cumsum(length) - length).astype(index)
    position = np.arange(probe.size, dtype=index)
    position -= starts[probe]
    return position


def _repeated_items(probe: np.ndarray, item: np.ndarray, n_lists: int) -> np.ndarray | None:
    """Mask of the entries that repeat an item earlier in their list; None when none does.

    Entries are sorted by probe, then rank. Lists of similar lengths are checked on a grid
    with one short sort per row; the general case sorts (probe, item, position) keys.
    """
    length = np.bincount(probe, minlength=n_lists)
    width = int(length.max())
    n_items = int(item.max()) + 1
    position = _positions_in_lists(probe, length)
    if width * n_lists <= 2 * probe.size + (1 << 16):
        dtype = index_dtype(n_items)
        # Padding cells hold distinct negative values, so only real items can repeat.
        grid = np.broadcast_to(-1 - np.arange(width, dtype=dtype), (n_lists, width)).copy()
        grid[probe, position] = item
        grid.sort(axis=1)
        if not (grid[:, 1:] == grid[:, :-1]).any():
            return None
        del grid
    position = position.astype(np.int64)
    shift = _bits(width)
    cell = probe.astype(np.int64) * n_items + item
    if int(cell.max()) < 1 << (63 - shift):
        packed = (cell << shift) | position
        packed.sort()
        cell, position = packed >> shift, packed & ((1 << shift) - 1)
        lists = cell // n_items
    else:
        order = np.lexsort((position, item, probe))
        cell, position, lists = cell[order], position[order], probe[order]
    again = np.flatnonzero(cell[1:] == cell[:-1]) + 1
    repeated = np.zeros(probe.size, dtype=bool)
    repeated[(np.cumsum(length) - length)[lists[again]] + position[again]] = True
    return repeated


def _out_of_order(probe: np.ndarray, rank: np.ndarray) -> bool:
    """Whether some entry comes before one of a lower probe, or of its probe and a lower rank."""
    if probe.size < 2:
        return False
    before, after = probe[:-1], probe[1:]
    return bool(((after < before) | ((after == before) & (rank[1:] < rank[:-1]))).any())


def list_entries(
    ids: np.ndarray, probe: np.ndarray, rank: np.ndarray, item: np.ndarray
) -> RankedLists:
    """`RankedLists` of ``ids`` from entries: probe position (-1: not wanted), rank, item code.

    Entries may come in any order (ties in rank keep theirs); an item listed twice keeps its
    best position and the items after it move up.
    """
    known = probe >= 0
    if not known.all():
        probe, rank, item = probe[known], rank[known], np.asarray(item)[known]
    probe = _compact(np.asarray(probe))
    item = _compact(np.asarray(item))
    rank = np.asarray(rank, dtype=np.int64)
    # Responses usually come grouped by probe in rank order: no sort then.
    if _out_of_order(probe, rank):
        low = int(rank.min())
        order = _sort_order(probe.astype(np.int64) * (int(rank.max()) - low + 1) + (rank - low))
        probe, item = probe[order], item[order]
    if probe.size:
        repeated = _repeated_items(probe, item, len(ids))
        if repeated is not None:
            probe, item = probe[~repeated], item[~repeated]
    length = np.bincount(probe, minlength=len(ids)).astype(np.int64)
    rank = _positions_in_lists(probe, length)
    rank += 1
    return RankedLists(ids, probe, item, _compact(rank), length)


def sorted_lists(
    ids: np.ndarray, probe: np.ndarray, rank: np.ndarray, item: np.ndarray
) -> RankedLists:
    """`RankedLists` of ``ids`` from entries already sorted by probe with ranks ``1..n`` each.

    The caller guarantees no item twice in a list.
    """
    length = np.bincount(probe, minlength=len(ids)).astype(np.int64)
    return RankedLists(ids, _compact(probe), _compact(item), _compact(rank), length)


def _compact(values: np.ndarray) -> np.ndarray:
    """Integer ``values`` as int32 when they fit (half the memory), else int64."""
    if values.dtype == np.int32:
        return values
    fits = values.size == 0 or (
        int(values.max()) < np.iinfo(np.int32).max and int(values.min()) > np.iinfo(np.int32).min
    )
    return values.astype(np.int32 if fits else np.int64, copy=False)


def run_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of positions ``(i, j)``, ``i < j``, within runs of equal values of ``keys``.

    ``keys`` must be sorted; the pairs come out grouped by run, in order.
    """
    n = keys.size
    empty = np.empty(0, dtype=np.int64)
    if n < 2:
        return empty, empty
    boundary = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate([[0], boundary])
    sizes = np.diff(np.concatenate([starts, [n]]))
    # Only runs of two or more make pairs (most items are in one list of their group).
    shared = sizes > 1
    starts, sizes = starts[shared], sizes[shared]
    if starts.size == 0:
        return empty, empty
    index = np.int32 if n < np.iinfo(np.int32).max else np.int64
    starts, sizes = starts.astype(index), sizes.astype(index)
    members = np.repeat(starts, sizes)
    members += np.arange(members.size, dtype=index) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    # Member i of a run pairs with every later member of it.
    later = np.repeat(starts + sizes, sizes) - members - 1
    if int(later.sum(dtype=np.int64)) >= np.iinfo(np.int32).max:
        members, later, index = members.astype(np.int64), later.astype(np.int64), np.int64
    first = np.repeat(members, later)
    del members
    second: np.ndarray = np.arange(first.size, dtype=index)
    second -= np.repeat(np.cumsum(later) - later, later)
    second += first + 1
    return first, second


def group_pairs(
    groups: np.ndarray, differ: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of probe codes in the same group (``a < b``), optionally differing in ``differ``.

    Returns ``(group, a, b)`` sorted by group, then ``a``, then ``b``.
    """
    groups = np.asarray(groups, dtype=np.int64)
    # Probes sorted by group, then code: the pairs of each run come out as (a < b) in order.
    order = _sort_order(groups - int(groups.min(initial=0)))
    first, second = run_pairs(groups[order])
    a, b = order[first], order[second]
    if differ is not None:
        keep = differ[a] != differ[b]
        a, b = a[keep], b[keep]
    return groups[a], a, b


def _pair_lookup(
    groups: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A table from (group, member, member) cells to pair indices, and how to address it.

    Returns ``(table, cell_start, size, member)``: probe ``c`` is member ``member[c]`` of its
    group ``g``, and the pair of members ``x < y`` of ``g`` sits at
    ``table[cell_start[g] + x * size[g] + y]`` (-1 when it is not one of the pairs).
    """
    n_groups = int(groups.max()) + 1
    size = np.bincount(groups, minlength=n_groups)
    order = _sort_order(groups)
    member = np.empty(groups.size, dtype=np.int64)
    member[order] = np.arange(groups.size) - np.repeat(np.cumsum(size) - size, size)
    index = np.int32 if pair_a.size < np.iinfo(np.int32).max else np.int64
    cells = size.astype(np.int64) ** 2
    cell_start = np.cumsum(cells) - cells
    table = np.full(int(cells.sum()), -1, dtype=index)
    g = groups[pair_a]
    table[cell_start[g] + member[pair_a] * size[g] + member[pair_b]] = np.arange(
        pair_a.size, dtype=index
    )
    return table, cell_start, size, member


def join_entries(
    probe: np.ndarray,
    value: np.ndarray,
    length: np.ndarray,
    groups: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries of two paired probes with the same value: the pair and the two entries.

    Entries (``probe[e]``, ``value[e]``) are sorted by probe, ``length[c]`` of them for probe
    ``c``, no value twice for one probe. Only pairs inside one group (``groups[c]``) can share
    entries, so the join sorts (group, value) keys. ``pair_a < pair_b`` are probe codes.
    Returns ``(pair, entry_a, entry_b)``, ``entry_a`` of ``pair_a``'s list.
    """
    empty = np.empty(0, dtype=np.int64)
    if probe.size == 0 or pair_a.size == 0:
        return empty, empty, empty
    groups = np.asarray(groups, dtype=np.int64)
    n_values = int(value.max()) + 1
    # Each entry's place among its group's entries (probes in code order): a few bits, so
    # (group, value, place) packs into one int64 and a value sort does the join.
    order = _sort_order(groups)
    before = np.cumsum(length[order]) - length[order]
    offset = np.empty(length.size, dtype=np.int64)
    offset[order] = before
    start = np.cumsum(length) - length
    ordered = groups[order]
    first_member = run_starts(ordered)
    group_first = np.zeros(int(groups.max()) + 1, dtype=np.int64)
    group_first[ordered[first_member]] = before[first_member]
    del ordered
    index = np.int32 if probe.size < np.iinfo(np.int32).max else np.int64
    # Entry e's position when entries are ordered by group: its probe's offset plus its rank.
    in_group_order = (offset[probe] + (np.arange(probe.size) - start[probe])).astype(index)
    entry_group = groups[probe]
    place = in_group_order - group_first[entry_group]
    shift = _bits(int(place.max()) + 1)
    cell = entry_group * n_values + value
    del entry_group
    if int(cell.max()) < 1 << (63 - shift):
        cell <<= shift
        cell |= place
        del place
        cell.sort()
        by_position = np.empty(probe.size, dtype=index)
        by_position[in_group_order] = np.arange(probe.size, dtype=index)
        del in_group_order
        place = cell & ((1 << shift) - 1)
        cell >>= shift
        place += group_first[cell // n_values]
        entries = by_position[place]
        del place, by_position
    else:
        del place, in_group_order
        entries = np.argsort(cell, kind="stable").astype(index)
        cell = cell[entries]
    first, second = run_pairs(cell)
    del cell
    entry_a, entry_b = entries[first], entries[second]
    del first, second, entries
    probe = probe.astype(index)
    pair = _pair_index(groups, pair_a, pair_b, probe[entry_a], probe[entry_b])
    hit = pair >= 0
    return pair[hit], entry_a[hit], entry_b[hit]


# Cells a (group, member, member) pair table may have beyond four per pair.
_PAIR_TABLE_SLACK = 1 << 22


def _pair_index(
    groups: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """The index of each (``a``, ``b``) among the pairs (``pair_a``, ``pair_b``); -1 if none."""
    size = np.bincount(groups)
    if int((size.astype(np.int64) ** 2).sum()) <= 4 * pair_a.size + _PAIR_TABLE_SLACK:
        table, cell_start, size, member = _pair_lookup(groups, pair_a, pair_b)
        g = groups[a]
        cell = member[a] * size[g]
        cell += cell_start[g]
        del g
        cell += member[b]
        return table[cell]
    # Large groups whose pairs are few (most excluded): a sorted lookup instead of a table.
    n_probes = groups.size
    wanted = pair_a.astype(np.int64) * n_probes + pair_b
    sort_wanted = np.argsort(wanted, kind="stable")
    ordered = wanted[sort_wanted]
    found = a.astype(np.int64) * n_probes + b
    position = np.minimum(np.searchsorted(ordered, found), ordered.size - 1)
    return np.where(ordered[position] == found, sort_wanted[position], -1)


# Entries plus pairs per block of groups in `pair_sums`: the joins' memory stays bounded
# (a few hundred MB) however many probes an audit has.
_BLOCK_BUDGET = 1 << 21

# What a `pair_sums` caller sums per pair, from the matches of one block (global indices):
# ``(pair, entry_a, entry_b) -> [weights or None (a count), ...]``.
MatchWeights = Callable[[np.ndarray, np.ndarray, np.ndarray], Sequence[np.ndarray | None]]


def _group_blocks(cost: np.ndarray, budget: int) -> np.ndarray:
    """Bounds ``0 = g_0 < g_1 < ... = n`` of runs of groups costing about ``budget`` each.

    A group costing more than ``budget`` alone is a run of its own.
    """
    total = np.cumsum(cost)
    if total.size == 0:
        return np.zeros(1, dtype=np.int64)
    marks = np.arange(budget, int(total[-1]), budget, dtype=np.int64)
    cuts = np.searchsorted(total, marks, side="right")
    return np.unique(np.r_[0, cuts, total.size].astype(np.int64))


def pair_sums(
    value: np.ndarray,
    length: np.ndarray,
    groups: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    weights: MatchWeights,
    n_sums: int = 1,
) -> list[np.ndarray]:
    """Per pair, sums over the entries its two probes share (same value): one array per sum.

    Entries (``value[e]``) are sorted by probe, ``length[c]`` of them for probe ``c``, no value
    twice for one probe; ``groups[c]`` is probe ``c``'s group, and only pairs inside one group
    (``pair_a < pair_b``, probe codes) can share entries. ``weights(pair, entry_a, entry_b)``
    gives, for matches of pair ``pair[m]`` (entry ``entry_a[m]`` of ``pair_a``'s list, equal
    to ``entry_b[m]`` of ``pair_b``'s), what to sum: ``n_sums`` arrays, None to count. The
    join runs over runs of groups of about `_BLOCK_BUDGET` entries and pairs at a time.
    """
    n_pairs = pair_a.size
    groups = np.asarray(groups, dtype=np.int64)
    sums = [np.zeros(n_pairs) for _ in range(n_sums)]
    if n_pairs == 0 or value.size == 0:
        return sums
    n_groups = int(groups.max()) + 1
    pair_group = groups[pair_a]
    pair_order: np.ndarray | None = None
    if (pair_group[1:] < pair_group[:-1]).any():
        pair_order = _sort_order(pair_group)
        pair_group = pair_group[pair_order]
    cost = np.bincount(groups, weights=length, minlength=n_groups)
    cost += np.bincount(pair_group, minlength=n_groups)
    bounds = _group_blocks(cost, _BLOCK_BUDGET)
    # Probes by group (then code): a block's probes are one run of them.
    by_group = _sort_order(groups)
    probe_bounds = np.searchsorted(groups[by_group], bounds)
    pair_bounds = np.searchsorted(pair_group, bounds)
    start = np.cumsum(length) - length
    local = np.zeros(groups.size, dtype=np.int64)
    for lo, hi, p_lo, p_hi, g_lo in zip(
        probe_bounds[:-1],
        probe_bounds[1:],
        pair_bounds[:-1],
        pair_bounds[1:],
        bounds[:-1],
        strict=True,
    ):
        if p_lo == p_hi:
            continue
        probes = by_group[lo:hi]
        local[probes] = np.arange(probes.size)
        pairs = np.arange(p_lo, p_hi) if pair_order is None else pair_order[p_lo:p_hi]
        a, b = local[pair_a[pairs]], local[pair_b[pairs]]
        counts = length[probes]
        rows = np.repeat(start[probes] - (np.cumsum(counts) - counts), counts)
        rows += np.arange(rows.size)
        probe = np.repeat(np.arange(probes.size), counts)
        pair, entry_a, entry_b = join_entries(
            probe, value[rows], counts, groups[probes] - g_lo, a, b
        )
        for total, weight in zip(
            sums, weights(pairs[pair], rows[entry_a], rows[entry_b]), strict=True
        ):
            total[pairs] = np.bincount(pair, weights=weight, minlength=pairs.size)
    return sums


def _count(pair: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[np.ndarray | None]:
    """`pair_sums` weights that count each pair's shared entries."""
    return [None]


def sold_counts(
    lists: RankedLists, probes: np.ndarray, shops: np.ndarray, sold: np.ndarray, n_items: int
) -> np.ndarray:
    """Per request ``r``: how many items of list ``probes[r]`` shop ``shops[r]`` sells.

    ``sold`` holds the sorted distinct ``shop * n_items + item`` codes of every shop's
    catalog. The requests' list entries are looked up in runs of about `_BLOCK_BUDGET`.
    """
    out = np.zeros(probes.size, dtype=np.int64)
    if probes.size == 0 or sold.size == 0:
        return out
    is_sold = _sold_lookup(sold)
    offsets = np.cumsum(lists.length) - lists.length
    counts = lists.length[probes]
    ends = np.cumsum(counts)
    cuts = np.searchsorted(ends, np.arange(_BLOCK_BUDGET, int(ends[-1]), _BLOCK_BUDGET))
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, probes.size], strict=True):
        if lo == hi:
            continue
        block = counts[lo:hi]
        owner = np.repeat(np.arange(hi - lo), block)
        rows = np.repeat(offsets[probes[lo:hi]] - (np.cumsum(block) - block), block)
        rows += np.arange(rows.size)
        key = shops[lo:hi].astype(np.int64)[owner] * n_items + lists.item[rows]
        out[lo:hi] = np.bincount(owner, weights=is_sold(key), minlength=hi - lo)
    return out


# (shop, item) cells a bit table may cover instead of a binary search: 128 MiB of bits.
_BIT_TABLE_CELLS = 1 << 30


def _sold_lookup(sold: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Whether each (shop, item) code is among ``sold`` (sorted, distinct, non-negative).

    A table of one bit per cell up to the largest code, where it fits `_BIT_TABLE_CELLS`: a
    gather per list entry instead of a binary search over every catalog row (at 50 shops of
    100,000 items, 171M entries' lookups took 20 s by search).
    """
    cells = int(sold[-1]) + 1
    if cells > _BIT_TABLE_CELLS:

        def search(key: np.ndarray) -> np.ndarray:
            place = np.minimum(np.searchsorted(sold, key), sold.size - 1)
            return sold[place] == key

        return search
    bits = np.zeros((cells + 7) // 8, dtype=np.uint8)
    np.bitwise_or.at(bits, sold >> 3, np.left_shift(1, sold & 7).astype(np.uint8))

    def gather(key: np.ndarray) -> np.ndarray:
        inside = (key >= 0) & (key < cells)
        safe = np.where(inside, key, 0)
        return inside & ((bits[safe >> 3] >> (safe & 7).astype(np.uint8)) & 1).astype(bool)

    return gather


def pair_jaccard(
    lists: RankedLists,
    groups: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    *,
    comparable: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Jaccard similarity of each pair's item sets; NaN when both sets are empty.

    With ``comparable = (n_a, n_b)``, the sets are the items of each list that the other
    list's shop sells (`sold_counts`): the shared items are the same, only the union shrinks.
    """
    (shared,) = pair_sums(lists.item, lists.length, groups, pair_a, pair_b, _count)
    n_a, n_b = (lists.length[pair_a], lists.length[pair_b]) if comparable is None else comparable
    union = n_a + n_b - shared
    out = np.full(pair_a.size, np.nan)
    np.divide(shared, union, out=out, where=union > 0)
    return out


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

    Two empty lists give NaN (no evidence); one empty list gives 0. A shared item first seen
    at depth ``t`` adds ``sum_{d=t..l} p^d / d`` to the first sum, so every sum follows from
    the shared items and prefix sums of the weights: no pair × depth matrix.
    """
    n_pairs = pair_a.size
    out = np.full(n_pairs, np.nan)
    width = lists.max_length
    if n_pairs == 0 or width == 0:
        return out
    len_a, len_b = lists.length[pair_a], lists.length[pair_b]
    short = np.minimum(len_a, len_b)
    long = np.maximum(len_a, len_b)
    d = np.arange(1, width + 1, dtype=np.float64)
    # by_depth[t] = sum_{d<=t} p^d / d and power[t] = sum_{d<=t} p^d, from t = 0.
    by_depth = np.concatenate([[0.0], np.cumsum(p**d / d)])
    power = np.concatenate([[0.0], np.cumsum(p**d)])

    def depths(pair: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[np.ndarray | None]:
        # A shared item counts from the deeper of its two ranks on.
        depth = np.maximum(lists.rank[a], lists.rank[b])
        return [None, by_depth[depth - 1], depth <= short[pair]]

    shared, seen, x_s = pair_sums(lists.item, lists.length, groups, pair_a, pair_b, depths, 3)
    # In place below: each step over millions of pairs would otherwise be a fresh array.
    safe_s = np.maximum(short, 1)
    # sum_{d=s+1..l} (d - s) / (s d) p^d = (P(l) - P(s)) / s - (D(l) - D(s)).
    tail = power[long]
    tail -= power[short]
    tail /= safe_s
    tail -= by_depth[long] - by_depth[short]
    tail *= x_s
    value = shared * by_depth[long]  # the agreement, then the whole value
    value -= seen
    value += tail
    del tail, seen
    value *= (1.0 - p) / p
    ext = shared - x_s
    ext /= np.maximum(long, 1)
    x_s /= safe_s
    ext += x_s
    ext *= p ** long.astype(np.float64)
    value += ext
    del ext, x_s
    np.clip(value, 0.0, 1.0, out=value)
    value[short == 0] = 0.0
    value[long == 0] = np.nan
    return value
