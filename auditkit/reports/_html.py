"""``report.html``: one self-contained page a shop owner can read, rendered from the view.

The template only renders the view data (`auditkit.reports._view`), with autoescaping and
``StrictUndefined``.
"""

from __future__ import annotations

from typing import Any

import jinja2

from auditkit.reports._view import ReportView, build_report

REPORT_FILE = "report.html"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("auditkit.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_view(view: ReportView) -> str:
    """Render the report page from its view data."""
    return _environment().get_template("report.html.j2").render(**view)


def render_scorecard(view: ReportView) -> str:
    """The report's scorecard alone, with its own scoped style (a notebook cell's output)."""
    return _environment().get_template("notebook.html.j2").render(**view)


def render_html(document: dict[str, Any], manifest: dict[str, Any] | None = None) -> str:
    """Render the report page for a results document."""
    return render_view(build_report(document, manifest))
