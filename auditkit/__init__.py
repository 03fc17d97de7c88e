"""auditkit: audit third-party recommendation vendors from the outside.

Measures whether a vendor makes client shops converge, leans on trending items, or steers
customer segments differently, and writes the evidence and a readable report.
"""

from auditkit.api import compute_metrics, evaluate, read_spec, run_audit
from auditkit.errors import (
    AuditkitError,
    CatalogError,
    ClusterError,
    EvidenceError,
    ResultsError,
    SpecError,
    SpecIssue,
    VendorError,
)
from auditkit.reports import load_run
from auditkit.results import AuditResult, DataQuality, MetricResult, Threshold
from auditkit.spec import AuditSpec, load_spec, spec_json_schema
from auditkit.tables import AuditTables, build_tables
from auditkit.vendors import RecommendRequest, RecommendResponse, Vendor

__version__ = "0.1.0"

__all__ = [
    "AuditResult",
    "AuditSpec",
    "AuditTables",
    "AuditkitError",
    "CatalogError",
    "ClusterError",
    "DataQuality",
    "EvidenceError",
    "MetricResult",
    "RecommendRequest",
    "RecommendResponse",
    "ResultsError",
    "SpecError",
    "SpecIssue",
    "Threshold",
    "Vendor",
    "VendorError",
    "__version__",
    "build_tables",
    "compute_metrics",
    "evaluate",
    "load_run",
    "load_spec",
    "read_spec",
    "run_audit",
    "spec_json_schema",
]
