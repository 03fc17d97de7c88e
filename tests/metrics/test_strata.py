"""Stratified bootstrap: units resampled within the design's strata."""

import numpy as np
import pytest

from auditkit.metrics.stats import bootstrap_ci, bootstrap_means, expanded_confidence


def test_strata_fixed_by_design_do_not_widen_the_interval():
    # Two personas, each customer of a persona alike: the mean is fixed by the design.
    values = np.array([0.1] * 6 + [0.5] * 6)
    strata = ["tea"] * 6 + ["gadgets"] * 6
    low, high = bootstrap_ci(values, strata=strata, n_resamples=500, seed=1)
    assert low == pytest.approx(0.3) and high == pytest.approx(0.3)
    low, high = bootstrap_ci(values, n_resamples=500, seed=1)
    assert high - low > 0.1  # unstratified, the persona mix itself varies


def test_stratified_interval_matches_the_design_spread():
    # Stratified sampling (30 units in each of 3 strata with far-apart means): the interval's
    # width matches the sampling spread of the design's mean, which the plain bootstrap
    # overstates.
    rng = np.random.default_rng(5)
    centres = np.repeat([0.0, 1.0, 3.0], 30)
    strata = np.repeat(["a", "b", "c"], 30)
    means = [(centres + rng.normal(0, 0.2, 90)).mean() for _ in range(2000)]
    true_sd = np.std(means)
    sample = centres + rng.normal(0, 0.2, 90)
    low, high = bootstrap_ci(sample, strata=strata, n_resamples=4000, seed=2)
    assert (high - low) / (2 * 1.96) == pytest.approx(true_sd, rel=0.2)
    plain_low, plain_high = bootstrap_ci(sample, n_resamples=4000, seed=2)
    assert (plain_high - plain_low) / (2 * 1.96) > 3 * true_sd


def test_interval_ignores_unit_order_with_strata():
    rng = np.random.default_rng(9)
    values = rng.normal(size=40)
    strata = np.repeat(["x", "y", "z", "w"], 10)
    order = rng.permutation(40)
    first = bootstrap_ci(values, strata=strata, n_resamples=300, seed=4)
    second = bootstrap_ci(values[order], strata=strata[order], n_resamples=300, seed=4)
    assert first == second


def test_strata_of_the_wrong_length_are_a_clear_error():
    with pytest.raises(ValueError) as info:
        bootstrap_ci([1.0, 2.0, 3.0], strata=["a", "b"])
    assert str(info.value) == (
        "bootstrap_ci: strata must be a 1-D array of labels as long as values; got (2,)"
    )


def test_small_strata_are_rescaled_to_the_unbiased_spread():
    # 150 strata of two units each: plain resampling within a stratum would halve the
    # variance of its mean ((n - 1) / n); the interval must still match the true spread.
    rng = np.random.default_rng(11)
    centres = np.repeat(rng.uniform(0, 5, 150), 2)
    strata = np.repeat(np.arange(150), 2)
    true_sd = 1.0 / np.sqrt(300)  # unit noise sd 1, 300 units
    widths = []
    for trial in range(10):
        sample = centres + rng.normal(0, 1.0, 300)
        low, high = bootstrap_ci(sample, strata=strata, n_resamples=1000, seed=trial)
        widths.append((high - low) / (2 * 1.96))
    assert np.mean(widths) == pytest.approx(true_sd, rel=0.1)


def test_a_stratum_of_one_unit_resamples_the_units_unstratified():
    # A persona with a single customer has no spread to resample within: stratified, every
    # draw would repeat the point estimate. The units are resampled as one pool instead.
    values = np.array([0.0, 1.0, 2.0, 10.0])
    strata = ["a", "a", "a", "b"]
    stratified = bootstrap_ci(values, strata=strata, n_resamples=500, seed=3)
    assert stratified == bootstrap_ci(values, n_resamples=500, seed=3)
    assert stratified[1] - stratified[0] > 1.0


def test_bootstrap_means_resamples_within_strata():
    # Rows (sum, count) of customers of two personas far apart: stratified, the overall ratio
    # moves only with the spread inside each persona, as over audits of the same design.
    rng = np.random.default_rng(4)
    centres = np.repeat([0.0, 5.0], 20)
    rows = np.column_stack([centres + rng.normal(0, 0.1, 40), np.ones(40)])
    strata = np.repeat(["tea", "gadgets"], 20)
    draws = bootstrap_means(rows, strata=strata, n_resamples=2000, seed=1)
    plain = bootstrap_means(rows, n_resamples=2000, seed=1)
    ratio = draws[:, 0] / draws[:, 1]
    true_sd = 0.1 / np.sqrt(40)
    assert ratio.std() == pytest.approx(true_sd, rel=0.2)
    assert (plain[:, 0] / plain[:, 1]).std() > 10 * true_sd
    assert ratio.mean() == pytest.approx(rows[:, 0].mean(), abs=3 * true_sd)


def test_the_expanded_percentile_level_follows_hesterberg():
    # n = 10 plain: c t(9, 0.975) = sqrt(10/9) * 2.2622 = 2.3845, two tails of 0.00855.
    assert expanded_confidence(0.95, 10) == pytest.approx(1 - 2 * 0.008551, abs=1e-5)
    # Within 3 strata (already spread to the unbiased variance): t(7, 0.975) = 2.3646 alone.
    assert expanded_confidence(0.95, 10, 3) == pytest.approx(1 - 2 * 0.009025, abs=1e-5)
    assert expanded_confidence(0.95, 100_000) == pytest.approx(0.95, abs=1e-4)
    assert expanded_confidence(0.95, 1) == 0.95


def test_few_units_get_their_nominal_coverage():
    # Eight normal units: the plain percentile interval covers the mean about 87% of the time;
    # the expanded one about 95%.
    rng = np.random.default_rng(21)
    covered = 0
    trials = 400
    for trial in range(trials):
        low, high = bootstrap_ci(rng.normal(size=8), n_resamples=400, seed=trial)
        covered += low <= 0.0 <= high
    assert 0.92 <= covered / trials <= 0.98
