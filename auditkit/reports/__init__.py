"""Reports: ``results.json`` (machine-readable) and ``report.html`` (for people)."""

from auditkit.reports._html import (
    MANIFEST_FILE,
    REPORT_FILE,
    build_report,
    render_html,
    write_report,
)
from auditkit.reports._json import (
    RESULTS_FILE,
    RESULTS_SCHEMA,
    dumps_results,
    read_results,
    results_document,
    write_results,
)

__all__ = [
    "MANIFEST_FILE",
    "REPORT_FILE",
    "RESULTS_FILE",
    "RESULTS_SCHEMA",
    "build_report",
    "dumps_results",
    "read_results",
    "render_html",
    "results_document",
    "write_report",
    "write_results",
]
