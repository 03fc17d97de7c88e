"""What ``auditkit run`` prints: the report's view as terminal lines, the same words and numbers.

Each metric is one line (its verdict code first, for grep and CI logs; its plain title, value
and interval; its id) and its sentence below; then each rubric's score and what cost it.
"""

from __future__ import annotations

from auditkit.reports._json import results_document
from auditkit.reports._view import ReportView, build_report
from auditkit.results import AuditResult

_INDENT = " " * 14


def view_lines(view: ReportView) -> list[str]:
    """The terminal lines of a report view."""
    overall = view["overall"]
    lines = [f"{overall['verdict_words']}: {overall['sentence']}"]
    for family in view["families"]:
        lines.append(f"{family['title']}: {family['verdict_words'].lower()}")
        for m in family["metrics"]:
            interval = "" if m["ci"] == "–" else f" ({m['ci']})"
            lines.append(f"{m['verdict']:>12}  {m['title']}: {m['value']}{interval}  [{m['id']}]")
            if m["summary"]:
                lines.append(f"{_INDENT}{m['summary']}")
    for score in view["scores"]:
        lines.append(f"{score['title']}: {score['letter']} ({score['score']} of 100)")
        lines += [f"{_INDENT}{line}" for line in score["lines"]]
    return lines


def terminal_lines(result: AuditResult) -> list[str]:
    """The terminal lines of an audit result (``auditkit run`` prints them)."""
    return view_lines(build_report(results_document(result), charts=False))
