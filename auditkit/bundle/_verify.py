"""``auditkit verify``: a bundle checked against its manifest, then recomputed from its evidence.

Three layers, each naming what disagrees: every member's SHA-256 against ``bundle.json``
(and ``bundle.sig`` against a public key, when one is given); every row of the evidence
database against ``evidence.rows.jsonl``; then the results recomputed from the evidence
alone, with the same code a run uses and no vendor calls, against ``results.json``, and the
reports re-rendered from them against the bundled reports, byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from auditkit.api import Shops, evaluate, load_shops, plan_probes
from auditkit.api._run import PLAN_FILE, SPEC_COPY, _versions
from auditkit.bundle._archive import CHUNK
from auditkit.bundle._differences import (
    ABSENT,
    element_names,
    first_frame_difference,
    first_json_difference,
    first_text_difference,
    json_path,
)
from auditkit.bundle._errors import BundleError
from auditkit.bundle._make import OPINION_FILES, REPORT_FILES
from auditkit.bundle._manifest import (
    BUNDLE_MANIFEST,
    EVIDENCE_ROWS,
    SIGNATURE_FILE,
    Manifest,
    MemberHash,
    catalog_member,
    version_differences,
)
from auditkit.bundle._rows import (
    ROWS_NAMED,
    evidence_rows,
    parse_rows,
    row_differences,
    table_counts,
)
from auditkit.bundle._signing import load_public_key, signature_problem, signer
from auditkit.errors import AuditkitError
from auditkit.metrics.registry import METRICS
from auditkit.probes.evidence import EVIDENCE_FILE, EvidenceStore
from auditkit.reports import (
    MANIFEST_FILE,
    RESULTS_FILE,
    dumps_results,
    results_document,
    write_report,
)
from auditkit.results import AuditResult
from auditkit.spec import AuditSpec, spec_sha256, validate_document

NO_BUNDLE = "{path}: must be a bundle file; got {reason}"
NOT_A_ZIP = "{path}: not a bundle: not a zip archive ({reason})"
NOT_A_BUNDLE = "{path}: not an auditkit bundle: the archive has no bundle.json"
MANIFEST_UNREADABLE = "is not a bundle manifest ({reason}); nothing else can be checked"
MEMBER_MISSING = "is listed in bundle.json but is not in the archive"
MEMBER_UNLISTED = "is in the archive but not listed in bundle.json"
MEMBER_REPEATED = "is in the archive {count} times"
MEMBER_DAMAGED = "cannot be read from the archive ({reason})"
MEMBER_CHANGED = (
    "{size} bytes with sha256 {found}; bundle.json lists {expected_size} bytes with sha256 "
    "{expected}"
)
MEMBER_TOO_LONG = (
    "is more than 64 MiB longer than the {expected_size} bytes bundle.json lists; not unpacked"
)
# How much longer than listed a member may unpack to and still be compared (not a zip bomb).
SLACK = 64 << 20
ROWS_MORE = "and {count} more rows differ"
NOT_A_DATABASE = "is not readable as a database ({reason})"
NOT_SIGNED = "is missing: the bundle is not signed, and --public-key asks for a signature"
SPEC_INVALID = "is not a valid spec: {reason}"
UNKNOWN_METRIC = "names {metric!r}, which is not a metric of this auditkit ({version})"
CATALOG_MISSING = "is not in the bundle; shop {shop!r} of spec.json needs it"
PLAN_UNREADABLE = "is not readable as a probe plan ({reason})"
EVIDENCE_REFUSED = "cannot be opened as this spec's evidence: {reason}"
NOT_RECOMPUTED = "cannot be recomputed from the evidence: {reason}"
RESULTS_DIFFER = "bundled {bundled}, recomputed from the evidence {recomputed}"
VERDICTS_DIFFER = "the evidence gives other verdicts: {changes}"
ENTRIES_DIFFER = "the evidence gives other numbers for {entries}"
# Where results.json holds verdicts: (section, the key naming an entry, its verdict, in words).
VERDICT_SECTIONS = (
    ("metrics", "id", "verdict", "metric"),
    ("claims", "id", "verdict", "claim"),
    ("scores", "rubric", "letter", "score"),
)
RESULTS_NOT_JSON = "is not JSON ({reason}), so it cannot be the recomputed results"
RESULTS_FORMAT = (
    "differs from the recomputed results in its bytes at line {line}, column {column}, "
    "although every value is equal: {bundled!r} against {recomputed!r}"
)
REPORT_DIFFERS = (
    "differs from the report re-rendered from {source} at line {line}, column {column}: "
    "bundled {bundled!r}, re-rendered {rendered!r}"
)
REPORT_FOLLOWS_RESULTS = (
    "is what the bundled results.json renders to, not what the results recomputed from the "
    "evidence render to: it differs as results.json does"
)
NOT_RENDERED = "cannot be rendered into reports ({reason})"
NOT_BUNDLED = "is missing from the bundle, though {source} hold an audit opinion"
NOT_FROM_RESULTS = "is in the bundle, though {source} hold no audit opinion"
FROM_RECOMPUTED = "the recomputed results"
FROM_BUNDLED = "the bundled results.json (the results could not be recomputed)"
VERSIONS_DIFFER = (
    "this machine's versions differ from those in {member} ({differences}); a difference in "
    "the results may come from them"
)
# How long a value a message shows before it is cut.
SHOWN = 80


@dataclass(frozen=True)
class Discrepancy:
    """One way a bundle disagrees with itself: the member, where in it, and what differs."""

    member: str
    message: str
    where: str | None = None

    def __str__(self) -> str:
        if self.where is None:
            return f"{self.member}: {self.message}"
        return f"{self.member}: {self.where}: {self.message}"


@dataclass(frozen=True)
class Verification:
    """What `verify_bundle` found: every discrepancy, and what was checked."""

    bundle: Path
    discrepancies: tuple[Discrepancy, ...]
    members: tuple[str, ...] = ()
    evidence_tables: dict[str, int] = field(default_factory=dict)
    recomputed: tuple[str, ...] = ()
    signature: str = "not signed"
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the bundle agrees with itself in every member, row and byte."""
        return not self.discrepancies


def verify_bundle(bundle: str | Path, *, public_key: str | Path | None = None) -> Verification:
    """Check a bundle's hashes, then recompute its results from its evidence alone.

    Parameters
    ----------
    bundle
        An archive `write_bundle` wrote.
    public_key
        An Ed25519 public key (PEM): ``bundle.sig`` must then be its valid signature of
        ``bundle.json`` (the ``sign`` extra).

    Returns
    -------
    Verification
        ``ok`` when every member matches its hash, every evidence row its digest, and the
        results and reports recomputed from the evidence match the bundled ones byte for
        byte; otherwise each `Discrepancy` names the member and, for the evidence, the row
        and, for the results, the JSON path of the first differing value.

    Raises
    ------
    BundleError
        When the file is not there, is not a zip, or holds no ``bundle.json``; or the public
        key is unreadable or the ``sign`` extra is missing.
    """
    path = Path(bundle)
    key = load_public_key(Path(public_key)) if public_key is not None else None
    if not path.is_file():
        reason = "nothing there" if not path.exists() else "a directory"
        raise BundleError(NO_BUNDLE.format(path=path, reason=reason))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(NOT_A_ZIP.format(path=path, reason=exc)) from None
    with archive, tempfile.TemporaryDirectory(prefix="auditkit-verify-") as work:
        if BUNDLE_MANIFEST not in archive.namelist():
            raise BundleError(NOT_A_BUNDLE.format(path=path))
        return _Check(path, archive, Path(work), key).run()


def _shown(value: Any) -> str:
    """A JSON value as a message shows it, cut at `SHOWN` characters."""
    text = str(value) if value is ABSENT else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


class _Check:
    """One verification's state: the archive, the folder it is unpacked into, what it found."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, work: Path, key: Any) -> None:
        self.path = path
        self.archive = archive
        self.work = work
        self.key = key
        self.found: list[Discrepancy] = []
        self.notes: list[str] = []
        self.extracted: set[str] = set()
        self.recomputed: list[str] = []
        self.tables: dict[str, int] = {}
        self.signature = "not signed"

    def problem(self, member: str, message: str, where: str | None = None) -> None:
        """Record one discrepancy."""
        self.found.append(Discrepancy(member, message, where))

    def result(self, manifest: Manifest | None) -> Verification:
        """What was found, as the `Verification` the caller gets."""
        return Verification(
            bundle=self.path,
            discrepancies=tuple(self.found),
            members=tuple(manifest.names()) if manifest is not None else (),
            evidence_tables=self.tables,
            recomputed=tuple(self.recomputed),
            signature=self.signature,
            notes=tuple(self.notes),
        )

    def run(self) -> Verification:
        """Every check in turn: the manifest, the signature, the members, the rows, the results."""
        try:
            text = self.archive.read(BUNDLE_MANIFEST)
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:
            self.problem(BUNDLE_MANIFEST, MEMBER_DAMAGED.format(reason=exc))
            return self.result(None)
        try:
            manifest = Manifest.parse(text)
        except ValueError as exc:
            self.problem(BUNDLE_MANIFEST, MANIFEST_UNREADABLE.format(reason=exc))
            return self.result(None)
        self.check_signature(text)
        self.check_members(manifest)
        self.check_rows()
        self.recompute()
        self.note_versions()
        return self.result(manifest)

    def check_signature(self, manifest: bytes) -> None:
        """``bundle.sig`` against the public key given; without one, only who says it signed."""
        signature = None
        if SIGNATURE_FILE in self.archive.namelist():
            try:
                signature = self.archive.read(SIGNATURE_FILE)
            except (zipfile.BadZipFile, zlib.error, OSError) as exc:
                self.problem(SIGNATURE_FILE, MEMBER_DAMAGED.format(reason=exc))
                return
        if self.key is None:
            if signature is not None:
                try:
                    self.signature = (
                        f"not checked: signed with key {signer(signature)}; pass --public-key"
                    )
                except ValueError as exc:
                    self.problem(SIGNATURE_FILE, str(exc))
            return
        if signature is None:
            self.problem(SIGNATURE_FILE, NOT_SIGNED)
            return
        problem = signature_problem(manifest, signature, self.key)
        if problem is not None:
            self.problem(SIGNATURE_FILE, problem)
        else:
            self.signature = f"valid: signed with key {signer(signature)}"

    def check_members(self, manifest: Manifest) -> None:
        """Each listed member unpacked and hashed; each repeated or unlisted one named."""
        counts = Counter(self.archive.namelist())
        for name, count in sorted(counts.items()):
            if count > 1:
                self.problem(name, MEMBER_REPEATED.format(count=count))
        listed = set(manifest.names()) | {BUNDLE_MANIFEST, SIGNATURE_FILE}
        for member in manifest.members:
            if member.name not in counts:
                self.problem(member.name, MEMBER_MISSING)
            else:
                self.extract(member)
        for name in sorted(counts.keys() - listed):
            self.problem(name, MEMBER_UNLISTED)

    def extract(self, member: MemberHash) -> None:
        """Unpack one member while hashing it, reading at most `SLACK` more than listed."""
        target = self.work / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size, limit = hashlib.sha256(), 0, member.bytes + SLACK
        try:
            with self.archive.open(member.name) as source, target.open("wb") as out:
                while chunk := source.read(min(CHUNK, limit + 1 - size)):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    if size > limit:
                        self.problem(
                            member.name, MEMBER_TOO_LONG.format(expected_size=member.bytes)
                        )
                        return
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            self.problem(member.name, MEMBER_DAMAGED.format(reason=exc))
            return
        self.extracted.add(member.name)
        found = digest.hexdigest()
        if found != member.sha256 or size != member.bytes:
            self.problem(
                member.name,
                MEMBER_CHANGED.format(
                    size=size, found=found, expected_size=member.bytes, expected=member.sha256
                ),
            )

    def check_rows(self) -> None:
        """Every row of the evidence database against its digest in ``evidence.rows.jsonl``."""
        if not {EVIDENCE_FILE, EVIDENCE_ROWS} <= self.extracted:
            return
        try:
            found = evidence_rows(self.work / EVIDENCE_FILE)
        except sqlite3.DatabaseError as exc:
            self.problem(EVIDENCE_FILE, NOT_A_DATABASE.format(reason=exc))
            return
        try:
            expected = parse_rows((self.work / EVIDENCE_ROWS).read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            self.problem(EVIDENCE_ROWS, str(exc))
            return
        self.tables = table_counts(found)
        differences = row_differences(expected, found)
        for where, message in differences[:ROWS_NAMED]:
            self.problem(EVIDENCE_FILE, message, where)
        if len(differences) > ROWS_NAMED:
            self.problem(EVIDENCE_FILE, ROWS_MORE.format(count=len(differences) - ROWS_NAMED))

    def load_spec(self) -> AuditSpec | None:
        """``spec.json`` validated, with metric ids this auditkit knows; None if it is not."""
        try:
            document = json.loads((self.work / SPEC_COPY).read_text(encoding="utf-8"))
            audit = validate_document(document, AuditSpec, file=SPEC_COPY, lines={})
        except (UnicodeDecodeError, json.JSONDecodeError, AuditkitError) as exc:
            self.problem(SPEC_COPY, SPEC_INVALID.format(reason=exc))
            return None
        unknown = [name for name in audit.metrics or {} if name not in METRICS]
        for name in unknown:
            self.problem(SPEC_COPY, UNKNOWN_METRIC.format(metric=name, version=_auditkit()))
        return None if unknown else audit

    def shops_of(self, audit: AuditSpec) -> Shops | None:
        """The spec's shops, their catalogs read from the bundle (the world: regenerated)."""
        if audit.shops is None:
            return load_shops(audit)
        shops = []
        for shop in audit.shops:
            name = catalog_member(shop.id, shop.catalog)
            if name not in self.extracted:
                self.problem(name, CATALOG_MISSING.format(shop=shop.id))
                return None
            shops.append(shop.model_copy(update={"catalog": Path(name)}))
        bundled = audit.model_copy(update={"shops": shops}).with_base_dir(self.work)
        return load_shops(bundled)

    def recompute(self) -> None:
        """Recompute the results from the evidence, then re-render the reports from them."""
        text = self.recompute_results()
        self.check_reports(text)

    def recompute_results(self) -> str | None:
        """The results recomputed from the evidence, compared with ``results.json``."""
        needed = {SPEC_COPY, PLAN_FILE, EVIDENCE_FILE, RESULTS_FILE}
        if not needed <= self.extracted:
            return None
        audit = self.load_spec()
        if audit is None:
            return None
        try:
            shops = self.shops_of(audit)
        except AuditkitError as exc:
            self.problem("catalogs", NOT_RECOMPUTED.format(reason=exc))
            return None
        if shops is None:
            return None
        try:
            plan = plan_probes(audit, shops)
        except AuditkitError as exc:
            self.problem(SPEC_COPY, NOT_RECOMPUTED.format(reason=exc))
            return None
        self.check_plan(plan)
        evidence = self.work / EVIDENCE_FILE
        try:
            store = EvidenceStore(evidence, spec_sha256=spec_sha256(audit))
        except AuditkitError as exc:
            reason = str(exc).removeprefix(f"{evidence}: ")
            self.problem(EVIDENCE_FILE, EVIDENCE_REFUSED.format(reason=reason))
            return None
        try:
            with store:
                result: AuditResult = evaluate(audit, plan, store, shops)
        # Tampered evidence can break any stage in its own way (an items cell that is not
        # JSON, a list where a number was): a verification reports it, never crashes on it.
        except Exception as exc:
            self.problem(
                RESULTS_FILE, NOT_RECOMPUTED.format(reason=f"{type(exc).__name__}: {exc}")
            )
            return None
        text = dumps_results(results_document(result))
        self.compare_results(text)
        return text

    def check_plan(self, designed: pd.DataFrame) -> None:
        """The bundled plan against the plan the spec designs over the bundled shops."""
        try:
            bundled = pd.read_parquet(self.work / PLAN_FILE)
        except (OSError, ValueError) as exc:
            self.problem(PLAN_FILE, PLAN_UNREADABLE.format(reason=exc))
            return
        buffer = io.BytesIO()
        designed.to_parquet(buffer, index=False)  # as a run writes it, so the types agree
        buffer.seek(0)
        difference = first_frame_difference(bundled, pd.read_parquet(buffer), key="probe_id")
        if difference is not None:
            self.problem(PLAN_FILE, difference)

    def compare_results(self, recomputed: str) -> None:
        """``results.json`` against the recomputed text: the first differing value's path."""
        raw = (self.work / RESULTS_FILE).read_bytes()
        if raw == recomputed.encode("utf-8"):
            self.recomputed.append(RESULTS_FILE)
            return
        try:
            bundled_text = raw.decode("utf-8")
            bundled = json.loads(bundled_text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.problem(RESULTS_FILE, RESULTS_NOT_JSON.format(reason=exc))
            return
        mine = json.loads(recomputed)
        found = first_json_difference(bundled, mine)
        if found is None:
            line, column, a, b = first_text_difference(bundled_text, recomputed) or (0, 0, "", "")
            self.problem(
                RESULTS_FILE,
                RESULTS_FORMAT.format(line=line, column=column, bundled=a, recomputed=b),
            )
            return
        path, a, b = found
        names = element_names(mine, path)
        where = json_path(path) + (f" ({', '.join(names)})" if names else "")
        self.problem(
            RESULTS_FILE, RESULTS_DIFFER.format(bundled=_shown(a), recomputed=_shown(b)), where
        )
        entries = changed_entries(bundled, mine)
        inside = len(path) > 1 and path[0] in dict.fromkeys(e[0] for e in VERDICT_SECTIONS)
        if entries and not (len(entries) == 1 and inside):
            self.problem(RESULTS_FILE, ENTRIES_DIFFER.format(entries="; ".join(entries)))
        changes = verdict_changes(bundled, mine)
        if changes:
            self.problem(RESULTS_FILE, VERDICTS_DIFFER.format(changes="; ".join(changes)))

    def render(self, results: str, folder: str) -> Path | None:
        """Render every report of ``results`` (with the bundled manifest) into ``folder``."""
        rendered = self.work / folder
        rendered.mkdir()
        (rendered / RESULTS_FILE).write_text(results, encoding="utf-8")
        shutil.copyfile(self.work / MANIFEST_FILE, rendered / MANIFEST_FILE)
        try:
            write_report(rendered)
        except (AuditkitError, ValueError, KeyError, TypeError) as exc:
            self.problem(RESULTS_FILE, NOT_RENDERED.format(reason=exc))
            return None
        return rendered

    def check_reports(self, recomputed: str | None) -> None:
        """Each bundled report against the one rendered from the recomputed results.

        A report that differs from it but is what the bundled ``results.json`` renders to is
        named as following that file: the difference lies upstream, in the results. Without
        recomputed results, the reports are checked against the bundled ``results.json``.
        """
        known = (*REPORT_FILES, *OPINION_FILES)
        reports = [name for name in known if name in self.extracted]
        if (
            not reports
            or MANIFEST_FILE not in self.extracted
            or RESULTS_FILE not in self.extracted
        ):
            return
        bundled_results = (self.work / RESULTS_FILE).read_text(encoding="utf-8", errors="replace")
        source, text = FROM_RECOMPUTED, recomputed
        if text is None:
            source, text = FROM_BUNDLED, bundled_results
        rendered = self.render(text, "rendered")
        if rendered is None:
            return
        upstream: Path | None = None
        for name in known:
            made = (rendered / name).is_file()
            # A missing report is the member check's to name; an opinion is bundled only
            # when the results hold one, so its presence is checked against them here.
            if name in OPINION_FILES and made != (name in self.extracted):
                message = NOT_BUNDLED if made else NOT_FROM_RESULTS
                self.problem(name, message.format(source=source))
                continue
            if not made or name not in self.extracted:
                continue
            bundled = (self.work / name).read_bytes()
            mine = (rendered / name).read_bytes()
            if bundled == mine:
                if source == FROM_RECOMPUTED:
                    self.recomputed.append(name)
                continue
            if source == FROM_RECOMPUTED and RESULTS_FILE not in self.recomputed:
                upstream = upstream or self.render(bundled_results, "rendered-bundled")
                if upstream is not None and (upstream / name).read_bytes() == bundled:
                    self.problem(name, REPORT_FOLLOWS_RESULTS)
                    continue
            found = first_text_difference(
                bundled.decode("utf-8", errors="replace"), mine.decode("utf-8")
            )
            line, column, a, b = found or (0, 0, "", "")
            self.problem(
                name,
                REPORT_DIFFERS.format(
                    source=source, line=line, column=column, bundled=a, rendered=b
                ),
            )

    def note_versions(self) -> None:
        """Say which versions here differ from those the run computed with (``manifest.json``)."""
        here = _versions()
        recorded: dict[str, Any] = {}
        if MANIFEST_FILE in self.extracted:
            try:
                recorded = json.loads((self.work / MANIFEST_FILE).read_text()).get("versions", {})
            except (ValueError, AttributeError):
                recorded = {}
        differences = version_differences({str(k): str(v) for k, v in recorded.items()}, here)
        if differences:
            self.notes.append(
                VERSIONS_DIFFER.format(member=MANIFEST_FILE, differences=differences)
            )


def _verdicts(document: Any, section: str, key: str, value: str) -> dict[str, str]:
    return {name: str(e.get(value)) for name, e in _entries(document, section, key).items()}


def _entries(document: Any, section: str, key: str) -> dict[str, Any]:
    entries = document.get(section) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return {}
    return {str(e.get(key)): e for e in entries if isinstance(e, dict) and key in e}


def changed_entries(bundled: Any, recomputed: Any) -> list[str]:
    """Per section, the metrics, claims and scores whose entries the recomputation changes."""
    out = []
    for section, key, _, _ in VERDICT_SECTIONS:
        before, after = _entries(bundled, section, key), _entries(recomputed, section, key)
        names = [n for n in sorted(before.keys() | after.keys()) if before.get(n) != after.get(n)]
        if names:
            out.append(f"{len(names)} of {len(after)} {section} ({', '.join(names)})")
    return out


def verdict_changes(bundled: Any, recomputed: Any) -> list[str]:
    """Each metric or claim verdict, and each score letter, that the recomputation changes."""
    changes = []
    for section, key, value, kind in VERDICT_SECTIONS:
        before = _verdicts(bundled, section, key, value)
        after = _verdicts(recomputed, section, key, value)
        for name in sorted(before.keys() | after.keys()):
            was, now = before.get(name, "absent"), after.get(name, "absent")
            if was != now:
                changes.append(f"{kind} {name}: bundled {was}, recomputed {now}")
    return changes


def _auditkit() -> str:
    return f"auditkit {_versions().get('auditkit', 'unknown')}"
