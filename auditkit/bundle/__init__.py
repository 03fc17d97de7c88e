"""Evidence bundles: one archive of a finished run that a third party verifies on its own.

`write_bundle` packs a run directory (spec, plan, evidence, results, reports, the shops'
catalogs) with ``bundle.json``, the SHA-256 of every member and the versions that bundled
it, optionally signed; `verify_bundle` checks every hash and recomputes the results from the
evidence alone, naming the member, row or JSON path of every difference. See docs/bundle.md.
"""

from auditkit.bundle._errors import BundleError
from auditkit.bundle._make import BUNDLE_SUFFIX, Bundle, default_bundle_path, write_bundle
from auditkit.bundle._manifest import (
    BUNDLE_MANIFEST,
    BUNDLE_SCHEMA,
    EVIDENCE_ROWS,
    SIGNATURE_FILE,
)
from auditkit.bundle._verify import Discrepancy, Verification, verify_bundle

__all__ = [
    "BUNDLE_MANIFEST",
    "BUNDLE_SCHEMA",
    "BUNDLE_SUFFIX",
    "EVIDENCE_ROWS",
    "SIGNATURE_FILE",
    "Bundle",
    "BundleError",
    "Discrepancy",
    "Verification",
    "default_bundle_path",
    "verify_bundle",
    "write_bundle",
]
