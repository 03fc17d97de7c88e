"""Bootstraps over many units resample random groups of units: same spread, bounded cost."""

import numpy as np
import pytest

from auditkit.metrics import _bootstrap, stats
from auditkit.metrics.stats import MAX_RESAMPLED_UNITS, bootstrap_ci

N = 4 * MAX_RESAMPLED_UNITS


def _normal_half_width(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """1.96 standard errors of the mean (or of the ratio of sums, by the delta method)."""
    if weights is None:
        return 1.96 * values.std() / np.sqrt(values.size)
    ratio = values.sum() / weights.sum()
    residual = values - ratio * weights
    return 1.96 * np.sqrt((residual**2).sum()) / weights.sum()


def test_grouped_interval_has_the_units_spread():
    values = np.random.default_rng(3).exponential(size=N)
    low, high = bootstrap_ci(values, n_resamples=1000, seed=1)
    assert low < values.mean() < high
    assert (high - low) / 2 == pytest.approx(_normal_half_width(values), rel=0.1)


def test_grouped_ratio_interval_has_the_delta_method_spread():
    rng = np.random.default_rng(4)
    weights = rng.integers(1, 6, size=N).astype(float)
    values = weights * rng.normal(2.0, 1.0, size=N)
    low, high = bootstrap_ci(values, weights=weights, n_resamples=1000, seed=2)
    assert (high - low) / 2 == pytest.approx(_normal_half_width(values, weights), rel=0.1)


@pytest.mark.slow
def test_grouped_strata_keep_the_design_spread():
    # Strata far apart: only the within-stratum spread may reach the interval.
    rng = np.random.default_rng(5)
    strata = rng.integers(0, 4, size=N)
    values = 10.0 * strata + rng.normal(size=N)
    low, high = bootstrap_ci(values, strata=strata, n_resamples=1000, seed=3)
    within = np.sqrt(sum(values[strata == h].var() * (strata == h).sum() for h in range(4)))
    assert (high - low) / 2 == pytest.approx(1.96 * within / N, rel=0.1)
    plain_low, plain_high = bootstrap_ci(values, n_resamples=1000, seed=3)
    assert plain_high - plain_low > 5 * (high - low)


def test_grouped_interval_ignores_unit_order_and_repeats_with_its_seed():
    values = np.random.default_rng(6).normal(size=N)
    order = np.random.default_rng(7).permutation(N)
    first = bootstrap_ci(values, n_resamples=200, seed=8)
    assert bootstrap_ci(values[order], n_resamples=200, seed=8) == first
    assert bootstrap_ci(values, n_resamples=200, seed=9) != first


def test_units_stay_units_below_the_limit_or_when_a_stratum_is_small():
    rng = np.random.default_rng(10)
    assert _bootstrap.random_groups(np.zeros(100, int), rng) is None
    # One stratum of 60 units cannot hold MIN_GROUPS_PER_STRATUM groups of two.
    assert (
        _bootstrap.random_groups(np.sort(np.r_[np.zeros(N, int), np.ones(60, int)]), rng) is None
    )


def test_groups_partition_the_units_within_their_strata():
    rng = np.random.default_rng(11)
    codes = np.sort(rng.integers(0, 3, size=N))
    group, group_strata = _bootstrap.random_groups(codes, rng)
    assert group_strata.size <= MAX_RESAMPLED_UNITS + 3
    assert np.all(np.diff(group_strata) >= 0)
    assert np.array_equal(group_strata[group], codes)  # each unit's group is in its stratum
    sizes = np.bincount(group)
    assert sizes.sum() == N
    # Every group has the same size but the last of each stratum.
    assert (sizes == sizes.max()).sum() >= sizes.size - 3


def test_grouped_column_means_have_the_units_spread():
    rng = np.random.default_rng(12)
    columns = np.column_stack([rng.normal(size=N), rng.exponential(size=N)])
    draws = stats.bootstrap_means(columns, n_resamples=1000, seed=1)
    assert draws.shape == (1000, 2)
    for c in range(2):
        assert draws[:, c].mean() == pytest.approx(columns[:, c].mean(), abs=0.002)
        sd = columns[:, c].std() / np.sqrt(N)
        assert draws[:, c].std() == pytest.approx(sd, rel=0.1)


@pytest.mark.parametrize("top", [3, 2**16 - 1, 2**16, 2**40])
def test_stable_order_is_the_stable_argsort(top):
    # Narrow codes take the radix sort, wide ones the merge sort: the same order either way.
    codes = np.random.default_rng(top % 97).integers(0, top + 1, size=10_000)
    codes[:2] = top
    assert np.array_equal(stats.stable_order(codes), np.argsort(codes, kind="stable"))
