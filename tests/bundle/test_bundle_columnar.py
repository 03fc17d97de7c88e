"""A run whose evidence is columnar gives the SQLite run's results, and bundles and verifies."""

import json
import sqlite3

import pytest
from bundles import small_spec

from auditkit import run_audit
from auditkit.bundle import verify_bundle, write_bundle
from auditkit.probes.columnar import PARTS_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("stores")
    for kind in ("sqlite", "parquet"):
        run_audit(small_spec(), out=root / kind, evidence_store=kind)
    return root


def test_results_are_byte_identical_whichever_store(runs):
    sqlite_run, parquet_run = runs / "sqlite", runs / "parquet"
    assert (parquet_run / PARTS_DIR).is_dir() and not (sqlite_run / PARTS_DIR).exists()
    results = "results.json"
    assert (parquet_run / results).read_bytes() == (sqlite_run / results).read_bytes()
    manifest = json.loads((parquet_run / "manifest.json").read_text())
    assert manifest["evidence_store"] == "parquet" and PARTS_DIR in manifest["files"]


def test_a_columnar_run_bundles_as_one_database_that_verifies(runs, tmp_path):
    bundle = write_bundle(runs / "parquet", tmp_path / "parquet.bundle.zip")
    checked = verify_bundle(bundle.path)
    assert checked.ok, [str(d) for d in checked.discrepancies]
    assert "results.json" in checked.recomputed
    with sqlite3.connect(runs / "sqlite" / "evidence.sqlite") as db:
        attempts = db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    assert checked.evidence_tables["attempts"] == attempts
    again = write_bundle(runs / "parquet", tmp_path / "again.bundle.zip")
    assert again.manifest_sha256 == bundle.manifest_sha256  # the same run, the same bundle


def test_a_resumed_run_keeps_its_store_and_a_conflicting_one_is_refused(runs):
    from auditkit.errors import EvidenceError

    with pytest.raises(EvidenceError, match="evidence is in the parquet store, not sqlite"):
        run_audit(small_spec(), out=runs / "parquet", resume=True, evidence_store="sqlite")
    result = run_audit(small_spec(), out=runs / "parquet", resume=True)
    assert (
        result.data_quality.attempts
        == json.loads((runs / "sqlite" / "results.json").read_text())["data_quality"]["attempts"]
    )
