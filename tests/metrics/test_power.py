"""Power formulas: a hand-computed value, and detection rates checked by simulation."""

import numpy as np
import pytest

from auditkit.metrics.power import minimum_detectable_effect, standard_error_from_ci, units_needed
from auditkit.metrics.stats import bootstrap_ci


def test_hand_computed_values():
    # z(0.975) + z(0.8) = 1.959964 + 0.841621 = 2.801585
    assert minimum_detectable_effect(1.0) == pytest.approx(2.801585, abs=1e-6)
    assert standard_error_from_ci(-1.959964, 1.959964) == pytest.approx(1.0, abs=1e-6)
    # A lopsided interval: the half on the worse side (above the value when higher is worse).
    lopsided = {"value": 0.0, "confidence": 0.95}
    low, high = -1.959964, 2 * 1.959964
    assert standard_error_from_ci(low, high, direction="higher_is_worse", **lopsided) == (
        pytest.approx(2.0, abs=1e-6)
    )
    assert standard_error_from_ci(low, high, direction="lower_is_worse", **lopsided) == (
        pytest.approx(1.0, abs=1e-6)
    )
    # halving the detectable effect needs four times the units
    assert units_needed(0.1, 100, minimum_detectable_effect(0.1) / 2) == 400


@pytest.mark.parametrize("key", ["alpha", "power"])
def test_bad_probabilities_are_clear_errors(key):
    with pytest.raises(ValueError) as info:
        minimum_detectable_effect(1.0, **{key: 1.5})
    assert str(info.value) == f"minimum_detectable_effect: {key} must be in (0, 1); got 1.5"


def test_planned_effect_is_detected_about_80_percent_of_the_time():
    # Skewed per-unit values (like per-probe lifts). Each pilot's bootstrap CI gives the SE,
    # from its half on the worse side (above the value: higher is worse here); an effect of the
    # detectable size is planted as a worse vendor makes it, scaling the values so that their
    # spread grows with it, and the CI must exclude the null. Averaged over pilots (as over
    # audits), the detection rate is the planned power.
    rng = np.random.default_rng(2026)
    n, null_mean = 120, 2.0 * 0.1
    detected = quiet = runs = 0
    for pilot_run in range(40):
        pilot = rng.gamma(2.0, 0.1, size=n)
        ci = bootstrap_ci(pilot, n_resamples=1000, seed=pilot_run)
        se = standard_error_from_ci(*ci, value=pilot.mean(), direction="higher_is_worse")
        scale = 0.1 * (1.0 + minimum_detectable_effect(se) / null_mean)
        for rerun in range(15):
            seed = pilot_run * 100 + rerun
            planted = rng.gamma(2.0, scale, size=n)
            detected += bootstrap_ci(planted, n_resamples=400, seed=seed)[0] > null_mean
            null = rng.gamma(2.0, 0.1, size=n)
            quiet += bootstrap_ci(null, n_resamples=400, seed=seed)[0] > null_mean
            runs += 1
    assert 0.76 <= detected / runs <= 0.90
    assert quiet / runs < 0.05  # a null world stays quiet (one side of a 95% interval)
