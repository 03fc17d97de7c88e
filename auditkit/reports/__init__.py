"""Reports: ``results.json`` (machine-readable), ``report.html`` and ``report.md`` (for people).

Several runs side by side: ``comparison.html`` and ``comparison.json``.
"""

from auditkit.reports._compare import (
    COMPARISON_DATA_FILE,
    COMPARISON_FILE,
    COMPARISON_SCHEMA,
    compare_runs,
    comparison_summary,
    write_comparison,
)
from auditkit.reports._export import EXPORT_FORMATS, export_tables
from auditkit.reports._html import REPORT_FILE, render_html
from auditkit.reports._json import (
    RESULTS_FILE,
    RESULTS_SCHEMA,
    dumps_results,
    read_results,
    results_document,
    results_json_schema,
    write_results,
)
from auditkit.reports._markdown import MARKDOWN_REPORT_FILE, escape_markdown, render_markdown
from auditkit.reports._view import build_report
from auditkit.reports._write import MANIFEST_FILE, write_report

__all__ = [
    "COMPARISON_DATA_FILE",
    "COMPARISON_FILE",
    "COMPARISON_SCHEMA",
    "EXPORT_FORMATS",
    "MANIFEST_FILE",
    "MARKDOWN_REPORT_FILE",
    "REPORT_FILE",
    "RESULTS_FILE",
    "RESULTS_SCHEMA",
    "build_report",
    "compare_runs",
    "comparison_summary",
    "dumps_results",
    "escape_markdown",
    "export_tables",
    "read_results",
    "render_html",
    "render_markdown",
    "results_document",
    "results_json_schema",
    "write_comparison",
    "write_report",
    "write_results",
]
