"""The evidence, row by row: a compact snapshot of the database, and one digest per row.

The database file's bytes are what the manifest hashes; the row digests say *which* row
changed when those bytes no longer match, and they depend on the rows alone (not on the
SQLite version or the file's page layout), so the digest list is the evidence's content
identity.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditkit.probes.columnar import fold_attempts, parts_dir

# Columns that name a row in messages, when its table has them.
NAMING_COLUMNS = ("id", "key", "name", "probe_id")
SCHEMA_TABLE = "sqlite_master"
# Tables whose rows have no primary key but a name: the schema's, and AUTOINCREMENT's.
KNOWN_IDENTITIES = {SCHEMA_TABLE: ("type", "name"), "sqlite_sequence": ("name",)}
# A table's first page is layout, not content: a rebuilt file puts it elsewhere.
LAYOUT_COLUMNS = {(SCHEMA_TABLE, "rootpage")}
ROW_MISSING = "is missing: the bundle's evidence.rows.jsonl lists it (sha256 {expected})"
ROW_CHANGED = "differs from the row bundled (sha256 {found}; evidence.rows.jsonl has {expected})"
ROW_ADDED = "is not in the bundle's evidence.rows.jsonl: a row was added"
# How many differing rows a verification names before it says how many there are in all.
ROWS_NAMED = 5


@dataclass(frozen=True)
class RowDigest:
    """One row of one table of the evidence: its key, what names it, and its SHA-256."""

    table: str
    key: tuple[Any, ...]
    names: tuple[tuple[str, Any], ...]
    sha256: str

    @property
    def where(self) -> str:
        """The row in words: ``attempts row id 17, probe_id 'p000016'``."""
        names = self.names or tuple(zip(("position",), self.key, strict=False))
        return f"{self.table} row " + ", ".join(f"{k} {v!r}" for k, v in names)

    def to_json(self) -> str:
        """The row as one line of ``evidence.rows.jsonl``."""
        line = {
            "table": self.table,
            "key": list(self.key),
            "names": [list(pair) for pair in self.names],
            "sha256": self.sha256,
        }
        return json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def snapshot_evidence(source: Path, target: Path) -> None:
    """Write a compact copy of the evidence database at ``target`` (``VACUUM INTO``).

    The copy holds the rows with its write-ahead log folded in, rebuilt page by page in
    rowid order with no free pages, so the same rows give the same bytes (on one SQLite
    version: the file's header records the version that wrote it). The connection is an
    ordinary one, as a run's own is: closing it checkpoints and removes an old log.

    A columnar run's attempts (Parquet batches beside the database) are copied into the
    snapshot's ``attempts`` table, so the bundle's evidence is one SQLite file whatever the
    run's store, and verifies the same way.
    """
    parts = parts_dir(source)
    folded = target.with_name(target.name + ".folding") if parts.is_dir() else target
    db = sqlite3.connect(source)
    try:
        db.execute("VACUUM INTO ?", (str(folded),))
    finally:
        db.close()
    if folded == target:
        return
    fold_attempts(folded, parts)
    db = sqlite3.connect(folded)
    try:
        db.execute("VACUUM INTO ?", (str(target),))
    finally:
        db.close()
    folded.unlink()


def _plain(value: Any) -> Any:
    """A cell as JSON can hold it: a blob as its hex digits, everything else as it is."""
    if isinstance(value, bytes):
        return {"blob": value.hex()}
    return value


def _digest(table: str, columns: Sequence[str], row: Sequence[Any]) -> str:
    cells = [[column, _plain(value)] for column, value in zip(columns, row, strict=True)]
    text = json.dumps([table, cells], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _identity(db: sqlite3.Connection, table: str) -> tuple[str, ...]:
    """The columns that identify a row of ``table``: its primary key (none: its position)."""
    if table in KNOWN_IDENTITIES:
        return KNOWN_IDENTITIES[table]
    info = db.execute(f"PRAGMA table_info({_quoted(table)})").fetchall()
    return tuple(str(row[1]) for row in sorted(info, key=lambda row: row[5]) if row[5] > 0)


def _table_digests(db: sqlite3.Connection, table: str) -> Iterable[RowDigest]:
    """Each row of ``table`` in key order, digested over every column but `LAYOUT_COLUMNS`."""
    identity = _identity(db, table)
    columns = [
        str(row[1])
        for row in db.execute(f"PRAGMA table_info({_quoted(table)})").fetchall()
        if (table, str(row[1])) not in LAYOUT_COLUMNS
    ]
    order = ", ".join(_quoted(c) for c in (identity or columns))
    selected = ", ".join(_quoted(c) for c in columns)
    cursor = db.execute(f"SELECT {selected} FROM {_quoted(table)} ORDER BY {order}")
    for position, row in enumerate(cursor):
        values = dict(zip(columns, row, strict=True))
        key = tuple(_plain(values[c]) for c in identity) if identity else (position,)
        names = tuple(
            (column, values[column])
            for column in NAMING_COLUMNS
            if column in values and isinstance(values[column], str | int)
        )
        yield RowDigest(table, key, names, _digest(table, columns, row))


def evidence_rows(path: Path) -> list[RowDigest]:
    """The digest of every row of the database at ``path``: its schema, then each table.

    Tables go in name order, rows in key order. Raises `sqlite3.DatabaseError` when the
    file is not a database.
    """
    db = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        tables = [SCHEMA_TABLE] + [
            str(row[0])
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return [row for table in tables for row in _table_digests(db, table)]
    finally:
        db.close()


def rows_text(rows: Sequence[RowDigest]) -> bytes:
    """``evidence.rows.jsonl``: one line per row."""
    return "".join(row.to_json() + "\n" for row in rows).encode("ascii")


def parse_rows(text: bytes) -> list[RowDigest]:
    """Read ``evidence.rows.jsonl``; `ValueError` names the first line that is not a row."""
    rows = []
    for number, line in enumerate(text.decode("ascii").splitlines(), start=1):
        try:
            data = json.loads(line)
            rows.append(
                RowDigest(
                    str(data["table"]),
                    tuple(data["key"]),
                    tuple((str(name), value) for name, value in data["names"]),
                    str(data["sha256"]),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"line {number} is not a row digest ({exc!r})") from None
    return rows


def _keyed(row: RowDigest) -> tuple[str, str]:
    return row.table, json.dumps(row.key)


def row_differences(
    expected: Sequence[RowDigest], found: Sequence[RowDigest]
) -> list[tuple[str, str]]:
    """Each row that differs, is missing or was added, as (the row in words, what is wrong)."""
    have = {_keyed(row): row for row in found}
    listed = {_keyed(row) for row in expected}
    out = []
    for row in expected:
        other = have.get(_keyed(row))
        if other is None:
            out.append((row.where, ROW_MISSING.format(expected=row.sha256)))
        elif other.sha256 != row.sha256:
            out.append((other.where, ROW_CHANGED.format(found=other.sha256, expected=row.sha256)))
    out += [(row.where, ROW_ADDED) for row in found if _keyed(row) not in listed]
    return out


def table_counts(rows: Iterable[RowDigest]) -> dict[str, int]:
    """How many rows each table has (the schema's rows under ``sqlite_master``)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.table] = counts.get(row.table, 0) + 1
    return dict(sorted(counts.items()))
