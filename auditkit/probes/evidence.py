"""The evidence store: every request and answer, append-only, in one SQLite file.

One row per attempt, committed in small batches as answers arrive (at most `BATCH_ROWS`
rows or `BATCH_SECONDS` of answers in one transaction), so a killed run loses at most the
batch in flight and a resumed run sends only what has no usable answer. Committing each row
alone cost a run of the in-process vendor two thirds of its probing time; a batch costs
about as much as one row did.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from auditkit.errors import EvidenceError
from auditkit.vendors._base import redacting

EVIDENCE_FILE = "evidence.sqlite"
RAW_LIMIT = 65_536
SCHEMA_VERSION = "1"
OTHER_SPEC = (
    "{path}: evidence was recorded for another spec (sha256 {found}); this spec is {expected}. "
    "Use a new run directory, or the spec that made this evidence."
)
UNREADABLE = (
    "{path}: not readable as auditkit evidence ({reason}); the file is damaged or is not an "
    "evidence database. Keep it for inspection and start the run in a new directory."
)
STATUSES: tuple[str, ...] = ("ok", "invalid", "error")
BATCH_ROWS = 1000
"""Most attempts committed in one transaction."""
BATCH_SECONDS = 0.25
"""Longest an attempt waits for its batch's commit (a slow vendor's answers are not held)."""
ATTEMPT_COLUMNS: tuple[str, ...] = (
    "id",
    "probe_id",
    "request_sha256",
    "request",
    "status",
    "problem",
    "latency_ms",
    "items",
    "scores",
    "explanations",
    "raw",
    "raw_truncated",
    "recorded_at",
)
"""The columns of an attempt, in the order `EvidenceStore.attempts` gives them."""
LIST_COLUMNS: tuple[str, ...] = ("items", "scores", "explanations")
"""The columns that hold a list per attempt (JSON text in SQLite)."""
UNKNOWN_COLUMNS = "attempts: columns must be among {valid}; got {value!r}"
STORE_KEY = "attempts_store"
"""The meta key naming where a run's attempts live when it is not this SQLite file."""
ELSEWHERE = (
    "{path}: this run keeps its attempts in {store} files beside the database; open it with "
    "auditkit.probes.open_evidence"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    probe_id TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'invalid', 'error')),
    problem TEXT,
    latency_ms REAL,
    items TEXT,
    scores TEXT,
    explanations TEXT,
    raw TEXT,
    raw_truncated INTEGER NOT NULL DEFAULT 0,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_probe ON attempts (probe_id, status);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Attempt:
    """One request sent to the vendor and what came back."""

    probe_id: str
    request: dict[str, Any]
    status: str
    latency_ms: float | None
    items: list[str] | None = None
    scores: list[float] | None = None
    explanations: list[str | None] | None = None
    raw: Any = None
    problem: str | None = None


def request_sha256(request: dict[str, Any]) -> str:
    """Hash of a request's canonical JSON: the same probe always hashes the same."""
    return hashlib.sha256(_canonical(request).encode()).hexdigest()


def _canonical(request: dict[str, Any]) -> str:
    """A request's canonical JSON (sorted keys, no spaces): what is hashed and stored."""
    return json.dumps(request, sort_keys=True, separators=(",", ":"))


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


def _loads(texts: Sequence[Any]) -> list[Any]:
    """Each JSON text parsed; NULL (None, or NaN where pandas made the column numeric): None."""
    return [json.loads(text) if isinstance(text, str) else None for text in texts]


def attempt_columns(columns: Sequence[str] | None) -> tuple[str, ...]:
    """The attempt columns asked for (all when None), each checked to be one."""
    names = ATTEMPT_COLUMNS if columns is None else tuple(columns)
    unknown = [name for name in names if name not in ATTEMPT_COLUMNS]
    if unknown:
        raise ValueError(UNKNOWN_COLUMNS.format(valid=list(ATTEMPT_COLUMNS), value=unknown))
    return names


# One attempt as the store buffers it: every column but ``id``, lists still Python lists.
Row = tuple[Any, ...]


def _redactor(secrets: Sequence[str]) -> Callable[[str | None], str | None]:
    """`redacting` ``secrets``, passing None (a column left empty) through."""
    redact = redacting(secrets)
    return lambda text: None if text is None else redact(text)


class EvidenceStore:
    """SQLite evidence of one run directory (WAL mode; attempts committed in small batches)."""

    kind = "sqlite"
    """The store's name, as ``--evidence-store`` and the run's manifest spell it."""

    def __init__(
        self,
        path: str | Path,
        *,
        spec_sha256: str,
        secrets: Sequence[str] = (),
        batch_rows: int = BATCH_ROWS,
        batch_seconds: float = BATCH_SECONDS,
    ) -> None:
        """Open (or create) the evidence of one run.

        ``secrets`` are credential values (the vendor's, see `auditkit.vendors.secret_values`)
        that never reach the file: a vendor that echoes one in its answer, an explanation or
        an error page has it replaced by ``***`` in every text stored (`redacting`).
        ``batch_rows`` and ``batch_seconds`` bound a batch: an attempt is committed once that
        many are waiting, or once the oldest waiting has waited that long, whichever is first.
        """
        self.path = Path(path)
        self._secrets = tuple(secrets)
        self._redact = _redactor(secrets)
        self._batch_rows = max(1, int(batch_rows))
        self._batch_seconds = float(batch_seconds)
        self._pending: list[Row] = []
        self._since = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            with self._readable():
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._db.execute("SELECT COUNT(*) FROM attempts").fetchone()
                found = self._meta("spec_sha256")
        except EvidenceError:
            self.close()
            raise
        if found is None:
            meta = [("spec_sha256", spec_sha256), ("schema_version", SCHEMA_VERSION)]
            if self.kind != EvidenceStore.kind:
                meta.append((STORE_KEY, self.kind))
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta)
        elif found != spec_sha256:
            self.close()
            raise EvidenceError(
                OTHER_SPEC.format(path=self.path, found=found, expected=spec_sha256)
            )
        elif (self._meta(STORE_KEY) or EvidenceStore.kind) != self.kind:
            store = self._meta(STORE_KEY)
            self.close()
            raise EvidenceError(ELSEWHERE.format(path=self.path, store=store))

    @contextmanager
    def _readable(self) -> Iterator[None]:
        """Turn a damaged or foreign database file into an `EvidenceError` naming it."""
        try:
            yield
        except (sqlite3.DatabaseError, pd.errors.DatabaseError) as exc:
            raise EvidenceError(UNREADABLE.format(path=self.path, reason=exc)) from None

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def note_stop(self, reason: str | None) -> None:
        """Record why probing stopped before the plan was done (``None``: it was not)."""
        self.flush()
        with self._readable(), self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM meta WHERE key = 'stopped'")
            if reason is not None:
                self._db.execute("INSERT INTO meta (key, value) VALUES ('stopped', ?)", (reason,))

    def stopped(self) -> str | None:
        """Why the last run's probing stopped early (a dead vendor, say), if it did."""
        with self._readable():
            return self._meta("stopped")

    def record(self, attempt: Attempt) -> None:
        """Append one attempt; it is committed with its batch (see `flush`)."""
        raw = self._redact(_dump(attempt.raw))
        truncated = raw is not None and len(raw) > RAW_LIMIT
        if not self._pending:
            self._since = time.monotonic()
        request = _canonical(attempt.request)
        self._pending.append(
            (
                attempt.probe_id,
                hashlib.sha256(request.encode()).hexdigest(),
                self._redact(request),
                attempt.status,
                self._redact(attempt.problem),
                attempt.latency_ms,
                attempt.items,
                attempt.scores,
                attempt.explanations,
                raw[:RAW_LIMIT] if raw is not None else None,
                int(truncated),
                datetime.now(UTC).isoformat(timespec="milliseconds"),
            )
        )
        if (
            len(self._pending) >= self._batch_rows
            or time.monotonic() - self._since >= self._batch_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Commit the attempts waiting in the batch, in one transaction."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        self._write(rows)

    def _write(self, rows: list[Row]) -> None:
        """Insert ``rows`` (their lists as JSON text, redacted) and commit them together."""
        clean = self._redact
        at = ATTEMPT_COLUMNS.index("items") - 1  # the row has no id
        texts = [
            (*row[:at], *(clean(_dump(value)) for value in row[at : at + 3]), *row[at + 3 :])
            for row in rows
        ]
        with self._readable(), self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO attempts (probe_id, request_sha256, request, status, problem,"
                " latency_ms, items, scores, explanations, raw, raw_truncated, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                texts,
            )

    def record_events(self, shop_id: str, item_id: str, count: int) -> None:
        """Note that ``count`` synthetic events for ``item_id`` were sent to ``shop_id``."""
        self._db.execute(
            "INSERT INTO events (shop_id, item_id, count, recorded_at) VALUES (?, ?, ?, ?)",
            (shop_id, item_id, count, datetime.now(UTC).isoformat(timespec="milliseconds")),
        )

    def events(self) -> pd.DataFrame:
        """Every batch of synthetic events sent to the vendor, oldest first."""
        self.flush()
        with self._readable():
            return pd.read_sql_query(
                "SELECT shop_id, item_id, count FROM events ORDER BY id", self._db
            )

    def answered(self) -> set[str]:
        """Probe ids that already have a usable (``ok``) answer."""
        self.flush()
        with self._readable():
            rows = self._db.execute(
                "SELECT DISTINCT probe_id FROM attempts WHERE status = 'ok'"
            ).fetchall()
        return {str(r[0]) for r in rows}

    def attempts(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Every attempt, oldest first (items etc. still JSON text); ``columns``: only those."""
        self.flush()
        names = attempt_columns(columns)
        with self._readable():
            return pd.read_sql_query(
                f"SELECT {', '.join(names)} FROM attempts ORDER BY id", self._db
            )

    def answers(self) -> pd.DataFrame:
        """The first usable answer of each probe, sorted by probe id.

        Columns ``probe_id``, ``items`` (list), ``scores`` and ``explanations`` (lists, or
        None when the vendor gave none).
        """
        self.flush()
        with self._readable():
            frame = pd.read_sql_query(
                "SELECT probe_id, items, scores, explanations FROM attempts WHERE id IN"
                " (SELECT MIN(id) FROM attempts WHERE status = 'ok' GROUP BY probe_id)"
                " ORDER BY probe_id",
                self._db,
            )
        for column in LIST_COLUMNS:
            frame[column] = _loads(frame[column].tolist())
        return frame

    def close(self) -> None:
        """Commit the batch waiting, then close the database."""
        try:
            if self._pending:
                self.flush()
        finally:
            self._db.close()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def answers_sha256(answers: pd.DataFrame) -> str:
    """Hash of the answers the metrics read (probe id and items), independent of timing."""
    digest = hashlib.sha256()
    for probe_id, items in zip(answers["probe_id"], answers["items"], strict=True):
        digest.update(json.dumps([probe_id, items], separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()
