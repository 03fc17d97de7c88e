"""``opinion.html`` and ``opinion.md``: the one-page audit opinion a regulator can file.

Written beside the report when the run's suite names regulatory obligations (its
``results.json`` then holds ``obligations`` and ``opinion``). The page follows the layout of
Delegated Regulation (EU) 2024/436 for DSA audit reports: the audited service, the audit
criteria, the materiality thresholds, the tests performed, the results per obligation and the
opinion. Like the report it only renders: the findings and the opinion are the results'.
"""

from __future__ import annotations

from typing import Any, TypedDict

from auditkit.reports._html import _environment as html_environment
from auditkit.reports._markdown import _environment as markdown_environment
from auditkit.reports._view import CLAIM_WORDS, VERDICT_WORDS

OPINION_FILE = "opinion.html"
MARKDOWN_OPINION_FILE = "opinion.md"
OPINION_WORDS: dict[str, str] = {
    "positive": "Positive",
    "positive with comments": "Positive with comments",
    "negative": "Negative",
}
OPINION_RULE = (
    "An obligation's finding is negative when any of its tests failed (a metric's fail, a "
    "claim contradicted); positive with comments when any test is short of a clean result "
    "(warn, inconclusive, a claim untested or not claimed, a test not run), when none reached "
    "a verdict, or when the collection was incomplete; positive otherwise. The opinion is the "
    "worst finding over the obligations, and at best positive with comments when the suite "
    "did not run as shipped."
)
_TEST_WORDS = {**VERDICT_WORDS, **CLAIM_WORDS, "not run": "Not run"}


class Criteria(TypedDict):
    """The audit criteria: which suite, which version and hash, and whether it was edited."""

    suite: str
    version: int
    hash: str
    unmodified: bool
    modified: list[str]
    spec_sha256: str
    evidence_sha256: str


class Materiality(TypedDict):
    """One metric's materiality threshold: where it turns to warn and to fail."""

    metric: str
    warn: str
    fail: str
    direction: str


class TestRow(TypedDict):
    """One test an obligation rests on, as the page shows it."""

    kind: str
    id: str
    verdict: str
    verdict_words: str
    summary: str


class ObligationSection(TypedDict):
    """One obligation's section: the clause, what it asks, what was tested, the finding."""

    id: str
    clause: str
    title: str
    obligation: str
    tested: str
    tests: list[TestRow]
    finding: str
    finding_words: str
    reasons: list[str]
    impact_ratios: list[dict[str, Any]]


class OpinionView(TypedDict):
    """Everything the opinion page renders."""

    audit: dict[str, Any]
    criteria: Criteria
    materiality: list[Materiality]
    tests_performed: dict[str, Any]
    obligations: list[ObligationSection]
    opinion: str
    opinion_words: str
    reasons: list[str]
    rule: str
    auditkit_version: str


def _number(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _ratios(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **view,
            "lowest": _number(view.get("lowest_impact_ratio")),
            "categories": [
                {
                    **c,
                    "rate": _number(c["rate"]),
                    "share": f"{c['share']:.1%}",
                    "ratio": "excluded (under 2% of the data)"
                    if c["excluded"]
                    else _number(c["impact_ratio"]),
                }
                for c in view["categories"]
            ],
        }
        for view in views
    ]


def build_opinion(
    document: dict[str, Any], manifest: dict[str, Any] | None = None
) -> OpinionView | None:
    """The opinion page's data from a results document; None when it holds no opinion."""
    opinion = document.get("opinion")
    if opinion is None:
        return None
    audit = document["audit"]
    suite = audit.get("suite") or {}
    obligations = document.get("obligations", [])
    mapped = {t["id"] for o in obligations for t in o["tests"] if t["kind"] == "metric"}
    materiality: list[Materiality] = []
    for metric in document["metrics"]:
        if metric["id"] not in mapped:
            continue
        threshold = metric.get("threshold")
        if threshold is None or metric["verdict"] == "reported":
            materiality.append(
                {
                    "metric": metric["id"],
                    "warn": "–",
                    "fail": "–",
                    "direction": "reported, not judged",
                }
            )
            continue
        materiality.append(
            {
                "metric": metric["id"],
                "warn": _number(threshold["warn"]),
                "fail": _number(threshold["fail"]),
                "direction": threshold["direction"].replace("_", " "),
            }
        )
    quality = document["data_quality"]
    sections: list[ObligationSection] = [
        {
            "id": o["id"],
            "clause": o["clause"],
            "title": o["title"],
            "obligation": o["obligation"],
            "tested": o["tested"],
            "tests": [
                {
                    "kind": t["kind"],
                    "id": t["id"],
                    "verdict": t["verdict"],
                    "verdict_words": _TEST_WORDS.get(t["verdict"], t["verdict"]),
                    "summary": t["summary"],
                }
                for t in o["tests"]
            ],
            "finding": o["finding"],
            "finding_words": OPINION_WORDS[o["finding"]],
            "reasons": o["reasons"],
            # One page: the ratios of each attribute alone; results.json also holds the
            # intersections (age band × device, say).
            "impact_ratios": _ratios(
                [r for r in o.get("impact_ratios", []) if " × " not in r["grouping"]]
            ),
        }
        for o in obligations
    ]
    return {
        "audit": audit,
        "criteria": {
            "suite": str(suite.get("id", "–")),
            "version": int(suite.get("version", 0)),
            "hash": str(suite.get("hash", "")),
            "unmodified": bool(suite.get("unmodified", False)),
            "modified": list(suite.get("modified", [])),
            "spec_sha256": audit["spec_sha256"],
            "evidence_sha256": audit["evidence_sha256"],
        },
        "materiality": materiality,
        "tests_performed": {
            "planned": quality["probes_planned"],
            "answered": quality["probes_answered"],
            "attempts": quality["attempts"],
            "answer_rate": f"{quality['answer_rate']:.1%}",
            "stopped": quality.get("stopped"),
            "metrics": len(document["metrics"]),
            "claims": len(document.get("claims", [])),
        },
        "obligations": sections,
        "opinion": opinion["opinion"],
        "opinion_words": OPINION_WORDS[opinion["opinion"]],
        "reasons": opinion["reasons"],
        "rule": OPINION_RULE,
        "auditkit_version": str((manifest or {}).get("versions", {}).get("auditkit", "–")),
    }


def render_opinion_html(view: OpinionView) -> str:
    """Render ``opinion.html`` from its view data."""
    # The report's own environments: the same templates folder, autoescape and md filter.
    return html_environment().get_template("opinion.html.j2").render(**view)


def render_opinion_markdown(view: OpinionView) -> str:
    """Render ``opinion.md`` from its view data."""
    return markdown_environment().get_template("opinion.md.j2").render(**view)
