import math

import numpy as np
import pytest
from scipy import stats

from auditkit.metrics.stats import (
    INVALID_ARGUMENT,
    RULE_ALTERNATIVE,
    RULE_FINITE_1D,
    RULE_SEED,
    sign_flip_p,
)


def scipy_p(differences, alternative, n_resamples, seed=0):
    result = stats.permutation_test(
        (np.asarray(differences, dtype=float),),
        np.mean,
        permutation_type="samples",
        alternative=alternative,
        n_resamples=n_resamples,
        random_state=seed,
    )
    return float(result.pvalue)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_enumeration_equals_scipy(alternative, seed):
    rng = np.random.default_rng(seed)
    differences = rng.normal(0.4, 1.0, size=11)
    # 2**11 sign vectors <= n_resamples: both enumerate them all.
    assert sign_flip_p(differences, alternative=alternative, n_resamples=5000) == pytest.approx(
        scipy_p(differences, alternative, 5000), rel=1e-12
    )


def test_exact_with_ties_equals_scipy():
    differences = [1.0, 2.0, -1.0, 1.0, 3.0, -2.0, 1.0, 0.0, 2.0]
    for alternative in ("two-sided", "greater", "less"):
        assert sign_flip_p(differences, alternative=alternative, n_resamples=1000) == (
            pytest.approx(scipy_p(differences, alternative, 1000), rel=1e-12)
        )


def test_hand_computed_exact_case():
    # d = (1, 2, 3): the 8 flipped sums are ±1 ±2 ±3 = -6, -4, -2, 0, 0, 2, 4, 6.
    # P(sum >= 6) = 1/8; two-sided 2/8; P(sum <= 6) = 1.
    assert sign_flip_p([1, 2, 3], alternative="greater", n_resamples=8) == 1 / 8
    assert sign_flip_p([1, 2, 3], n_resamples=8) == 2 / 8
    assert sign_flip_p([1, 2, 3], alternative="less", n_resamples=8) == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_monte_carlo_agrees_with_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    noise = rng.normal(size=200)
    # Centred, then shifted by 0.15 standard deviations: a z of about 2, p near 0.03.
    differences = noise - noise.mean() + 0.15 * noise.std()
    ours = sign_flip_p(differences, n_resamples=20000, seed=seed)
    theirs = scipy_p(differences, "two-sided", 20000, seed=seed)
    # Two independent Monte Carlo estimates of the same p: within a few standard errors.
    se = math.sqrt(theirs * (1 - theirs) / 20000)
    assert abs(ours - theirs) < 5 * se + 1e-4
    assert 0.001 < theirs < 0.5


def test_null_rejection_rate_is_nominal():
    rng = np.random.default_rng(7)
    p = np.array([sign_flip_p(rng.normal(size=40), n_resamples=999, seed=i) for i in range(400)])
    assert 0.02 < (p <= 0.05).mean() < 0.09


def test_a_clear_shift_is_detected_with_the_smallest_p():
    rng = np.random.default_rng(3)
    p = sign_flip_p(rng.normal(1.0, 1.0, size=500), alternative="greater", n_resamples=999)
    assert p == 1 / 1000


def test_seeded_order_free_and_bounded():
    rng = np.random.default_rng(5)
    differences = rng.normal(0.02, 1.0, size=3000)
    first = sign_flip_p(differences, n_resamples=500, seed=11)
    assert first == sign_flip_p(differences[::-1].copy(), n_resamples=500, seed=11)
    assert first == sign_flip_p(rng.permutation(differences), n_resamples=500, seed=11)
    assert first != sign_flip_p(differences, n_resamples=500, seed=12)
    assert 1 / 501 <= first <= 1.0


def test_degenerate_inputs():
    assert math.isnan(sign_flip_p([]))
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "key", "rule", "value"),
    [
        ({"alternative": "up"}, "alternative", RULE_ALTERNATIVE, "up"),
        ({"seed": -1}, "seed", RULE_SEED, -1),
        ({"n_resamples": 0}, "n_resamples", "a positive integer", 0),
    ],
)
def test_rejects_bad_options(kwargs, key, rule, value):
    with pytest.raises(ValueError) as excinfo:
        sign_flip_p([1.0, 2.0], **kwargs)
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where="sign_flip_p", key=key, rule=rule, value=value
    )


def test_rejects_non_finite_differences():
    with pytest.raises(ValueError) as excinfo:
        sign_flip_p([1.0, float("inf")])
    assert str(excinfo.value) == INVALID_ARGUMENT.format(
        where="sign_flip_p", key="differences", rule=RULE_FINITE_1D, value=float("inf")
    )
