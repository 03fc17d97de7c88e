"""Shops' catalogs: loading, validation with row-located errors, and the stacked table."""

from auditkit.catalogs._load import (
    DUPLICATE_ITEMS,
    EMPTY_VALUES,
    MISSING_COLUMNS,
    NEGATIVE,
    NOT_NUMERIC,
    UNKNOWN_FORMAT,
    UNREADABLE,
    load_catalog,
    stack_catalogs,
    validate_catalog,
)

__all__ = [
    "DUPLICATE_ITEMS",
    "EMPTY_VALUES",
    "MISSING_COLUMNS",
    "NEGATIVE",
    "NOT_NUMERIC",
    "UNKNOWN_FORMAT",
    "UNREADABLE",
    "load_catalog",
    "stack_catalogs",
    "validate_catalog",
]
