"""The within-customer relabelling test of counterfactual levels: exact, calibrated, sensitive."""

import math

import numpy as np
import pytest

from auditkit.metrics.stats import INVALID_ARGUMENT, level_permutation_p, sign_flip_p


def test_two_levels_is_the_exact_sign_flip_test():
    differences = np.random.default_rng(3).normal(0.4, 1.0, size=8)  # 2**8 = 256 relabellings
    sums = np.column_stack([differences, -differences])
    p = level_permutation_p(sums, np.ones_like(sums), n_resamples=999)
    assert p[0] == p[1] == pytest.approx(sign_flip_p(differences, n_resamples=999))


def test_hand_count_of_every_relabelling():
    # Customer 1 asked at levels a, b, c; customer 2 only at a and b. Level a observed 3 + 1.
    sums = np.array([[3.0, -1.0, -2.0], [1.0, -1.0, 0.0]])
    counts = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    p = level_permutation_p(sums, counts, n_resamples=999)
    # 3! x 2! = 12 relabellings; a's mean is (x + y) / 2, x from {3, -1, -2} (each in 2 of
    # customer 1's 6 orders), y from {1, -1} (each in 1 of customer 2's 2): |x + y| >= 4 only
    # for (3, 1), in 2 x 1 = 2 of the 12 relabellings: p = 1/6.
    assert p[0] == pytest.approx(1 / 6)
    assert math.isfinite(p[2])  # c is asked (by customer 1) and tested


def test_null_is_calibrated_for_a_skewed_outcome_over_three_levels():
    rng = np.random.default_rng(1)
    rejected = 0
    for rep in range(200):
        y = rng.lognormal(0.0, 1.2, size=(15, 4, 3))  # customers x shops x levels
        d = y - (y.sum(axis=2, keepdims=True) - y) / 2
        p = level_permutation_p(d.sum(axis=1), np.full((15, 3), 4.0), n_resamples=199, seed=rep)
        rejected += p[0] < 0.05
    assert rejected / 200 <= 0.09  # 5% expected; 0.09 is far beyond its binomial spread


def test_a_planted_level_effect_is_found():
    rng = np.random.default_rng(2)
    y = rng.normal(size=(40, 3))
    y[:, 2] -= 1.5  # the third level's lists planted lower
    d = y - (y.sum(axis=1, keepdims=True) - y) / 2
    p = level_permutation_p(d, np.ones_like(d), n_resamples=999, seed=5)
    assert p[2] < 0.01 and p[2] <= p[:2].min()  # its twins move too, half as far


def test_edges_and_seeding():
    assert np.isnan(level_permutation_p(np.zeros((2, 2)), np.zeros((2, 2)))).all()
    p = level_permutation_p(np.zeros((3, 2)), np.array([[1, 1], [1, 1], [1, 0.0]]))
    assert p.tolist() == [1.0, 1.0]
    never = level_permutation_p(np.array([[1.0, -1.0, 0.0]]), np.array([[1.0, 1.0, 0.0]]))
    assert np.isnan(never[2]) and np.isfinite(never[:2]).all()
    sums = np.random.default_rng(4).normal(size=(30, 3))
    ones = np.ones_like(sums)
    first = level_permutation_p(sums, ones, n_resamples=300, seed=7)
    assert np.array_equal(first, level_permutation_p(sums, ones, n_resamples=300, seed=7))
    assert not np.array_equal(first, level_permutation_p(sums, ones, n_resamples=300, seed=8))


@pytest.mark.parametrize(
    ("sums", "counts"),
    [
        (np.zeros(3), np.zeros(3)),
        (np.zeros((2, 2)), np.zeros((2, 3))),
        (np.full((1, 2), np.inf), np.ones((1, 2))),
    ],
)
def test_invalid_arrays_are_named(sums, counts):
    with pytest.raises(ValueError, match="level_permutation_p"):
        level_permutation_p(sums, counts)
    assert INVALID_ARGUMENT
