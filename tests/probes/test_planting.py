"""Trend planting: the design, the consent rule, and leakage on the built-in world."""

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import support
import yaml

from auditkit import AuditSpec, run_audit
from auditkit.catalogs import stack_catalogs
from auditkit.errors import DesignError, SpecError, VendorError
from auditkit.probes import design_probes
from auditkit.probes.histories import band_products
from auditkit.probes.planting import choose_planting
from auditkit.spec import PersonaSpec, ProbesSpec, TrendPlantingSpec, load_spec
from auditkit.world import generate_world

PLANTING = {"write_events": True, "customers": 15, "events": 20000}


def spec_data(pooling: float, **planting) -> dict:
    return support.spec_data(
        "planting",
        {"adapter": "simulated", "options": {"pooling": pooling}},
        {
            "k": 10,
            "repetitions": 0,
            "personas": [{"id": "p", "history_length": 2, "customers": 2}],
            "trend_planting": {**PLANTING, **planting},
        },
        seed=3,
        world={"shops": 4, "items_per_shop": 150},
        metrics={"homogenization.cross_shop_jaccard": {}},
    )


@pytest.fixture(scope="module")
def catalogs():
    return generate_world(seed=3, n_shops=4, items_per_shop=150).catalogs()


def test_planting_probes_are_tied_before_and_after(catalogs):
    spec = ProbesSpec(
        personas=[PersonaSpec(id="p", history_length=2, customers=1)],
        trend_planting=TrendPlantingSpec(**PLANTING),
        repetitions=0,
    )
    plan = design_probes(spec, catalogs, seed=1)
    trend = plan[plan["phase"].notna()]
    assert len(trend) == 4 * 15 * 2
    assert trend["planted_key"].nunique() == 1 and trend["control_key"].nunique() == 1
    assert trend["planted_key"].iloc[0] != trend["control_key"].iloc[0]
    for _, group in trend.groupby("match_id"):
        assert sorted(group["phase"]) == ["after", "before"]
        assert group["history"].map(tuple).nunique() == 1
        assert group["customer_id"].nunique() == 2
    roles = trend.groupby("shop_id")["shop_role"].first()
    assert roles.to_dict() == {
        "shop01": "source",
        "shop02": "other",
        "shop03": "other",
        "shop04": "other",
    }
    # neither product is in any planting customer's history
    items = pd.concat(catalogs, names=["shop_id"]).reset_index(level=0)
    keyed = items.set_index(["shop_id", "item_id"])["canonical_id"]
    in_history = {
        keyed[(s, i)] for s, h in zip(trend["shop_id"], trend["history"], strict=True) for i in h
    }
    assert trend["planted_key"].iloc[0] not in in_history
    assert plan[plan["phase"].isna()]["planted_key"].isna().all()


def test_a_shop_selling_only_the_planted_and_control_products_asks_with_no_history():
    tiny = {"a": support.make_catalog("a", 30, 2), "b": support.make_catalog("b", 2, 2)}
    spec = ProbesSpec(
        personas=[PersonaSpec(id="p", history_length=1, customers=1)],
        trend_planting=TrendPlantingSpec(write_events=True, customers=2, events=100),
        repetitions=0,
    )
    trend = design_probes(spec, tiny, seed=1).query("phase.notna()")
    histories = trend.groupby("shop_id")["history"].agg(lambda h: {len(x) for x in h})
    assert histories["b"] == {0} and histories["a"] != {0}


def test_default_products_are_shared_and_alike(catalogs):
    banded = band_products(stack_catalogs(catalogs))
    planting = choose_planting(TrendPlantingSpec(**PLANTING), banded)
    shared = banded[banded["canonical_id"].notna()]
    reach = shared.groupby("item_key")["shop_id"].nunique()
    assert reach[planting.planted_key] == reach.max() == reach[planting.control_key]
    assert planting.source_shop == "shop01"


@pytest.mark.parametrize(
    ("planting", "message"),
    [
        (
            {"source_shop": "shop99"},
            "trend_planting.source_shop must be one of ['shop01', 'shop02', 'shop03', 'shop04']; "
            "got 'shop99'",
        ),
        (
            {"product": "P99999"},
            "trend_planting.product must be a canonical_id sold at 'shop01'; got 'P99999'",
        ),
    ],
)
def test_bad_planting_choices_are_design_errors(catalogs, planting, message):
    banded = band_products(stack_catalogs(catalogs))
    with pytest.raises(DesignError) as info:
        choose_planting(TrendPlantingSpec(**PLANTING, **planting), banded)
    assert str(info.value) == message


def test_events_need_explicit_consent(tmp_path):
    data = spec_data(1.0, write_events=False)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SpecError, match=r"probes\.trend_planting\.write_events: must be true"):
        load_spec(path)


def planted_exposure(out: Path) -> pd.DataFrame:
    """Share of 'other'-shop lists showing the planted product, before and after."""
    plan = pd.read_parquet(out / "plan.parquet")
    db = sqlite3.connect(out / "evidence.sqlite")
    answers = pd.read_sql_query("SELECT probe_id, items FROM attempts WHERE status='ok'", db)
    catalogs = generate_world(seed=3, n_shops=4, items_per_shop=150).catalogs()
    stacked = stack_catalogs(catalogs)
    trend = plan[plan["shop_role"] == "other"].merge(answers, on="probe_id")
    planted = trend["planted_key"].iloc[0]
    planted_items = set(stacked.loc[stacked["item_key"] == planted, "item_id"])
    trend["shown"] = [bool(planted_items & set(yaml.safe_load(i))) for i in trend["items"]]
    return trend.groupby("phase")["shown"].mean()


@pytest.mark.slow
def test_pooled_vendor_leaks_the_trend_and_isolated_one_does_not(tmp_path):
    run_audit(AuditSpec.model_validate(spec_data(1.0)), out=tmp_path / "pooled")
    run_audit(AuditSpec.model_validate(spec_data(0.0)), out=tmp_path / "isolated")
    pooled = planted_exposure(tmp_path / "pooled")
    isolated = planted_exposure(tmp_path / "isolated")
    assert pooled["before"] < 0.1 and pooled["after"] > pooled["before"] + 0.5
    assert abs(isolated["after"] - isolated["before"]) < 0.1
    events = (
        sqlite3.connect(tmp_path / "pooled" / "evidence.sqlite")
        .execute("SELECT shop_id, count FROM events")
        .fetchall()
    )
    assert events == [("shop01", 20000)]


def test_vendor_without_event_api_is_refused_before_any_request(tmp_path, monkeypatch):
    module = tmp_path / "akt_plain_vendor.py"
    module.write_text(
        "class V:\n    def recommend(self, request):\n        return []\n"
        "def make():\n    return V()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    data = spec_data(0.0)
    data["vendor"] = {"adapter": "python", "target": "akt_plain_vendor:make", "name": "Plain"}
    with pytest.raises(VendorError, match="trend_planting needs a vendor with an event API"):
        run_audit(AuditSpec.model_validate(data), out=tmp_path / "run")
    db = sqlite3.connect(tmp_path / "run" / "evidence.sqlite")
    assert db.execute("SELECT COUNT(*) FROM attempts").fetchone() == (0,)


@pytest.mark.slow
def test_resumed_run_replays_events_into_the_simulated_vendor(tmp_path):
    spec = AuditSpec.model_validate(spec_data(1.0))
    out = tmp_path / "run"
    run_audit(spec, out=out)
    expected = planted_exposure(out)
    plan = pd.read_parquet(out / "plan.parquet")
    after = plan.loc[plan["phase"] == "after", "probe_id"].tolist()
    with sqlite3.connect(out / "evidence.sqlite") as db:  # as if killed before these answers
        db.execute(f"DELETE FROM attempts WHERE probe_id IN ({','.join('?' * len(after))})", after)
    run_audit(spec, out=out, resume=True)
    assert planted_exposure(out).equals(expected)
    events = sqlite3.connect(out / "evidence.sqlite").execute("SELECT COUNT(*) FROM events")
    assert events.fetchone() == (1,)
