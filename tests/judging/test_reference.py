import math

import numpy as np
import pytest
from scipy import stats

from auditkit.judging import judge_against_reference, reference_verdict, worse_ratio
from auditkit.judging._reference import WorseRatio
from auditkit.metrics.popularity import LONG_TAIL_ID, METRIC_ID
from auditkit.results import Estimate, Threshold

HIGHER = Threshold(warn=0.25, fail=1.0, direction="higher_is_worse")
LOWER = Threshold(warn=0.1, fail=0.02, direction="lower_is_worse")
TOLERANCE = Threshold(warn=1.25, fail=1.5, direction="higher_is_worse")


def estimate(value, ci, metric_id=METRIC_ID, n=100):
    return Estimate(
        id=metric_id,
        family="popularity",
        value=value,
        ci=ci,
        n=n,
        unit="probe",
        words={"trending_rule": "top", "trending_products": 20},
    )


def test_ratio_and_interval_match_a_hand_computation():
    # lift: values shifted by its floor of -1, so 1.0 vs 0.6 is 2.0 / 1.6.
    vendor, reference = estimate(1.0, (0.8, 1.2)), estimate(0.6, (0.5, 0.7))
    found = worse_ratio(vendor, reference, floor=-1.0, higher_is_worse=True, confidence=0.95)
    z = stats.norm.ppf(0.975)
    se = math.sqrt((0.4 / (2 * z) / 2.0) ** 2 + (0.2 / (2 * z) / 1.6) ** 2)
    assert found.ratio == pytest.approx(1.25)
    assert found.ci == pytest.approx((1.25 * math.exp(-z * se), 1.25 * math.exp(z * se)))


def test_lower_is_worse_turns_the_ratio_over():
    vendor, reference = estimate(0.05, (0.04, 0.06)), estimate(0.10, (0.09, 0.11))
    found = worse_ratio(vendor, reference, floor=0.0, higher_is_worse=False, confidence=0.95)
    assert found.ratio == pytest.approx(2.0)
    assert found.ci[0] > 1.0


def test_a_value_at_the_floor_has_no_ratio():
    vendor, reference = estimate(0.0, (0.0, 0.0)), estimate(0.1, (0.05, 0.15))
    found = worse_ratio(vendor, reference, floor=0.0, higher_is_worse=False, confidence=0.95)
    assert math.isnan(found.ratio) and found.ci is None
    assert reference_verdict(found, 100, TOLERANCE) == "inconclusive"


@pytest.mark.parametrize(
    ("ratio", "ci", "n", "expected"),
    [
        (1.0, (0.9, 1.1), 100, "pass"),
        (1.2, (1.1, 1.3), 100, "pass"),  # worse beyond chance, short of the tolerance
        (1.3, (0.95, 1.7), 100, "inconclusive"),  # over warn, but within chance
        (1.3, (1.05, 1.6), 100, "warn"),
        (1.8, (1.4, 2.3), 100, "warn"),  # interval reaches below fail
        (1.8, (1.55, 2.1), 100, "fail"),
        (1.8, (1.55, 2.1), 5, "inconclusive"),  # too few units
        (0.5, (0.4, 0.6), 100, "pass"),  # better than the reference
    ],
)
def test_reference_verdict(ratio, ci, n, expected):
    assert reference_verdict(WorseRatio(ratio, ci), n, TOLERANCE) == expected


def test_the_result_keeps_the_comparison_and_says_it():
    vendor, reference = (
        estimate(0.02, (0.015, 0.025), LONG_TAIL_ID),
        estimate(0.10, (0.09, 0.11), LONG_TAIL_ID),
    )
    result = judge_against_reference(
        vendor, reference, LOWER, name="our bestsellers", warn=1.25, fail=1.5, floor=0.0
    )
    assert result.verdict == "fail"
    assert result.threshold == LOWER  # the metric's own, for the reader judging the value
    kept = result.details["reference"]
    assert kept["name"] == "our bestsellers" and kept["value"] == 0.10
    assert kept["ratio"] == pytest.approx(5.0) and kept["ratio_ci"][0] > 1.5
    assert "Against our bestsellers: 400% worse (ratio 5.00" in result.summary
    assert "not judged" not in result.summary


def test_a_difference_within_chance_says_what_would_settle_it():
    vendor, reference = estimate(0.5, (0.2, 0.8)), estimate(0.45, (0.2, 0.7))
    result = judge_against_reference(
        vendor, reference, HIGHER, name="the in-house list", warn=1.25, fail=1.5, floor=-1.0
    )
    assert result.verdict == "pass"
    assert result.summary.endswith("more customers would settle it.")


def _estimates(rng, scale_vendor, reps=300, n=40):
    from auditkit.metrics.stats import bootstrap_ci

    found = []
    for rep in range(reps):
        v = rng.gamma(2.0, scale_vendor, size=n)
        r = rng.gamma(2.0, 1.0, size=n)
        pair = [
            estimate(float(x.mean()), bootstrap_ci(x, n_resamples=200, seed=rep), n=n)
            for x in (v, r)
        ]
        found.append(worse_ratio(*pair, floor=0.0, higher_is_worse=True, confidence=0.95))
    return found


def test_under_the_null_the_vendor_is_rarely_found_worse_beyond_chance():
    found = _estimates(np.random.default_rng(5), 1.0)
    # The lower end above 1 is a finding: at most about 2.5% of a 95% interval's misses.
    assert np.mean([f.ci[0] > 1.0 for f in found]) <= 0.05


def test_a_vendor_twice_as_bad_is_found_worse():
    found = _estimates(np.random.default_rng(6), 2.0)
    assert np.mean([f.ci[0] > 1.0 for f in found]) >= 0.95
