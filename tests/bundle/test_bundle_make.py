"""`write_bundle`: the run's files and a manifest of hashes, in bytes that depend on no more."""

import hashlib
import json
import os
import shutil
import sqlite3
import zipfile

import pytest
import yaml
from bundles import members, small_spec
from filelock import FileLock
from support import make_catalog

from auditkit import run_audit
from auditkit.api._run import BUSY, LOCK_FILE
from auditkit.bundle import BundleError, default_bundle_path, verify_bundle, write_bundle
from auditkit.bundle._make import MISSING_FILES, NEEDS_SPEC, OTHER_SPEC_FILE, OUT_IS_A_RUN_FILE
from auditkit.bundle._rows import evidence_rows
from auditkit.probes import EvidenceStore
from auditkit.spec import spec_sha256

RUN_MEMBERS = [
    "bundle.json",
    "spec.json",
    "plan.parquet",
    "evidence.sqlite",
    "evidence.rows.jsonl",
    "results.json",
    "report.html",
    "report.md",
    "manifest.json",
]


def test_bundle_holds_the_run_and_the_hash_of_every_member(run_dir, bundle):
    found = members(bundle)
    assert list(found) == RUN_MEMBERS
    manifest = json.loads(found["bundle.json"])
    assert manifest["schema"] == "auditkit.bundle/1"
    listed = {m["name"]: m for m in manifest["members"]}
    assert list(listed) == RUN_MEMBERS[1:]
    for name, data in found.items():
        if name != "bundle.json":
            assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest(), name
            assert listed[name]["bytes"] == len(data), name
    for name in ("spec.json", "plan.parquet", "results.json", "report.html", "manifest.json"):
        assert found[name] == (run_dir / name).read_bytes(), name
    versions = manifest["versions"]
    run_versions = json.loads((run_dir / "manifest.json").read_text())["versions"]
    assert run_versions.items() <= versions.items()  # what a run records, and more
    for name in ("auditkit", "python", "numpy", "pandas", "pyarrow", "pydantic", "sqlite", "zlib"):
        assert versions[name] not in ("", "not installed"), name
    rows = found["evidence.rows.jsonl"].decode().splitlines()
    assert len(rows) == sum(manifest["evidence_tables"].values())
    assert manifest["evidence_tables"]["attempts"] > 0


def test_members_carry_fixed_times_and_permissions(bundle):
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
            assert info.external_attr >> 16 == 0o100644, info.filename
            assert info.create_system == 3, info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename


def test_same_run_dir_bundled_twice_gives_the_same_bytes(run_dir, bundle, tmp_path):
    again = write_bundle(run_dir, tmp_path / "again.zip").path
    assert again.read_bytes() == bundle.read_bytes()
    # A copy elsewhere, its files touched and opened again as a resumed run opens them.
    copy = shutil.copytree(run_dir, tmp_path / "elsewhere" / "copy")
    for path in copy.iterdir():
        os.utime(path, (1_000_000_000, 1_000_000_000))
        path.chmod(0o600)
    with EvidenceStore(copy / "evidence.sqlite", spec_sha256=spec_sha256(small_spec())):
        pass
    assert write_bundle(copy, tmp_path / "copy.zip").path.read_bytes() == bundle.read_bytes()


def test_evidence_still_in_the_write_ahead_log_is_bundled_the_same(run_dir, bundle, tmp_path):
    copy = shutil.copytree(run_dir, tmp_path / "live")
    writer = sqlite3.connect(copy / "evidence.sqlite", isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        # A row written and taken back: the pages go to the log, the main file keeps the old.
        writer.execute("INSERT INTO meta (key, value) VALUES ('passing', 'through')")
        writer.execute("DELETE FROM meta WHERE key = 'passing'")
        assert (copy / "evidence.sqlite-wal").stat().st_size > 0
        made = write_bundle(copy, tmp_path / "live.zip").path
        assert made.read_bytes() == bundle.read_bytes()
        # A row only the log holds is in the bundle: the log is folded in, not left behind.
        writer.execute("INSERT INTO meta (key, value) VALUES ('only_in_the_log', 'yes')")
        assert b"only_in_the_log" not in (copy / "evidence.sqlite").read_bytes()
        later = members(write_bundle(copy, tmp_path / "later.zip").path)
    finally:
        writer.close()
    assert b'"names":[["key","only_in_the_log"]]' in later["evidence.rows.jsonl"]


def test_evidence_member_is_a_compact_copy_with_the_same_rows(run_dir, bundle, tmp_path):
    database = tmp_path / "evidence.sqlite"
    database.write_bytes(members(bundle)["evidence.sqlite"])
    assert evidence_rows(database) == evidence_rows(run_dir / "evidence.sqlite")
    header = database.read_bytes()[:100]
    assert header[18:20] == b"\x01\x01"  # a rollback journal: opening it needs no -wal file
    assert int.from_bytes(header[36:40], "big") == 0  # no free pages


def test_default_bundle_sits_beside_the_run_dir(run_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(run_dir)
    assert default_bundle_path(".") == run_dir.with_name(run_dir.name + ".bundle.zip")


def test_a_bundle_never_overwrites_a_file_of_its_run(run_dir):
    before = (run_dir / "results.json").read_bytes()
    with pytest.raises(BundleError) as caught:
        write_bundle(run_dir, run_dir / "results.json")
    assert str(caught.value) == OUT_IS_A_RUN_FILE.format(path=run_dir / "results.json")
    assert (run_dir / "results.json").read_bytes() == before


def test_a_run_dir_in_use_is_not_bundled(run_dir, tmp_path):
    lock = FileLock(run_dir / LOCK_FILE, timeout=0)
    with lock, pytest.raises(BundleError) as caught:
        write_bundle(run_dir, tmp_path / "busy.zip")
    assert str(caught.value) == BUSY.format(path=run_dir, lock=LOCK_FILE)
    assert not (tmp_path / "busy.zip").exists()


def test_an_unfinished_run_is_not_bundled(run_dir, tmp_path):
    copy = shutil.copytree(run_dir, tmp_path / "unfinished")
    (copy / "results.json").unlink()
    (copy / "report.md").unlink()
    with pytest.raises(BundleError) as caught:
        write_bundle(copy, tmp_path / "unfinished.zip")
    assert str(caught.value) == MISSING_FILES.format(run_dir=copy, names="results.json, report.md")


@pytest.fixture(scope="module")
def catalog_run(tmp_path_factory):
    """A run over two shops' own CSV catalogs, named relative to the spec file."""
    root = tmp_path_factory.mktemp("catalog_run")
    (root / "catalogs").mkdir()
    shops = []
    for shop, shared in (("teahouse", 25), ("leafco", 20)):
        make_catalog(shop, 40, shared).to_csv(root / "catalogs" / f"{shop}.csv", index=False)
        shops.append({"id": shop, "catalog": f"catalogs/{shop}.csv"})
    document = {
        "auditkit": 1,
        "name": "own catalogs",
        "seed": 5,
        "shops": shops,
        "vendor": {"adapter": "simulated", "options": {"pooling": 0.5}},
        "probes": {
            "k": 5,
            "personas": [{"id": "fan", "categories": ["cat1"], "history_length": 3}],
        },
        "inference": {"n_resamples": 100},
    }
    spec_file = root / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(document))
    run_audit(spec_file, out=root / "run")
    return root, spec_file, document


def test_catalog_paths_relative_to_the_spec_need_the_spec_file(catalog_run, tmp_path):
    root, _, _ = catalog_run
    with pytest.raises(BundleError) as caught:
        write_bundle(root / "run", tmp_path / "b.zip")
    assert str(caught.value) == NEEDS_SPEC.format(
        run_dir=root / "run", index=0, path="catalogs/teahouse.csv"
    )


def test_another_spec_file_is_refused(catalog_run, tmp_path):
    root, _, document = catalog_run
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**document, "seed": 6}))
    shutil.copytree(root / "catalogs", tmp_path / "catalogs")
    with pytest.raises(BundleError) as caught:
        write_bundle(root / "run", tmp_path / "b.zip", spec=other)
    assert str(caught.value).startswith(OTHER_SPEC_FILE.split("{found}")[0].format(path=other))


def test_catalogs_are_copied_in_so_the_bundle_stands_alone(catalog_run, tmp_path):
    root, spec_file, _ = catalog_run
    made = write_bundle(root / "run", tmp_path / "own.zip", spec=spec_file).path
    found = members(made)
    assert list(found)[-2:] == ["catalogs/teahouse.csv", "catalogs/leafco.csv"]
    for shop in ("teahouse", "leafco"):
        assert found[f"catalogs/{shop}.csv"] == (root / "catalogs" / f"{shop}.csv").read_bytes()
    # Neither the catalogs nor the run directory are needed to verify it.
    moved = shutil.move(root, tmp_path / "gone")
    try:
        checked = verify_bundle(made)
    finally:
        shutil.move(moved, root)
    assert checked.ok, [str(d) for d in checked.discrepancies]
    assert "catalogs/leafco.csv" in checked.members


def test_a_changed_catalog_is_named_and_changes_the_results(catalog_run, tmp_path):
    from bundles import repack

    root, spec_file, _ = catalog_run
    made = write_bundle(root / "run", tmp_path / "own.zip", spec=spec_file).path
    text = members(made)["catalogs/leafco.csv"].decode()
    header, first, *rest = text.splitlines(keepends=True)
    swapped = first.replace(",cat0,", ",cat1,") if ",cat0," in first else first
    assert swapped != first
    tampered = repack(
        made,
        tmp_path / "t.zip",
        {"catalogs/leafco.csv": (header + swapped + "".join(rest)).encode()},
    )
    named = {d.member for d in verify_bundle(tampered).discrepancies}
    assert "catalogs/leafco.csv" in named
    assert named & {"plan.parquet", "results.json"}
