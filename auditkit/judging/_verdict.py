"""The verdict rules: how an estimate and its threshold become a verdict, one rule per metric.

Written once here and in docs/metrics.md ("Verdicts"); every metric is judged by one of them.
"""

from __future__ import annotations

import math
from typing import Literal

from auditkit.results import Estimate, Threshold, Verdict

Rule = Literal["interval", "tested", "reported"]
RULES: tuple[Rule, ...] = ("interval", "tested", "reported")


def interval_verdict(
    value: float, ci: tuple[float, float] | None, n: int, threshold: Threshold
) -> Verdict:
    """Judge a value against the thresholds.

    ``fail`` when the whole interval is past ``fail``, ``warn`` when the estimate is past
    ``warn``, ``inconclusive`` when there are too few units or no value.
    """
    if n < threshold.min_units or value is None or not math.isfinite(value):
        return "inconclusive"
    sign = 1.0 if threshold.direction == "higher_is_worse" else -1.0
    # The conservative end of the interval is the one nearest to "pass".
    conservative = value if ci is None else (ci[0] if sign > 0 else ci[1])
    if sign * (conservative - threshold.fail) >= 0:
        return "fail"
    if sign * (value - threshold.warn) >= 0:
        return "warn"
    return "pass"


def verdict(estimate: Estimate, threshold: Threshold, *, rule: Rule, alpha: float) -> Verdict:
    """The verdict of ``estimate`` under ``rule``.

    ``interval``: `interval_verdict`. ``tested``: the same, but a warn or fail that the
    estimate's test cannot tell from chance (``p_value >= alpha``, or no test), or that has no
    interval (too few events to put one on it), is ``inconclusive``: a gap between groups is
    never exactly zero, and with few customers it can look large by chance alone.
    ``reported``: ``reported`` when measured (``inconclusive`` when not); the metric has no
    threshold that holds across shops, so it is judged only against one the auditor sets
    (`auditkit.judging.judge_metric`) or a reference (`auditkit.judging.judge_against_reference`).
    """
    if rule == "reported":
        return "reported" if math.isfinite(estimate.value) else "inconclusive"
    found = interval_verdict(estimate.value, estimate.ci, estimate.n, threshold)
    if rule == "tested" and found in ("warn", "fail"):
        p_value = estimate.p_value
        if p_value is None or not p_value < alpha or estimate.ci is None:
            return "inconclusive"
    return found
