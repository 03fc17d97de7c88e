import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from auditkit.metrics import _bootstrap
from auditkit.metrics.stats import (
    INVALID_ARGUMENT,
    RULE_ALTERNATIVE,
    RULE_CLUSTERS,
    RULE_CONFIDENCE,
    RULE_FINITE_1D,
    RULE_FINITE_2D,
    RULE_P_VALUES,
    RULE_POSITIVE_INT,
    RULE_SEED,
    RULE_WEIGHTS,
    benjamini_hochberg,
    bootstrap_ci,
    bootstrap_diff_ci,
    bootstrap_means,
    bootstrap_product_ci,
    cluster_bootstrap_ci,
    mann_whitney_p,
    permutation_diff_p,
)


def message(where, key, rule, value):
    return INVALID_ARGUMENT.format(where=where, key=key, rule=rule, value=value)


# ---- bootstrap_ci ----------------------------------------------------------------------------


def textbook_bootstrap_t(values, weights, strata, n_resamples, rng, confidence=0.95):
    """The bootstrap-t interval of sum(values) / sum(weights), a resample at a time.

    Written from Efron and Tibshirani (ch. 12) with the linearized standard error of a
    ratio, stratum by stratum, independently of the engine's vectorized sums.
    """
    strata = np.zeros(len(values), int) if strata is None else np.asarray(strata)
    groups = [np.flatnonzero(strata == h) for h in np.unique(strata)]

    def ratio_and_se(v, w):
        r = v.sum() / w.sum()
        variance = 0.0
        for members in groups:
            z = v[members] - r * w[members]
            variance += len(z) / (len(z) - 1) * ((z - z.mean()) ** 2).sum()
        return r, math.sqrt(variance) / w.sum()

    estimate, se = ratio_and_se(values, weights)
    pivots = []
    for _ in range(n_resamples):
        drawn = np.concatenate([rng.choice(members, size=len(members)) for members in groups])
        at = np.concatenate(groups)
        v, w = np.empty_like(values), np.empty_like(weights)
        v[at], w[at] = values[drawn], weights[drawn]
        r, s = ratio_and_se(v, w)
        pivots.append((r - estimate) / s)
    alpha = 1 - confidence
    low_t, high_t = np.quantile(pivots, [alpha / 2, 1 - alpha / 2])
    return estimate - high_t * se, estimate - low_t * se


def test_bootstrap_ci_agrees_with_a_textbook_bootstrap_t_within_monte_carlo_error():
    x = np.random.default_rng(7).exponential(size=40)
    ours = bootstrap_ci(x, n_resamples=4000, seed=1)
    theirs = textbook_bootstrap_t(x, np.ones_like(x), None, 4000, np.random.default_rng(2))
    se = x.std(ddof=1) / math.sqrt(len(x))
    # The endpoints' Monte Carlo error at B = 4000 is about 0.1 standard errors of the mean.
    assert ours[0] == pytest.approx(theirs[0], abs=0.25 * se)
    assert ours[1] == pytest.approx(theirs[1], abs=0.25 * se)
    # Right-skewed values: the interval reaches further above the mean than the percentile
    # interval does (scipy's), and less far below it.
    percentile = scipy_stats.bootstrap(
        (x,), np.mean, method="percentile", n_resamples=4000, rng=np.random.default_rng(2)
    ).confidence_interval
    assert ours[1] > percentile.high + 0.2 * se and ours[0] > percentile.low


def test_bootstrap_ci_of_a_ratio_agrees_with_a_textbook_bootstrap_t():
    rng = np.random.default_rng(3)
    weights = rng.integers(1, 10, size=50).astype(float)
    values = weights * rng.uniform(0.2, 0.8, size=50)
    ours = bootstrap_ci(values, weights=weights, n_resamples=4000, seed=4)
    theirs = textbook_bootstrap_t(values, weights, None, 4000, np.random.default_rng(5))
    width = theirs[1] - theirs[0]
    assert ours[0] == pytest.approx(theirs[0], abs=0.1 * width)
    assert ours[1] == pytest.approx(theirs[1], abs=0.1 * width)
    assert ours[0] < values.sum() / weights.sum() < ours[1]


def test_stratified_bootstrap_ci_agrees_with_a_textbook_bootstrap_t():
    # Strata of 5, 8 and 12 units with their own spreads: the stratified standard error.
    rng = np.random.default_rng(8)
    strata = np.repeat([0, 1, 2], [5, 8, 12])
    weights = rng.integers(1, 6, size=25).astype(float)
    values = weights * (np.array([0.2, 0.5, 0.7])[strata] + rng.gamma(1.0, 0.1, size=25))
    ours = bootstrap_ci(values, weights=weights, strata=strata, n_resamples=4000, seed=6)
    theirs = textbook_bootstrap_t(values, weights, strata, 4000, np.random.default_rng(9))
    width = theirs[1] - theirs[0]
    assert ours[0] == pytest.approx(theirs[0], abs=0.1 * width)
    assert ours[1] == pytest.approx(theirs[1], abs=0.1 * width)


def test_bootstrap_ci_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(11)
    samples = rng.normal(loc=1.0, size=(300, 60))
    covered = [
        low <= 1.0 <= high
        for low, high in (bootstrap_ci(s, n_resamples=400, seed=i) for i, s in enumerate(samples))
    ]
    # Binomial SE of the coverage here is 0.013.
    assert 0.90 <= np.mean(covered) <= 0.98


def test_bootstrap_ci_is_nan_below_two_units_and_degenerate_for_constants():
    assert all(math.isnan(c) for c in bootstrap_ci([]))
    assert all(math.isnan(c) for c in bootstrap_ci([3.0]))
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_bootstrap_ci_is_reproducible_and_seed_dependent():
    x = np.random.default_rng(0).normal(size=30)
    assert bootstrap_ci(x, seed=5) == bootstrap_ci(x, seed=5)
    assert bootstrap_ci(x, seed=5) != bootstrap_ci(x, seed=6)


def test_bootstrap_intervals_do_not_depend_on_the_order_of_units():
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=30), rng.uniform(1, 2, size=30)
    order = rng.permutation(30)
    assert bootstrap_ci(x[order], seed=1) == bootstrap_ci(x, seed=1)
    assert bootstrap_ci(x[order], weights=w[order], seed=1) == bootstrap_ci(x, weights=w, seed=1)
    assert bootstrap_diff_ci(x[order], w, seed=1) == bootstrap_diff_ci(x, w[order], seed=1)


def test_bootstrap_ci_does_not_depend_on_the_chunk_size(monkeypatch):
    x = np.random.default_rng(2).normal(size=101)
    whole = bootstrap_ci(x, n_resamples=999, seed=5)
    # 143 chunks, the last one short
    monkeypatch.setattr(_bootstrap, "STUDENTIZED_CHUNK_ELEMENTS", 101 * 7)
    assert bootstrap_ci(x, n_resamples=999, seed=5) == whole


def test_strata_drawn_one_at_a_time_are_the_draws_of_the_array_bounds():
    # Large strata are drawn stratum by stratum with scalar bounds, for speed; the same
    # seed must give the very draws of one call with per-unit bounds.
    sizes = np.array([300, 700, 256, 1000])
    bounds = _bootstrap.stratum_bounds(np.repeat(np.arange(4), sizes))
    assert sizes.sum() >= _bootstrap.MIN_RUN_DRAWS * sizes.size
    drawn = np.vstack(
        [i for _, i in _bootstrap.draw_chunks(np.random.default_rng(3), 2256, 9, bounds=bounds)]
    )
    expected = _bootstrap.draw_indices(np.random.default_rng(3), bounds[0], bounds[1], (9, 2256))
    assert np.array_equal(drawn, expected)


def test_bootstrap_ci_of_a_ratio_drops_resamples_without_weight():
    assert all(math.isnan(c) for c in bootstrap_ci([1.0, 2.0], weights=[0.0, 0.0]))
    low, high = bootstrap_ci([1.0, 0.0, 3.0], weights=[1.0, 0.0, 1.0], n_resamples=200)
    assert 0.0 <= low <= high <= 3.0


@pytest.mark.parametrize(
    ("kwargs", "key", "rule", "value"),
    [
        ({"n_resamples": 0}, "n_resamples", RULE_POSITIVE_INT, 0),
        ({"n_resamples": 10.0}, "n_resamples", RULE_POSITIVE_INT, 10.0),
        ({"n_resamples": True}, "n_resamples", RULE_POSITIVE_INT, True),
        ({"confidence": 1.0}, "confidence", RULE_CONFIDENCE, 1.0),
        ({"confidence": "0.9"}, "confidence", RULE_CONFIDENCE, "0.9"),
        ({"seed": -1}, "seed", RULE_SEED, -1),
        ({"weights": [1.0, 2.0]}, "weights", RULE_WEIGHTS, (2,)),
        ({"weights": [1.0, -1.0, 1.0]}, "weights", RULE_WEIGHTS, (3,)),
    ],
)
def test_bootstrap_ci_rejects_bad_options_with_one_template(kwargs, key, rule, value):
    with pytest.raises(ValueError) as excinfo:
        bootstrap_ci([1.0, 2.0, 3.0], **kwargs)
    assert str(excinfo.value) == message("bootstrap_ci", key, rule, value)


def test_bootstrap_ci_rejects_non_finite_and_non_1d_values():
    with pytest.raises(ValueError) as excinfo:
        bootstrap_ci([1.0, math.nan])
    assert str(excinfo.value) == message("bootstrap_ci", "values", RULE_FINITE_1D, math.nan)
    with pytest.raises(ValueError) as excinfo:
        bootstrap_ci([[1.0, 2.0]])
    assert str(excinfo.value) == message("bootstrap_ci", "values", RULE_FINITE_1D, (1, 2))


# ---- bootstrap_diff_ci -----------------------------------------------------------------------


def test_bootstrap_diff_ci_agrees_with_scipy_independent_two_sample_bootstrap():
    rng = np.random.default_rng(8)
    a, b = rng.normal(0.5, 1.0, size=35), rng.normal(0.0, 2.0, size=50)
    ours = bootstrap_diff_ci(a, b, n_resamples=4000, seed=9)

    def diff(x, y, axis=-1):
        return x.mean(axis=axis) - y.mean(axis=axis)

    theirs = scipy_stats.bootstrap(
        (a, b), diff, method="percentile", n_resamples=4000, rng=np.random.default_rng(10)
    ).confidence_interval
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert ours[0] == pytest.approx(theirs.low, abs=0.25 * se)
    assert ours[1] == pytest.approx(theirs.high, abs=0.25 * se)


def test_bootstrap_diff_ci_needs_two_units_in_each_sample():
    assert all(math.isnan(c) for c in bootstrap_diff_ci([1.0, 2.0], [1.0]))
    low, high = bootstrap_diff_ci([1.0, 1.0], [0.0, 0.0])
    assert (low, high) == (1.0, 1.0)


def test_bootstrap_diff_ci_messages_name_the_function():
    with pytest.raises(ValueError) as excinfo:
        bootstrap_diff_ci([1.0, 2.0], [1.0, math.inf])
    assert str(excinfo.value) == message("bootstrap_diff_ci", "b", RULE_FINITE_1D, math.inf)


# ---- mann_whitney_p --------------------------------------------------------------------------


def test_mann_whitney_p_matches_scipy_one_sided():
    rng = np.random.default_rng(12)
    x, y = rng.normal(0.3, 1.0, 40), rng.normal(0.0, 1.0, 30)
    expected = scipy_stats.mannwhitneyu(x, y, alternative="greater").pvalue
    assert mann_whitney_p(x, y) == pytest.approx(expected)
    # Exact: x entirely above y, 2 vs 2 → P(U >= 4) = 1 / C(4, 2).
    assert mann_whitney_p([3.0, 4.0], [1.0, 2.0]) == pytest.approx(1 / 6)


def test_mann_whitney_p_degenerate_samples():
    assert math.isnan(mann_whitney_p([], [1.0, 2.0]))
    assert mann_whitney_p([0.5, 0.5], [0.5, 0.5, 0.5]) == 1.0
    with pytest.raises(ValueError) as excinfo:
        mann_whitney_p([1.0], [2.0], alternative="bigger")
    assert str(excinfo.value) == message(
        "mann_whitney_p", "alternative", RULE_ALTERNATIVE, "bigger"
    )


# ---- benjamini_hochberg ----------------------------------------------------------------------


def test_benjamini_hochberg_matches_the_step_up_definition():
    p = np.array([0.01, 0.04, 0.03, 0.20, 0.005])
    # Sorted: 0.005, 0.01, 0.03, 0.04, 0.20 → p * m / rank = 0.025, 0.025, 0.05, 0.05, 0.20,
    # then the running minimum from the top leaves them as they are.
    expected = np.array([0.025, 0.05, 0.05, 0.20, 0.025])
    np.testing.assert_allclose(benjamini_hochberg(p), expected)


def test_benjamini_hochberg_leaves_missing_p_values_nan_and_ignores_them():
    adjusted = benjamini_hochberg([0.01, None, float("nan"), 0.04])
    assert math.isnan(adjusted[1]) and math.isnan(adjusted[2])
    np.testing.assert_allclose(adjusted[[0, 3]], [0.02, 0.04])
    assert np.isnan(benjamini_hochberg([None, None])).all()
    assert benjamini_hochberg([]).shape == (0,)


def test_benjamini_hochberg_rejects_values_outside_0_1():
    with pytest.raises(ValueError) as excinfo:
        benjamini_hochberg([0.5, 1.5])
    assert str(excinfo.value) == message("benjamini_hochberg", "p_values", RULE_P_VALUES, 1.5)
    with pytest.raises(ValueError) as excinfo:
        benjamini_hochberg([0.5, "low"])
    assert str(excinfo.value) == message("benjamini_hochberg", "p_values", RULE_P_VALUES, "low")


# ---- cluster_bootstrap_ci, bootstrap_means, permutation_diff_p --------------------------------


def test_cluster_bootstrap_with_one_row_per_cluster_is_the_plain_bootstrap():
    rng = np.random.default_rng(20)
    values = rng.normal(size=50)
    ours = cluster_bootstrap_ci(values, np.arange(50), n_resamples=300, seed=4)
    assert ours == bootstrap_ci(values, n_resamples=300, seed=4)


def test_cluster_bootstrap_resamples_clusters_not_rows():
    # Ten clusters of 20 identical rows: the rows say nothing beyond their cluster, so the
    # interval must be as wide as the bootstrap of the ten cluster means, not 20 times narrower.
    rng = np.random.default_rng(21)
    means = rng.normal(size=10)
    values = np.repeat(means, 20)
    clusters = np.repeat(np.arange(10), 20)
    clustered = cluster_bootstrap_ci(values, clusters, n_resamples=2000, seed=1)
    naive = bootstrap_ci(values, n_resamples=2000, seed=1)
    per_cluster = bootstrap_ci(means, n_resamples=2000, seed=1)
    assert clustered == pytest.approx(per_cluster)
    assert clustered[1] - clustered[0] > 3 * (naive[1] - naive[0])


def test_cluster_bootstrap_ratio_uses_row_weights_and_needs_two_clusters():
    # Hand case: clusters {1: (1, 1)}, {2: (3, 1)} with unit weights → every resample is one of
    # (1+1)/2, (3+1)/2 or (1+1+3+1)/4, so the interval lies in [1, 2].
    low, high = cluster_bootstrap_ci([1.0, 1.0, 3.0, 1.0], [1, 1, 2, 2], n_resamples=500)
    assert 1.0 <= low <= high <= 2.0
    assert all(math.isnan(c) for c in cluster_bootstrap_ci([1.0, 2.0], ["a", "a"]))
    with pytest.raises(ValueError) as excinfo:
        cluster_bootstrap_ci([1.0, 2.0], [1])
    assert str(excinfo.value) == message("cluster_bootstrap_ci", "clusters", RULE_CLUSTERS, (1,))


def textbook_product_bootstrap_t(columns, powers, strata, n_resamples, rng):
    """Bootstrap-t of log Π_j T_j ** a_j, a resample at a time (delta-method se per stratum)."""
    groups = [np.flatnonzero(strata == h) for h in np.unique(strata)]

    def log_and_se(rows):
        totals = rows.sum(axis=0)
        z = rows @ (powers / totals)
        variance = sum(len(g) / (len(g) - 1) * ((z[g] - z[g].mean()) ** 2).sum() for g in groups)
        return float(powers @ np.log(totals)), math.sqrt(variance)

    estimate, se = log_and_se(columns)
    pivots = []
    for _ in range(n_resamples):
        drawn = np.concatenate([rng.choice(g, size=len(g)) for g in groups])
        at = np.concatenate(groups)
        rows = np.empty_like(columns)
        rows[at] = columns[drawn]
        value, s = log_and_se(rows)
        pivots.append((value - estimate) / s)
    low_t, high_t = np.quantile(pivots, [0.025, 0.975])
    return math.exp(estimate - high_t * se), math.exp(estimate - low_t * se)


def ratio_of_ratios_sample(rng, n):
    """Per unit: an overlap sum and its group count, a repeat overlap sum and its count."""
    groups, repeats = rng.integers(1, 4, size=n), rng.integers(1, 3, size=n)
    overlap = rng.beta(2, 6, size=(n, 3)).cumsum(axis=1)[np.arange(n), groups - 1]
    repeat = rng.beta(6, 2, size=(n, 2)).cumsum(axis=1)[np.arange(n), repeats - 1]
    return np.column_stack([overlap, groups, repeat, repeats]).astype(float)


def test_bootstrap_product_ci_agrees_with_a_textbook_bootstrap_t():
    rng = np.random.default_rng(12)
    columns = ratio_of_ratios_sample(rng, 45)
    strata = np.repeat([0, 1, 2], 15)
    powers = np.array([1.0, -1.0, -1.0, 1.0])
    ours = bootstrap_product_ci(columns, powers, strata=strata, n_resamples=4000, seed=3)
    theirs = textbook_product_bootstrap_t(columns, powers, strata, 4000, rng)
    width = theirs[1] - theirs[0]
    assert ours[0] == pytest.approx(theirs[0], abs=0.1 * width)
    assert ours[1] == pytest.approx(theirs[1], abs=0.1 * width)
    totals = columns.sum(axis=0)
    assert ours[0] < (totals[0] / totals[1]) / (totals[2] / totals[3]) < ours[1]


def test_bootstrap_product_ci_covers_the_true_ratio_of_ratios():
    # The population value: E[overlap] / E[groups] over E[repeat] / E[repeats], from a
    # sample of a million units; 300 samples of 30 units must cover it about 95% of the time.
    rng = np.random.default_rng(13)
    big = ratio_of_ratios_sample(rng, 1_000_000).mean(axis=0)
    truth = (big[0] / big[1]) / (big[2] / big[3])
    powers = [1.0, -1.0, -1.0, 1.0]
    covered = [
        low <= truth <= high
        for low, high in (
            bootstrap_product_ci(ratio_of_ratios_sample(rng, 30), powers, n_resamples=400, seed=i)
            for i in range(300)
        )
    ]
    assert 0.92 <= np.mean(covered) <= 0.98  # binomial SE 0.013


def test_bootstrap_product_ci_edge_cases():
    powers = [1.0, -1.0]
    # A numerator of zeros is 0 in every resample; a zero denominator has no value.
    assert bootstrap_product_ci([[0.0, 1.0], [0.0, 2.0]], powers) == (0.0, 0.0)
    assert all(math.isnan(c) for c in bootstrap_product_ci([[1.0, 0.0], [2.0, 0.0]], powers))
    assert all(math.isnan(c) for c in bootstrap_product_ci([[1.0, 1.0]], powers))
    rows = np.array([[1.0, 2.0], [3.0, 1.0], [2.0, 2.0], [5.0, 4.0]])
    assert bootstrap_product_ci(rows, powers, seed=1) == bootstrap_product_ci(
        rows[::-1], powers, seed=1
    )
    with pytest.raises(ValueError) as excinfo:
        bootstrap_product_ci([[1.0, math.inf]], powers)
    assert str(excinfo.value) == message("bootstrap_product_ci", "columns", RULE_FINITE_2D, (1, 2))


def test_bootstrap_means_resamples_rows_jointly():
    rows = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    draws = bootstrap_means(rows, n_resamples=200, seed=2)
    assert draws.shape == (200, 2)
    # The same rows every time: the second column is always ten times the first.
    np.testing.assert_allclose(draws[:, 1], 10 * draws[:, 0])
    shuffled = bootstrap_means(rows[::-1], n_resamples=200, seed=2)
    np.testing.assert_array_equal(draws, shuffled)
    with pytest.raises(ValueError) as excinfo:
        bootstrap_means(np.zeros((0, 2)))
    assert str(excinfo.value) == message("bootstrap_means", "columns", RULE_FINITE_2D, (0, 2))


def test_permutation_diff_p_is_exact_on_small_samples_and_matches_scipy():
    # x entirely above y, 2 vs 2: one relabelling in C(4, 2) = 6 is as extreme → 1/6.
    assert permutation_diff_p([3.0, 4.0], [1.0, 2.0]) == pytest.approx(1 / 6)
    rng = np.random.default_rng(22)
    x, y = rng.normal(0.4, 1.0, 60), rng.normal(0.0, 1.0, 50)
    ours = permutation_diff_p(x, y, n_resamples=4000, seed=3)
    welch = scipy_stats.ttest_ind(x, y, alternative="greater").pvalue
    assert ours == pytest.approx(welch, abs=0.02)
    assert permutation_diff_p([1.0, 1.0], [1.0]) == 1.0
    assert math.isnan(permutation_diff_p([], [1.0]))


def test_permutation_diff_p_is_calibrated_under_the_null():
    rng = np.random.default_rng(23)
    p = [
        permutation_diff_p(rng.normal(size=20), rng.normal(size=20), n_resamples=400, seed=s)
        for s in range(200)
    ]
    assert 0.02 <= np.mean(np.array(p) <= 0.05) <= 0.09


def test_the_engine_sums_the_drawn_units_by_gathering_or_by_counting():
    columns = np.random.default_rng(3).normal(size=(3, 17))
    gathered = _bootstrap.resampled_sums(columns, 40, np.random.default_rng(8))
    counted = _bootstrap.resampled_sums(columns, 40, np.random.default_rng(8), reduce="counts")
    # By hand: the same draws (the engine's int32 draws of 17 units per resample), summed.
    index = np.random.default_rng(8).integers(0, 17, size=(40, 17), dtype=np.int32)
    expected = columns[:, index].sum(axis=2).T
    np.testing.assert_allclose(gathered, expected, rtol=1e-12)
    np.testing.assert_allclose(counted, expected, rtol=1e-12)


def test_the_engine_keeps_draws_inside_each_stratum():
    codes = np.repeat([0, 1, 2], [4, 6, 5])
    bounds = _bootstrap.stratum_bounds(codes)
    # Each unit's value is its stratum: a resample's sum is fixed by the strata sizes alone.
    columns = codes[None, :].astype(float)
    sums = _bootstrap.resampled_sums(columns, 25, np.random.default_rng(1), bounds=bounds)
    np.testing.assert_array_equal(sums[:, 0], np.full(25, 0 * 4 + 1 * 6 + 2 * 5))


def test_stratum_moments_of_columns_constant_within_strata_match_gathered_ones():
    # Columns constant within every stratum are not gathered; their sums and cross-products
    # must be those of the drawn units all the same.
    rng = np.random.default_rng(8)
    strata = np.repeat(np.arange(3), [5, 9, 6])
    bounds = _bootstrap.stratum_bounds(strata)
    levels = np.array([[1.0, 2.0, 0.5], [3.0, 3.0, 3.0]])
    columns = np.vstack(
        [rng.normal(size=20), levels[0][strata], rng.normal(size=20), levels[1][strata]]
    )
    index = _bootstrap.draw_indices(rng, bounds[0], bounds[1], (7, 20))
    sums, cross = _bootstrap._StratumMoments(columns, bounds)(index)
    assert list(_bootstrap._StratumMoments(columns, bounds).fixed) == [1, 3]
    drawn = columns[:, index]
    factor = np.repeat([5 / 4, 9 / 8, 6 / 5], [5, 9, 6])
    for h, (first, end) in enumerate([(0, 5), (5, 14), (14, 20)]):
        np.testing.assert_allclose(sums[:, h], drawn[:, :, first:end].sum(axis=2).T, rtol=1e-13)
    expected = np.einsum("jrn,krn,n->rjk", drawn, drawn, factor)
    np.testing.assert_allclose(cross, expected, rtol=1e-13)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([10, 2, -3, 2, 10, 0, 1]),
        np.array([3, 1, 2, 1, 3, 0, 9], dtype=np.uint8),
        np.array([True, False, True, True, False, False, True]),
        [12, 3, 3, 12, 100, 3, 7],
    ],
)
def test_integer_stratum_labels_are_coded_in_the_order_of_their_text(labels):
    # The integer fast path must give the codes of the labels' text, as other labels get.
    text = pd.Series(np.asarray(labels, dtype=object)).astype("string")
    expected = pd.factorize(text, sort=True)[0]
    assert np.array_equal(_bootstrap.stratum_labels("t", labels, 7), expected)
