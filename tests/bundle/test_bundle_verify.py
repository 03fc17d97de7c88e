"""`verify_bundle`: hashes, evidence rows, results and reports; every difference named."""

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pandas as pd
import pytest
from bundles import changed_answer, members, repack, results_with, with_manifest_hash

from auditkit.bundle import BundleError, verify_bundle
from auditkit.bundle._rows import ROW_CHANGED
from auditkit.bundle._verify import (
    MEMBER_MISSING,
    MEMBER_UNLISTED,
    NOT_A_BUNDLE,
    REPORT_FOLLOWS_RESULTS,
)


def named(checked):
    return [(d.member, d.where) for d in checked.discrepancies]


def test_an_untampered_bundle_verifies_byte_for_byte(bundle):
    checked = verify_bundle(bundle)
    assert checked.ok, [str(d) for d in checked.discrepancies]
    assert checked.recomputed == ("results.json", "report.html", "report.md")
    assert checked.members[0] == "spec.json" and "evidence.sqlite" in checked.members
    assert checked.evidence_tables["attempts"] > 0 and checked.evidence_tables["meta"] == 2
    assert checked.signature == "not signed"


def test_a_changed_evidence_row_is_named_by_attempt_and_probe(bundle, tmp_path):
    found = members(bundle)
    database, attempt, probe = changed_answer(found["evidence.sqlite"], tmp_path)
    tampered = repack(bundle, tmp_path / "t.zip", {"evidence.sqlite": database})
    checked = verify_bundle(tampered)
    assert not checked.ok
    first, row, results, *rest = checked.discrepancies
    assert (first.member, first.where) == ("evidence.sqlite", None)
    assert "bundle.json lists" in first.message
    assert (row.member, row.where) == (
        "evidence.sqlite",
        f"attempts row id {attempt}, probe_id {probe!r}",
    )
    assert row.message.startswith(ROW_CHANGED.split("(")[0])
    assert str(row).startswith(f"evidence.sqlite: attempts row id {attempt}, probe_id {probe!r}: ")
    # The results no longer follow from the evidence; the reports follow the bundled results.
    assert (results.member, results.where) == ("results.json", "$.audit.evidence_sha256")
    assert all(d.member in ("results.json", "report.html", "report.md") for d in rest)
    assert any(d.message.startswith("the evidence gives other numbers for ") for d in rest)
    for report in (d for d in rest if d.member.startswith("report.")):
        assert report.message == REPORT_FOLLOWS_RESULTS


def test_a_removed_evidence_row_is_named(bundle, tmp_path):
    import sqlite3

    path = tmp_path / "e.sqlite"
    path.write_bytes(members(bundle)["evidence.sqlite"])
    db = sqlite3.connect(path)
    attempt, probe = db.execute("SELECT id, probe_id FROM attempts ORDER BY id DESC").fetchone()
    db.execute("DELETE FROM attempts WHERE id = ?", (attempt,))
    db.commit()
    db.close()
    checked = verify_bundle(
        repack(bundle, tmp_path / "t.zip", {"evidence.sqlite": path.read_bytes()})
    )
    row = checked.discrepancies[1]
    assert (row.member, row.where) == (
        "evidence.sqlite",
        f"attempts row id {attempt}, probe_id {probe!r}",
    )
    assert row.message.startswith("is missing")


def test_a_changed_results_value_is_named_with_its_json_path(bundle, tmp_path):
    results, metric = results_with(members(bundle)["results.json"], 2, 0.123)
    checked = verify_bundle(repack(bundle, tmp_path / "t.zip", {"results.json": results}))
    assert named(checked) == [
        ("results.json", None),  # its hash
        ("results.json", f"$.metrics[2].value ({metric})"),  # what the evidence gives instead
    ]
    assert checked.discrepancies[1].message.startswith(
        "bundled 0.123, recomputed from the evidence "
    )


def test_a_forged_manifest_cannot_hide_a_changed_result(bundle, tmp_path):
    found = members(bundle)
    results, metric = results_with(found["results.json"], 0, 0.5)
    manifest = with_manifest_hash(found["bundle.json"], "results.json", results)
    changes = {"results.json": results, "bundle.json": manifest}
    checked = verify_bundle(repack(bundle, tmp_path / "t.zip", changes))
    # Every hash matches the forged manifest; the recomputation still catches it.
    assert named(checked) == [("results.json", f"$.metrics[0].value ({metric})")]


def test_a_changed_report_byte_is_named_with_its_line(bundle, tmp_path):
    report = members(bundle)["report.html"]
    at = report.index(b"<h1") + 2
    tampered = report[:at] + b"2" + report[at + 1 :]
    checked = verify_bundle(repack(bundle, tmp_path / "t.zip", {"report.html": tampered}))
    assert named(checked) == [("report.html", None), ("report.html", None)]
    line = report[:at].count(b"\n") + 1
    column = at - report.rfind(b"\n", 0, at)
    assert checked.discrepancies[1].message.startswith(
        "differs from the report re-rendered from the recomputed results at "
        f"line {line}, column {column}: bundled '"
    )


def test_a_changed_plan_is_named_by_row_and_column(bundle, tmp_path):
    plan = pd.read_parquet(io.BytesIO(members(bundle)["plan.parquet"]))
    plan.loc[3, "customer"] = "someone-else"
    buffer = io.BytesIO()
    plan.to_parquet(buffer, index=False)
    checked = verify_bundle(
        repack(bundle, tmp_path / "t.zip", {"plan.parquet": buffer.getvalue()})
    )
    assert [d.member for d in checked.discrepancies] == ["plan.parquet", "plan.parquet"]
    assert checked.discrepancies[1].message.startswith(
        f"row 3 (probe_id {plan.loc[3, 'probe_id']!r}) column 'customer' is 'someone-else'; "
    )


def test_a_missing_and_an_extra_member_are_named(bundle, tmp_path):
    tampered = repack(bundle, tmp_path / "t.zip", {"report.md": None})
    with zipfile.ZipFile(tampered, "a") as archive:
        archive.writestr("notes.txt", "added later")
    checked = verify_bundle(tampered)
    assert [str(d) for d in checked.discrepancies] == [
        f"report.md: {MEMBER_MISSING}",
        f"notes.txt: {MEMBER_UNLISTED}",
    ]


def test_a_damaged_manifest_stops_the_check_and_says_so(bundle, tmp_path):
    checked = verify_bundle(repack(bundle, tmp_path / "t.zip", {"bundle.json": b"{not json"}))
    assert [d.member for d in checked.discrepancies] == ["bundle.json"]
    assert "nothing else can be checked" in checked.discrepancies[0].message


def test_a_file_that_is_no_bundle_is_an_input_error(bundle, tmp_path):
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    with pytest.raises(BundleError, match="not a zip archive"):
        verify_bundle(not_zip)
    no_manifest = repack(bundle, tmp_path / "y.zip", {"bundle.json": None})
    with pytest.raises(BundleError) as caught:
        verify_bundle(no_manifest)
    assert str(caught.value) == NOT_A_BUNDLE.format(path=no_manifest)
    with pytest.raises(BundleError, match="got nothing there"):
        verify_bundle(tmp_path / "absent.zip")


@pytest.mark.slow
def test_an_untampered_bundle_verifies_on_another_machine(bundle, tmp_path):
    """Another folder, temp dir, hash seed and working directory; only the bundle file."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "tmp").mkdir(parents=True)
    copy = shutil.copy(bundle, elsewhere / "received.zip")
    env = {**os.environ, "TMPDIR": str(elsewhere / "tmp"), "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", "from auditkit.cli import main; main()", "verify", "received.zip"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()[-3:]
        == textwrap.dedent(
            """\
        recomputed from the evidence alone, byte for byte: results.json, report.html, report.md
        signature: not signed
        verified: received.zip
        """
        ).splitlines()
    )
    assert json.loads(members(copy)["bundle.json"])["schema"] == "auditkit.bundle/1"
