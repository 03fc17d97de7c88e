"""How a shop's whole catalog is exposed: the Gini coefficient of exposure, and coverage.

Each catalog item's exposure is the number of answered first-repetition lists that show it;
items never shown count with 0. Both metrics are per shop, averaged over the shops with an
answered probe and a catalog.
"""

from __future__ import annotations

import numpy as np

from auditkit.metrics._matched import read_only
from auditkit.metrics._overlap import code_counts, index_dtype
from auditkit.metrics._shown import core_mask, shown_items
from auditkit.metrics.popularity._gini import gini_coefficient
from auditkit.metrics.popularity._inputs import check_exposure_inputs
from auditkit.metrics.popularity._means import mean_estimate
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, run_starts

GINI_ID = "popularity.gini"
# Shop-level metrics: a verdict needs five shops. See docs/metrics.md.
GINI_THRESHOLD = Threshold(warn=0.95, fail=0.99, min_units=5)
COVERAGE_ID = "popularity.coverage"
COVERAGE_THRESHOLD = Threshold(warn=0.2, fail=0.1, direction="lower_is_worse", min_units=5)
REASON_NO_SHOPS = "no shop has an answered probe and a catalog"


def _shop_exposure(
    tables: AuditTables,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exposure counts of the items shown per shop, their shop codes, catalog sizes, shop ids.

    Shops are those with an answered probe and a catalog, coded in sorted order of their ids.
    Gini and coverage both start from these counts: built once per tables, shared read-only.
    """

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        counts, shops, sizes, names = _count_exposure(tables)
        return read_only(counts), read_only(shops), read_only(sizes), read_only(names)

    return tables.codes.shared("shop_exposure", build)


def _count_exposure(
    tables: AuditTables,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    codes = tables.codes
    names = codes.dictionary("shop_id")
    catalog_shop = codes.of("catalogs", "shop_id")
    sizes = code_counts(catalog_shop, len(names))
    shown = shown_items(tables)
    probed = codes.per_probe("shop_id")[shown.probes]
    has_probe = np.zeros(len(names), dtype=bool)
    has_probe[probed[probed >= 0]] = True
    used = np.flatnonzero(has_probe & (sizes > 0))
    # A shop's items are its catalog rows (item ids are unique per shop): count those.
    cells, counts = _row_counts(shown.catalog_row, len(tables.catalogs))
    cell_shop = catalog_shop[cells]
    if used.size < len(names):  # a shop's position among the used shops is not its code
        position = np.full(len(names) + 1, -1, dtype=np.int32)
        position[used] = np.arange(used.size)
        cell_shop = position[cell_shop]
        counted = cell_shop >= 0
        counts, cell_shop = counts[counted], cell_shop[counted]
    return counts, cell_shop, sizes[used].astype(np.int64), names[used]


def _row_counts(rows: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``rows`` (each in ``0..n_rows-1``), ascending, and how often each occurs.

    Fewer rows than ``n_rows`` are sorted (a sort of the rows touches less memory than a
    count per possible row); more are counted in one ``np.bincount``, whose cost is in its
    ``n_rows`` bins, not in the rows.
    """
    if rows.size < n_rows:
        ordered = np.sort(rows.astype(index_dtype(n_rows)))
        starts = run_starts(ordered)
        return ordered[starts], np.diff(np.append(starts, ordered.size))
    per_row = np.bincount(rows, minlength=n_rows)
    cells = np.flatnonzero(per_row != 0)  # a bool mask: several times faster than of int64
    return cells, per_row[cells]


def _per_shop_estimate(
    metric_id: str,
    values: np.ndarray,
    names: np.ndarray,
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
    details: dict[str, object],
) -> Estimate:
    """The mean over shops of the finite ``values`` (one per shop of ``names``)."""
    present = np.isfinite(values)
    values, names = values[present], names[present]
    return mean_estimate(
        metric_id,
        "shop",
        values,
        by_group={"shop": {str(k): float(v) for k, v in zip(names, values, strict=True)}},
        details={"shops": len(values), **details},
        reason=REASON_NO_SHOPS,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


def gini(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Gini coefficient of exposure over each shop's whole catalog, averaged over shops.

    Each catalog item's exposure is the number of answered first-repetition lists that show
    it; items never shown count with 0. The value is the mean over shops of the Gini
    coefficient of those counts.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over shops.

    Returns
    -------
    Estimate
        ``by_group = {"shop": {shop_id: Gini}}``.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_exposure_inputs(
        GINI_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    counts, shops, sizes, names = _shop_exposure(tables)
    return _per_shop_estimate(
        GINI_ID,
        gini_coefficient(counts, shops, sizes),
        names,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        details={},
    )


def coverage(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Share of each shop's catalog recommended at least once, averaged over shops.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over shops.

    Returns
    -------
    Estimate
        ``by_group = {"shop": {shop_id: coverage}}``; ``details["lists"]`` the lists counted
        (coverage grows with the number of lists, so compare audits of the same design).

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_exposure_inputs(
        COVERAGE_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    _, shops, sizes, names = _shop_exposure(tables)
    reached = np.bincount(shops, minlength=len(names)).astype(np.float64)
    values = np.full(len(names), np.nan)
    np.divide(reached, sizes, out=values, where=sizes > 0)
    return _per_shop_estimate(
        COVERAGE_ID,
        values,
        names,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        details={"lists": int(core_mask(tables).sum())},
    )
