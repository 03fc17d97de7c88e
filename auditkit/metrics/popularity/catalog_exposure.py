"""How a shop's whole catalog is exposed: the Gini coefficient of exposure, and coverage.

Each catalog item's exposure is the number of answered first-repetition lists that show it;
items never shown count with 0. Both metrics are per shop, averaged over the shops with an
answered probe and a catalog; their intervals leave customers out (`_item_counts`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from auditkit.metrics._customers import probe_customers
from auditkit.metrics._item_counts import (
    customer_incidence,
    jackknife_statistic_ci,
    weighted_cells,
)
from auditkit.metrics._matched import read_only
from auditkit.metrics._overlap import code_counts, index_dtype
from auditkit.metrics._shown import core_mask, shown_items
from auditkit.metrics.popularity._gini import gini_coefficient
from auditkit.metrics.popularity._inputs import FAMILY, check_exposure_inputs
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, run_starts

GINI_ID = "popularity.gini"
# Per shop, averaged over shops; the interval resamples customers. See docs/metrics.md.
GINI_THRESHOLD = Threshold(warn=0.95, fail=0.99)
COVERAGE_ID = "popularity.coverage"
COVERAGE_THRESHOLD = Threshold(warn=0.2, fail=0.1, direction="lower_is_worse")
REASON_NO_SHOPS = "no shop has an answered probe and a catalog"


@dataclass(frozen=True)
class ShopExposure:
    """How often each shown catalog item of each shop is shown, and by which customers.

    ``counts[j]`` is the exposure of cell ``j`` (a catalog row shown at least once),
    ``cell_shop[j]`` its shop's position among ``names`` (the shops with an answered probe
    and a catalog, in sorted order of their ids), ``sizes`` those shops' catalog sizes, and
    ``incidence`` the (cells x customers) counts whose row sums are ``counts``, and
    ``strata`` each customer's persona code: what the jackknife over customers leaves out.
    """

    counts: np.ndarray
    cell_shop: np.ndarray
    sizes: np.ndarray
    names: np.ndarray
    incidence: csr_matrix
    strata: np.ndarray


def _shop_exposure(tables: AuditTables) -> ShopExposure:
    """`ShopExposure` of the answered first-repetition lists, built once per tables.

    Gini and coverage both start from these counts, shared read-only.
    """

    def build() -> ShopExposure:
        found = _count_exposure(tables)
        return dataclasses.replace(
            found,
            counts=read_only(found.counts),
            cell_shop=read_only(found.cell_shop),
            sizes=read_only(found.sizes),
            names=read_only(found.names),
        )

    return tables.codes.shared("shop_exposure", build)


def _count_exposure(tables: AuditTables) -> ShopExposure:
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
    rows = shown.catalog_row
    cells, counts = _row_counts(rows, len(tables.catalogs))
    cell_shop = catalog_shop[cells]
    counted = np.ones(cells.size, dtype=bool)
    if used.size < len(names):  # a shop's position among the used shops is not its code
        position = np.full(len(names) + 1, -1, dtype=np.int32)
        position[used] = np.arange(used.size)
        cell_shop = position[cell_shop]
        counted = cell_shop >= 0
        counts, cell_shop = counts[counted], cell_shop[counted]
    # Per shown row: its customer, and its cell among the counted ones (-1 if not counted).
    customer_of = np.zeros(len(codes.probe_ids), dtype=np.int64)
    probe_customer = probe_customers(tables, shown.probes)
    customer_of[shown.probes] = probe_customer
    customer = customer_of[shown.probe]
    strata = np.zeros(int(probe_customer.max(initial=-1)) + 1, dtype=np.int64)
    strata[probe_customer] = codes.per_probe("persona_id")[shown.probes]
    cell_of = np.full(cells.size, -1, dtype=np.int64)
    cell_of[counted] = np.arange(int(counted.sum()))
    cell = cell_of[np.searchsorted(cells, rows)]
    keep = cell >= 0
    incidence = customer_incidence(cell[keep], customer[keep], counts.size, strata.size)
    return ShopExposure(
        counts=counts,
        cell_shop=cell_shop,
        sizes=sizes[used].astype(np.int64),
        names=names[used],
        incidence=incidence,
        strata=strata,
    )


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
    exposure: ShopExposure,
    per_shop: Callable[[np.ndarray], np.ndarray],
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
    details: dict[str, object],
) -> Estimate:
    """The mean over shops of ``per_shop(counts)``, its interval a jackknife over customers.

    ``per_shop`` maps cell counts (cells x replicates) to each shop's value (shops x
    replicates); the shops with a finite value in the audit are the ones averaged, in every
    replicate too.
    """
    values = per_shop(exposure.counts[:, None])[:, 0]
    present = np.isfinite(values)
    names = exposure.names[present]
    by_group = {"shop": {str(k): float(v) for k, v in zip(names, values[present], strict=True)}}
    details = {"shops": int(present.sum()), **details}
    if not present.any():
        return Estimate(
            id=metric_id,
            family=FAMILY,
            value=math.nan,
            ci=None,
            n=0,
            unit="customer",
            by_group=by_group,
            details={**details, "reason": REASON_NO_SHOPS},
            reason=REASON_NO_SHOPS,
        )

    def statistic(weights: np.ndarray) -> np.ndarray:
        cells = weighted_cells(exposure.incidence, weights)
        return per_shop(cells)[present].mean(axis=0)

    value = float(values[present].mean())
    ci = jackknife_statistic_ci(
        statistic,
        value,
        exposure.strata,
        n_cells=exposure.counts.size,
        confidence=confidence,
        seed=seed,
    )
    return Estimate(
        id=metric_id,
        family=FAMILY,
        value=value,
        ci=None if math.isnan(ci[0]) else ci,
        n=exposure.strata.size,
        unit="customer",
        by_group=by_group,
        details=details,
    )


def _gini_per_shop(exposure: ShopExposure) -> Callable[[np.ndarray], np.ndarray]:
    """Each shop's Gini of exposure (`gini_coefficient`), per column of cell counts."""

    def per_shop(cells: np.ndarray) -> np.ndarray:
        columns = [
            gini_coefficient(cells[:, r], exposure.cell_shop, exposure.sizes)
            for r in range(cells.shape[1])
        ]
        return np.stack(columns, axis=1)

    return per_shop


def _coverage_per_shop(exposure: ShopExposure) -> Callable[[np.ndarray], np.ndarray]:
    """Each shop's share of its catalog shown at least once, per column of cell counts."""
    n_shops = exposure.sizes.size
    n_cells = exposure.cell_shop.size
    # Reached cells per shop and replicate are integer counts, exact in any order: one
    # sparse product (shops x cells) instead of np.add.at over every cell and replicate.
    shop_of_cell = csr_matrix(
        (np.ones(n_cells), (exposure.cell_shop, np.arange(n_cells))), shape=(n_shops, n_cells)
    )

    def per_shop(cells: np.ndarray) -> np.ndarray:
        reached = shop_of_cell @ (cells > 0).astype(np.float64)
        return reached / exposure.sizes[:, None]

    return per_shop


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
        The interval: a jackknife over customers (each replicate recounts every item's
        exposure; ``n_resamples`` is not used).

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
    exposure = _shop_exposure(tables)
    return _per_shop_estimate(
        GINI_ID,
        exposure,
        _gini_per_shop(exposure),
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
        The interval: a jackknife over customers (each replicate recounts the items reached;
        ``n_resamples`` is not used).

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
    exposure = _shop_exposure(tables)
    return _per_shop_estimate(
        COVERAGE_ID,
        exposure,
        _coverage_per_shop(exposure),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        details={"lists": int(core_mask(tables).sum())},
    )
