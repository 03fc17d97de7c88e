"""The view data every report format renders: the results document, arranged for reading.

`build_report` turns a results document (and the run's manifest) into a `ReportView`: the
families with their metrics, worst first in each headline, the words for every verdict, and
the pixel geometry of the charts. The renderers (`_html`, `_markdown`) only render it; nothing
here computes a metric or calls a vendor.
"""

from __future__ import annotations

from typing import Any, TypedDict


class IntervalChart(TypedDict):
    """Pixel positions of an estimate, its interval and its thresholds on one axis."""

    width: int
    value: float
    ci_low: float
    ci_high: float
    warn: float | None
    fail: float | None
    zero: float


class BarRow(TypedDict):
    """One group level's bar."""

    level: str
    text: str
    x: float
    width: float
    y: int
    text_x: float


class BarChart(TypedDict):
    """A horizontal bar per group level, on an axis from zero."""

    width: int
    height: int
    zero: float
    label_x: int
    rows: list[BarRow]


class GroupLevel(TypedDict):
    """One level of a grouping and its formatted value."""

    level: str
    value: str


class GroupView(TypedDict):
    """A metric's values by one grouping (persona, shop, attribute), as rows and bars."""

    name: str
    rows: list[GroupLevel]
    bars: BarChart | None


class MetricRow(TypedDict):
    """One metric as a report shows it."""

    id: str
    verdict: str
    verdict_words: str
    summary: str
    value: str
    ci: str
    p_value: str
    n: int
    unit: str
    threshold: dict[str, Any] | None
    chart: IntervalChart | None
    groups: list[GroupView]
    details: dict[str, str]


class FamilyView(TypedDict):
    """A metric family's section: its worst verdict, its headline findings, its metrics."""

    id: str
    title: str
    verdict: str
    verdict_words: str
    metrics: list[MetricRow]
    headline: list[MetricRow]
    counts: str


class ReportView(TypedDict):
    """Everything a report format renders."""

    claims: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    audit: dict[str, Any]
    verdicts: dict[str, int]
    families: list[FamilyView]
    quality: dict[str, Any]
    manifest: dict[str, Any]


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
    "reported": "Reported, not judged",
}
CLAIM_WORDS: dict[str, str] = {
    "verified": "Verified",
    "contradicted": "Contradicted",
    "untested": "Stated, not tested",
    "not claimed": "Not claimed",
}
_CHART_WIDTH = 320
_SEVERITY: tuple[str, ...] = ("fail", "warn", "inconclusive", "pass", "reported")
_HEADLINES = 2
_COUNT_WORDS: dict[str, str] = {
    "fail": "with a problem",
    "warn": "worth a look",
    "inconclusive": "without enough evidence",
    "pass": "without a problem",
    "reported": "reported without a threshold",
}


def _format(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _interval_chart(metric: dict[str, Any]) -> IntervalChart | None:
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


def _bars(values: dict[str, Any]) -> BarChart | None:
    """A horizontal bar per group level, on an axis from zero (negative values go left)."""
    finite = {k: float(v) for k, v in values.items() if isinstance(v, int | float) and v == v}
    if not finite:
        return None
    low, high = min(0.0, *finite.values()), max(0.0, *finite.values())
    span = (high - low) or 1.0
    plot = _CHART_WIDTH - 60

    def x(v: float) -> float:
        return round(_BAR_LABEL + (v - low) / span * plot, 1)

    rows: list[BarRow] = []
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


def _groups(by_group: dict[str, dict[str, Any]]) -> list[GroupView]:
    return [
        {
            "name": name,
            "rows": [{"level": k, "value": _format(v)} for k, v in sorted(vals.items())],
            "bars": _bars(vals),
        }
        for name, vals in sorted(by_group.items())
    ]


def build_report(document: dict[str, Any], manifest: dict[str, Any] | None = None) -> ReportView:
    """Turn a results document into the plain data the HTML template renders."""
    metrics = document["metrics"]
    families: list[FamilyView] = []
    for family in sorted(
        {m["family"] for m in metrics}, key=lambda f: (f not in FAMILY_TITLES, f)
    ):
        rows: list[MetricRow] = []
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
        "quality": {"stopped": None, **quality, "answer_rate": f"{quality['answer_rate']:.1%}"},
        "manifest": manifest or {},
    }
