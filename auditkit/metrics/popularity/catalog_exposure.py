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

from auditkit.metrics._bootstrap import COUNT_CHUNK_ELEMENTS
from auditkit.metrics._customers import probe_customers
from auditkit.metrics._item_counts import (
    JackknifeDesign,
    LeftOutCounts,
    customer_incidence,
    jackknife_design,
    jackknife_interval,
    weighted_cells,
)
from auditkit.metrics._matched import read_only
from auditkit.metrics._overlap import code_counts, index_dtype
from auditkit.metrics._shown import core_mask, shown_items
from auditkit.metrics.popularity._gini import LoweredGini, gini_coefficient
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
    # Each shown row's cell by a lookup per catalog row (a binary search per row is slower).
    cell_of_row = np.full(len(tables.catalogs), -1, dtype=np.int64)
    cell_of_row[cells] = cell_of
    cell = cell_of_row[rows]
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
    values: np.ndarray,
    replicates: Callable[[JackknifeDesign], np.ndarray],
    *,
    confidence: float,
    seed: int,
    details: dict[str, object],
) -> Estimate:
    """The mean over shops of ``values`` (one per shop), its interval a jackknife over customers.

    ``replicates(design)`` gives each shop's value in each replicate of the jackknife
    (shops x replicates); the shops with a finite value in the audit are the ones averaged,
    in every replicate too.
    """
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
    value = float(values[present].mean())
    design = jackknife_design(exposure.strata, seed)
    ci = (math.nan, math.nan)
    if design is not None:
        per_replicate = replicates(design)[present].mean(axis=0)
        ci = jackknife_interval(per_replicate, design, value, confidence=confidence)
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


def _gini_replicates(exposure: ShopExposure, design: JackknifeDesign) -> np.ndarray:
    """Each shop's Gini of exposure in each jackknife replicate (shops x replicates).

    Replicate ``g`` of stratum ``h`` weighs a cell ``T - C_h + s (C_h - C_g)`` with
    ``s = n_h / m``, ``m = n_h - |g|`` (total, stratum's and group's exposure); a Gini does
    not change with scale, so it is the Gini of the whole values ``m T + |g| C_h - n_h C_g``:
    a base shared by the stratum's groups of one size, lowered at the group's cells only
    (`LoweredGini`). Falls back to recounting every replicate's weighted cells when the
    whole values would not fit 63 bits.
    """
    counts = exposure.counts.astype(np.int64)
    left_out = LeftOutCounts.count(exposure.incidence, design)
    n_groups = design.group_stratum.size
    out = np.empty((exposure.sizes.size, n_groups))
    stratum_size = design.stratum_size.astype(np.int64)
    group_size = design.group_size.astype(np.int64)
    bases = zip(design.group_stratum.tolist(), group_size.tolist(), strict=True)
    for stratum, size in sorted(set(bases)):
        kept = int(stratum_size[stratum]) - size
        base = kept * counts + size * left_out.by_stratum[:, stratum]
        if not LoweredGini.fits(exposure.sizes, base):
            return _recounted_replicates(exposure, design, _gini_per_shop(exposure))
        gini = LoweredGini(exposure.cell_shop, exposure.sizes, base)
        for group in np.flatnonzero((design.group_stratum == stratum) & (group_size == size)):
            cells, shown = left_out.cells(int(group))
            out[:, group] = gini.lowered(cells, int(stratum_size[stratum]) * shown)
    return out


def _coverage_replicates(exposure: ShopExposure, design: JackknifeDesign) -> np.ndarray:
    """Each shop's coverage in each jackknife replicate (shops x replicates).

    Every kept customer weighs more than 0, so a cell stays reached unless the left-out
    group's customers are the only ones to show it.
    """
    counts = exposure.counts.astype(np.int64)
    left_out = LeftOutCounts.count(exposure.incidence, design)
    n_shops = exposure.sizes.size
    reached = np.bincount(exposure.cell_shop, minlength=n_shops).astype(np.int64)
    out = np.empty((n_shops, design.group_stratum.size))
    for group in range(design.group_stratum.size):
        cells, shown = left_out.cells(group)
        lost = np.bincount(exposure.cell_shop[cells[shown == counts[cells]]], minlength=n_shops)
        out[:, group] = (reached - lost) / exposure.sizes
    return out


def _recounted_replicates(
    exposure: ShopExposure,
    design: JackknifeDesign,
    per_shop: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``per_shop`` of every replicate's weighted cell counts (shops x replicates)."""
    n_groups = design.group_stratum.size
    step = max(1, COUNT_CHUNK_ELEMENTS // max(1, exposure.counts.size, design.labels.size))
    parts = []
    for start in range(0, n_groups, step):
        weights = design.weights(np.arange(start, min(start + step, n_groups)))
        parts.append(per_shop(weighted_cells(exposure.incidence, weights)))
    return np.concatenate(parts, axis=1)


def _gini_per_shop(exposure: ShopExposure) -> Callable[[np.ndarray], np.ndarray]:
    """Each shop's Gini of exposure (`gini_coefficient`), per column of cell counts."""

    def per_shop(cells: np.ndarray) -> np.ndarray:
        columns = [
            gini_coefficient(cells[:, r], exposure.cell_shop, exposure.sizes)
            for r in range(cells.shape[1])
        ]
        return np.stack(columns, axis=1)

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
        gini_coefficient(exposure.counts, exposure.cell_shop, exposure.sizes),
        lambda design: _gini_replicates(exposure, design),
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
    shown = np.bincount(exposure.cell_shop, minlength=exposure.sizes.size)
    return _per_shop_estimate(
        COVERAGE_ID,
        exposure,
        shown / exposure.sizes,
        lambda design: _coverage_replicates(exposure, design),
        confidence=confidence,
        seed=seed,
        details={"lists": int(core_mask(tables).sum())},
    )
