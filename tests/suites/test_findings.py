"""Findings per obligation and the audit opinion: one rule, planted verdicts, hand-made ratios."""

import pytest

from auditkit.results import ClaimCheck, DataQuality, MetricResult
from auditkit.suites import (
    SMALL_CATEGORY_SHARE,
    assess_obligations,
    impact_ratios,
    obligation_ids,
    regulatory_mapping,
)

COMPLETE = DataQuality(probes_planned=100, probes_answered=100, attempts=100)
MAPPING = regulatory_mapping()


def metric(metric_id, verdict, **fields):
    return MetricResult(
        id=metric_id,
        family=metric_id.split(".")[0],
        value=0.5,
        ci=(0.4, 0.6),
        n=20,
        unit="customer",
        verdict=verdict,
        summary=f"{metric_id} measured",
        **fields,
    )


def claim(claim_id, verdict):
    return ClaimCheck(claim_id, claim_id, "stated", f"{claim_id} measured", verdict)


def every_metric(verdict="pass", **changes):
    ids = sorted({m for o in MAPPING.obligations for m in o.metrics})
    return [metric(m, changes.get(m, verdict)) for m in ids]


def every_claim(verdict="verified", **changes):
    ids = ["data_sources", "explanations", "scores_exposed", "documentation", "knob:diversity"]
    ids += ["non_personalized", "tenant_isolation", "audit_log"]
    return [claim(c, changes.get(c, verdict)) for c in ids]


def findings_of(metrics, claims, quality=COMPLETE, ids=None):
    findings, opinion = assess_obligations(
        list(obligation_ids()) if ids is None else ids, metrics, claims, quality
    )
    return {f.id: f.finding for f in findings}, opinion


def test_the_mapping_names_every_obligation_of_the_issue():
    clauses = {o.id: o.clause for o in MAPPING.obligations}
    assert clauses == {
        "dsa_art27": "DSA Art. 27",
        "dsa_art38": "DSA Art. 38",
        "dsa_art34_35": "DSA Art. 34 and 35",
        "nyc_ll144": "NYC Local Law 144 (impact ratios)",
        "ai_act_art10": "EU AI Act Art. 10(2)(f)",
        "ai_act_art12": "EU AI Act Art. 12",
        "ai_act_art13": "EU AI Act Art. 13",
    }
    assert MAPPING.framework.clause == "Delegated Regulation (EU) 2024/436"


def test_every_mapped_metric_is_registered():
    from auditkit.metrics.registry import METRICS

    for obligation in MAPPING.obligations:
        assert set(obligation.metrics) <= set(METRICS), obligation.id
        assert set(obligation.impact_ratios) <= set(obligation.metrics), obligation.id


def test_all_clean_is_positive():
    findings, opinion = findings_of(every_metric(), every_claim())
    assert set(findings.values()) == {"positive"}
    assert opinion.opinion == "positive" and opinion.reasons == []


def test_one_failed_metric_makes_its_obligations_and_the_opinion_negative():
    findings, opinion = findings_of(every_metric(**{"segment.price_gap": "fail"}), every_claim())
    # segment.price_gap serves Art. 34/35 and Art. 10(2)(f), nothing else.
    assert findings == {
        "dsa_art27": "positive",
        "dsa_art38": "positive",
        "dsa_art34_35": "negative",
        "nyc_ll144": "positive",
        "ai_act_art10": "negative",
        "ai_act_art12": "positive",
        "ai_act_art13": "positive",
    }
    assert opinion.opinion == "negative"
    assert opinion.reasons == ["DSA Art. 34 and 35: negative", "EU AI Act Art. 10(2)(f): negative"]


def test_a_contradicted_claim_is_negative():
    findings, opinion = findings_of(every_metric(), every_claim(non_personalized="contradicted"))
    assert findings["dsa_art38"] == "negative" and opinion.opinion == "negative"


@pytest.mark.parametrize(
    ("metrics", "claims", "obligation"),
    [
        (every_metric(**{"segment.hit_rate_ratio": "warn"}), every_claim(), "ai_act_art13"),
        (every_metric(**{"segment.hit_rate_ratio": "inconclusive"}), every_claim(), "nyc_ll144"),
        (every_metric(), every_claim(audit_log="untested"), "ai_act_art12"),
        (every_metric(), every_claim(data_sources="not claimed"), "dsa_art27"),
    ],
    ids=["warn", "inconclusive", "untested", "not claimed"],
)
def test_short_of_clean_is_positive_with_comments(metrics, claims, obligation):
    findings, opinion = findings_of(metrics, claims)
    assert findings[obligation] == "positive with comments"
    assert opinion.opinion == "positive with comments"


def test_a_test_the_run_did_not_run_is_a_comment():
    metrics = [m for m in every_metric() if m.id != "segment.hit_rate_ratio"]
    findings, _ = assess_obligations(["ai_act_art13"], metrics, every_claim(), COMPLETE)
    assert findings[0].finding == "positive with comments"
    assert "segment.hit_rate_ratio: not run" in findings[0].reasons


def test_reported_metrics_alone_reach_no_verdict():
    metrics = every_metric("reported")
    findings, _ = assess_obligations(["dsa_art34_35"], metrics, [], COMPLETE)
    assert findings[0].finding == "positive with comments"
    assert findings[0].reasons[-2:] == [
        "tenant_isolation: not run",
        "no test of this obligation reached a verdict",
    ]


def test_an_incomplete_collection_qualifies_every_finding():
    short = DataQuality(probes_planned=100, probes_answered=80, attempts=100)
    findings, opinion = findings_of(every_metric(), every_claim(), quality=short)
    assert set(findings.values()) == {"positive with comments"}
    assert opinion.opinion == "positive with comments"


def test_knob_claims_are_all_read_and_none_is_a_comment():
    claims = [claim("knob:a", "verified"), claim("knob:b", "contradicted")]
    findings, _ = assess_obligations(["dsa_art27"], [], claims, COMPLETE)
    tests = {(t.id, t.verdict) for t in findings[0].tests}
    assert {("knob:a", "verified"), ("knob:b", "contradicted")} <= tests
    assert findings[0].finding == "negative"
    none, _ = assess_obligations(["dsa_art27"], [], [], COMPLETE)
    assert ("knob:*", "not claimed") in {(t.id, t.verdict) for t in none[0].tests}


def test_no_obligation_gives_no_opinion():
    assert assess_obligations([], every_metric(), every_claim(), COMPLETE) == ([], None)


def test_impact_ratios_divide_by_the_most_selected_and_exclude_small_categories():
    # 200 units: "young" 100 at rate 0.40, "old" 97 at 0.10, "rare" 3 (1.5% < 2%) at 0.90.
    result = metric(
        "segment.exposure_impact_ratio",
        "fail",
        by_group={"age": {"young": 0.40, "old": 0.10, "rare": 0.90}},
        details={"comparisons": {"age": {"groups": {"young": 100, "old": 97, "rare": 3}}}},
    )
    (view,) = impact_ratios(result)
    rows = {c["category"]: c for c in view["categories"]}
    assert rows["young"]["impact_ratio"] == pytest.approx(1.0)
    assert rows["old"]["impact_ratio"] == pytest.approx(0.25)
    assert rows["rare"]["excluded"] is True and rows["rare"]["impact_ratio"] is None
    assert rows["rare"]["share"] == pytest.approx(0.015)
    assert rows["rare"]["share"] < SMALL_CATEGORY_SHARE
    assert view["lowest_impact_ratio"] == pytest.approx(0.25)


def test_without_the_exclusion_a_small_category_would_lead():
    # The null of the rule: at 2% exactly the category is kept and becomes the reference.
    result = metric(
        "segment.exposure_impact_ratio",
        "fail",
        by_group={"age": {"young": 0.40, "rare": 0.80}},
        details={"comparisons": {"age": {"groups": {"young": 98, "rare": 2}}}},
    )
    rows = {c["category"]: c for c in impact_ratios(result)[0]["categories"]}
    assert rows["rare"]["excluded"] is False and rows["rare"]["impact_ratio"] == 1.0
    assert rows["young"]["impact_ratio"] == pytest.approx(0.5)


def test_an_edited_suite_gets_at_best_positive_with_comments():
    clean, opinion = assess_obligations(
        list(obligation_ids()), every_metric(), every_claim(), COMPLETE, modified=["probes.k"]
    )
    assert {f.finding for f in clean} == {"positive"}  # the findings themselves stand
    assert opinion.opinion == "positive with comments"
    assert opinion.reasons == ["the suite did not run as shipped: modified probes.k"]
    _, failed = assess_obligations(
        ["dsa_art38"],
        [],
        every_claim(non_personalized="contradicted"),
        COMPLETE,
        modified=["seed"],
    )
    assert failed.opinion == "negative"
