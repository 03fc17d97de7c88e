"""Helpers of the bundle tests: a small audit, and an attacker's tools to rewrite an archive.

The rewriting uses `zipfile` directly, not auditkit's own archive code: a tampered bundle is
made the way anyone could make one.
"""

import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path

import support

from auditkit import AuditSpec

PROBES = {
    "k": 5,
    "personas": [
        {"id": "fan", "categories": ["cat01"], "history_length": 3, "customers": 3},
        {"id": "newcomer", "history_length": 0, "customers": 2},
    ],
    "segments": {"age_band": ["18-34", "65+"]},
    "counterfactual": ["age_band"],
}
CLAIMS = {"data_pooled_across_shops": False, "explanations": True, "verification_customers": 2}


def small_spec(vendor: dict | None = None, **sections) -> AuditSpec:
    """A small audit of the simulated vendor on the built-in world (under a second)."""
    vendor = vendor or {"adapter": "simulated", "options": {"pooling": 0.8}}
    return AuditSpec.model_validate(
        support.spec_data("bundle test", vendor, PROBES, seed=3, claims=CLAIMS, **sections)
    )


def members(bundle: Path) -> dict[str, bytes]:
    """Every member of an archive, by name, in archive order."""
    with zipfile.ZipFile(bundle) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def repack(bundle: Path, target: Path, changes: dict[str, bytes | None]) -> Path:
    """A copy of ``bundle`` with some members' bytes replaced (None: the member removed)."""
    with zipfile.ZipFile(bundle) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in items:
            if info.filename in changes and changes[info.filename] is None:
                continue
            archive.writestr(info, changes.get(info.filename, data))
    return target


def with_manifest_hash(manifest: bytes, name: str, data: bytes) -> bytes:
    """``bundle.json`` rewritten to list ``data`` as member ``name``: a forged manifest."""
    document = json.loads(manifest)
    for member in document["members"]:
        if member["name"] == name:
            member["sha256"] = hashlib.sha256(data).hexdigest()
            member["bytes"] = len(data)
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def changed_answer(database: bytes, work: Path) -> tuple[bytes, int, str]:
    """The database with one item of the first usable answer replaced: (bytes, id, probe)."""
    path = work / "tampered.sqlite"
    path.write_bytes(database)
    db = sqlite3.connect(path)
    attempt, probe, items = db.execute(
        "SELECT id, probe_id, items FROM attempts WHERE status = 'ok' ORDER BY id LIMIT 1"
    ).fetchone()
    items = json.loads(items)
    items[0] = "not-an-item-the-vendor-sent"
    db.execute("UPDATE attempts SET items = ? WHERE id = ?", (json.dumps(items), attempt))
    db.commit()
    db.close()
    return path.read_bytes(), attempt, probe


def results_with(results: bytes, index: int, value: float) -> tuple[bytes, str]:
    """``results.json`` with metric ``index``'s value changed: (bytes, the metric's id)."""
    document = json.loads(results)
    document["metrics"][index]["value"] = value
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text.encode(), document["metrics"][index]["id"]
