"""What the exposure metrics read, checked at their boundary.

`arp`, `long_tail_share`, `trend_share`, `gini` and `coverage` read the same columns of the
probes, their recommendations and the catalogs.
"""

from __future__ import annotations

from auditkit.metrics.stats import check_columns, check_metric_inputs
from auditkit.tables import AuditTables

FAMILY = "popularity"
PROBE_COLUMNS: tuple[str, ...] = ("probe_id", "shop_id", "persona_id", "repetition", "answered")
RESPONSE_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "item_id",
    "item_key",
    "popularity",
    "catalog_row",
)
CATALOG_COLUMNS: tuple[str, ...] = ("shop_id", "item_id", "item_key", "canonical_id", "popularity")


def check_exposure_inputs(
    metric_id: str, tables: AuditTables, *, n_resamples: int, confidence: float, seed: int
) -> None:
    """Raise `ValueError` unless the options are usable and the tables have the columns."""
    check_metric_inputs(
        metric_id, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(metric_id, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(metric_id, "tables.responses", tables.responses, RESPONSE_COLUMNS)
    check_columns(metric_id, "tables.catalogs", tables.catalogs, CATALOG_COLUMNS)
