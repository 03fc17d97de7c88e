"""Shop catalogs: load from CSV or Parquet and check them against the catalog schema.

A problem with a row names it: ``file:line`` for a CSV (the header is line 1), ``row N``
otherwise (counting from 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from auditkit.errors import CatalogError

REQUIRED_COLUMNS: tuple[str, ...] = ("item_id", "category")
OPTIONAL_COLUMNS: tuple[str, ...] = ("canonical_id", "title", "brand", "price", "popularity")
TEXT_COLUMNS: tuple[str, ...] = ("item_id", "category", "canonical_id", "title", "brand")
NUMBER_COLUMNS: tuple[str, ...] = ("price", "popularity")
# A shop of one product leaves a vendor nothing to recommend beyond a customer's history.
MIN_ITEMS = 2
# Separators a catalog written by a spreadsheet in another locale may use instead of ','.
OTHER_SEPARATORS: tuple[str, ...] = (";", "\t", "|")

MISSING_COLUMNS = "{source}: catalog must have columns {missing}; found {found}{hint}"
OTHER_SEPARATOR = " (columns are separated by ',', this header by {separator!r})"
DUPLICATE_ITEMS = "{where}: item_id must be unique; duplicated: {examples}"
EMPTY_VALUES = "{where}: column {column!r} must have no empty values; {count} rows are empty"
NOT_NUMERIC = "{where}: column {column!r} must be numeric; got {examples}"
NEGATIVE = "{where}: column {column!r} must be non-negative; {count} rows are negative"
NOT_FINITE = "{where}: column {column!r} must be finite; {count} rows are infinite"
NOT_TEXT = "{source}: column {column!r} must hold text; got values of type {dtype}"
TOO_FEW_ITEMS = "{source}: catalog must have at least {minimum} items; got {count}"
NOT_UTF8 = "{where}: catalog must be UTF-8 text; byte 0x{byte:02x} is not"
UNREADABLE = "{source}: cannot read catalog ({reason})"
UNKNOWN_FORMAT = "{source}: catalog must be a .csv or .parquet file"


def load_catalog(path: str | Path, *, source: str | None = None) -> pd.DataFrame:
    """Read a catalog file (``.csv`` or ``.parquet``) and validate it.

    ``source`` names the file in messages (default: ``path``). Raises `CatalogError` naming
    the file, and the line or row at fault, when it cannot be read, breaks the schema or has
    fewer than `MIN_ITEMS` items.
    """
    path = Path(path)
    source = str(path) if source is None else source
    suffix = path.suffix.lower()
    lines: list[int] | None = None
    try:
        if suffix == ".csv":
            # Blank lines are read (then dropped) so each row keeps its line of the file.
            frame = pd.read_csv(
                path,
                dtype={c: "string" for c in TEXT_COLUMNS},
                keep_default_na=True,
                skip_blank_lines=False,
            )
            blank = frame.isna().all(axis=1).to_numpy()
            lines = (np.arange(len(frame)) + 2)[~blank].tolist()
            frame = frame[~blank].reset_index(drop=True)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            raise CatalogError(UNKNOWN_FORMAT.format(source=source))
    except CatalogError:
        raise
    except UnicodeDecodeError:
        raise CatalogError(_not_utf8(path, source)) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        reason = " ".join(str(exc).split())  # one line: a message is one issue per line
        raise CatalogError(UNREADABLE.format(source=source, reason=reason)) from exc
    catalog = validate_catalog(frame, source=source, lines=lines)
    if len(catalog) < MIN_ITEMS:
        raise CatalogError(
            TOO_FEW_ITEMS.format(source=source, minimum=MIN_ITEMS, count=len(catalog))
        )
    return catalog


def _not_utf8(path: Path, source: str) -> str:
    """`NOT_UTF8` at the line of the file's first byte that is not UTF-8."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return NOT_UTF8.format(where=f"{source}:{line}", byte=raw[exc.start])
    return UNREADABLE.format(source=source, reason="not UTF-8 text")


def _where(source: str, lines: Sequence[int] | None, position: int) -> str:
    """Where the row at ``position`` is: ``file:line`` given the lines, else ``row N``."""
    if lines is not None:
        return f"{source}:{lines[position]}"
    return f"{source} row {position + 1}"


def _examples(values: pd.Series, n: int) -> str:
    """The first ``n`` distinct values as text, quoted (any value: a list, a dict...)."""
    distinct = dict.fromkeys(str(value) for value in values)
    return ", ".join(repr(value[:40]) for value in list(distinct)[:n])


def _first(mask: pd.Series) -> int:
    """The position of the first true value of ``mask``."""
    return int(np.flatnonzero(mask.to_numpy(dtype=bool))[0])


def validate_catalog(
    frame: pd.DataFrame, *, source: str, lines: Sequence[int] | None = None
) -> pd.DataFrame:
    """Return a normalized copy of ``frame``: text columns as strings, numbers as floats.

    Optional columns that are absent are added empty, so later stages can rely on them.
    ``lines`` gives each row's line in the file it came from (a CSV's), for messages to name
    ``file:line``; without it they name ``row N``. Raises `CatalogError` at the first row
    that breaks the schema.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        found = [str(c) for c in frame.columns]
        separators = [s for s in OTHER_SEPARATORS if len(found) == 1 and s in found[0]]
        hint = OTHER_SEPARATOR.format(separator=separators[0]) if separators else ""
        raise CatalogError(
            MISSING_COLUMNS.format(source=source, missing=missing, found=found, hint=hint)
        )
    out = frame.copy().reset_index(drop=True)
    for column in TEXT_COLUMNS:
        if column in out.columns:
            try:
                text = out[column].astype("string").str.strip()
            except (TypeError, ValueError):  # a Parquet column of lists or structs, say
                dtype = out[column].dtype
                raise CatalogError(
                    NOT_TEXT.format(source=source, column=column, dtype=dtype)
                ) from None
            out[column] = text.mask(text == "")
        else:
            out[column] = pd.Series(pd.NA, index=out.index, dtype="string")
    for column in REQUIRED_COLUMNS:
        empty = out[column].isna()
        if empty.any():
            where = _where(source, lines, _first(empty))
            raise CatalogError(
                EMPTY_VALUES.format(where=where, column=column, count=int(empty.sum()))
            )
    repeated = out["item_id"].duplicated()
    if repeated.any():
        examples = _examples(out["item_id"][repeated], 5)
        where = _where(source, lines, _first(repeated))
        raise CatalogError(DUPLICATE_ITEMS.format(where=where, examples=examples))
    for column in NUMBER_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
            continue
        try:
            numbers = pd.to_numeric(out[column], errors="coerce").astype("float64")
        except (TypeError, ValueError):  # a Parquet column of lists, say
            numbers = pd.Series(np.nan, index=out.index)
        bad = numbers.isna() & out[column].notna()
        if bad.any():
            examples = _examples(out[column][bad], 3)
            where = _where(source, lines, _first(bad))
            raise CatalogError(NOT_NUMERIC.format(where=where, column=column, examples=examples))
        infinite = np.isinf(numbers)
        if infinite.any():
            where = _where(source, lines, _first(infinite))
            count = int(infinite.sum())
            raise CatalogError(NOT_FINITE.format(where=where, column=column, count=count))
        negative = numbers < 0
        if negative.any():
            where = _where(source, lines, _first(negative))
            count = int(negative.sum())
            raise CatalogError(NEGATIVE.format(where=where, column=column, count=count))
        out[column] = numbers
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
