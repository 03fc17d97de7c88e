"""The judging layer: the two verdict rules, and words for every registered metric."""

import math

import pytest

from auditkit.judging import (
    NOT_JUDGED,
    RULES,
    SENTENCES,
    interval_verdict,
    judge,
    sentence,
    verdict,
)
from auditkit.metrics.registry import METRICS
from auditkit.results import Estimate, Threshold

HIGHER = Threshold(warn=0.3, fail=0.5)


def estimate(value, ci=None, n=50, p_value=None, metric_id="segment.price_gap", **fields):
    return Estimate(
        id=metric_id,
        family="segment",
        value=value,
        ci=ci,
        n=n,
        unit="customer",
        p_value=p_value,
        **fields,
    )


@pytest.mark.parametrize(
    ("value", "ci", "n", "expected"),
    [
        (0.2, (0.1, 0.3), 50, "pass"),
        (0.35, (0.25, 0.45), 50, "warn"),
        (0.6, (0.45, 0.7), 50, "warn"),  # estimate past fail, but the interval reaches below it
        (0.6, (0.55, 0.7), 50, "fail"),
        (0.6, None, 50, "fail"),  # no interval: the estimate itself is the conservative end
        (0.6, (0.55, 0.7), 5, "inconclusive"),  # fewer units than min_units
        (math.nan, None, 50, "inconclusive"),
    ],
)
def test_interval_rule_higher_is_worse(value, ci, n, expected):
    assert interval_verdict(value, ci, n, HIGHER) == expected
    assert verdict(estimate(value, ci, n), HIGHER, rule="interval", alpha=0.05) == expected


def test_interval_rule_lower_is_worse():
    threshold = Threshold(warn=0.8, fail=0.5, direction="lower_is_worse")
    assert interval_verdict(0.9, (0.85, 0.95), 50, threshold) == "pass"
    assert interval_verdict(0.7, (0.6, 0.9), 50, threshold) == "warn"
    assert interval_verdict(0.3, (0.2, 0.45), 50, threshold) == "fail"
    assert interval_verdict(0.3, (0.2, 0.55), 50, threshold) == "warn"


@pytest.mark.parametrize(
    ("p_value", "expected"),
    [(0.01, "fail"), (0.05, "inconclusive"), (0.2, "inconclusive"), (None, "inconclusive")],
)
def test_tested_rule_needs_the_test_to_reject_chance_before_warn_or_fail(p_value, expected):
    gap = estimate(0.6, (0.55, 0.7), p_value=p_value)
    assert verdict(gap, HIGHER, rule="tested", alpha=0.05) == expected
    # The interval rule does not read the test.
    assert verdict(gap, HIGHER, rule="interval", alpha=0.05) == "fail"


def test_tested_rule_leaves_a_pass_alone_whatever_the_test():
    small = estimate(0.1, (0.05, 0.15), p_value=0.9)
    assert verdict(small, HIGHER, rule="tested", alpha=0.05) == "pass"


def test_judge_carries_the_estimate_and_adds_verdict_threshold_and_words():
    gap = estimate(
        0.25,
        (0.2, 0.3),
        p_value=0.2,
        details={"customers": 50},
        words={"attribute": "age band", "lowest": "18-24", "highest": "65+"},
    )
    result = judge(gap, Threshold(warn=0.1, fail=0.2), rule="tested", confidence=0.9)
    assert (result.value, result.ci, result.n, result.p_value) == (0.25, (0.2, 0.3), 50, 0.2)
    assert result.details == {"customers": 50} and result.verdict == "inconclusive"
    assert result.summary == (
        "Customers whose age band is 18-24 are shown lists that cost 25% less on average than "
        "those whose age band is 65+. The probes cannot tell this from chance (p = 0.2); more "
        "customers would settle it."
    )
    # At a looser level the same test rejects chance, and the sentence drops the caveat.
    loose = judge(gap, Threshold(warn=0.1, fail=0.2), rule="tested", confidence=0.7)
    assert loose.verdict == "fail" and "chance" not in loose.summary


def test_an_estimate_not_measured_says_why():
    missing = estimate(math.nan, reason="no segment attribute has two groups")
    assert sentence(missing, 0.05) == (
        "Segment groups could not be compared: no segment attribute has two groups."
    )


def test_every_registered_metric_has_words_and_a_known_rule():
    assert set(SENTENCES) == set(METRICS)
    assert all(definition.rule in RULES for definition in METRICS.values())


def test_a_metric_without_words_is_named_in_the_error():
    with pytest.raises(KeyError, match="must be one of"):
        sentence(estimate(0.1, metric_id="segment.unknown"), 0.05)


@pytest.mark.parametrize(
    ("value", "ci", "p_value", "effect", "verdict_word"),
    [
        (0.05, (0.03, 0.07), 0.003, "below threshold", "pass"),  # real, short of warn 0.3
        (0.05, (-0.01, 0.11), 0.4, "none", "pass"),  # within chance
        (0.6, (0.55, 0.7), 0.001, "over threshold", "fail"),
        (0.6, (0.1, 0.9), 0.3, "none", "inconclusive"),  # past warn, but within chance
        (0.6, (0.55, 0.7), 0.001, None, "inconclusive"),  # too few units to say (n below)
    ],
)
def test_a_tested_metric_keeps_no_effect_a_real_small_one_and_one_over_the_threshold_apart(
    value, ci, p_value, effect, verdict_word
):
    n = 5 if effect is None and verdict_word == "inconclusive" else 50
    gap = estimate(
        value, ci, n=n, p_value=p_value, words={"attribute": "age", "lowest": "a", "highest": "b"}
    )
    result = judge(gap, HIGHER, rule="tested")
    assert (result.verdict, result.effect) == (verdict_word, effect)
    assert result.to_dict()["effect"] == effect
    # Only the real gap short of the threshold says so, with its test and the threshold.
    assert ("real (p = 0.003) but below the warn threshold (0.3)" in result.summary) == (
        effect == "below threshold"
    )
    # A metric judged by the interval rule has no test-based finding.
    assert judge(gap, HIGHER, rule="interval").effect is None


def test_a_reported_metric_is_judged_only_against_the_auditors_threshold():
    lift = Estimate(
        id="popularity.lift", family="popularity", value=2.0, ci=(1.5, 2.5), n=50, unit="customer"
    )
    reported = judge(lift, HIGHER, rule="reported")
    assert reported.verdict == "reported" and reported.summary.endswith(NOT_JUDGED)
    assert judge(lift, HIGHER, rule="interval").verdict == "fail"
