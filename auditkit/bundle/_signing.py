"""Signing ``bundle.json`` with Ed25519 keys, through the `cryptography` package.

Optional: the ``sign`` extra (``pip install 'auditkit[sign]'``) brings the package in; without
it, bundles are made and verified unsigned and asking to sign or to check a signature says
how to install it. The signature covers the manifest's exact bytes, and the manifest holds
every other member's SHA-256, so one signature covers the whole bundle. Ed25519 signatures
are deterministic: a signed bundle is as reproducible as an unsigned one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from auditkit.bundle._errors import BundleError

SIGNATURE_SCHEMA = "auditkit.signature/1"
ALGORITHM = "ed25519"
NEEDS_EXTRA = (
    "{option}: signing needs the 'sign' extra (the cryptography package); install it with "
    "pip install 'auditkit[sign]'"
)
NOT_A_KEY = "{option}: {path} must be an Ed25519 {kind} key in PEM; got {reason}"
SIGNATURE_UNREADABLE = "is not an auditkit signature ({reason})"
OTHER_KEY = "was made with key {found}, not with the --public-key given ({expected})"
BAD_SIGNATURE = "does not match bundle.json: the manifest changed after it was signed"


def _crypto(option: str) -> Any:
    """The `cryptography` modules signing needs, or a `BundleError` saying how to get them."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise BundleError(NEEDS_EXTRA.format(option=option)) from None
    return serialization, ed25519


def require_signing(option: str) -> None:
    """Raise a `BundleError` saying how to install the ``sign`` extra, if it is missing."""
    _crypto(option)


def key_fingerprint(raw_public_key: bytes) -> str:
    """``sha256:<hex>`` of a raw 32-byte Ed25519 public key: how messages name a key."""
    return "sha256:" + hashlib.sha256(raw_public_key).hexdigest()


def _raw(public_key: Any, serialization: Any) -> bytes:
    return bytes(
        public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def sign_manifest(manifest: bytes, key_file: Path, *, password: bytes | None = None) -> bytes:
    """``bundle.sig``: the Ed25519 signature of ``manifest`` with the private key in PEM."""
    option = "--sign-key"
    serialization, ed25519 = _crypto(option)
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=password)
    except (OSError, ValueError, TypeError) as exc:
        raise BundleError(
            NOT_A_KEY.format(option=option, path=key_file, kind="private", reason=exc)
        ) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BundleError(
            NOT_A_KEY.format(
                option=option, path=key_file, kind="private", reason=type(key).__name__
            )
        )
    raw = _raw(key.public_key(), serialization)
    document = {
        "schema": SIGNATURE_SCHEMA,
        "algorithm": ALGORITHM,
        "signs": "bundle.json",
        "key": key_fingerprint(raw),
        "public_key": base64.b64encode(raw).decode("ascii"),
        "signature": base64.b64encode(key.sign(manifest)).decode("ascii"),
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def signer(signature_file: bytes) -> str:
    """The fingerprint of the key a ``bundle.sig`` says it was made with (unchecked)."""
    return str(_read_signature(signature_file)["key"])


def _read_signature(signature_file: bytes) -> dict[str, Any]:
    try:
        document = json.loads(signature_file.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(SIGNATURE_UNREADABLE.format(reason=exc)) from None
    if (
        not isinstance(document, dict)
        or document.get("schema") != SIGNATURE_SCHEMA
        or document.get("algorithm") != ALGORITHM
        or not isinstance(document.get("key"), str)
        or not isinstance(document.get("signature"), str)
    ):
        raise ValueError(
            SIGNATURE_UNREADABLE.format(reason=f"schema must be {SIGNATURE_SCHEMA}, {ALGORITHM}")
        )
    return document


def load_public_key(key_file: Path) -> Any:
    """The Ed25519 public key in a PEM file, or a `BundleError` naming the file."""
    option = "--public-key"
    serialization, ed25519 = _crypto(option)
    try:
        key = serialization.load_pem_public_key(key_file.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise BundleError(
            NOT_A_KEY.format(option=option, path=key_file, kind="public", reason=exc)
        ) from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise BundleError(
            NOT_A_KEY.format(
                option=option, path=key_file, kind="public", reason=type(key).__name__
            )
        )
    return key


def signature_problem(manifest: bytes, signature_file: bytes, public_key: Any) -> str | None:
    """What is wrong with ``bundle.sig`` for ``manifest`` and ``public_key``; None if valid."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    try:
        document = _read_signature(signature_file)
        signature = base64.b64decode(document["signature"], validate=True)
    except ValueError as exc:
        return str(exc)
    expected = key_fingerprint(_raw(public_key, serialization))
    if document["key"] != expected:
        return OTHER_KEY.format(found=document["key"], expected=expected)
    try:
        public_key.verify(signature, manifest)
    except InvalidSignature:
        return BAD_SIGNATURE
    return None
