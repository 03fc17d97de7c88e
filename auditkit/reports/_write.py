"""Write a run's reports: every format rendered from one view of its ``results.json``.

Adding a format is a renderer module in this folder and its entry in `RENDERERS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from auditkit.reports._files import write_text_atomic
from auditkit.reports._html import REPORT_FILE, render_view
from auditkit.reports._json import read_results
from auditkit.reports._markdown import MARKDOWN_REPORT_FILE, render_markdown
from auditkit.reports._view import ReportView, build_report

MANIFEST_FILE = "manifest.json"
# Each report file of a run, by the renderer that writes it from the view.
RENDERERS: dict[str, Callable[[ReportView], str]] = {
    REPORT_FILE: render_view,
    MARKDOWN_REPORT_FILE: render_markdown,
}


def write_report(run_dir: str | Path) -> Path:
    """Re-render every report of ``run_dir`` (`RENDERERS`) from its ``results.json``.

    Returns the path of ``report.html``.
    """
    run_dir = Path(run_dir)
    document = read_results(run_dir)
    manifest_path = run_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    view = build_report(document, manifest)
    for name, render in RENDERERS.items():
        write_text_atomic(run_dir / name, render(view))
    return run_dir / REPORT_FILE
