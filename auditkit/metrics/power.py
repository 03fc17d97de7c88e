"""Power planning: how big an effect a design can detect, and how many probes a target needs.

A metric's standard error is read off a pilot's bootstrap interval (its half-width over the
normal quantile), so the same formulas serve every metric whose error shrinks as ``1/sqrt(n)``
in its independent units.
"""

from __future__ import annotations

import math

from scipy.stats import norm

from auditkit.errors import invalid_argument


def _check_probability(where: str, key: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(invalid_argument(where, key, "in (0, 1)", value))


def standard_error_from_ci(low: float, high: float, *, confidence: float = 0.95) -> float:
    """The standard error a (normal-ish) interval of this width implies."""
    _check_probability("standard_error_from_ci", "confidence", confidence)
    return (high - low) / (2.0 * float(norm.ppf(0.5 + confidence / 2.0)))


def minimum_detectable_effect(
    standard_error: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest true shift from the null a two-sided test at ``alpha`` detects with ``power``.

    Parameters
    ----------
    standard_error
        The estimate's standard error at the planned number of units.
    alpha
        Two-sided significance level (a confidence interval at ``1 - alpha`` excludes the null).
    power
        Probability of detecting a shift of the returned size.
    """
    _check_probability("minimum_detectable_effect", "alpha", alpha)
    _check_probability("minimum_detectable_effect", "power", power)
    return float((norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power)) * standard_error)


def units_needed(
    standard_error: float, units: int, effect: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Units needed to detect ``effect``, given the standard error seen with ``units`` units."""
    if effect <= 0:
        raise ValueError(invalid_argument("units_needed", "effect", "positive", effect))
    mde = minimum_detectable_effect(standard_error, alpha=alpha, power=power)
    return max(2, math.ceil(units * (mde / effect) ** 2))
