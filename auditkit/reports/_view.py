"""The view data every report format renders: the results document, arranged for reading.

`build_report` turns a results document (and the run's manifest) into a `ReportView`: a
one-screen scorecard (the overall verdict, each family's verdict and top findings with their
numbers, the rubric scores), one section per family with its charts and its metrics as
formatted tables, the claims, data quality and the reproducibility appendix. The renderers
(`_html`, `_markdown`) only render it; nothing here computes a metric or calls a vendor.
"""

from __future__ import annotations

import ast
import re
from typing import Any, TypedDict

from auditkit.reports._details import Table, cell, detail_tables, group_tables
from auditkit.reports._family_charts import ChartView, family_charts
from auditkit.reports._words import (
    CLAIM_WORDS,
    FAMILY_TITLES,
    VERDICT_WORDS,
    claim_title,
    label,
    metric_interval,
    metric_title,
    metric_value,
    number,
    percent,
)

__all__ = ["CLAIM_WORDS", "VERDICT_WORDS", "ReportView", "build_report"]


class MetricRow(TypedDict):
    """One metric as a report shows it: title, verdict, formatted numbers and tables."""

    id: str
    title: str
    verdict: str
    verdict_words: str
    summary: str
    value: str
    ci: str
    p_value: str
    n: str
    unit: str
    threshold: str
    crossed: str
    facts: list[list[str]]
    tables: list[Table]


class FamilyView(TypedDict):
    """A metric family's section: its worst verdict, its headline findings, charts, metrics."""

    id: str
    title: str
    verdict: str
    verdict_words: str
    metrics: list[MetricRow]
    headline: list[MetricRow]
    counts: str
    charts: list[ChartView]


class ScoreView(TypedDict):
    """A rubric's score card: letter, score, what cost it points, and its items."""

    rubric: str
    title: str
    letter: str
    score: str
    version: int
    tone: str
    lines: list[str]
    items: list[list[str]]


class ClaimRow(TypedDict):
    """One vendor claim: stated, measured, verdict."""

    id: str
    title: str
    stated: str
    measured: str
    verdict: str
    verdict_words: str


class Overall(TypedDict):
    """The audit's verdict in one line."""

    verdict: str
    verdict_words: str
    sentence: str


class ReportView(TypedDict):
    """Everything a report format renders."""

    audit: dict[str, Any]
    overall: Overall
    families: list[FamilyView]
    scores: list[ScoreView]
    claims: list[ClaimRow]
    quality: dict[str, Any]
    verdicts: dict[str, int]
    reproduce: list[list[str]]


_SEVERITY: tuple[str, ...] = ("fail", "warn", "inconclusive", "pass", "reported")
_HEADLINES = 2
_COUNT_WORDS: dict[str, str] = {
    "fail": "with a problem",
    "warn": "worth a look",
    "inconclusive": "without enough evidence",
    "pass": "without a problem",
    "reported": "reported without a threshold",
}
# How a metric's by-group values read, where they are not in the metric's own unit.
_GROUP_FORMAT: dict[str, str] = {"segment.price_gap": "number"}


# A setting written as Python would (``boost=['signature']``, ``trending='off'``) in a claim.
_SETTING = re.compile(r"(\w+)=(\[[^\]]*\]|'[^']*'|\"[^\"]*\")")


def _setting(match: re.Match[str]) -> str:
    try:
        value = ast.literal_eval(match.group(2))
    except (ValueError, SyntaxError):
        return match.group(0)
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{match.group(1)} = {shown}"


# A metric's finding as the claim checks cite it: ``homogenization.index: fail (0.879)``.
_FINDING = re.compile(
    r"\b([a-z_]+\.[a-z0-9_]+): (pass|warn|fail|inconclusive|reported) \(([-\d.e+]+)\)"
)


def _finding(match: re.Match[str]) -> str:
    metric_id, verdict, value = match.groups()
    try:
        shown = metric_value(metric_id, float(value))
    except ValueError:
        return match.group(0)
    return f"{metric_title(metric_id)}: {VERDICT_WORDS[verdict].lower()} ({shown})"


def plain(text: Any) -> str:
    """A claim's text for people: settings as ``boost = signature``, findings by their titles."""
    return _FINDING.sub(_finding, _SETTING.sub(_setting, str(text)))


def _threshold(metric: dict[str, Any]) -> str:
    threshold = metric.get("threshold")
    reference = (metric.get("details") or {}).get("reference")
    if reference:
        return (
            f"against {reference['name']}: worth a look at {number(reference['warn'])}× worse, "
            f"a problem at {number(reference['fail'])}× worse"
        )
    if not threshold:
        return "none: reported, not judged"
    worse = "higher" if threshold["direction"] == "higher_is_worse" else "lower"
    warn = metric_value(metric["id"], threshold["warn"])
    fail = metric_value(metric["id"], threshold["fail"])
    return f"worth a look at {warn}, a problem at {fail} ({worse} is worse)"


def _crossed(metric: dict[str, Any]) -> str:
    """The threshold a flagged metric passed, in words (empty for one not flagged)."""
    threshold = metric.get("threshold") or {}
    key = {"fail": "fail", "warn": "warn"}.get(metric["verdict"])
    if key is None or threshold.get(key) is None:
        return ""
    words = "a problem" if key == "fail" else "worth a look"
    reference = (metric.get("details") or {}).get("reference")
    if reference:
        ratio = number(reference["ratio"])
        return f"{ratio}× worse than {reference['name']}; {words} from {number(reference[key])}×"
    return f"{words} from {metric_value(metric['id'], threshold[key])}"


def _group_value(metric_id: str) -> Any:
    if _GROUP_FORMAT.get(metric_id) == "number":
        return number
    return lambda value: metric_value(metric_id, value)


def _reference_table(metric: dict[str, Any], reference: dict[str, Any]) -> Table:
    """The comparison with the spec's reference, in the metric's own format and as a ratio."""
    ratio_ci = reference.get("ratio_ci")
    return {
        "caption": f"Against {reference['name']}",
        "header": ["Compared", "Value"],
        "rows": [
            ["The reference's value", metric_value(metric["id"], reference.get("value"))],
            ["Its interval", metric_interval(metric["id"], reference.get("ci"))],
            ["Times worse than the reference", number(reference.get("ratio"))],
            ["Interval of that ratio", cell(ratio_ci) if ratio_ci else "–"],
            ["Worth a look from", f"{number(reference['warn'])}×"],
            ["A problem from", f"{number(reference['fail'])}×"],
        ],
    }


def _metric_row(metric: dict[str, Any]) -> MetricRow:
    details = dict(metric.get("details") or {})
    reference = details.pop("reference", None)
    facts, tables = detail_tables(details)
    if reference:
        tables = [_reference_table(metric, reference), *tables]
    return {
        "id": metric["id"],
        "title": metric_title(metric["id"]),
        "verdict": metric["verdict"],
        "verdict_words": VERDICT_WORDS[metric["verdict"]],
        "summary": metric.get("summary", ""),
        "value": metric_value(metric["id"], metric.get("value")),
        "ci": metric_interval(metric["id"], metric.get("ci")),
        "p_value": number(metric.get("p_value")),
        "n": number(metric["n"]),
        "unit": metric["unit"],
        "threshold": _threshold(metric),
        "crossed": _crossed(metric),
        "facts": facts,
        "tables": group_tables(metric.get("by_group") or {}, _group_value(metric["id"])) + tables,
    }


def _family(family: str, metrics: list[dict[str, Any]], *, charts: bool) -> FamilyView:
    rows = [_metric_row(m) for m in metrics]
    worst = next((v for v in _SEVERITY if any(r["verdict"] == v for r in rows)), "pass")
    # The scorecard leads with the worst findings; the family section shows them all.
    ranked = sorted(rows, key=lambda r: _SEVERITY.index(r["verdict"]))
    counts = {v: sum(r["verdict"] == v for r in rows) for v in _SEVERITY}
    return {
        "id": family,
        "title": FAMILY_TITLES.get(family, family.title()),
        "verdict": worst,
        "verdict_words": VERDICT_WORDS[worst],
        "metrics": rows,
        "headline": [r for r in ranked if r["verdict"] in ("fail", "warn")][:_HEADLINES],
        "counts": ", ".join(f"{n} {_COUNT_WORDS[v]}" for v, n in counts.items() if n),
        "charts": family_charts(family, metrics) if charts else [],
    }


def _overall(families: list[FamilyView], verdicts: dict[str, int]) -> Overall:
    worst = next(
        (v for v in _SEVERITY if any(f["verdict"] == v for f in families)), "inconclusive"
    )
    flagged = [f["title"].lower() for f in families if f["verdict"] in ("fail", "warn")]
    total = sum(verdicts.values())
    if flagged:
        sentence = (
            f"{verdicts.get('fail', 0)} of {total} measurements show a problem and "
            f"{verdicts.get('warn', 0)} are worth a look, in {' and '.join(flagged)}."
        )
    else:
        sentence = f"None of the {total} measurements shows a problem or is worth a look."
    return {"verdict": worst, "verdict_words": VERDICT_WORDS[worst], "sentence": sentence}


def _points(value: float) -> str:
    text = number(abs(value))
    return f"−{text}" if value < 0 else f"+{text}"


def _item_title(item: dict[str, Any]) -> str:
    """A rubric item by its claim check's title, or its own words when no check decides it."""
    return claim_title(item["check"]) if item["check"] else str(item["description"])


def _score(score: dict[str, Any]) -> ScoreView:
    items = score["items"]
    lines = [
        f"{_item_title(item)}: claimed, but the probes contradict it "
        f"({_points(item['points'])} points)"
        for item in items
        if item["verdict"] == "contradicted"
    ]
    missing = [_item_title(i).lower() for i in items if i["verdict"] == "not claimed"]
    untested = [_item_title(i).lower() for i in items if i["verdict"] == "untested"]
    if not lines:
        lines.append("No claim is contradicted by the probes.")
    if missing:
        lines.append(f"Not claimed (no points): {', '.join(missing)}.")
    if untested:
        lines.append(f"Claimed, but no probe can test it (half points): {', '.join(untested)}.")
    letter = score["letter"]
    return {
        "rubric": score["rubric"],
        "title": label(score["rubric"]),
        "letter": letter,
        "score": number(score["score"]),
        "version": score["version"],
        "tone": "pass" if letter in ("A", "B") else "warn" if letter == "C" else "fail",
        "lines": lines,
        "items": [
            [
                item["description"],
                _item_title(item),
                CLAIM_WORDS[item["verdict"]],
                f"{_points(item['points'])} of {number(item['weight'])}",
            ]
            for item in items
        ],
    }


def _quality(quality: dict[str, Any]) -> dict[str, Any]:
    kinds = quality.get("failures_by_kind") or {}
    shared = quality.get("probes_shared", 0)
    sent = quality["probes_planned"] - shared
    return {
        "stopped": quality.get("stopped"),
        "planned": number(quality["probes_planned"]),
        "answered": number(quality["probes_answered"]),
        "answer_rate": percent(quality["answer_rate"]),
        "attempts": number(quality["attempts"]),
        "shared": number(shared) if shared else "",
        "retried": number(max(quality["attempts"] - sent, 0)),
        "failures": [[str(kind), number(count)] for kind, count in sorted(kinds.items())],
    }


def _reproduce(audit: dict[str, Any], manifest: dict[str, Any]) -> list[list[str]]:
    versions = manifest.get("versions", {})
    rows = [
        ["auditkit version", str(versions.get("auditkit", "–"))],
        ["Spec sha256", str(audit.get("spec_sha256", "–"))],
        ["Seed", str(audit.get("seed", "–"))],
        ["Evidence sha256", str(audit.get("evidence_sha256", "–"))],
        # The run directory keeps its spec as spec.json: these commands work from inside it.
        ["Run again", "auditkit run spec.json --out NEW_RUN_DIR"],
        ["Re-render this report", "auditkit report ."],
    ]
    rows += [[f"{name} version", str(v)] for name, v in versions.items() if name != "auditkit"]
    return rows


def build_report(
    document: dict[str, Any], manifest: dict[str, Any] | None = None, *, charts: bool = True
) -> ReportView:
    """Turn a results document into the plain data every report format renders.

    ``charts=False`` leaves the charts out, for a format that shows none (the terminal, the
    notebook scorecard): drawing them is most of the view's time.
    """
    metrics = document["metrics"]
    order = sorted({m["family"] for m in metrics}, key=lambda f: (f not in FAMILY_TITLES, f))
    families = [_family(f, [m for m in metrics if m["family"] == f], charts=charts) for f in order]
    verdicts = document["summary"]["verdicts"]
    claims: list[ClaimRow] = [
        {
            "id": claim["id"],
            "title": claim_title(claim["id"]),
            "stated": plain(claim["stated"]),
            "measured": plain(claim["measured"]) or "–",
            "verdict": claim["verdict"],
            "verdict_words": CLAIM_WORDS[claim["verdict"]],
        }
        for claim in document.get("claims", [])
    ]
    # A results document of another tool (or an older run) may leave these out.
    audit = {"vendor": "", "description": "", "spec_sha256": "", **document["audit"]}
    return {
        "audit": audit,
        "overall": _overall(families, verdicts),
        "families": families,
        "scores": [_score(s) for s in document.get("scores", [])],
        "claims": claims,
        "quality": _quality(document["data_quality"]),
        "verdicts": verdicts,
        "reproduce": _reproduce(document["audit"], manifest or {}),
    }
