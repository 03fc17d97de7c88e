"""Benjamini–Hochberg runs over every test of the audit, each comparison of a metric included."""

import pytest
from scipy.stats import false_discovery_control

from auditkit.api import adjust_across_audit
from auditkit.results import MetricResult


def result(metric_id: str, p_value: float | None, **details) -> MetricResult:
    return MetricResult(
        id=metric_id,
        family=metric_id.split(".")[0],
        value=0.1,
        ci=None,
        n=20,
        unit="probe",
        verdict="pass",
        p_value=p_value,
        details=details,
    )


def test_every_comparison_enters_one_correction():
    results = [
        result("popularity.single", 0.01),
        result(
            "segment.groups",
            0.02,
            comparisons={"device": {"p_value": 0.04}, "age_band": {"p_value": 0.02}},
        ),
        result("segment.twins", 0.03, tests=[{"p_value": 0.03}, {"p_value": 0.5}]),
        result("homogenization.untested", None),
    ]
    adjusted = adjust_across_audit(results)
    # Test order: the single one, age_band, device (sorted by name), then the two twins' tests.
    expected = false_discovery_control([0.01, 0.02, 0.04, 0.03, 0.5], method="bh")
    comparisons = adjusted[1].details["comparisons"]
    got = [
        adjusted[0].details["q_value"],
        comparisons["age_band"]["audit_q_value"],
        comparisons["device"]["audit_q_value"],
        *[t["audit_q_value"] for t in adjusted[2].details["tests"]],
    ]
    assert got == pytest.approx(list(expected))
    assert adjusted[1].details["q_value"] == pytest.approx(min(expected[1], expected[2]))
    assert adjusted[2].details["q_value"] == pytest.approx(min(expected[3], expected[4]))
    assert "q_value" not in adjusted[3].details
    assert [r.verdict for r in adjusted] == [r.verdict for r in results]
