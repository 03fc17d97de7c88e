"""Which evidence store a run keeps: SQLite alone, or Parquet attempts beside it, by size.

Small runs keep everything in ``evidence.sqlite``: one file, readable with any SQLite tool.
From `COLUMNAR_FROM_PROBES` probes on, the attempts go to Parquet batches instead
(`ColumnarEvidenceStore`), where writing and reading them back cost a fraction of what
SQLite rows and their JSON lists do. A run directory keeps the store it started with: a
resumed run reopens it whatever the choice, and the results do not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from auditkit.errors import EvidenceError
from auditkit.probes.columnar import ColumnarEvidenceStore, parts_dir
from auditkit.probes.evidence import EVIDENCE_FILE, EvidenceStore

STORES: dict[str, type[EvidenceStore]] = {
    EvidenceStore.kind: EvidenceStore,
    ColumnarEvidenceStore.kind: ColumnarEvidenceStore,
}
"""The evidence stores by name."""
AUTO = "auto"
STORE_CHOICES: tuple[str, ...] = (AUTO, *STORES)
"""What ``--evidence-store`` accepts: a store's name, or ``auto`` to choose by plan size."""
COLUMNAR_FROM_PROBES = 100_000
"""Plans of at least this many probes keep their attempts in Parquet (``auto``)."""
UNKNOWN_STORE = "evidence store must be one of {valid}; got {value!r}"
OTHER_STORE = (
    "{path}: this run's evidence is in the {found} store, not {asked}; resume it without "
    "choosing a store, or start the {asked} store in a new directory"
)


def choose_store(store: str, *, probes: int) -> str:
    """The store a new run of ``probes`` probes keeps: ``store``, or by size for ``auto``."""
    if store not in STORE_CHOICES:
        raise ValueError(UNKNOWN_STORE.format(valid=list(STORE_CHOICES), value=store))
    if store != AUTO:
        return store
    return ColumnarEvidenceStore.kind if probes >= COLUMNAR_FROM_PROBES else EvidenceStore.kind


def existing_store(run_dir: str | Path) -> str | None:
    """The store a run directory's evidence is kept in, or None when it has none yet."""
    evidence = Path(run_dir) / EVIDENCE_FILE
    if parts_dir(evidence).is_dir():
        return ColumnarEvidenceStore.kind
    if not evidence.exists():
        return None
    return EvidenceStore.kind


def open_evidence(
    run_dir: str | Path,
    *,
    spec_sha256: str,
    secrets: Sequence[str] = (),
    store: str = AUTO,
    probes: int = 0,
) -> EvidenceStore:
    """Open a run directory's evidence in the store it has, or create it in the one chosen.

    Parameters
    ----------
    run_dir
        The run directory (``evidence.sqlite`` and, for the columnar store,
        ``evidence.attempts/``).
    spec_sha256, secrets
        As for `EvidenceStore`.
    store
        ``auto`` (by ``probes``, see `choose_store`), ``sqlite`` or ``parquet``. Evidence
        already there keeps its store; naming another is refused.
    probes
        How many probes the plan has, for ``auto``.

    Raises
    ------
    EvidenceError
        When the evidence is damaged, was recorded for another spec, or is in another store
        than ``store`` names.
    """
    if store not in STORE_CHOICES:
        raise ValueError(UNKNOWN_STORE.format(valid=list(STORE_CHOICES), value=store))
    path = Path(run_dir) / EVIDENCE_FILE
    found = existing_store(run_dir)
    if found is not None and store not in (AUTO, found):
        raise EvidenceError(OTHER_STORE.format(path=path, found=found, asked=store))
    kind = found or choose_store(store, probes=probes)
    return STORES[kind](path, spec_sha256=spec_sha256, secrets=secrets)
