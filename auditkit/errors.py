"""The one exception tree of auditkit; only the CLI maps it to exit codes.

::

    AuditkitError
    ├── SpecError          a spec (or rubric) file is malformed; carries every located issue
    ├── CatalogError       a shop catalog is missing, unreadable or violates its schema
    ├── DesignError        the probe design cannot be built from these shops and catalogs
    ├── VendorError        a vendor could not be built or configured (not a failed request)
    ├── EvidenceError      the evidence store is unreadable or belongs to another spec
    ├── ResultsError       a run directory has no readable results to render
    └── ClusterError       a Dask cluster cannot be used (not installed, unreachable, no workers)
"""

from __future__ import annotations

from dataclasses import dataclass

# The one message of a bad argument or option, wherever it is checked (metrics, world, vendors).
INVALID_ARGUMENT = "{where}: {key} must be {rule}; got {value!r}"


def invalid_argument(where: object, key: str, rule: str, value: object) -> str:
    """`INVALID_ARGUMENT` filled in: who checked, which key, the rule it broke, what it got."""
    return INVALID_ARGUMENT.format(where=where, key=key, rule=rule, value=value)


class AuditkitError(Exception):
    """Base of every error auditkit raises on purpose."""


@dataclass(frozen=True)
class SpecIssue:
    """One located problem in a spec file: ``file:line key.path: message``."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(AuditkitError):
    """A spec file failed to parse or validate; ``issues`` lists every problem found."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class CatalogError(AuditkitError):
    """A shop catalog is missing, unreadable, or violates the catalog schema."""


class DesignError(AuditkitError):
    """The probe design cannot be built from the audit's shops and catalogs."""


class VendorError(AuditkitError):
    """A vendor adapter could not be built from its spec."""


class EvidenceError(AuditkitError):
    """The evidence store cannot be used for this run."""


class ResultsError(AuditkitError):
    """A run directory holds no readable results."""


class ClusterError(AuditkitError):
    """A run cannot use the Dask cluster it names (Dask missing, no scheduler, no workers)."""
