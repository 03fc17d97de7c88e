"""Evidence → the long tables every metric reads, and the integer codes of their columns."""

from auditkit.tables._codes import (
    TableCodes,
    arrow_strings,
    distinct,
    lookup_codes,
    run_starts,
    shared_dictionary,
)
from auditkit.tables._tables import (
    ITEM_COLUMNS,
    SEGMENT_PREFIX,
    AuditTables,
    build_tables,
    coded_tables,
    mark_signatures,
    mark_trending,
)

__all__ = [
    "ITEM_COLUMNS",
    "SEGMENT_PREFIX",
    "AuditTables",
    "TableCodes",
    "arrow_strings",
    "build_tables",
    "coded_tables",
    "distinct",
    "lookup_codes",
    "mark_signatures",
    "mark_trending",
    "run_starts",
    "shared_dictionary",
]
