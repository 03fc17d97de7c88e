"""Shops' catalogs: loading, validation with row-located errors, and the stacked table."""

from auditkit.catalogs._load import (
    DUPLICATE_ITEMS,
    EMPTY_VALUES,
    MIN_ITEMS,
    MISSING_COLUMNS,
    NEGATIVE,
    NOT_FINITE,
    NOT_NUMERIC,
    NOT_TEXT,
    NOT_UTF8,
    OTHER_SEPARATOR,
    TOO_FEW_ITEMS,
    UNKNOWN_FORMAT,
    UNREADABLE,
    load_catalog,
    stack_catalogs,
    validate_catalog,
)

__all__ = [
    "DUPLICATE_ITEMS",
    "EMPTY_VALUES",
    "MIN_ITEMS",
    "MISSING_COLUMNS",
    "NEGATIVE",
    "NOT_FINITE",
    "NOT_NUMERIC",
    "NOT_TEXT",
    "NOT_UTF8",
    "OTHER_SEPARATOR",
    "TOO_FEW_ITEMS",
    "UNKNOWN_FORMAT",
    "UNREADABLE",
    "load_catalog",
    "stack_catalogs",
    "validate_catalog",
]
