"""``report.md``: the report's scorecard and numbers as Markdown, for tickets and pull requests.

It renders the same view data as ``report.html`` (`build_report`). Every string that came from
outside (vendor names, persona ids, explanations) is escaped, so a Markdown viewer shows it
as text and never as a link, an image or HTML.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2

from auditkit.reports._view import ReportView

MARKDOWN_REPORT_FILE = "report.md"
# Characters with a meaning inside a CommonMark line or a GitHub table cell, and raw HTML's
# angle brackets and entities. Values are collapsed to one line and never start one, so the
# line-start markers (#, -, +, digits with a dot) need no escape.
_SPECIAL = re.compile(r"([\\`*_{}\[\]|~<>&])")


def escape_markdown(value: Any) -> str:
    """``value`` as Markdown text that renders literally (one line, specials escaped)."""
    text = " ".join(str(value).split())
    return _SPECIAL.sub(r"\\\1", text)


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("auditkit.reports", "templates"),
        autoescape=False,  # Markdown, not HTML: every value goes through the `md` filter
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["md"] = escape_markdown
    return environment


def render_markdown(view: ReportView) -> str:
    """Render ``report.md`` from the view data `build_report` made."""
    return _environment().get_template("report.md.j2").render(**view)
