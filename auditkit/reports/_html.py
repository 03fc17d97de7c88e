"""``report.html``: one self-contained page a shop owner can read, rendered from results.

``report.md`` is rendered beside it from the same view data.

The builder turns the results document into plain view data; the template only renders it,
with autoescaping and ``StrictUndefined``. Nothing here computes a metric or calls a vendor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from auditkit.reports._json import read_results
from auditkit.reports._markdown import MARKDOWN_REPORT_FILE, render_markdown

REPORT_FILE = "report.html"
MANIFEST_FILE = "manifest.json"
FAMILY_TITLES: dict[str, str] = {
    "homogenization": "Convergence across shops",
    "popularity": "Reliance on trending items",
    "segment": "Segment bias",
}
VERDICT_WORDS: dict[str, str] = {
    "fail": "Problem found",
    "warn": "Worth a look",
    "pass": "No problem found",
    "inconclusive": "Not enough evidence",
}
CLAIM_WORDS: dict[str, str] = {
    "verified": "Verified",
    "contradicted": "Contradicted",
    "untested": "Stated, not tested",
    "not claimed": "Not claimed",
}
_CHART_WIDTH = 320
_SEVERITY: tuple[str, ...] = ("fail", "warn", "inconclusive", "pass")
_HEADLINES = 2
_COUNT_WORDS: dict[str, str] = {
    "fail": "with a problem",
    "warn": "worth a look",
    "inconclusive": "without enough evidence",
    "pass": "without a problem",
}


def _format(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _interval_chart(metric: dict[str, Any]) -> dict[str, Any] | None:
    """Pixel positions of the estimate, its CI and the thresholds on one shared axis."""
    value = metric.get("value")
    if value is None:
        return None
    ci = metric.get("ci") or [value, value]
    threshold = metric.get("threshold") or {}
    marks = [value, *(c for c in ci if c is not None)]
    marks += [threshold[k] for k in ("warn", "fail") if threshold.get(k) is not None]
    low, high = min(0.0, *marks), max(*marks)
    pad = (high - low) * 0.08 or 1.0
    low, high = low - pad, high + pad

    def x(v: float) -> float:
        return round(10 + (v - low) / (high - low) * (_CHART_WIDTH - 20), 1)

    return {
        "width": _CHART_WIDTH,
        "value": x(value),
        "ci_low": x(ci[0] if ci[0] is not None else value),
        "ci_high": x(ci[1] if ci[1] is not None else value),
        "warn": None if threshold.get("warn") is None else x(threshold["warn"]),
        "fail": None if threshold.get("fail") is None else x(threshold["fail"]),
        "zero": x(0.0),
    }


_BAR_ROW = 18
_BAR_LABEL = 150


def _bars(values: dict[str, Any]) -> dict[str, Any] | None:
    """A horizontal bar per group level, on an axis from zero (negative values go left)."""
    finite = {k: float(v) for k, v in values.items() if isinstance(v, int | float) and v == v}
    if not finite:
        return None
    low, high = min(0.0, *finite.values()), max(0.0, *finite.values())
    span = (high - low) or 1.0
    plot = _CHART_WIDTH - 60

    def x(v: float) -> float:
        return round(_BAR_LABEL + (v - low) / span * plot, 1)

    rows = []
    for i, (level, value) in enumerate(sorted(finite.items())):
        left, right = sorted((x(0.0), x(value)))
        rows.append(
            {
                "level": level if len(level) <= 24 else level[:23] + "…",
                "text": _format(value),
                "x": left,
                "width": round(max(right - left, 1.0), 1),
                "y": i * _BAR_ROW,
                "text_x": round(right + 4, 1),
            }
        )
    return {
        "width": _BAR_LABEL + _CHART_WIDTH,
        "height": len(rows) * _BAR_ROW + 4,
        "zero": x(0.0),
        "label_x": _BAR_LABEL - 4,
        "rows": rows,
    }


def _groups(by_group: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "rows": [{"level": k, "value": _format(v)} for k, v in sorted(vals.items())],
            "bars": _bars(vals),
        }
        for name, vals in sorted(by_group.items())
    ]


def build_report(
    document: dict[str, Any], manifest: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Turn a results document into the plain data the HTML template renders."""
    metrics = document["metrics"]
    families = []
    for family in sorted(
        {m["family"] for m in metrics}, key=lambda f: (f not in FAMILY_TITLES, f)
    ):
        rows = []
        for m in (m for m in metrics if m["family"] == family):
            ci = m.get("ci")
            rows.append(
                {
                    "id": m["id"],
                    "verdict": m["verdict"],
                    "verdict_words": VERDICT_WORDS[m["verdict"]],
                    "summary": m.get("summary", ""),
                    "value": _format(m.get("value")),
                    "ci": "–" if not ci else f"{_format(ci[0])} to {_format(ci[1])}",
                    "p_value": _format(m.get("p_value")),
                    "n": m["n"],
                    "unit": m["unit"],
                    "threshold": m.get("threshold"),
                    "chart": _interval_chart(m),
                    "groups": _groups(m.get("by_group") or {}),
                    "details": {
                        k: _format(v) for k, v in sorted((m.get("details") or {}).items())
                    },
                }
            )
        worst = next((v for v in _SEVERITY if any(r["verdict"] == v for r in rows)), "pass")
        # The scorecard leads with the worst findings; the family section shows them all.
        ranked = sorted(rows, key=lambda r: _SEVERITY.index(r["verdict"]))
        findings = [r for r in ranked if r["verdict"] in ("fail", "warn")]
        counts = {v: sum(r["verdict"] == v for r in rows) for v in _SEVERITY}
        families.append(
            {
                "id": family,
                "title": FAMILY_TITLES.get(family, family.title()),
                "verdict": worst,
                "verdict_words": VERDICT_WORDS[worst],
                "metrics": rows,
                "headline": findings[:_HEADLINES],
                "counts": ", ".join(f"{n} {_COUNT_WORDS[v]}" for v, n in counts.items() if n),
            }
        )
    quality = document["data_quality"]
    claims = [
        {**claim, "verdict_words": CLAIM_WORDS[claim["verdict"]]}
        for claim in document.get("claims", [])
    ]
    return {
        "claims": claims,
        "scores": document.get("scores", []),
        "audit": document["audit"],
        "verdicts": document["summary"]["verdicts"],
        "families": families,
        "quality": {**quality, "answer_rate": f"{quality['answer_rate']:.1%}"},
        "manifest": manifest or {},
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("auditkit.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(document: dict[str, Any], manifest: dict[str, Any] | None = None) -> str:
    """Render the report page for a results document."""
    return _environment().get_template("report.html.j2").render(**build_report(document, manifest))


def write_report(run_dir: str | Path) -> Path:
    """Re-render ``report.html`` and ``report.md`` in ``run_dir`` from its ``results.json``.

    Returns the path of ``report.html``.
    """
    run_dir = Path(run_dir)
    document = read_results(run_dir)
    manifest_path = run_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    path = run_dir / REPORT_FILE
    path.write_text(render_html(document, manifest), encoding="utf-8")
    markdown = render_markdown(build_report(document, manifest))
    (run_dir / MARKDOWN_REPORT_FILE).write_text(markdown, encoding="utf-8")
    return path
