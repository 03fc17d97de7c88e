"""The bundle stage's one error: a run or a file that cannot be bundled or read as a bundle.

A bundle that reads but disagrees with itself is no error: `verify_bundle` returns each
disagreement as a `Discrepancy`, and the command line exits 4 on any.
"""

from __future__ import annotations

from auditkit.errors import AuditkitError


class BundleError(AuditkitError):
    """A run directory cannot be bundled, or a file is not an auditkit bundle (exit 2)."""
