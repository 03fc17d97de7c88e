"""Reports: ``results.json`` (machine-readable), ``report.html`` and ``report.md`` (for people).

A run whose suite names regulatory obligations also gets ``opinion.html`` and ``opinion.md``.

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
from auditkit.reports._html import REPORT_FILE, render_html, render_scorecard
from auditkit.reports._json import (
    RESULTS_FILE,
    RESULTS_SCHEMA,
    dumps_results,
    load_run,
    read_results,
    result_from_document,
    results_document,
    results_json_schema,
    write_results,
)
from auditkit.reports._markdown import MARKDOWN_REPORT_FILE, escape_markdown, render_markdown
from auditkit.reports._opinion import (
    MARKDOWN_OPINION_FILE,
    OPINION_FILE,
    build_opinion,
    render_opinion_html,
    render_opinion_markdown,
)
from auditkit.reports._terminal import terminal_lines
from auditkit.reports._view import build_report
from auditkit.reports._write import MANIFEST_FILE, report_files, write_report
from auditkit.results import HTML_VIEWS, AuditResult


def scorecard_html(result: AuditResult) -> str:
    """An audit result's scorecard as HTML (`AuditResult._repr_html_` in Jupyter)."""
    return render_scorecard(build_report(results_document(result), charts=False))


HTML_VIEWS["scorecard"] = scorecard_html

__all__ = [
    "COMPARISON_DATA_FILE",
    "COMPARISON_FILE",
    "COMPARISON_SCHEMA",
    "EXPORT_FORMATS",
    "MANIFEST_FILE",
    "MARKDOWN_OPINION_FILE",
    "MARKDOWN_REPORT_FILE",
    "OPINION_FILE",
    "REPORT_FILE",
    "RESULTS_FILE",
    "RESULTS_SCHEMA",
    "build_opinion",
    "build_report",
    "compare_runs",
    "comparison_summary",
    "dumps_results",
    "escape_markdown",
    "export_tables",
    "load_run",
    "read_results",
    "render_html",
    "render_markdown",
    "render_opinion_html",
    "render_opinion_markdown",
    "report_files",
    "result_from_document",
    "results_document",
    "results_json_schema",
    "scorecard_html",
    "terminal_lines",
    "write_comparison",
    "write_report",
    "write_results",
]
