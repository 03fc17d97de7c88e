"""The columnar evidence store: a large run's attempts as Parquet part files beside SQLite.

A run of hundreds of thousands of probes spends its evidence time inserting rows and, once
probing is done, reading them back and parsing their JSON lists. This store keeps the
attempts as Parquet files instead, one per batch, in ``evidence.attempts/`` beside the run's
``evidence.sqlite`` (which still holds the spec's hash, why probing stopped, and the events
sent): the lists are Parquet lists, so reading the answers back needs no JSON at all.

The guarantees are those of the SQLite store. A batch becomes visible whole or not at all
(written under a temporary name, then renamed), so a killed run loses at most the batch in
flight; attempts keep one ``id`` sequence across batches and runs, so "the first usable
answer" means the same in both stores, and the same evidence gives the same results.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditkit.errors import EvidenceError
from auditkit.probes.evidence import (
    ATTEMPT_COLUMNS,
    LIST_COLUMNS,
    STORE_KEY,
    UNREADABLE,
    EvidenceStore,
    Row,
    _dump,
    attempt_columns,
)

PARTS_DIR = "evidence.attempts"
"""The folder beside ``evidence.sqlite`` that holds a columnar run's attempt batches."""
COLUMNAR_BATCH_ROWS = 20_000
"""Most attempts in one part file (a batch also closes after `BATCH_SECONDS`)."""
_PART = re.compile(r"part-(\d{6,})\.parquet")
_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("probe_id", pa.string()),
        ("request_sha256", pa.string()),
        ("request", pa.string()),
        ("status", pa.string()),
        ("problem", pa.string()),
        ("latency_ms", pa.float64()),
        ("items", pa.list_(pa.string())),
        ("scores", pa.list_(pa.float64())),
        ("explanations", pa.list_(pa.string())),
        ("raw", pa.string()),
        ("raw_truncated", pa.int64()),
        ("recorded_at", pa.string()),
    ]
)


def parts_dir(evidence_path: str | Path) -> Path:
    """Where the attempt batches of the evidence at ``evidence_path`` live (if columnar)."""
    return Path(evidence_path).with_name(PARTS_DIR)


def _part_files(folder: Path) -> list[Path]:
    """The finished part files, in the order they were written."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _PART.fullmatch(p.name))]
    return [path for _, path in sorted(found)]


def _part_number(path: Path) -> int:
    """The sequence number in a part file's name."""
    match = _PART.fullmatch(path.name)
    return int(match.group(1)) if match else 0


def _read_part(path: Path, columns: Sequence[str]) -> pa.Table:
    """``columns`` of one part file; a damaged one is an `EvidenceError` naming it."""
    try:
        return pq.read_table(path, columns=list(columns), schema=_SCHEMA, use_threads=False)
    except (OSError, pa.ArrowException) as exc:
        raise EvidenceError(UNREADABLE.format(path=path, reason=exc)) from None


def _sqlite_rows(parts: Path) -> Iterator[tuple[Any, ...]]:
    """Every attempt in ``parts`` as a row of the SQLite store's ``attempts``, in id order."""
    for path in _part_files(parts):
        table = _read_part(path, ATTEMPT_COLUMNS)
        columns = [
            [_dump(v) for v in table[name].to_pylist()]
            if name in LIST_COLUMNS
            else table[name].to_pylist()
            for name in ATTEMPT_COLUMNS
        ]
        yield from zip(*columns, strict=True)


def _element_redactor(
    redact: Callable[[str | None], str | None],
) -> Callable[[list[Any] | None], list[Any] | None]:
    """``redact`` applied to every text of a list (numbers and None pass through)."""

    def clean(values: list[Any] | None) -> list[Any] | None:
        if values is None:
            return None
        return [redact(v) if isinstance(v, str) else v for v in values]

    return clean


class ColumnarEvidenceStore(EvidenceStore):
    """Evidence whose attempts are Parquet batches beside the run's SQLite file.

    Everything but the attempts (the spec's hash, why probing stopped, the events) stays in
    the SQLite file at ``path``; its ``meta`` table names this store, so the plain SQLite store
    refuses the file rather than find no attempts in it.
    """

    kind = "parquet"

    def __init__(
        self,
        path: str | Path,
        *,
        spec_sha256: str,
        secrets: Sequence[str] = (),
        batch_rows: int = COLUMNAR_BATCH_ROWS,
        batch_seconds: float | None = None,
    ) -> None:
        """Open (or create) a columnar run's evidence; the arguments are `EvidenceStore`'s."""
        options: dict[str, Any] = {"batch_rows": batch_rows}
        if batch_seconds is not None:
            options["batch_seconds"] = batch_seconds
        super().__init__(path, spec_sha256=spec_sha256, secrets=secrets, **options)
        self.parts = parts_dir(self.path)
        self.parts.mkdir(exist_ok=True)
        # A batch being written when its run was killed never became a part: it is lost, as
        # an uncommitted SQLite transaction is.
        for stray in self.parts.glob(".part-*.tmp"):
            stray.unlink()
        files = _part_files(self.parts)
        self._next_part = _part_number(files[-1]) + 1 if files else 1
        ids = self._read(["id"])["id"]
        self._next_id = int(pc.max(ids).as_py()) + 1 if len(ids) else 1

    def _write(self, rows: list[Row]) -> None:
        """Write ``rows`` as the next part file, visible only once it is whole."""
        clean = _element_redactor(self._redact) if self._secrets else None
        columns = list(zip(*rows, strict=True))
        at = ATTEMPT_COLUMNS.index("items") - 1  # the row has no id
        if clean is not None:
            for offset in range(3):
                columns[at + offset] = tuple(clean(v) for v in columns[at + offset])
        first = self._next_id
        arrays = [pa.array(np.arange(first, first + len(rows), dtype=np.int64))]
        arrays += [
            pa.array(values, type=_SCHEMA.field(name).type)
            for name, values in zip(ATTEMPT_COLUMNS[1:], columns, strict=True)
        ]
        table = pa.Table.from_arrays(arrays, schema=_SCHEMA)
        name = f"part-{self._next_part:06d}.parquet"
        temporary = self.parts / f".{name}.tmp"
        try:
            pq.write_table(table, temporary, compression="zstd")
            os.replace(temporary, self.parts / name)
        except OSError as exc:
            raise EvidenceError(UNREADABLE.format(path=self.parts, reason=exc)) from None
        self._next_part += 1
        self._next_id = first + len(rows)

    def _read(self, columns: Sequence[str]) -> pa.Table:
        """The attempts' ``columns``, oldest first, from every part file."""
        tables = [_read_part(path, columns) for path in _part_files(self.parts)]
        if not tables:
            return _SCHEMA.empty_table().select(list(columns))
        return pa.concat_tables(tables)

    def answered(self) -> set[str]:
        """Probe ids that already have a usable (``ok``) answer."""
        self.flush()
        table = self._read(["probe_id", "status"])
        ok = table.filter(pc.equal(table["status"], "ok"))
        return set(pc.unique(ok["probe_id"]).to_pylist())

    def attempts(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Every attempt, oldest first, as the SQLite store gives them (lists as JSON text)."""
        self.flush()
        names = attempt_columns(columns)
        table = self._read(names)
        # From Python values, so that pandas types each column as it does SQLite's.
        return pd.DataFrame(
            {
                name: [_dump(v) for v in table[name].to_pylist()]
                if name in LIST_COLUMNS
                else table[name].to_pylist()
                for name in names
            },
            columns=list(names),
        )

    def answers(self) -> pd.DataFrame:
        """The first usable answer of each probe, sorted by probe id (as `EvidenceStore`'s)."""
        self.flush()
        # Part by part: only one part's Arrow buffers are held next to the answers' lists.
        found: dict[str, list[Any]] = {name: [] for name in ("probe_id", *LIST_COLUMNS)}
        for path in _part_files(self.parts):
            part = _read_part(path, ["probe_id", "status", *LIST_COLUMNS])
            ok = part.filter(pc.equal(part["status"], "ok"))
            for name, values in found.items():
                values += ok[name].to_pylist()
        frame = pd.DataFrame(found)
        # Rows are in id order: a probe's first row is its first usable answer.
        first = ~frame["probe_id"].duplicated(keep="first").to_numpy()
        return frame[first].sort_values("probe_id", kind="stable", ignore_index=True)

    def append_batch(self, rows: Sequence[Row]) -> None:
        """Write attempts recorded elsewhere (a shard's, without ids) as the next part file.

        The rows are as `EvidenceStore.record` queues them (lists as lists); they get the
        next ids, in the order given, and become visible together.
        """
        self.flush()
        if rows:
            self._write(list(rows))

    def holds_attempt(self, probe_id: str, request_sha256: str, recorded_at: str) -> bool:
        """Whether an attempt of ``probe_id`` with this request and time is already here."""
        self.flush()
        table = self._read(["probe_id", "request_sha256", "recorded_at"])
        table = table.filter(pc.equal(table["probe_id"], probe_id))
        same = pc.and_(
            pc.equal(table["request_sha256"], request_sha256),
            pc.equal(table["recorded_at"], recorded_at),
        )
        return bool(pc.any(same).as_py()) if len(table) else False

    def sqlite_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every attempt as a row of the SQLite store's ``attempts`` table, in id order."""
        self.flush()
        return _sqlite_rows(self.parts)


def fold_attempts(evidence: Path, parts: Path) -> None:
    """Copy a columnar run's attempts from ``parts`` into the SQLite file ``evidence``.

    The file then stands alone as SQLite evidence (its ``meta`` no longer names the columnar
    store): what a bundle carries, so that it verifies as any run's does.
    """
    db = sqlite3.connect(evidence, isolation_level=None)
    try:
        db.execute("BEGIN")
        db.executemany(
            f"INSERT INTO attempts ({', '.join(ATTEMPT_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(ATTEMPT_COLUMNS))})",
            _sqlite_rows(parts),
        )
        db.execute("DELETE FROM meta WHERE key = ?", (STORE_KEY,))
        db.execute("COMMIT")
    finally:
        db.close()
