"""``auditkit bundle``: a finished run directory packed into one archive that stands alone."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from auditkit.api import read_spec
from auditkit.api._run import BUSY, LOCK_FILE, PLAN_FILE, SPEC_COPY
from auditkit.bundle._archive import Member, sha256_of, write_archive
from auditkit.bundle._errors import BundleError
from auditkit.bundle._manifest import (
    BUNDLE_MANIFEST,
    EVIDENCE_ROWS,
    SIGNATURE_FILE,
    Manifest,
    MemberHash,
    bundle_versions,
    catalog_member,
)
from auditkit.bundle._rows import evidence_rows, rows_text, snapshot_evidence, table_counts
from auditkit.bundle._secrets import credential_names, credential_values, secret_in
from auditkit.bundle._signing import require_signing, sign_manifest, signer
from auditkit.probes.evidence import EVIDENCE_FILE
from auditkit.probes.stores import open_evidence
from auditkit.reports import (
    MANIFEST_FILE,
    MARKDOWN_OPINION_FILE,
    MARKDOWN_REPORT_FILE,
    OPINION_FILE,
    REPORT_FILE,
    RESULTS_FILE,
    read_results,
    report_files,
)
from auditkit.spec import AuditSpec, spec_sha256, validate_document

BUNDLE_SUFFIX = ".bundle.zip"
REPORT_FILES = (REPORT_FILE, MARKDOWN_REPORT_FILE)
# Written and bundled only for results that hold an audit opinion; they follow the reports.
OPINION_FILES = (OPINION_FILE, MARKDOWN_OPINION_FILE)
# The run's own files, in the order the archive holds them (catalogs come last).
RUN_FILES = (SPEC_COPY, PLAN_FILE, EVIDENCE_FILE, RESULTS_FILE, *REPORT_FILES, MANIFEST_FILE)
NOT_A_RUN = "{run_dir}: must be a run directory; got {reason}"
MISSING_FILES = (
    "{run_dir}: has no {names}; bundle a finished run (`auditkit run SPEC --out DIR` writes "
    "them all)"
)
UNREADABLE_SPEC_COPY = "{run_dir}/spec.json: not readable as the run's spec ({reason})"
OTHER_RESULTS = (
    "{run_dir}/results.json: computed for another spec (spec_sha256 {found}); spec.json "
    "hashes to {expected}"
)
NEEDS_SPEC = (
    "{run_dir}: shops[{index}].catalog {path!r} is relative to the spec file, which the run "
    "directory does not record; pass --spec with the spec file that made this run"
)
OTHER_SPEC_FILE = (
    "--spec: {path} is not the spec of this run (it hashes to {found}; the run's spec.json "
    "to {expected})"
)
MISSING_CATALOG = "shops[{index}].catalog: {path} must be a catalog file; got nothing there"
OUT_IS_A_RUN_FILE = "--out: {path} is a file of the run itself; choose another path"
NO_LOCK = "{run_dir}: cannot take the run directory's lock ({reason}); bundle a writable copy"
SECRET_FOUND = (
    "{member}: holds the value of ${{{name}}}, a credential the spec names; no bundle was "
    "written. Remove the value from the run (the evidence store redacts credentials as it "
    "records them) or unset ${{{name}}} if it is not the credential the run used"
)


@dataclass(frozen=True)
class Bundle:
    """A bundle written: where it is, its members, its manifest's SHA-256 and its signer."""

    path: Path
    members: tuple[str, ...]
    manifest_sha256: str
    signed_by: str | None


def default_bundle_path(run_dir: str | Path) -> Path:
    """``runs/demo`` -> ``runs/demo.bundle.zip``: beside the run directory, named after it."""
    resolved = Path(run_dir).resolve()
    return resolved.with_name(resolved.name + BUNDLE_SUFFIX)


def write_bundle(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    spec: str | Path | None = None,
    sign_key: str | Path | None = None,
    key_password: bytes | None = None,
) -> Bundle:
    """Pack a finished run into one deterministic zip that `verify_bundle` can check.

    Parameters
    ----------
    run_dir
        A run directory `run_audit` finished (``spec.json``, ``plan.parquet``,
        ``evidence.sqlite``, ``results.json``, the reports and ``manifest.json``).
    out
        The archive to write (default: `default_bundle_path`); replaced whole.
    spec
        The spec file that made the run: needed when it names shops' catalogs by paths
        relative to itself, so they can be copied in. Must hash as the run's spec.
    sign_key
        An Ed25519 private key (PEM) to sign ``bundle.json`` with (the ``sign`` extra).
    key_password
        The key's password, if it is encrypted.

    Raises
    ------
    BundleError
        When the run is unfinished, in use, inconsistent, or a member would carry a
        credential the spec names.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        reason = "nothing there" if not run_dir.exists() else "a file"
        raise BundleError(NOT_A_RUN.format(run_dir=run_dir, reason=reason))
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise BundleError(MISSING_FILES.format(run_dir=run_dir, names=", ".join(missing)))
    path = default_bundle_path(run_dir) if out is None else Path(out)
    if path.resolve() in {(run_dir / name).resolve() for name in RUN_FILES}:
        raise BundleError(OUT_IS_A_RUN_FILE.format(path=path))
    if sign_key is not None:
        require_signing("--sign-key")  # before any work: the extra may be missing
    lock = FileLock(run_dir / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise BundleError(BUSY.format(path=run_dir, lock=LOCK_FILE)) from None
    except OSError as exc:
        raise BundleError(NO_LOCK.format(run_dir=run_dir, reason=exc)) from None
    try:
        with tempfile.TemporaryDirectory(prefix="auditkit-bundle-") as work:
            return _write_locked(run_dir, path, Path(work), spec, sign_key, key_password)
    finally:
        lock.release()


def _spec_copy(run_dir: Path) -> tuple[Any, AuditSpec]:
    """The run's ``spec.json``, parsed and validated."""
    try:
        document = json.loads((run_dir / SPEC_COPY).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(UNREADABLE_SPEC_COPY.format(run_dir=run_dir, reason=exc)) from None
    return document, validate_document(document, AuditSpec, file=SPEC_COPY, lines={})


def _catalogs(
    run_dir: Path, audit: AuditSpec, spec_file: str | Path | None
) -> list[tuple[str, Path]]:
    """Each shop's catalog: its member name and its file, found beside the spec that named it."""
    source = audit
    if spec_file is not None:
        source = read_spec(spec_file)
        found, expected = spec_sha256(source), spec_sha256(audit)
        if found != expected:
            raise BundleError(
                OTHER_SPEC_FILE.format(path=spec_file, found=found, expected=expected)
            )
    members = []
    for index, shop in enumerate(audit.shops or []):
        if not shop.catalog.is_absolute() and spec_file is None:
            raise BundleError(
                NEEDS_SPEC.format(run_dir=run_dir, index=index, path=str(shop.catalog))
            )
        path = source.resolve_path(shop.catalog)
        if not path.is_file():
            raise BundleError(MISSING_CATALOG.format(index=index, path=path))
        members.append((catalog_member(shop.id, shop.catalog), path))
    return members


def _write_locked(
    run_dir: Path,
    path: Path,
    work: Path,
    spec_file: str | Path | None,
    sign_key: str | Path | None,
    key_password: bytes | None,
) -> Bundle:
    """`write_bundle` once the run directory's lock is held."""
    document, audit = _spec_copy(run_dir)
    digest = spec_sha256(audit)
    results = read_results(run_dir)
    found = results["audit"].get("spec_sha256")
    if found != digest:
        raise BundleError(OTHER_RESULTS.format(run_dir=run_dir, found=found, expected=digest))
    opinion = [name for name in report_files(results) if name in OPINION_FILES]
    missing = [name for name in opinion if not (run_dir / name).is_file()]
    if missing:
        raise BundleError(MISSING_FILES.format(run_dir=run_dir, names=", ".join(missing)))
    at = RUN_FILES.index(MARKDOWN_REPORT_FILE) + 1
    run_files = (*RUN_FILES[:at], *opinion, *RUN_FILES[at:])
    catalogs = _catalogs(run_dir, audit, spec_file)
    with open_evidence(run_dir, spec_sha256=digest):
        pass  # the evidence is readable and was recorded for this spec
    snapshot = work / EVIDENCE_FILE
    snapshot_evidence(run_dir / EVIDENCE_FILE, snapshot)
    rows = evidence_rows(snapshot)
    members = []
    for name in run_files:
        if name == EVIDENCE_FILE:
            members += [Member(name, snapshot), Member(EVIDENCE_ROWS, rows_text(rows))]
            continue
        copy = work / name  # copied first: hashed and packed from the same bytes
        shutil.copyfile(run_dir / name, copy)
        members.append(Member(name, copy))
    for name, source in catalogs:
        copy = work / name
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, copy)
        members.append(Member(name, copy))
    values = credential_values(credential_names(document))
    for member in members:
        leaked = secret_in(member, values)
        if leaked is not None:
            raise BundleError(SECRET_FOUND.format(member=member.name, name=leaked))
    manifest = Manifest(
        tuple(MemberHash(m.name, m.size, sha256_of(m)) for m in members),
        bundle_versions(),
        table_counts(rows),
    ).dumps()
    head = [Member(BUNDLE_MANIFEST, manifest)]
    signed_by: str | None = None
    if sign_key is not None:
        signature = sign_manifest(manifest, Path(sign_key), password=key_password)
        head.append(Member(SIGNATURE_FILE, signature))
        signed_by = signer(signature)
    archive = head + members
    write_archive(path, archive)
    return Bundle(
        path=path,
        members=tuple(m.name for m in archive),
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        signed_by=signed_by,
    )
