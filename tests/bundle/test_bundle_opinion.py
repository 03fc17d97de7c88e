"""A suite's run bundles its audit opinion and suite record; verify re-renders both."""

import json

import pytest
from bundles import members, repack, small_spec, with_manifest_hash

from auditkit import run_audit
from auditkit.bundle import verify_bundle, write_bundle
from auditkit.bundle._verify import FROM_RECOMPUTED, NOT_BUNDLED

SUITE = {
    "id": "regulator",
    "version": 1,
    "purpose": "a small stand-in for the regulator suite",
    "obligations": ["dsa_art34_35", "nyc_ll144"],
}


@pytest.fixture(scope="module")
def suite_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "suite"
    run_audit(small_spec(suite=SUITE), out=out)
    return write_bundle(out, tmp_path_factory.mktemp("bundle") / "suite.bundle.zip").path


def named(checked):
    return [(d.member, d.where) for d in checked.discrepancies]


def test_the_opinion_is_bundled_after_the_reports_and_recomputed(suite_bundle):
    names = list(members(suite_bundle))
    at = names.index("report.md")
    assert names[at + 1 : at + 4] == ["opinion.html", "opinion.md", "manifest.json"]
    checked = verify_bundle(suite_bundle)
    assert checked.ok, [str(d) for d in checked.discrepancies]
    assert checked.recomputed == (
        "results.json",
        "report.html",
        "report.md",
        "opinion.html",
        "opinion.md",
    )
    results = json.loads(members(suite_bundle)["results.json"])
    # The small design is not the regulator suite's: recorded as modified, reproduced as such.
    assert results["audit"]["suite"]["unmodified"] is False
    assert "probes.personas" in results["audit"]["suite"]["modified"]
    assert [o["id"] for o in results["obligations"]] == SUITE["obligations"]


def test_a_changed_opinion_byte_is_named(suite_bundle, tmp_path):
    page = members(suite_bundle)["opinion.md"]
    at = page.index(b"## 6.") + 3
    tampered = page[:at] + b"7" + page[at + 1 :]
    checked = verify_bundle(repack(suite_bundle, tmp_path / "t.zip", {"opinion.md": tampered}))
    assert named(checked) == [("opinion.md", None), ("opinion.md", None)]


def test_an_opinion_removed_with_its_manifest_entry_is_named(suite_bundle, tmp_path):
    found = members(suite_bundle)
    manifest = json.loads(found["bundle.json"])
    manifest["members"] = [m for m in manifest["members"] if m["name"] != "opinion.html"]
    forged = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    changes = {"opinion.html": None, "bundle.json": forged}
    checked = verify_bundle(repack(suite_bundle, tmp_path / "t.zip", changes))
    assert [str(d) for d in checked.discrepancies] == [
        "opinion.html: " + NOT_BUNDLED.format(source=FROM_RECOMPUTED)
    ]


def test_a_suite_record_claimed_unmodified_is_named(suite_bundle, tmp_path):
    found = members(suite_bundle)
    results = json.loads(found["results.json"])
    results["audit"]["suite"]["unmodified"] = True
    results["audit"]["suite"]["modified"] = []
    text = (json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    manifest = with_manifest_hash(found["bundle.json"], "results.json", text)
    changes = {"results.json": text, "bundle.json": manifest}
    checked = verify_bundle(repack(suite_bundle, tmp_path / "t.zip", changes))
    wheres = [d.where for d in checked.discrepancies if d.member == "results.json"]
    assert "$.audit.suite.modified[0]" in wheres[0]
