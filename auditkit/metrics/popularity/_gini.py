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
