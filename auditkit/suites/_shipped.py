"""The standard suites installed with auditkit: their ids, their files and their specs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from auditkit.errors import SpecError, SpecIssue
from auditkit.spec import AuditSpec, load_spec

# The suites' files, by id (each file's own ``suite.id`` is the same: a test checks it).
SUITE_FILES: dict[str, str] = {
    "smb_vetting": "smb_vetting.yaml",
    "cooperative": "cooperative.yaml",
    "regulator": "regulator.yaml",
}
UNKNOWN_SUITE = "{name!r} is not a standard suite; the suites are: {valid}"


def suite_ids() -> tuple[str, ...]:
    """The ids of the standard suites, in the order `auditkit suites` lists them."""
    return tuple(SUITE_FILES)


def suite_path(suite_id: str) -> Path:
    """The installed file of suite ``suite_id``; `SpecError` listing the suites otherwise."""
    if suite_id not in SUITE_FILES:
        message = UNKNOWN_SUITE.format(name=suite_id, valid=", ".join(SUITE_FILES))
        raise SpecError([SpecIssue("suite", None, "", message)])
    return Path(str(resources.files("auditkit.suites").joinpath(SUITE_FILES[suite_id])))


def suite_text(suite_id: str) -> str:
    """The suite's YAML as shipped, comments and all: what `auditkit init` writes."""
    return suite_path(suite_id).read_text(encoding="utf-8")


def load_suite(suite_id: str) -> AuditSpec:
    """The suite's spec as shipped (validated as `auditkit validate` validates a file)."""
    return load_spec(suite_path(suite_id))
