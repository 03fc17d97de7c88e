"""``bundle.json``: the SHA-256 of every member, and the versions of the software that bundled.

It is the bundle's root of trust: every other member is checked against it, and a signature
(``bundle.sig``) signs its exact bytes.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from auditkit.api._run import _versions
from auditkit.bundle._archive import is_member_name

BUNDLE_MANIFEST = "bundle.json"
BUNDLE_SCHEMA = "auditkit.bundle/1"
SIGNATURE_FILE = "bundle.sig"
EVIDENCE_ROWS = "evidence.rows.jsonl"
CATALOG_FOLDER = "catalogs"
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class MemberHash:
    """A member's name, length and SHA-256, as the manifest lists it."""

    name: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What ``bundle.json`` holds: the members' hashes, the versions, the evidence's tables."""

    members: tuple[MemberHash, ...]
    versions: dict[str, str]
    tables: dict[str, int]

    def dumps(self) -> bytes:
        """The manifest's bytes: sorted keys, two-space indent, members in archive order."""
        document = {
            "schema": BUNDLE_SCHEMA,
            "members": [
                {"name": m.name, "bytes": m.bytes, "sha256": m.sha256} for m in self.members
            ],
            "versions": self.versions,
            "evidence_tables": self.tables,
        }
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def parse(cls, text: bytes) -> Manifest:
        """Read ``bundle.json``; `ValueError` says what is wrong with it."""
        try:
            document = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not JSON ({exc})") from None
        if not isinstance(document, dict) or document.get("schema") != BUNDLE_SCHEMA:
            raise ValueError(f"schema is not {BUNDLE_SCHEMA}")
        members = document.get("members")
        if not isinstance(members, list) or not members:
            raise ValueError("members must be a non-empty list")
        parsed = tuple(_member(i, m) for i, m in enumerate(members))
        names = [m.name for m in parsed]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"members lists {repeated} more than once")
        versions = document.get("versions")
        tables = document.get("evidence_tables")
        if not isinstance(versions, dict) or not isinstance(tables, dict):
            raise ValueError("versions and evidence_tables must be objects")
        return cls(
            parsed,
            {str(k): str(v) for k, v in versions.items()},
            {str(k): int(v) for k, v in tables.items()},
        )

    def names(self) -> list[str]:
        """The members' names, in archive order."""
        return [m.name for m in self.members]


def _member(index: int, data: Any) -> MemberHash:
    """One entry of ``members``, checked: a safe name, a length, a SHA-256 in hex."""
    where = f"members[{index}]"
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object; got {data!r}")
    name, size, digest = data.get("name"), data.get("bytes"), data.get("sha256")
    if not isinstance(name, str) or not is_member_name(name):
        raise ValueError(f"{where}.name must be a member name (no '..', no '/' at the start)")
    if name in (BUNDLE_MANIFEST, SIGNATURE_FILE):
        raise ValueError(f"{where}.name must not be {name}, which the manifest cannot hash")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"{where}.bytes must be a length in bytes; got {size!r}")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise ValueError(f"{where}.sha256 must be 64 lowercase hex digits; got {digest!r}")
    return MemberHash(name, size, digest)


def bundle_versions() -> dict[str, str]:
    """The versions of auditkit, of every dependency it declares, of Python, SQLite and zlib.

    Starts from what a run records in ``manifest.json``, then adds each package auditkit
    declares (its ``Requires-Dist``, extras left out), the SQLite library, whose version is
    written into the evidence database's header, and zlib, which deflates the archive.
    """
    found = dict(_versions())
    for requirement in metadata.requires("auditkit") or []:
        _, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = _REQUIREMENT_NAME.match(requirement)
        if match is None:
            continue
        name = match.group(0).lower()
        try:
            found.setdefault(name, metadata.version(name))
        except metadata.PackageNotFoundError:
            found.setdefault(name, "not installed")
    found["sqlite"] = sqlite3.sqlite_version
    found["zlib"] = zlib.ZLIB_RUNTIME_VERSION  # deflates the archive's members
    return dict(sorted(found.items()))


def version_differences(recorded: dict[str, str], current: dict[str, str]) -> str:
    """``numpy 2.4.6 here, 2.3.0 in the bundle; ...`` for every version that differs."""
    return "; ".join(
        f"{name} {mine} here, {recorded[name]} in the bundle"
        for name, mine in sorted(current.items())
        if name in recorded and recorded[name] != mine
    )


def catalog_member(shop_id: str, catalog: Path) -> str:
    """The member holding a shop's catalog: ``catalogs/<shop id><the file's suffix>``."""
    return f"{CATALOG_FOLDER}/{shop_id}{catalog.suffix.lower()}"
