import pytest

from auditkit.results import Threshold


@pytest.mark.parametrize(
    ("value", "ci", "n", "expected"),
    [
        (0.2, (0.1, 0.3), 50, "pass"),
        (0.35, (0.25, 0.45), 50, "warn"),
        (0.6, (0.45, 0.7), 50, "warn"),  # estimate past fail, but the interval reaches below it
        (0.6, (0.55, 0.7), 50, "fail"),
        (0.6, (0.55, 0.7), 5, "inconclusive"),
        (float("nan"), None, 50, "inconclusive"),
    ],
)
def test_higher_is_worse_verdicts(value, ci, n, expected):
    assert Threshold(warn=0.3, fail=0.5).verdict(value, ci, n) == expected


def test_lower_is_worse_verdicts():
    threshold = Threshold(warn=0.8, fail=0.5, direction="lower_is_worse")
    assert threshold.verdict(0.9, (0.85, 0.95), 50) == "pass"
    assert threshold.verdict(0.7, (0.6, 0.9), 50) == "warn"
    assert threshold.verdict(0.3, (0.2, 0.45), 50) == "fail"
