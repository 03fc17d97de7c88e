"""Shards of a probe plan for probing on several machines, and their evidence merged back.

A shard holds whole customers: every probe of a customer (its match groups across shops, its
counterfactual twins, its repeats) goes to one shard, so whatever a vendor does per customer
happens inside one shard. Each shard's attempts are recorded in an evidence file of its own
(the `EvidenceStore` format); `merge_shard_evidence` appends a shard file to the run's
evidence in plan order, so the merged evidence does not depend on which shard finished first
or on the order of a shard's threads. `merge_shard_into` does the same into an open store of
either kind, SQLite or columnar (the store a run's plan size chose).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from auditkit.errors import EvidenceError, invalid_argument
from auditkit.probes.columnar import ColumnarEvidenceStore
from auditkit.probes.evidence import ATTEMPT_COLUMNS, EvidenceStore, _loads

SHARD_SUFFIX = ".shard.sqlite"
RULE_SHARDS = "a positive integer"
# The columns a shard's attempt carries into the run's evidence (all but its row id).
_ATTEMPT_COLUMNS = ATTEMPT_COLUMNS[1:]
SHARD_OTHER_SPEC = (
    "{path}: shard evidence was recorded for another spec (sha256 {found}); this run's spec "
    "is {expected}. Remove the file, or resume with the spec that made it."
)


def shard_units(plan: pd.DataFrame) -> np.ndarray:
    """Per probe of ``plan``: the unit a shard keeps whole, as codes in plan order.

    The unit is the plan's ``customer``; a probe without one (a trend-planting or
    claim-verification probe, or a plan made by hand) is its match group (``match_id``), or
    else itself. Codes number the units by their first probe in the plan.
    """
    keys = pd.Series(plan["probe_id"].astype("string").to_numpy(), dtype="string")
    for column in ("match_id", "customer"):
        if column in plan.columns:
            prefix = "c:" if column == "customer" else "m:"
            named = pd.Series(plan[column].to_numpy(), dtype="string")
            keys = (prefix + named).fillna(keys)
    return pd.factorize(keys.to_numpy(dtype=object))[0].astype(np.int64)


def shard_plan(plan: pd.DataFrame, n_shards: int) -> list[pd.DataFrame]:
    """``plan`` cut into at most ``n_shards`` shards of whole units, each in plan order.

    Units (`shard_units`), taken in order of their first probe, are dealt into runs of
    about equal numbers of probes; empty shards are dropped. The same plan and ``n_shards``
    always give the same shards.

    Raises
    ------
    ValueError
        When ``n_shards`` is not a positive integer (message `INVALID_ARGUMENT`).
    """
    if isinstance(n_shards, bool) or not isinstance(n_shards, int) or n_shards < 1:
        raise ValueError(invalid_argument("shard_plan", "n_shards", RULE_SHARDS, n_shards))
    if plan.empty:
        return []
    units = shard_units(plan)
    sizes = np.bincount(units)
    # A unit goes to the shard its first probe's place in the cumulative count falls in.
    before = np.cumsum(sizes) - sizes
    of_unit = np.minimum(before * n_shards // len(plan), n_shards - 1)
    shard = of_unit[units]
    return [plan[shard == s] for s in np.unique(shard)]


def _plan_positions(db: sqlite3.Connection, positions: pd.Series) -> None:
    """A temporary table of each probe id's place in the plan, for ordering a merge."""
    db.execute("DROP TABLE IF EXISTS temp.plan_position")
    db.execute("CREATE TEMP TABLE plan_position (probe_id TEXT PRIMARY KEY, position INTEGER)")
    db.executemany(
        "INSERT INTO temp.plan_position VALUES (?, ?)",
        zip(positions.index.astype(str), positions.to_numpy().tolist(), strict=True),
    )


def merge_shard_evidence(
    evidence: str | Path, shard: str | Path, positions: pd.Series, *, spec_sha256: str
) -> int:
    """Append a shard's attempts to the run's evidence in plan order; return how many.

    Parameters
    ----------
    evidence
        The run's evidence file (an `EvidenceStore` made for the same spec).
    shard
        A shard's evidence file, recorded by `run_probes` into its own `EvidenceStore`.
    positions
        Each probe id's place in the plan (index: probe id): attempts are appended by it,
        a probe's attempts in the order they were made.
    spec_sha256
        The run's spec hash; a shard recorded for another spec is refused.

    Notes
    -----
    A shard already merged (its first attempt is in the run's evidence, the same probe,
    request and time) is not appended again: a run killed between merging a shard and
    removing its file merges it once on resume. The append is one transaction.
    """
    columns = ", ".join(_ATTEMPT_COLUMNS)
    db = sqlite3.connect(evidence, isolation_level=None, timeout=60)
    db.execute("ATTACH DATABASE ? AS shard", (str(shard),))
    try:
        found = db.execute("SELECT value FROM shard.meta WHERE key = 'spec_sha256'").fetchone()
        if found is None or found[0] != spec_sha256:
            raise EvidenceError(
                SHARD_OTHER_SPEC.format(
                    path=shard, found=None if found is None else found[0], expected=spec_sha256
                )
            )
        first = db.execute(
            "SELECT probe_id, request_sha256, recorded_at FROM shard.attempts ORDER BY id LIMIT 1"
        ).fetchone()
        if first is None:
            return 0
        merged = db.execute(
            "SELECT 1 FROM main.attempts WHERE probe_id = ? AND request_sha256 = ?"
            " AND recorded_at = ? LIMIT 1",
            first,
        ).fetchone()
        if merged is not None:
            return 0
        _plan_positions(db, positions)
        db.execute("BEGIN IMMEDIATE")
        cursor = db.execute(
            f"INSERT INTO main.attempts ({columns}) SELECT {columns} FROM shard.attempts AS a"
            " LEFT JOIN temp.plan_position AS p USING (probe_id)"
            " ORDER BY p.position, a.id"
        )
        db.execute("COMMIT")
        return int(cursor.rowcount)
    except sqlite3.DatabaseError as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise EvidenceError(f"{shard}: cannot merge shard evidence ({exc})") from None
    finally:
        db.close()


def merge_shard_into(
    store: EvidenceStore,
    shard: str | Path,
    positions: pd.Series,
    *,
    spec_sha256: str,
    fresh: bool = False,
) -> int:
    """`merge_shard_evidence` into an open store of either kind; return how many attempts.

    Shards are always SQLite files (`EvidenceStore`, small and written on the worker); the
    run's evidence is whichever store it keeps. Into SQLite, the shard is appended with one
    SQL statement; into the columnar store (`ColumnarEvidenceStore`), its attempts become one
    part file, in the same plan order. ``fresh`` says the shard was just returned by a worker
    of this run, so it cannot have been merged already: the columnar store is then not
    searched for its first attempt (a search that reads every part file).
    """
    store.flush()
    if not isinstance(store, ColumnarEvidenceStore):
        return merge_shard_evidence(store.path, shard, positions, spec_sha256=spec_sha256)
    db = sqlite3.connect(f"file:{Path(shard)}?mode=ro", uri=True)
    try:
        found = db.execute("SELECT value FROM meta WHERE key = 'spec_sha256'").fetchone()
        if found is None or found[0] != spec_sha256:
            raise EvidenceError(
                SHARD_OTHER_SPEC.format(
                    path=shard, found=None if found is None else found[0], expected=spec_sha256
                )
            )
        rows = db.execute(f"SELECT id, {', '.join(_ATTEMPT_COLUMNS)} FROM attempts").fetchall()
    except sqlite3.DatabaseError as exc:
        raise EvidenceError(f"{shard}: cannot merge shard evidence ({exc})") from None
    finally:
        db.close()
    if not rows:
        return 0
    rows.sort(key=lambda row: row[0])
    first = rows[0]
    if not fresh and store.holds_attempt(first[1], first[2], first[-1]):
        return 0
    place = positions.to_dict()
    unplaced = -1  # as SQLite sorts NULL first: an attempt of a probe not in the plan
    rows.sort(key=lambda row: (place.get(row[1], unplaced), row[0]))
    at = 1 + _ATTEMPT_COLUMNS.index("items")
    batch = [(*row[1:at], *_loads(row[at : at + 3]), *row[at + 3 :]) for row in rows]
    store.append_batch(batch)
    return len(batch)


def shard_stop(shard: str | Path) -> str | None:
    """Why a shard's probing stopped early (the vendor down, say), as its evidence records."""
    db = sqlite3.connect(f"file:{Path(shard)}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'stopped'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise EvidenceError(f"{shard}: not readable as shard evidence ({exc})") from None
    finally:
        db.close()
    return None if row is None else str(row[0])
