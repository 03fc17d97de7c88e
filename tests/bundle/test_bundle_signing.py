"""Signing bundle.json with an Ed25519 key (the sign extra), and checking the signature."""

import sys

import pytest
from bundles import members, repack, results_with, with_manifest_hash

from auditkit.bundle import BundleError, verify_bundle, write_bundle
from auditkit.bundle._signing import BAD_SIGNATURE, NEEDS_EXTRA, NOT_A_KEY, OTHER_KEY
from auditkit.bundle._verify import NOT_SIGNED

crypto = pytest.importorskip("cryptography.hazmat.primitives")  # CI installs the extra
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa  # noqa: E402


def write_key(folder, name, *, password=None):
    """A new Ed25519 key pair as PEM files: (private, public, fingerprint)."""
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    private = folder / f"{name}.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
    )
    public = folder / f"{name}.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    import hashlib

    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, public, "sha256:" + hashlib.sha256(raw).hexdigest()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    return write_key(folder, "auditor"), write_key(folder, "someone_else")


@pytest.fixture(scope="module")
def signed(run_dir, keys, tmp_path_factory):
    (private, _, _), _ = keys
    return write_bundle(run_dir, tmp_path_factory.mktemp("signed") / "s.zip", sign_key=private)


def test_a_signed_bundle_verifies_with_its_public_key(signed, keys):
    (_, public, fingerprint), _ = keys
    assert signed.signed_by == fingerprint
    assert list(members(signed.path))[:2] == ["bundle.json", "bundle.sig"]
    checked = verify_bundle(signed.path, public_key=public)
    assert checked.ok, [str(d) for d in checked.discrepancies]
    assert checked.signature == f"valid: signed with key {fingerprint}"


def test_signing_keeps_the_bundle_reproducible(run_dir, signed, keys, tmp_path):
    (private, _, _), _ = keys
    again = write_bundle(run_dir, tmp_path / "again.zip", sign_key=private)
    assert again.path.read_bytes() == signed.path.read_bytes()


def test_without_a_public_key_the_signature_is_named_not_checked(signed, keys):
    (_, _, fingerprint), _ = keys
    checked = verify_bundle(signed.path)
    assert checked.ok
    assert checked.signature == f"not checked: signed with key {fingerprint}; pass --public-key"


def test_another_key_is_named(signed, keys):
    (_, _, fingerprint), (_, other, other_fingerprint) = keys
    checked = verify_bundle(signed.path, public_key=other)
    assert [str(d) for d in checked.discrepancies] == [
        "bundle.sig: " + OTHER_KEY.format(found=fingerprint, expected=other_fingerprint)
    ]


def test_a_manifest_changed_after_signing_breaks_the_signature(signed, keys, tmp_path):
    (_, public, _), _ = keys
    found = members(signed.path)
    results, metric = results_with(found["results.json"], 1, 0.25)
    changes = {
        "results.json": results,
        "bundle.json": with_manifest_hash(found["bundle.json"], "results.json", results),
    }
    checked = verify_bundle(repack(signed.path, tmp_path / "t.zip", changes), public_key=public)
    assert [(d.member, d.where) for d in checked.discrepancies] == [
        ("bundle.sig", None),
        ("results.json", f"$.metrics[1].value ({metric})"),
    ]
    assert checked.discrepancies[0].message == BAD_SIGNATURE


def test_an_unsigned_bundle_fails_when_a_signature_is_asked_for(bundle, keys):
    (_, public, _), _ = keys
    checked = verify_bundle(bundle, public_key=public)
    assert [str(d) for d in checked.discrepancies] == [f"bundle.sig: {NOT_SIGNED}"]


def test_an_encrypted_key_needs_its_password(run_dir, tmp_path):
    private, public, fingerprint = write_key(tmp_path, "locked", password=b"open sesame")
    with pytest.raises(BundleError) as caught:
        write_bundle(run_dir, tmp_path / "b.zip", sign_key=private)
    no_password = NOT_A_KEY.split("{reason}")[0]
    assert str(caught.value).startswith(
        no_password.format(option="--sign-key", path=private, kind="private")
    )
    made = write_bundle(run_dir, tmp_path / "b.zip", sign_key=private, key_password=b"open sesame")
    assert made.signed_by == fingerprint
    assert verify_bundle(made.path, public_key=public).ok


def test_a_key_of_another_kind_is_refused(run_dir, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "rsa.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(BundleError) as caught:
        write_bundle(run_dir, tmp_path / "b.zip", sign_key=private)
    assert str(caught.value) == NOT_A_KEY.format(
        option="--sign-key", path=private, kind="private", reason="RSAPrivateKey"
    )


def test_without_the_extra_signing_says_how_to_install_it(
    run_dir, bundle, keys, tmp_path, monkeypatch
):
    (private, public, _), _ = keys
    for name in [n for n in sys.modules if n.startswith("cryptography")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the package were not installed
    with pytest.raises(BundleError) as caught:
        write_bundle(run_dir, tmp_path / "b.zip", sign_key=private)
    assert str(caught.value) == NEEDS_EXTRA.format(option="--sign-key")
    assert not (tmp_path / "b.zip").exists()
    with pytest.raises(BundleError) as caught:
        verify_bundle(bundle, public_key=public)
    assert str(caught.value) == NEEDS_EXTRA.format(option="--public-key")
    assert verify_bundle(bundle).ok  # unsigned work needs no extra
