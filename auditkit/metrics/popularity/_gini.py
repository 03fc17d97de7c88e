"""The Gini coefficient of exposure counts per shop, over its whole catalog.

A kernel on integer arrays: the listed counts of the items shown, their shop codes and the
catalog sizes (the items never shown count 0 without being listed).
"""

from __future__ import annotations

import itertools

import numpy as np

from auditkit.metrics._overlap import index_dtype
from auditkit.tables import run_starts


def _whole_width(counts: np.ndarray) -> int | None:
    """``max + 1`` when every count is a whole number in ``0..2**31``, else None."""
    if counts.size == 0:
        return 1
    top = float(counts.max())
    if top >= 2**31 or not bool((counts >= 0).all()):
        return None
    if counts.dtype.kind == "f" and not bool((counts == np.floor(counts)).all()):
        return None
    return int(top) + 1


def _sorted_by_shop(
    counts: np.ndarray, shops: np.ndarray, width: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """``counts`` and ``shops`` ordered by shop, then count.

    Whole counts below ``width`` are packed with their shop into one integer and sorted by
    value, several times faster than a lexsort of the two keys.
    """
    if width is None or int(shops.max(initial=0)) >= 2**31:
        if shops.size and not bool((shops[1:] < shops[:-1]).any()):
            # Already by shop (the catalogs' order): sort each shop's counts in place, far
            # faster than a lexsort of weighted (fractional) counts; equal counts are equal
            # values, so the result is the lexsort's.
            ordered = np.array(counts, copy=True)
            bounds = np.r_[run_starts(shops), shops.size]
            for low, high in itertools.pairwise(bounds):
                ordered[low:high].sort()
            return ordered, shops
        order = np.lexsort((counts, shops))
        return counts[order], shops[order]
    dtype = index_dtype((int(shops.max(initial=0)) + 1) * width)
    packed = np.sort(shops.astype(dtype) * width + counts.astype(dtype))
    return (packed % width).astype(np.float64), packed // width


# The per-(shop, count) table of `_gini_by_count` may have this many cells per listed count
# (plus a fixed allowance) before sorting the counts is the cheaper way.
_CELLS_PER_COUNT = 4


def gini_coefficient(counts: np.ndarray, shops: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Gini per shop over ``sizes[s]`` items, of which only the listed ``counts`` may be non-zero.

    ``G = Σ_i (2i - n - 1) x_(i) / (n Σ x)`` over the shop's ``n`` counts in ascending order
    (unlisted items are zeros); NaN for a shop whose counts are all zero.
    """
    width = _whole_width(counts)
    if width is not None and sizes.size * width <= _CELLS_PER_COUNT * counts.size + 4096:
        numerator, total = _gini_by_count(counts, shops, sizes, width)
    else:
        x, s = _sorted_by_shop(counts, shops, width)
        exposed = np.bincount(s, minlength=sizes.size)
        start = np.concatenate([[0], np.cumsum(exposed)[:-1]])
        # The zeros sort first, so the i-th exposed item has rank zeros + i.
        rank = (sizes - exposed)[s] + np.arange(x.size) - start[s] + 1
        n = sizes[s].astype(np.float64)
        numerator = np.bincount(s, weights=(2 * rank - n - 1) * x, minlength=sizes.size)
        total = np.bincount(s, weights=x, minlength=sizes.size)
    out = np.full(sizes.size, np.nan)
    np.divide(numerator, sizes * total, out=out, where=total > 0)
    return out


def _gini_by_count(
    counts: np.ndarray, shops: np.ndarray, sizes: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """The Gini numerator and ``Σ x`` per shop from how many of its items have each count.

    The ``h`` items with count ``c``, above the ``a`` items with smaller counts, hold ranks
    ``a+1..a+h``, whose ``Σ (2i - n - 1)`` is ``h (2a + h - n)``: no sort of the counts.
    """
    cells = shops.astype(np.int64)  # a copy, packed in place
    cells *= width
    cells += counts.astype(np.int64, copy=False)
    items = np.bincount(cells, minlength=sizes.size * width).reshape(sizes.size, width)
    items[:, 0] = sizes - items[:, 1:].sum(axis=1)  # unlisted items count 0
    below = np.cumsum(items, axis=1) - items
    mass = items * np.arange(width)
    numerator = (mass * (2 * below + items - sizes[:, None])).sum(axis=1)
    return numerator.astype(np.float64), mass.sum(axis=1).astype(np.float64)


class _SortedValues:
    """Whole values of each shop, sorted once, for sums of gaps ``Σ_j |v - b_j|`` per shop.

    Values are packed with their shop into one integer key (``shop * width + value``), so one
    sorted array and its prefix sums answer every shop's gap sums by binary search.
    """

    def __init__(self, shops: np.ndarray, values: np.ndarray, n_shops: int, width: int) -> None:
        self.width = width
        self.keys = np.sort(shops * width + values)
        self.prefix = np.zeros(self.keys.size + 1, dtype=np.int64)
        np.cumsum(self.keys % width, out=self.prefix[1:])
        self.start = np.searchsorted(self.keys, np.arange(n_shops + 1, dtype=np.int64) * width)
        self.count = np.diff(self.start)
        self.total = self.prefix[self.start[1:]] - self.prefix[self.start[:-1]]

    def gaps(self, shops: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per query: ``Σ_j |v - b_j|`` over the sorted values ``b_j`` of the query's shop."""
        query = shops * self.width + values
        # Binary searches in ascending order stay in cache: several times faster at millions.
        order = np.argsort(query)
        at = np.empty_like(order)
        at[order] = np.searchsorted(self.keys, query[order])
        begin = self.start[shops]
        below = at - begin
        below_sum = self.prefix[at] - self.prefix[begin]
        above_sum = self.total[shops] - below_sum
        return values * below - below_sum + above_sum - values * (self.count[shops] - below)

    def pair_gaps(self, shops: np.ndarray, values: np.ndarray, n_shops: int) -> np.ndarray:
        """Per shop: ``Σ_i Σ_j |v_i - b_j|`` over the queries ``v_i`` at it (float64)."""
        gaps = self.gaps(shops, values).astype(np.float64)
        return np.bincount(shops, weights=gaps, minlength=n_shops)


class LoweredGini:
    """Each shop's Gini of whole values ``base`` with a few cells lowered, one sort for all.

    ``shops`` gives each listed cell's shop (codes ``0..S-1``), ``sizes`` the shops' catalog
    sizes (unlisted items are zeros) and ``base`` (whole, non-negative) each listed cell's
    value, as for `gini_coefficient`. A jackknife replicate lowers only the cells of the
    customers it leaves out, so from the sorted base ``N = Σ_{i<j} |x_i - x_j|`` changes by
    the gaps of the moved cells ``M`` alone::

        N(y) = N(b) - Σ_M D(b_i) + ½ P(b, b) + Σ_M D(y_i) - P(y, b) + ½ P(y, y)

    where ``D(v)`` sums ``|v - b_j|`` over every item of the shop and ``P(u, v)`` sums
    ``|u_i - v_j|`` over the moved cells of one shop, all in exact integers.
    """

    def __init__(self, shops: np.ndarray, sizes: np.ndarray, base: np.ndarray) -> None:
        self.shops = shops.astype(np.int64)
        self.sizes = sizes
        self.base = base.astype(np.int64)
        self.n_shops = sizes.size
        self.width = int(self.base.max(initial=0)) + 1
        self.sorted = _SortedValues(self.shops, self.base, self.n_shops, self.width)
        sorted_shop = self.sorted.keys // self.width
        self.unlisted = sizes - self.sorted.count
        # The zeros sort first, so the i-th listed value of a shop has rank zeros + i.
        rank = self.unlisted[sorted_shop] + np.arange(sorted_shop.size) + 1
        rank -= self.sorted.start[:-1][sorted_shop]
        weights = (2 * rank - sizes[sorted_shop] - 1) * (self.sorted.keys % self.width)
        self.numerator = np.bincount(
            sorted_shop, weights=weights.astype(np.float64), minlength=self.n_shops
        )

    @staticmethod
    def fits(sizes: np.ndarray, base: np.ndarray) -> bool:
        """Whether packed keys and gap sums of ``base`` stay within 63 bits."""
        width = int(base.max(initial=0)) + 1
        return max(sizes.size + 1, 2 * int(sizes.sum())) * width < 2**62

    def _everything(self, shop: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per shop: ``Σ_M D(v)`` over every item of the shop, the unlisted zeros included."""
        gaps = self.sorted.gaps(shop, values) + values * self.unlisted[shop]
        return np.bincount(shop, weights=gaps.astype(np.float64), minlength=self.n_shops)

    def lowered(self, cells: np.ndarray, removed: np.ndarray) -> np.ndarray:
        """Per shop, the Gini with listed cells ``cells`` lowered by ``removed`` (whole)."""
        shop = self.shops[cells]
        before = self.base[cells]
        after = before - removed.astype(np.int64)
        moved_before = _SortedValues(shop, before, self.n_shops, self.width)
        moved_after = _SortedValues(shop, after, self.n_shops, self.width)
        numerator = (
            self.numerator
            - self._everything(shop, before)
            + moved_before.pair_gaps(shop, before, self.n_shops) / 2
            + self._everything(shop, after)
            - moved_before.pair_gaps(shop, after, self.n_shops)
            + moved_after.pair_gaps(shop, after, self.n_shops) / 2
        )
        total = self.sorted.total - np.bincount(
            shop, weights=removed, minlength=self.n_shops
        ).astype(np.int64)
        out = np.full(self.n_shops, np.nan)
        np.divide(numerator, self.sizes * total.astype(np.float64), out=out, where=total > 0)
        return out
