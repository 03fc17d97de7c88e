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
from auditkit.suites import CLEAN_VERDICTS

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
    flagged: list[TestRow]
    clean: list[TestRow]
    finding: str
    finding_words: str
    notes: list[str]
    impact_ratios: list[dict[str, Any]]


class OpinionView(TypedDict):
    """Everything the opinion page renders."""

    audit: dict[str, Any]
    criteria: Criteria
    materiality: list[Materiality]
    reported: list[str]
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
    """One table per metric: each attribute's categories, their rates and impact ratios.

    One page: the ratios of each attribute alone; results.json also holds the intersections
    (age band × device, say).
    """
    tables: dict[str, dict[str, Any]] = {}
    for view in views:
        if " × " in view["grouping"]:
            continue
        table = tables.setdefault(view["metric"], {"metric": view["metric"], "rows": []})
        for c in view["categories"]:
            table["rows"].append(
                {
                    "grouping": view["grouping"],
                    "category": c["category"],
                    "rate": _number(c["rate"]),
                    "share": f"{c['share']:.1%}",
                    "ratio": "excluded (under 2% of the data)"
                    if c["excluded"]
                    else _number(c["impact_ratio"]),
                }
            )
    return list(tables.values())


def _test_row(test: dict[str, Any]) -> TestRow:
    return {
        "kind": test["kind"],
        "id": test["id"],
        "verdict": test["verdict"],
        "verdict_words": _TEST_WORDS.get(test["verdict"], test["verdict"]),
        "summary": test["summary"],
    }


def _section(obligation: dict[str, Any]) -> ObligationSection:
    """One obligation's section: its tests short of clean in full, the others by name."""
    tests = [_test_row(t) for t in obligation["tests"]]
    per_test = {f"{t['id']}: {t['verdict']}" for t in tests}
    return {
        "id": obligation["id"],
        "clause": obligation["clause"],
        "title": obligation["title"],
        "obligation": obligation["obligation"],
        "tested": obligation["tested"],
        "flagged": [t for t in tests if t["verdict"] not in CLEAN_VERDICTS],
        "clean": [t for t in tests if t["verdict"] in CLEAN_VERDICTS],
        "finding": obligation["finding"],
        "finding_words": OPINION_WORDS[obligation["finding"]],
        # The reasons that are not one test's verdict (those are in `flagged`).
        "notes": [r for r in obligation["reasons"] if r not in per_test],
        "impact_ratios": _ratios(obligation.get("impact_ratios", [])),
    }


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
    reported: list[str] = []
    for metric in document["metrics"]:
        if metric["id"] not in mapped:
            continue
        threshold = metric.get("threshold")
        if threshold is None or metric["verdict"] == "reported":
            reported.append(metric["id"])
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
    sections = [_section(o) for o in obligations]
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
        "reported": reported,
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
