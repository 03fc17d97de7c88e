"""Secrets never enter a bundle: the evidence redacts them, and the bundle checks again."""

import base64
import json
import shutil
import sqlite3
import zipfile

import pytest
import support
from bundles import members, small_spec

from auditkit import run_audit
from auditkit.api import load_shops
from auditkit.bundle import BundleError, verify_bundle, write_bundle
from auditkit.bundle._archive import CHUNK, Member
from auditkit.bundle._make import SECRET_FOUND
from auditkit.bundle._secrets import (
    ADDRESS_LENGTH,
    credential_names,
    credential_values,
    secret_in,
)
from auditkit.world import Faults, SimulatedVendor, running_server, vendor_app

SECRET_ENV = "AKT_BUNDLE_VENDOR_KEY"
SECRET = "planted-secret-4b7e21"


def http_vendor(url: str) -> dict:
    retries = {"max_attempts": 8, "backoff_seconds": 0.01, "max_backoff_seconds": 0.1}
    return support.served_vendor(url, secret_env=SECRET_ENV, retries=retries)


@pytest.fixture(scope="module")
def http_run(tmp_path_factory):
    """An audit over HTTP of a vendor that wants the key and echoes it in every answer."""
    reference = small_spec()
    shops = load_shops(reference)
    vendor = SimulatedVendor(
        shops.catalogs, seed=reference.seed, signatures=shops.signatures(), pooling=0.8
    )
    faults = Faults(seed=2, echo_credentials=True, error_rate=0.2)
    out = tmp_path_factory.mktemp("http") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, SECRET)
        with running_server(vendor_app(vendor, faults=faults, api_key=SECRET)) as url:
            result = run_audit(small_spec(http_vendor(url)), out=out)
    assert result.data_quality.probes_answered == result.data_quality.probes_planned
    return out


@pytest.mark.slow
def test_a_bundle_of_an_http_audit_holds_no_trace_of_the_key(http_run, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)  # the bundle is made where the key is set
    bundle = write_bundle(http_run, tmp_path / "http.zip").path
    forms = [SECRET, json.dumps(SECRET)[1:-1], base64.b64encode(SECRET.encode()).decode()]
    raw = bundle.read_bytes()
    found = members(bundle)
    for form in forms:
        assert form.encode() not in raw
        for name, data in found.items():
            assert form.encode() not in data, name
    with zipfile.ZipFile(bundle) as archive:
        assert SECRET.encode() not in archive.comment
    # The spec keeps the variable's name; the vendor's echo is there, redacted.
    assert "${" + SECRET_ENV + "}" in found["spec.json"].decode()
    database = tmp_path / "evidence.sqlite"
    database.write_bytes(found["evidence.sqlite"])
    db = sqlite3.connect(database)
    echoed = db.execute("SELECT COUNT(*) FROM attempts WHERE raw LIKE '%Bearer ***%'").fetchone()
    db.close()
    assert echoed[0] > 0
    # It verifies with no vendor, no server and no key.
    monkeypatch.delenv(SECRET_ENV)
    checked = verify_bundle(bundle)
    assert checked.ok, [str(d) for d in checked.discrepancies]


@pytest.mark.slow
def test_a_key_that_reached_a_run_file_stops_the_bundle(http_run, tmp_path, monkeypatch):
    copy = shutil.copytree(http_run, tmp_path / "leaky")
    db = sqlite3.connect(copy / "evidence.sqlite")
    db.execute("UPDATE attempts SET raw = ? WHERE id = 1", (json.dumps({"echo": SECRET}),))
    db.commit()
    db.close()
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with pytest.raises(BundleError) as caught:
        write_bundle(copy, tmp_path / "leaky.zip")
    assert str(caught.value) == SECRET_FOUND.format(member="evidence.sqlite", name=SECRET_ENV)
    assert not (tmp_path / "leaky.zip").exists()


def test_credential_names_are_the_variables_the_spec_reads():
    document = {
        "vendor": {
            "url": "https://${VENDOR_HOST}:${VENDOR_PORT}/v1/{tenant_id}",
            "headers": {"Authorization": "Bearer ${VENDOR_KEY}", "X-Tenant": "${TENANT}"},
            "query": {"sig": "a${SIGNING_SECRET}b"},
            "options": {"api_key_env": "PY_VENDOR_KEY", "note": "costs $5, {k} items"},
        },
        "name": "not ${a variable",
    }
    names = credential_names(document)
    assert names == {
        "PY_VENDOR_KEY": 1,
        "SIGNING_SECRET": 1,
        "TENANT": 1,
        "VENDOR_HOST": ADDRESS_LENGTH,
        "VENDOR_KEY": 1,
        "VENDOR_PORT": ADDRESS_LENGTH,
    }
    environ = {"VENDOR_HOST": "vendor.internal.example", "VENDOR_PORT": "8765", "TENANT": "t"}
    # A port's digits are not searched: they turn up in any table of numbers.
    assert set(credential_values(names, environ)) == {"VENDOR_HOST", "TENANT"}


def test_a_secret_is_found_across_a_chunk_boundary_and_as_escaped_in_json():
    values = credential_values({"KEY": 1, "UNSET": 1}, {"KEY": 'to"ken\\x'})
    assert set(values) == {"KEY"}
    escaped = json.dumps('to"ken\\x')[1:-1].encode()
    straddling = b"a" * (CHUNK - 3) + escaped + b"b" * 10
    assert secret_in(Member("big", straddling), values) == "KEY"
    assert secret_in(Member("plain", b'xx to"ken\\x yy'), values) == "KEY"
    assert secret_in(Member("clean", b"a" * (CHUNK + 10)), values) is None
    assert secret_in(Member("none asked", b"anything"), {}) is None
