"""Write a run's reports: every format rendered from one view of its ``results.json``.

Adding a format is a renderer module in this folder and its entry in `RENDERERS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditkit.reports._files import write_text_atomic
from auditkit.reports._html import REPORT_FILE, render_view
from auditkit.reports._json import read_results
from auditkit.reports._markdown import MARKDOWN_REPORT_FILE, render_markdown
from auditkit.reports._opinion import (
    MARKDOWN_OPINION_FILE,
    OPINION_FILE,
    OpinionView,
    build_opinion,
    render_opinion_html,
    render_opinion_markdown,
)
from auditkit.reports._view import ReportView, build_report

MANIFEST_FILE = "manifest.json"
# Each report file of a run, by the renderer that writes it from the view.
RENDERERS: dict[str, Callable[[ReportView], str]] = {
    REPORT_FILE: render_view,
    MARKDOWN_REPORT_FILE: render_markdown,
}
# The audit opinion's files, written only for results that hold an opinion (a suite that
# names regulatory obligations): rendered from their own view, not the report's.
OPINION_RENDERERS: dict[str, Callable[[OpinionView], str]] = {
    OPINION_FILE: render_opinion_html,
    MARKDOWN_OPINION_FILE: render_opinion_markdown,
}


def report_files(document: dict[str, Any]) -> tuple[str, ...]:
    """The report files a results document renders to, in the order they are written."""
    opinion = tuple(OPINION_RENDERERS) if document.get("opinion") is not None else ()
    return (*RENDERERS, *opinion)


def write_report(run_dir: str | Path) -> Path:
    """Re-render every report of ``run_dir`` (`RENDERERS`) from its ``results.json``.

    The audit opinion (`OPINION_RENDERERS`) too, when the results hold one.

    Returns the path of ``report.html``.
    """
    run_dir = Path(run_dir)
    document = read_results(run_dir)
    manifest_path = run_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    view = build_report(document, manifest)
    for name, render in RENDERERS.items():
        write_text_atomic(run_dir / name, render(view))
    opinion = build_opinion(document, manifest)
    if opinion is not None:
        for name, render_opinion in OPINION_RENDERERS.items():
            write_text_atomic(run_dir / name, render_opinion(opinion))
    return run_dir / REPORT_FILE
