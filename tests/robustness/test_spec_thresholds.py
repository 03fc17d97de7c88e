"""Thresholds a spec sets are checked against their metric's range and direction.

A warn past fail, or a threshold no value of the metric can reach, used to pass validation
and give a verdict that can never move: now ``auditkit validate`` says where and why.
"""

import math

import pytest
from click.testing import CliRunner

from auditkit.cli import EXIT_INPUT, main
from auditkit.errors import SpecError
from auditkit.metrics import METRICS
from auditkit.spec import load_spec

GOOD = """\
auditkit: 1
name: test
vendor: {adapter: simulated}
world: {shops: 3, items_per_shop: 50}
probes:
  personas: [{id: tea, history_length: 3}]
metrics:
"""


def validate(tmp_path, metrics: str) -> tuple[int, str]:
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD + metrics)
    result = CliRunner().invoke(main, ["validate", str(path)])
    return result.exit_code, result.stderr or result.stdout


OK = [
    "  homogenization.cross_shop_jaccard: {warn: 0.4, fail: 0.6}\n",
    "  homogenization.cross_shop_jaccard: {warn: 0.5, fail: 0.5}\n",  # no warn band
    "  homogenization.cross_shop_jaccard: {warn: 0.5}\n",  # below the default fail 0.6
    "  popularity.coverage: {warn: 0.3, fail: 0.05}\n",  # lower is worse
    "  popularity.lift: {warn: 0.5, fail: 1.5}\n",  # the README's
    "  popularity.lift: {warn: -0.5, fail: 40}\n",  # -1 up, unbounded above
    "  segment.counterfactual_price_gap: {warn: 5, fail: 50}\n",  # unbounded
    "  homogenization.cross_shop_jaccard: {min_units: 3}\n",  # no threshold set
]


@pytest.mark.parametrize("metrics", OK)
def test_thresholds_in_range_and_in_order_validate(tmp_path, metrics):
    assert validate(tmp_path, metrics) == (0, "ok\n")


BAD = [
    (
        "  homogenization.cross_shop_jaccard: {warn: 0.7, fail: 0.6}\n",
        "spec.yaml:8 metrics.homogenization.cross_shop_jaccard.warn: must be at most fail "
        "(0.6): higher is worse for this metric; got 0.7",
    ),
    (
        "  homogenization.cross_shop_jaccard: {warn: 0.8}\n",
        "spec.yaml:8 metrics.homogenization.cross_shop_jaccard.warn: must be at most fail "
        "(0.7, the default): higher is worse for this metric; got 0.8",
    ),
    (
        "  homogenization.cross_shop_jaccard: {fail: 0.3}\n",
        "spec.yaml:8 metrics.homogenization.cross_shop_jaccard.fail: must be at least warn "
        "(0.55, the default): higher is worse for this metric; got 0.3",
    ),
    (
        "  popularity.coverage: {warn: 0.05, fail: 0.1}\n",
        "spec.yaml:8 metrics.popularity.coverage.warn: must be at least fail (0.1): lower is "
        "worse for this metric; got 0.05",
    ),
    (
        "  homogenization.cross_shop_jaccard: {warn: 1.5, fail: 2}\n",
        "spec.yaml:8 metrics.homogenization.cross_shop_jaccard.fail: must be a number from 0 "
        "to 1, the metric's range; got 2.0\n"
        "spec.yaml:8 metrics.homogenization.cross_shop_jaccard.warn: must be a number from 0 "
        "to 1, the metric's range; got 1.5",
    ),
    (
        "  popularity.lift: {warn: -2}\n",
        "spec.yaml:8 metrics.popularity.lift.warn: must be a number of at least -1, the "
        "metric's range; got -2.0",
    ),
    (
        "  popularity.lift:\n    warn: .inf\n    fail: .nan\n",
        "spec.yaml:9 metrics.popularity.lift.warn: must be a finite number; got inf\n"
        "spec.yaml:10 metrics.popularity.lift.fail: must be a finite number; got nan",
    ),
]


@pytest.mark.parametrize(("metrics", "expected"), BAD)
def test_a_threshold_past_its_partner_or_its_range_is_a_located_error(tmp_path, metrics, expected):
    assert validate(tmp_path, metrics) == (EXIT_INPUT, expected + "\n")
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "spec.yaml", metric_ids=METRICS)
    assert str(info.value) == expected


def test_given_only_ids_the_loader_checks_names_alone(tmp_path):
    (tmp_path / "spec.yaml").write_text(
        GOOD + "  homogenization.cross_shop_jaccard: {warn: 0.7}\n"
    )
    assert load_spec(tmp_path / "spec.yaml", metric_ids=list(METRICS)).metrics


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_s_defaults_lie_in_its_range_and_in_its_order(name):
    definition = METRICS[name]
    low, high = definition.value_range
    threshold = definition.default_threshold
    assert low < high and not (math.isinf(low) and low > 0)
    assert low <= threshold.warn <= high and low <= threshold.fail <= high
    if threshold.direction == "higher_is_worse":
        assert threshold.warn <= threshold.fail
    else:
        assert threshold.warn >= threshold.fail
