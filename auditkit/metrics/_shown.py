"""The items each probe was shown: the in-catalog recommendations of the core probes, as codes.

The answered first-repetition probes (`core_mask`) and, per recommended row that is in the
catalog, its probe, shop and catalog row (`ShownItems`); `probe_means` averages a value over
each probe's shown rows. Popularity's per-probe metrics and homogenization's signature
retention both start here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from auditkit.metrics._matched import answered_mask
from auditkit.tables import AuditTables, run_starts


def core_mask(tables: AuditTables) -> np.ndarray:
    """Which rows of ``probes`` are answered first-repetition probes."""
    probes = tables.probes
    return answered_mask(probes) & (probes["repetition"] == 0).to_numpy(dtype=bool)


@dataclass(frozen=True)
class ShownItems:
    """The recommended catalog items of the answered first-repetition probes, as codes.

    ``probes`` holds those probes' codes (`TableCodes.probe`), sorted, hence in order of probe
    id; ``rows`` masks their ``responses`` rows that are in the catalog (``catalog_row`` at
    least 0); per such row, ``probe`` is its probe code, `shop` its shop code and
    `catalog_row` its row in ``catalogs``.
    """

    tables: AuditTables = field(repr=False)
    probes: np.ndarray
    rows: np.ndarray

    @cached_property
    def probe(self) -> np.ndarray:
        """Per shown row, its probe code (`TableCodes.probe`)."""
        return self.tables.codes.response_probe[self.rows]

    @cached_property
    def shop(self) -> np.ndarray:
        """Per shown row, its shop code (in ``codes.dictionary("shop_id")``; -1 for none)."""
        return self.tables.codes.per_probe("shop_id")[self.probe]

    @cached_property
    def catalog_row(self) -> np.ndarray:
        """Per shown row, its row in ``catalogs`` (`TableCodes.catalog_rows`)."""
        return self.tables.codes.catalog_rows("responses")[self.rows]


def shown_items(tables: AuditTables) -> ShownItems:
    """The in-catalog recommendations of the answered first-repetition probes."""
    codes = tables.codes
    selected = codes.probe_flags(core_mask(tables))
    rows = codes.response_rows(selected) & (codes.catalog_rows("responses") >= 0)
    return ShownItems(
        tables=tables,
        probes=np.flatnonzero(selected[:-1]).astype(np.int32),
        rows=rows,
    )


def probe_means(shown: ShownItems, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per probe with a finite value among its shown rows: its code and the values' mean.

    ``values`` (one per shown row) are numbers, NaN where unknown, or booleans (a share).
    Probes come in order of code (so of probe id).
    """
    probe = shown.probe
    if values.dtype != np.bool_:
        finite = np.isfinite(values)
        if not finite.all():
            probe, values = probe[finite], values[finite]
    size = int(shown.probes.max(initial=-1)) + 1
    sums = np.zeros(size)
    counts = np.zeros(size, dtype=np.int64)
    if probe.size:
        # `build_tables` keeps each probe's rows together: one run per probe, summed in place.
        starts = run_starts(probe)
        runs = probe[starts]
        if np.count_nonzero(np.bincount(runs, minlength=size)) == runs.size:
            counts[runs] = np.diff(np.append(starts, probe.size))
            sums[runs] = np.add.reduceat(values, starts, dtype=np.float64)
        else:
            counts[:] = np.bincount(probe, minlength=size)
            sums[:] = np.bincount(probe, weights=values, minlength=size)
    used = shown.probes[counts[shown.probes] > 0]
    return used, sums[used] / counts[used]
