import dataclasses
import inspect
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tables import assert_same_result, random_inputs, shuffle_rows

import auditkit.metrics
from auditkit.judging import judge_metric
from auditkit.metrics import METRICS, MetricDef, get_metric, metric_ids
from auditkit.metrics.homogenization.cross_shop import PAIR_JOIN
from auditkit.metrics.registry import UNKNOWN_METRIC
from auditkit.results import VERDICTS, MetricResult, Threshold

# Every registered metric: its default (warn, fail, direction) and the range its value stays in.
EXPECTED = {
    "homogenization.cross_shop_jaccard": (0.55, 0.7, "higher_is_worse", (0.0, 1.0)),
    "homogenization.cross_shop_rbo": (0.3, 0.5, "higher_is_worse", (0.0, 1.0)),
    "homogenization.category_divergence": (0.2, 0.1, "lower_is_worse", (0.0, 1.0)),
    "homogenization.index": (0.55, 0.7, "higher_is_worse", (0.0, math.inf)),
    "homogenization.signature_retention": (0.8, 0.5, "lower_is_worse", (0.0, math.inf)),
    "homogenization.within_shop_jaccard": (0.35, 0.5, "higher_is_worse", (0.0, 1.0)),
    "popularity.lift": (0.25, 1.0, "higher_is_worse", (-1.0, math.inf)),
    "popularity.arp": (10.0, 20.0, "higher_is_worse", (0.0, math.inf)),
    "popularity.long_tail_share": (0.1, 0.02, "lower_is_worse", (0.0, 1.0)),
    "popularity.gini": (0.95, 0.99, "higher_is_worse", (0.0, 1.0)),
    "popularity.coverage": (0.2, 0.1, "lower_is_worse", (0.0, 1.0)),
    "popularity.trend_share": (0.3, 0.45, "higher_is_worse", (0.0, 1.0)),
    "popularity.trend_leakage": (0.1, 0.3, "higher_is_worse", (-2.0, 2.0)),
    "segment.counterfactual_divergence": (0.1, 0.25, "higher_is_worse", (-1.0, 1.0)),
    "segment.price_gap": (0.1, 0.2, "higher_is_worse", (0.0, 1.0)),
    "segment.exposure_impact_ratio": (0.8, 0.5, "lower_is_worse", (0.0, 1.0)),
    "segment.hit_rate_ratio": (0.8, 0.5, "lower_is_worse", (0.0, 1.0)),
    # The value is |relative change| >= 0; its interval, oriented in the effect's direction,
    # may reach below 0 (and below -1 when the direction itself is uncertain).
    "segment.counterfactual_price_gap": (0.1, 0.2, "higher_is_worse", (-math.inf, math.inf)),
    "segment.counterfactual_popularity_gap": (0.1, 0.2, "higher_is_worse", (-math.inf, math.inf)),
}
IDS = list(EXPECTED)
BOUNDS = {name: expected[3] for name, expected in EXPECTED.items()}


def test_public_surface_is_pinned():
    assert sorted(auditkit.metrics.__all__) == [
        "METRICS",
        "MetricDef",
        "benjamini_hochberg",
        "bootstrap_ci",
        "bootstrap_diff_ci",
        "counterfactual_divergence",
        "cross_shop_jaccard",
        "get_metric",
        "mann_whitney_p",
        "metric_ids",
        "popularity_lift",
    ]
    for name in auditkit.metrics.__all__:
        assert hasattr(auditkit.metrics, name)


def test_registry_ids_families_and_default_thresholds():
    assert sorted(metric_ids()) == sorted(IDS) and metric_ids() == tuple(METRICS)
    assert {
        m.id: (m.default_threshold.warn, m.default_threshold.fail, m.default_threshold.direction)
        for m in METRICS.values()
    } == {name: expected[:3] for name, expected in EXPECTED.items()}
    for name, definition in METRICS.items():
        assert definition.id == name and definition.id.startswith(definition.family + ".")
        assert definition.family == name.split(".")[0]
        assert definition.description.endswith(".")
    with pytest.raises(dataclasses.FrozenInstanceError):
        METRICS[IDS[0]].id = "other"  # type: ignore[misc]


def test_get_metric_and_unknown_names_list_the_valid_ones():
    assert get_metric(IDS[1]) is METRICS[IDS[1]]
    assert isinstance(get_metric(IDS[0]), MetricDef)
    with pytest.raises(KeyError) as excinfo:
        get_metric("popularity.lfit")
    assert excinfo.value.args[0] == UNKNOWN_METRIC.format(
        valid=sorted(IDS), value="popularity.lfit"
    )
    with pytest.raises(KeyError):
        get_metric(["not", "hashable"])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", IDS)
def test_every_metric_has_the_shared_keyword_only_signature(name):
    parameters = inspect.signature(METRICS[name].estimate).parameters
    shared = ["tables", "n_resamples", "confidence", "seed"]
    # A metric may take options of its own (e.g. RBO's persistence) after the shared ones.
    assert list(parameters)[: len(shared)] == shared
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(parameters.values())[1:])
    assert all(p.default is not inspect.Parameter.empty for p in list(parameters.values())[1:])
    assert parameters["n_resamples"].default == 1000
    assert parameters["confidence"].default == 0.95 and parameters["seed"].default == 0


@pytest.mark.parametrize("name", IDS)
def test_every_metric_is_judged_against_the_registry_threshold_unless_given_one(name):
    tables = random_inputs(0).tables()
    result = judge_metric(name, tables, n_resamples=100)
    assert result.threshold == METRICS[name].default_threshold
    assert result.id == name and result.family == METRICS[name].family
    custom = Threshold(warn=-5.0, fail=-4.0, min_units=1)
    assert judge_metric(name, tables, threshold=custom, n_resamples=100).threshold == custom


def shop_labels_back(result, labels):
    """The result with shop ids in group and detail keys mapped back through ``labels``."""
    back = {new: old for old, new in labels.items()}

    def pair_back(key):
        """A "shop × shop" key with its shops mapped back, in sorted order; else None."""
        shops = key.split(PAIR_JOIN) if isinstance(key, str) else []
        if len(shops) != 2 or not all(shop in back for shop in shops):
            return None
        return PAIR_JOIN.join(sorted(back[shop] for shop in shops))

    def rename(mapping):
        if isinstance(mapping, dict) and mapping and all(k in back for k in mapping):
            return {back[k]: v for k, v in sorted(mapping.items(), key=lambda kv: back[kv[0]])}
        if isinstance(mapping, dict) and mapping and all(pair_back(k) for k in mapping):
            return dict(sorted((pair_back(k), v) for k, v in mapping.items()))
        return mapping

    return dataclasses.replace(
        result,
        by_group={name: rename(values) for name, values in result.by_group.items()},
        details={name: rename(value) for name, value in result.details.items()},
    )


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(seed=1036, shops=2, repetitions=0)  # an interval past 0, once
@given(seed=st.integers(0, 2**16), shops=st.integers(2, 4), repetitions=st.integers(0, 2))
def test_every_metric_is_invariant_to_row_order_and_shop_labels_and_stays_in_bounds(
    seed, shops, repetitions
):
    inputs = random_inputs(seed, shops=shops, repetitions=repetitions)
    labels = {f"s{i}": f"shop-{(7 * i) % 11:02d}" for i in range(shops)}
    tables = inputs.tables()
    for name in METRICS:
        options = {"n_resamples": 50, "seed": seed}
        result = judge_metric(name, tables, **options)
        assert isinstance(result, MetricResult) and result.verdict in VERDICTS
        low, high = BOUNDS[name]
        assert math.isnan(result.value) or low <= result.value <= high
        if result.ci is not None and not math.isnan(result.ci[0]):
            assert low <= result.ci[0] <= result.ci[1] <= high
        if result.p_value is not None:
            assert 0.0 <= result.p_value <= 1.0
        assert_same_result(result, judge_metric(name, shuffle_rows(tables, seed), **options))
        relabelled = judge_metric(name, inputs.relabel_shops(labels).tables(), **options)
        assert_same_result(result, shop_labels_back(relabelled, labels))
        assert result.to_dict()["id"] == name


@pytest.mark.parametrize("name", IDS)
def test_every_metric_rejects_something_that_is_not_tables(name):
    with pytest.raises(ValueError, match=r"tables must be an AuditTables; got 'dict'"):
        judge_metric(name, {})  # type: ignore[arg-type]
