"""Shop catalogs: load from CSV or Parquet and check them against the catalog schema."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from auditkit.errors import CatalogError

REQUIRED_COLUMNS: tuple[str, ...] = ("item_id", "category")
OPTIONAL_COLUMNS: tuple[str, ...] = ("canonical_id", "title", "brand", "price", "popularity")
TEXT_COLUMNS: tuple[str, ...] = ("item_id", "category", "canonical_id", "title", "brand")
NUMBER_COLUMNS: tuple[str, ...] = ("price", "popularity")

MISSING_COLUMNS = "{source}: catalog must have columns {missing}; found {found}"
DUPLICATE_ITEMS = "{source}: item_id must be unique; duplicated: {examples}"
EMPTY_VALUES = "{source}: column {column!r} must have no empty values; {count} rows are empty"
NOT_NUMERIC = "{source}: column {column!r} must be numeric; got {examples}"
NEGATIVE = "{source}: column {column!r} must be non-negative; {count} rows are negative"
UNREADABLE = "{source}: cannot read catalog ({reason})"
UNKNOWN_FORMAT = "{source}: catalog must be a .csv or .parquet file"


def load_catalog(path: str | Path) -> pd.DataFrame:
    """Read a catalog file (``.csv`` or ``.parquet``) and validate it.

    Raises `CatalogError` naming the file when it cannot be read or breaks the schema.
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(
                path, dtype={c: "string" for c in TEXT_COLUMNS}, keep_default_na=True
            )
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            raise CatalogError(UNKNOWN_FORMAT.format(source=source))
    except CatalogError:
        raise
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise CatalogError(UNREADABLE.format(source=source, reason=exc)) from exc
    return validate_catalog(frame, source=source)


def validate_catalog(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Return a normalized copy of ``frame``: text columns as strings, numbers as floats.

    Optional columns that are absent are added empty, so later stages can rely on them.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(
            MISSING_COLUMNS.format(source=source, missing=missing, found=list(frame.columns))
        )
    out = frame.copy()
    for column in TEXT_COLUMNS:
        if column in out.columns:
            text = out[column].astype("string").str.strip()
            out[column] = text.mask(text == "")
        else:
            out[column] = pd.Series(pd.NA, index=out.index, dtype="string")
    for column in REQUIRED_COLUMNS:
        empty = int(out[column].isna().sum())
        if empty:
            raise CatalogError(EMPTY_VALUES.format(source=source, column=column, count=empty))
    duplicated = out["item_id"][out["item_id"].duplicated()].unique()
    if len(duplicated):
        examples = ", ".join(repr(str(x)) for x in duplicated[:5])
        raise CatalogError(DUPLICATE_ITEMS.format(source=source, examples=examples))
    for column in NUMBER_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
            continue
        numbers = pd.to_numeric(out[column], errors="coerce")
        bad = out[column][numbers.isna() & out[column].notna()]
        if len(bad):
            examples = ", ".join(repr(str(x)) for x in bad.unique()[:3])
            raise CatalogError(NOT_NUMERIC.format(source=source, column=column, examples=examples))
        negative = int((numbers < 0).sum())
        if negative:
            raise CatalogError(NEGATIVE.format(source=source, column=column, count=negative))
        out[column] = numbers.astype("float64")
    ordered = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    extra = [c for c in out.columns if c not in ordered]
    return out[ordered + extra].reset_index(drop=True)


def stack_catalogs(catalogs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack per-shop catalogs into one table with ``shop_id`` and ``item_key``."""
    parts = []
    for shop_id in sorted(catalogs):
        part = catalogs[shop_id].copy()
        part.insert(0, "shop_id", shop_id)
        parts.append(part)
    stacked = pd.concat(parts, ignore_index=True)
    stacked["shop_id"] = stacked["shop_id"].astype("string")
    stacked["item_key"] = stacked["canonical_id"].fillna(
        stacked["shop_id"] + ":" + stacked["item_id"]
    )
    return stacked
