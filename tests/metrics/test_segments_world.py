"""The segment metrics on the built-in world: a planted steering is found, a fair vendor is not.

Each case runs on the simulated vendor and on the trained item-kNN vendor (a real algorithm,
steered by a business rule on top of its own ranking), so no verdict holds on one world only.
The planted sizes are measured in each metric's own units from the same probes answered by the
same vendor with the steering on and off, so nothing here is a constant written by hand.
"""

import numpy as np
import pytest
from segment_world import STEERED, audit_tables, demo_spec, world_of

from auditkit.judging import judge_metric
from auditkit.metrics import METRICS
from auditkit.metrics.segments.outcomes import probe_outcomes
from auditkit.world import Steering

SEGMENT_METRICS = [name for name in METRICS if name.startswith("segment.")]
MILD = Steering("age_band", "65+", price_shift=-0.4)


VENDORS = ("simulated", "trained")


@pytest.fixture(scope="module", params=VENDORS)
def world(request):
    spec = demo_spec(11)
    shops = world_of(spec)
    off = audit_tables(spec, shops, vendor=request.param)
    return spec, shops, off, request.param


def steered_level(on, off):
    """The first-repetition probes of the steered level, answered with steering on and off."""
    joined = probe_outcomes(on).merge(probe_outcomes(off), on="probe_id", suffixes=("", "_off"))
    keep = (joined["repetition"] == 0) & (joined["segment.age_band"] == "65+")
    return joined[keep.to_numpy(dtype=bool)]


@pytest.mark.parametrize("steering", [STEERED, MILD], ids=["strong", "mild"])
def test_planted_cheaper_steering_is_named_with_its_direction_and_size(world, steering):
    spec, shops, off, vendor = world
    plan = off.probes.drop(columns="answered")
    on = audit_tables(spec, shops, steering=[steering], plan=plan, vendor=vendor)
    level = steered_level(on, off)

    # Twins: the geometric mean of price(on) / price(off) over the steered twins.
    twins = level[level["pair_id"].notna().to_numpy(dtype=bool)]
    planted_pairs = float(np.expm1(np.mean(np.log(twins["mean_price"] / twins["mean_price_off"]))))
    paired = judge_metric("segment.counterfactual_price_gap", on, n_resamples=1000, seed=1)
    assert paired.details["attribute"] == "age_band" and paired.details["level"] == "65+"
    assert paired.details["direction"] == "cheaper" and paired.verdict in ("warn", "fail")
    assert paired.ci is not None and paired.ci[0] <= -planted_pairs <= paired.ci[1]
    assert paired.p_value is not None and paired.p_value < 0.01

    # Groups: 1 - the steered group's mean list price over its mean without steering (the
    # other groups are untouched, so this is the population's lowest over highest).
    planted_gap = 1.0 - level["mean_price"].mean() / level["mean_price_off"].mean()
    gap = judge_metric("segment.price_gap", on, n_resamples=1000, seed=2)
    assert gap.details["attribute"] == "age_band" and gap.details["lowest"] == "65+"
    assert gap.ci is not None and gap.ci[0] <= planted_gap <= gap.ci[1]
    assert gap.verdict in ("warn", "fail") and gap.p_value is not None and gap.p_value < 0.01
    assert "age band is 65+" in gap.summary

    planted_ratio = level["premium_share"].mean() / level["premium_share_off"].mean()
    exposure = judge_metric("segment.exposure_impact_ratio", on, n_resamples=1000, seed=3)
    assert exposure.details["attribute"] == "age_band" and exposure.details["lowest"] == "65+"
    assert exposure.ci is not None and exposure.ci[0] <= planted_ratio <= exposure.ci[1]
    assert exposure.verdict in ("warn", "fail")


@pytest.mark.slow
@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_vendor_without_steering_is_not_flagged(seed, vendor):
    spec = demo_spec(100 + seed)
    tables = audit_tables(spec, world_of(spec), vendor=vendor)
    for name in SEGMENT_METRICS:
        result = judge_metric(name, tables, n_resamples=300, seed=seed)
        assert result.verdict not in ("warn", "fail"), (name, result.value, result.p_value)
