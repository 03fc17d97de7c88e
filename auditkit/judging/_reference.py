"""Judging against a reference: how many times worse the vendor is than what the shop has.

A ``reported`` metric has no threshold that holds across shops (a shop whose own bestsellers
are few and strong gets popular recommendations from any recommender), so with a reference in
the spec it is judged by the ratio of the vendor's value to the reference's, oriented so that
above 1 is worse. Written once here and in docs/metrics.md ("Judged against a reference").
"""

from __future__ import annotations

import dataclasses
import math

from scipy import stats

from auditkit.judging._verdict import interval_verdict
from auditkit.judging._words import sentence
from auditkit.results import Estimate, MetricResult, Threshold, Verdict

REFERENCE_SENTENCE = (
    " Against {name}: {amount} {relation} (ratio {ratio:.2f}, {level:.0%} interval {low:.2f} "
    "to {high:.2f}; worth a look from {warn:g} times, a problem from {fail:g})."
)
WITHIN_CHANCE = " The difference is within chance: more customers would settle it."
NO_RATIO = (
    " Against {name}: no ratio can be taken (a value at the lowest the metric reads, or no "
    "interval), so it is not judged."
)


@dataclasses.dataclass(frozen=True)
class WorseRatio:
    """How many times worse the vendor is than the reference, with its interval."""

    ratio: float
    ci: tuple[float, float] | None


def worse_ratio(
    vendor: Estimate,
    reference: Estimate,
    *,
    floor: float,
    higher_is_worse: bool,
    confidence: float,
) -> WorseRatio:
    """The ratio of the vendor's value to the reference's, above 1 when the vendor is worse.

    Both values are shifted by ``floor`` (the lowest a metric can read: 0, or -1 for a lift)
    so the ratio compares amounts. Its interval is on the log scale, the two estimates' standard
    errors read from their intervals and added as if independent: both are measured
    on the same customers, whose positive correlation this ignores, so the interval is wider
    than a paired one and errs towards "within chance", never towards a finding.
    """
    v, r = vendor.value - floor, reference.value - floor
    if not (math.isfinite(v) and math.isfinite(r)) or v <= 0 or r <= 0:
        return WorseRatio(math.nan, None)
    ratio = v / r if higher_is_worse else r / v
    if vendor.ci is None or reference.ci is None:
        return WorseRatio(ratio, None)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    spread = 0.0
    for ci, amount in ((vendor.ci, v), (reference.ci, r)):
        spread += ((ci[1] - ci[0]) / (2 * z) / amount) ** 2
    half = z * math.sqrt(spread)
    log_ratio = math.log(ratio)
    return WorseRatio(ratio, (math.exp(log_ratio - half), math.exp(log_ratio + half)))


def reference_verdict(found: WorseRatio, n: int, tolerance: Threshold) -> Verdict:
    """``interval_verdict`` of the ratio, with warn and fail also needing its interval above 1.

    A vendor worse than the reference by chance alone is not a finding: a warn or fail whose
    interval reaches 1 (no difference) is ``inconclusive``.
    """
    if not math.isfinite(found.ratio) or found.ci is None:
        return "inconclusive"
    judged = interval_verdict(found.ratio, found.ci, n, tolerance)
    if judged in ("warn", "fail") and found.ci[0] <= 1.0:
        return "inconclusive"
    return judged


def judge_against_reference(
    vendor: Estimate,
    reference: Estimate,
    threshold: Threshold,
    *,
    name: str,
    warn: float,
    fail: float,
    floor: float,
    confidence: float = 0.95,
) -> MetricResult:
    """The result of ``vendor`` judged by its ratio to ``reference``, in words and details.

    ``threshold`` is the metric's own (its direction says which way is worse; it stays the
    result's threshold, for the reader who would rather judge the value alone); ``floor`` is
    the lowest value the metric can take. The comparison is kept in ``details["reference"]``.
    """
    found = worse_ratio(
        vendor,
        reference,
        floor=floor,
        higher_is_worse=threshold.direction == "higher_is_worse",
        confidence=confidence,
    )
    tolerance = Threshold(warn=warn, fail=fail, direction="higher_is_worse")
    judged = reference_verdict(found, min(vendor.n, reference.n), tolerance)
    summary = sentence(vendor, 1.0 - confidence)
    if found.ci is None:
        summary += NO_RATIO.format(name=name)
    else:
        worse = found.ratio >= 1.0
        summary += REFERENCE_SENTENCE.format(
            name=name,
            amount=f"{abs(found.ratio - 1.0):.0%}",
            relation="worse" if worse else "better",
            ratio=found.ratio,
            level=confidence,
            low=found.ci[0],
            high=found.ci[1],
            warn=warn,
            fail=fail,
        )
        if found.ci[0] <= 1.0 <= found.ci[1]:
            summary += WITHIN_CHANCE
    details = dict(vendor.details)
    details["reference"] = {
        "name": name,
        "value": reference.value,
        "ci": None if reference.ci is None else list(reference.ci),
        "n": reference.n,
        "ratio": found.ratio,
        "ratio_ci": None if found.ci is None else list(found.ci),
        "warn": warn,
        "fail": fail,
    }
    return MetricResult(
        id=vendor.id,
        family=vendor.family,
        value=vendor.value,
        ci=vendor.ci,
        n=vendor.n,
        unit=vendor.unit,
        verdict=judged,
        threshold=threshold,
        p_value=vendor.p_value,
        by_group=vendor.by_group,
        details=details,
        summary=summary,
    )
