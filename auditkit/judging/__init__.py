"""The judging layer: metrics' estimates become verdicts and the words every format prints.

Metrics measure (`auditkit.results.Estimate`); this stage alone decides what a measurement
means against its threshold (`verdict`) and says it (`sentence`), so the report, Markdown,
terminal and results.json agree by construction.
"""

from __future__ import annotations

import math

from auditkit.errors import invalid_argument
from auditkit.judging._reference import (
    WorseRatio,
    judge_against_reference,
    reference_verdict,
    worse_ratio,
)
from auditkit.judging._verdict import RULES, Rule, interval_verdict, verdict
from auditkit.judging._words import SENTENCES, sentence
from auditkit.metrics.registry import get_metric
from auditkit.metrics.stats import RULE_THRESHOLD
from auditkit.results import Effect, Estimate, MetricResult, Threshold, Verdict
from auditkit.tables import AuditTables

# Appended to the sentence of a metric judged by the ``reported`` rule without the auditor's
# own threshold.
NOT_JUDGED = (
    "Reported, not judged: no fixed threshold fits every shop; name a reference in the spec "
    "(the shop's own recommender, say), or set this metric's warn and fail, to judge it."
)

# Appended to the sentence of a tested metric whose gap is real but short of its threshold.
BELOW_THRESHOLD = (
    " The gap is real (p = {p:.2g}) but below the warn threshold ({warn:g}): worth knowing, "
    "not a finding."
)

__all__ = [
    "BELOW_THRESHOLD",
    "NOT_JUDGED",
    "RULES",
    "SENTENCES",
    "Rule",
    "WorseRatio",
    "interval_verdict",
    "judge",
    "judge_against_reference",
    "judge_metric",
    "reference_verdict",
    "sentence",
    "verdict",
    "worse_ratio",
]


def judge(
    estimate: Estimate, threshold: Threshold, *, rule: Rule = "interval", confidence: float = 0.95
) -> MetricResult:
    """The metric result of ``estimate``: its verdict under ``threshold`` and its sentence."""
    alpha = 1.0 - confidence
    summary = sentence(estimate, alpha)
    if rule == "reported" and math.isfinite(estimate.value):
        summary = f"{summary} {NOT_JUDGED}"
    found = verdict(estimate, threshold, rule=rule, alpha=alpha)
    effect = _effect(estimate, found, alpha) if rule == "tested" else None
    if effect == "below threshold":
        summary += BELOW_THRESHOLD.format(p=estimate.p_value, warn=threshold.warn)
    return MetricResult(
        id=estimate.id,
        family=estimate.family,
        value=estimate.value,
        ci=estimate.ci,
        n=estimate.n,
        unit=estimate.unit,
        verdict=found,
        threshold=threshold,
        p_value=estimate.p_value,
        by_group=estimate.by_group,
        details=estimate.details,
        summary=summary,
        effect=effect,
    )


def _effect(estimate: Estimate, found: Verdict, alpha: float) -> Effect | None:
    """The finding of a tested metric: no effect, a real one below the threshold, or over it."""
    if not math.isfinite(estimate.value):
        return None
    if found in ("warn", "fail"):
        return "over threshold"
    real = estimate.p_value is not None and estimate.p_value < alpha
    if found == "pass":
        return "below threshold" if real else "none"
    return None if real else "none"  # inconclusive: too few units, or within chance


def judge_metric(
    metric_id: str,
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Estimate a registered metric on ``tables`` and judge it (its default threshold if none).

    A metric of rule ``reported`` is judged (by the interval rule) only against a ``threshold``
    given here; without one it reads inconclusive and says so. The tables are used as given:
    `AuditTables.core` is the caller's choice, as in the audit.
    A ``threshold`` that is not a `Threshold` raises `ValueError` (message `INVALID_ARGUMENT`).
    """
    definition = get_metric(metric_id)
    if threshold is not None and not isinstance(threshold, Threshold):
        raise ValueError(invalid_argument(metric_id, "threshold", RULE_THRESHOLD, threshold))
    rule = definition.rule
    if rule == "reported" and threshold is not None:
        rule = "interval"  # the auditor's own threshold: judged against it
    estimate = definition.measure(
        tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    return judge(
        estimate,
        definition.default_threshold if threshold is None else threshold,
        rule=rule,
        confidence=confidence,
    )
