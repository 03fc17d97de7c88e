"""Findings per regulatory obligation, and the audit opinion, from a run's verdicts.

One rule, at both levels (docs/suites.md, "The opinion rule"):

- **negative** when any test of the obligation failed (a metric's ``fail``, a claim
  ``contradicted``);
- **positive with comments** otherwise, when any test is short of a clean result (``warn``,
  ``inconclusive``, a claim ``untested`` or ``not claimed``, a test the run did not run),
  when no test of the obligation was judged at all, or when the collection was incomplete;
- **positive** otherwise.

The opinion is the worst finding over the obligations, and at best positive with comments
when the suite did not run as shipped (a protected key modified). Nothing here computes a
metric: the LL144-style impact ratios are read from the segment metrics' own groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from auditkit.results import (
    AuditOpinion,
    ClaimCheck,
    DataQuality,
    Finding,
    MetricResult,
    ObligationFinding,
    ObligationTest,
)
from auditkit.suites._mapping import Obligation, regulatory_mapping

NEGATIVE_VERDICTS = frozenset({"fail", "contradicted"})
CLEAN_VERDICTS = frozenset({"pass", "verified", "reported"})
JUDGED_VERDICTS = frozenset({"pass", "verified", "fail", "contradicted", "warn"})
NOT_RUN = "not run"
# A collection with fewer usable answers than this (the command line's default
# --min-answer-rate) rests on too little to give an unqualified finding.
MIN_ANSWER_RATE = 0.9
# NYC LL144's rule: a category under 2% of the data may be left out of the impact ratios.
SMALL_CATEGORY_SHARE = 0.02
_SEVERITY: tuple[Finding, ...] = ("positive", "positive with comments", "negative")


def _tests(
    obligation: Obligation, metrics: Sequence[MetricResult], claims: Sequence[ClaimCheck]
) -> list[ObligationTest]:
    """The obligation's metrics and claim checks, each with its verdict in this run."""
    by_metric = {m.id: m for m in metrics}
    tests = []
    for metric_id in obligation.metrics:
        metric = by_metric.get(metric_id)
        if metric is None:
            tests.append(ObligationTest("metric", metric_id, NOT_RUN, "not computed by this run"))
        else:
            tests.append(ObligationTest("metric", metric_id, metric.verdict, metric.summary))
    for pattern in obligation.claims:
        if pattern.endswith("*"):
            found = [c for c in claims if c.id.startswith(pattern[:-1])]
            if not found:
                tests.append(ObligationTest("claim", pattern, "not claimed", "none claimed"))
        else:
            found = [c for c in claims if c.id == pattern]
            if not found:
                tests.append(ObligationTest("claim", pattern, NOT_RUN, "no claims in the spec"))
        tests += [ObligationTest("claim", c.id, c.verdict, c.measured or c.stated) for c in found]
    return tests


def _finding(tests: Sequence[ObligationTest], quality: DataQuality) -> tuple[Finding, list[str]]:
    """The rule of this module's docstring for one obligation, with the reasons for it."""
    reasons = [f"{t.id}: {t.verdict}" for t in tests if t.verdict not in CLEAN_VERDICTS]
    if not any(t.verdict in JUDGED_VERDICTS for t in tests):
        reasons.append("no test of this obligation reached a verdict")
    if quality.stopped is not None or quality.answer_rate < MIN_ANSWER_RATE:
        reasons.append(
            f"incomplete collection: {quality.answer_rate:.1%} of the probes answered"
            + (f" ({quality.stopped})" if quality.stopped else "")
        )
    if any(t.verdict in NEGATIVE_VERDICTS for t in tests):
        return "negative", reasons
    return ("positive with comments" if reasons else "positive"), reasons


def impact_ratios(metric: MetricResult) -> list[dict[str, Any]]:
    """LL144-style impact ratios of each grouping of a segment metric, from its own groups.

    Each category's rate (the metric's value for the group) over the highest rate among the
    categories kept; a category holding under `SMALL_CATEGORY_SHARE` of the grouping's units
    is excluded from the ratios and marked so.
    """
    comparisons = metric.details.get("comparisons")
    if not isinstance(comparisons, dict):
        return []
    out = []
    for grouping, comparison in sorted(comparisons.items()):
        rates = metric.by_group.get(grouping, {})
        counts = comparison.get("groups", {}) if isinstance(comparison, dict) else {}
        total = sum(counts.values())
        if not rates or not total:
            continue
        kept = {
            level: rate
            for level, rate in rates.items()
            if counts.get(level, 0) / total >= SMALL_CATEGORY_SHARE and math.isfinite(rate)
        }
        best = max(kept.values(), default=0.0)
        categories = []
        for level, rate in sorted(rates.items()):
            n = int(counts.get(level, 0))
            excluded = level not in kept
            categories.append(
                {
                    "category": level,
                    "rate": rate,
                    "n": n,
                    "share": n / total,
                    "excluded": excluded,
                    "impact_ratio": None if excluded or best <= 0 else rate / best,
                }
            )
        ratios = [c["impact_ratio"] for c in categories if c["impact_ratio"] is not None]
        out.append(
            {
                "metric": metric.id,
                "grouping": grouping,
                "categories": categories,
                "lowest_impact_ratio": min(ratios, default=None),
            }
        )
    return out


def assess_obligations(
    obligation_ids: Sequence[str],
    metrics: Sequence[MetricResult],
    claims: Sequence[ClaimCheck],
    quality: DataQuality,
    *,
    modified: Sequence[str] = (),
) -> tuple[list[ObligationFinding], AuditOpinion | None]:
    """One finding per obligation named, and the opinion over them (None when none is named).

    Parameters
    ----------
    obligation_ids
        The suite's ``obligations``, ids of the regulatory mapping.
    metrics, claims, quality
        The run's judged metrics, claim checks and data quality.
    modified
        The suite's protected keys the spec changed (`modified_keys`): an opinion on an
        edited suite is at best positive with comments.
    """
    mapping = regulatory_mapping()
    by_metric = {m.id: m for m in metrics}
    findings = []
    for obligation_id in obligation_ids:
        obligation = mapping.obligation(obligation_id)
        tests = _tests(obligation, metrics, claims)
        finding, reasons = _finding(tests, quality)
        ratios = [
            ratio
            for metric_id in obligation.impact_ratios
            if metric_id in by_metric
            for ratio in impact_ratios(by_metric[metric_id])
        ]
        findings.append(
            ObligationFinding(
                id=obligation.id,
                clause=obligation.clause,
                title=obligation.title,
                obligation=" ".join(obligation.obligation.split()),
                tested=" ".join(obligation.tested.split()),
                tests=tests,
                finding=finding,
                reasons=reasons,
                impact_ratios=ratios,
            )
        )
    if not findings:
        return [], None
    worst = max((f.finding for f in findings), key=_SEVERITY.index)
    reasons = [f"{f.clause}: {f.finding}" for f in findings if f.finding != "positive"]
    if modified:
        # Not the standard audit: its findings hold, but not as the suite's.
        worst = max(worst, "positive with comments", key=_SEVERITY.index)
        reasons.append(f"the suite did not run as shipped: modified {', '.join(modified)}")
    return findings, AuditOpinion(opinion=worst, reasons=reasons)
