"""The popularity lift on the built-in world: quiet for a vendor as popular as its customers,
flagged for one that ranks by sales or plants a known lift.

The null vendor serves popularity-calibrated lists (``calibrated_lift: 0``): each list is as
popular as the customer's own history. ``calibrated_lift: 0.5`` plants lists half again as
popular; the default vendor ranks each shop by its own sales, and ``trend_weight`` adds the
network's trending products on top.
"""

from pathlib import Path

import pytest
import yaml

from auditkit import AuditSpec, run_audit
from auditkit.metrics.popularity.lift import DEFAULT_THRESHOLD

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "audit_specs" / "demo.yaml"
METRIC = "popularity.lift"
WORLDS = {
    "null": {"pooling": 0.0, "trend_weight": 0.0, "calibrated_lift": 0.0},
    "planted": {"pooling": 0.0, "trend_weight": 0.0, "calibrated_lift": 0.5},
    "sales": {"pooling": 0.0, "trend_weight": 0.0},
    "trending": {"pooling": 0.0, "trend_weight": 1.0},
}


def spec(options) -> AuditSpec:
    data = yaml.safe_load(DEMO.read_text())
    data.pop("claims")
    data["vendor"]["options"].update(options)
    # The lift is reported, not judged, unless the spec sets a threshold: this audit takes
    # the starting one as its own.
    data["metrics"] = {METRIC: {"warn": DEFAULT_THRESHOLD.warn, "fail": DEFAULT_THRESHOLD.fail}}
    data["inference"] = {"n_resamples": 500}
    return AuditSpec.model_validate(data)


@pytest.fixture(scope="module")
def lifts(tmp_path_factory):
    return {
        name: run_audit(spec(options), out=tmp_path_factory.mktemp(name)).metric(METRIC)
        for name, options in WORLDS.items()
    }


def test_the_null_world_passes_and_its_interval_holds_zero(lifts):
    # Over 20 world seeds the null is never flagged: see benchmarks/lift_null_rate.py.
    null = lifts["null"]
    assert null.verdict == "pass", null
    # Exact-carry histories are the popular part of a taste, where a calibrated pick can fall
    # a little short of the top: within 0.1, and the interval holds 0.
    assert abs(null.value) < 0.1 and null.ci[0] <= 0.0 <= null.ci[1]
    assert all(abs(v) < 0.15 for v in null.by_group["persona"].values())


def test_a_planted_lift_is_measured_and_flagged(lifts):
    planted = lifts["planted"]
    assert planted.verdict == "warn", planted
    assert planted.value == pytest.approx(0.5, abs=0.06)
    assert planted.ci[0] > lifts["null"].ci[1]
    # Each persona got the same push, and each shows it.
    assert all(v > 0.3 for v in planted.by_group["persona"].values())


@pytest.mark.parametrize("name", ["sales", "trending"])
def test_ranking_by_sales_fails(lifts, name):
    pushed = lifts[name]
    assert pushed.verdict == "fail", pushed
    assert pushed.ci[0] > 5.0
