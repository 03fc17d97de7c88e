"""Trend leakage: the difference in differences on hand-made planting probes."""

import dataclasses
import math

import pytest
from tables import catalog, make_tables

from auditkit.judging import judge_metric
from auditkit.metrics.popularity import LEAKAGE_ID, trend_leakage
from auditkit.tables import mark_trending

CATALOGS = {shop: catalog(["P1", "P2", "P3", "PL", "PC"]) for shop in ("src", "o1", "o2")}


def planting_rows(customers):
    rows = []
    for shop, role in (("src", "source"), ("o1", "other"), ("o2", "other")):
        for c in range(customers):
            for phase in ("before", "after"):
                rows.append(
                    {
                        "probe_id": f"{shop}-{c}-{phase}",
                        "shop_id": shop,
                        "match_id": f"trend-{shop}-{c}",
                        "phase": phase,
                        "shop_role": role,
                        "planted_key": "PL",
                        "control_key": "PC",
                    }
                )
    return rows


def test_hand_computed_case():
    rows = planting_rows(2)
    answers = {row["probe_id"]: ["P1"] for row in rows}
    # o1-0: planted appears after (+1), control too (+1) → 0.
    answers["o1-0-after"] = ["PL", "PC"]
    # o1-1: planted appears after → +1.  o2-0: control disappears after → +1.
    answers["o1-1-after"] = ["PL"]
    answers["o2-0-before"] = ["PC"]
    # o2-1: planted shown before and after → 0. The source shop's customers never count.
    answers["o2-1-before"] = answers["o2-1-after"] = ["PL"]
    answers["src-0-after"] = answers["src-1-after"] = ["PL"]
    # Core probes (no phase) are ignored.
    rows.append({"probe_id": "core", "shop_id": "o1"})
    answers["core"] = ["PL"]
    result = trend_leakage(make_tables(rows, answers, CATALOGS), n_resamples=200)
    assert result.value == pytest.approx(0.5) and result.n == 4
    assert result.by_group == {"shop": {"o1": 0.5, "o2": 0.5}}
    assert result.details["planted_change"] == pytest.approx(0.5)
    assert result.details["control_change"] == pytest.approx(0.0)
    assert result.details["planted_key"] == "PL" and result.details["control_key"] == "PC"
    assert result.id == LEAKAGE_ID and result.unit == "customer"
    assert 0.0 < result.p_value < 1.0


def test_leakage_everywhere_fails_and_a_tested_p_value_is_small():
    rows = planting_rows(12)
    answers = {row["probe_id"]: (["PL"] if row["phase"] == "after" else ["P1"]) for row in rows}
    result = judge_metric(LEAKAGE_ID, make_tables(rows, answers, CATALOGS), n_resamples=200)
    assert result.value == 1.0 and result.verdict == "fail" and result.p_value < 1e-4


def test_no_leakage_passes_with_p_value_one():
    rows = planting_rows(12)
    answers = {row["probe_id"]: ["P1"] for row in rows}
    result = judge_metric(LEAKAGE_ID, make_tables(rows, answers, CATALOGS), n_resamples=200)
    assert result.value == 0.0 and result.verdict == "pass" and result.p_value == 1.0


def test_without_planting_probes_it_is_inconclusive():
    rows = [{"probe_id": "p1", "shop_id": "o1"}]
    tables = make_tables(rows, {"p1": ["P1"]}, CATALOGS)
    estimate = trend_leakage(tables, n_resamples=100)
    assert estimate.reason == "the audit has no trend-planting probes"
    result = judge_metric(LEAKAGE_ID, tables, n_resamples=100)
    assert math.isnan(result.value) and result.verdict == "inconclusive"
    assert result.details["reason"] == "the audit has no trend-planting probes"
    assert result.summary == (
        "Trend leakage could not be measured: the audit has no trend-planting probes."
    )
    assert result.p_value is None


def test_details_say_whether_the_products_were_already_trending():
    rows = planting_rows(2)
    answers = {row["probe_id"]: (["PL"] if row["phase"] == "after" else ["P1"]) for row in rows}
    tables = make_tables(rows, answers, CATALOGS)
    # Five products in all: the top 20 by summed popularity hold both keys.
    derived = judge_metric(LEAKAGE_ID, tables, n_resamples=100)
    assert derived.details["trending_rule"] == "top_popularity"
    assert derived.details["planted_trending"] and derived.details["control_trending"]
    assert "The planted and the control products are among the 5 products" in derived.summary
    listed = dataclasses.replace(tables, catalogs=mark_trending(tables.catalogs, ["P1", "PC"]))
    spec = judge_metric(LEAKAGE_ID, listed, n_resamples=100)
    assert spec.details["trending_rule"] == "spec" and spec.details["trending_products"] == 2
    assert not spec.details["planted_trending"] and spec.details["control_trending"]
    assert "The control product is among the 2 products the audit spec names" in spec.summary
    assert spec.value == derived.value == 1.0
