"""Claims checked against behaviour on the built-in world, and rubric arithmetic by hand."""

import textwrap

import pytest

from auditkit import AuditSpec, run_audit
from auditkit.errors import SpecError
from auditkit.results import ClaimCheck
from auditkit.scoring import RUBRICS, load_rubric, score_rubric

CLAIMS = {
    "data_sources": "each shop's own events",
    "data_pooled_across_shops": False,
    "explanations": True,
    "scores_exposed": True,
    "non_personalized_mode": {"option": "personalized", "value": False},
    "knobs": [
        {"name": "diversity", "option": "diversity", "value": 0.9, "promises": "diversity_up"},
        {
            "name": "no_trends",
            "option": "trending",
            "value": "off",
            "promises": "trend_share_down",
        },
        {
            "name": "own_identity",
            "option": "boost",
            "value": ["signature"],
            "promises": "signature_up",
        },
    ],
}


INDEX_AND_JACCARD = {"homogenization.index": {}, "homogenization.cross_shop_jaccard": {}}


def audit(tmp_path, metrics=None, **options):
    data = {
        "auditkit": 1,
        "name": "claims",
        "seed": 8,
        "world": {"shops": 4, "items_per_shop": 200},
        "vendor": {
            "adapter": "simulated",
            "options": {"trend_weight": 0.5, "noise": 0.3, **options},
        },
        "probes": {
            "k": 10,
            "repetitions": 1,
            "personas": [
                {"id": "tea", "categories": ["cat01", "cat02"], "customers": 8},
                {"id": "any", "history_length": 6, "customers": 8},
            ],
        },
        "metrics": metrics or {"homogenization.cross_shop_jaccard": {}},
        "claims": CLAIMS,
        "inference": {"n_resamples": 300},
    }
    result = run_audit(AuditSpec.model_validate(data), out=tmp_path / "run")
    return {c.id: c for c in result.claims}, {s.rubric: s for s in result.scores}


def test_isolation_claim_is_contradicted_by_a_pooling_vendor(tmp_path):
    claims, _ = audit(tmp_path, pooling=1.0, metrics=INDEX_AND_JACCARD)
    assert claims["tenant_isolation"].verdict == "contradicted"
    assert "homogenization.index: fail" in claims["tenant_isolation"].measured


def test_isolation_is_not_verified_by_raw_overlap_alone(tmp_path):
    # The pooler's noise keeps its raw overlap under warn: without the index, nothing settles it.
    claims, _ = audit(tmp_path, pooling=1.0)
    assert claims["tenant_isolation"].verdict == "untested"
    assert "homogenization.cross_shop_jaccard: pass" in claims["tenant_isolation"].measured


def test_honest_vendor_has_its_claims_verified_with_effect_sizes(tmp_path):
    claims, scores = audit(tmp_path, pooling=0.0, metrics=INDEX_AND_JACCARD)
    for check in (
        "tenant_isolation",
        "explanations",
        "scores_exposed",
        "non_personalized",
        "knob:diversity",
        "knob:no_trends",
        "knob:own_identity",
    ):
        assert claims[check].verdict == "verified", (check, claims[check].measured)
    diversity = claims["knob:diversity"]
    assert diversity.effect is not None and diversity.effect > 1  # categories added per list
    assert diversity.ci is not None and diversity.ci[0] > 0
    assert claims["knob:no_trends"].effect < 0
    assert claims["data_sources"].verdict == "untested"  # stated, but no probe can test it
    assert scores["customizability"].letter in ("A", "B")


def test_knob_that_does_nothing_and_fake_mode_are_contradicted(tmp_path):
    claims, scores = audit(tmp_path, pooling=0.0, ignored_options=["diversity", "personalized"])
    assert claims["knob:diversity"].verdict == "contradicted"
    assert claims["non_personalized"].verdict == "contradicted"
    assert claims["knob:no_trends"].verdict == "verified"
    item = next(i for i in scores["customizability"].items if i.id == "diversity")
    assert item.points == -item.weight  # worse than making no claim


def check(check_id: str, verdict: str) -> ClaimCheck:
    return ClaimCheck(check_id, check_id, "stated", "measured", verdict)  # type: ignore[arg-type]


def test_rubric_points_by_hand():
    rubric = load_rubric("customizability")
    checks = [
        check("non_personalized", "verified"),
        check("knob:a", "contradicted"),
        check("knob:b", "untested"),
        check("knob:c", "verified"),
    ]
    promises = {"knob:a": "diversity_up", "knob:b": "trend_share_down", "knob:c": "diversity_up"}
    score = score_rubric(rubric, checks, promises)
    points = {i.id: i.points for i in score.items}
    # non-personalized 20 verified; diversity: best of (contradicted, verified) = 20;
    # trending 25 untested at half credit = 12.5; signature and exclusions not claimed
    assert points == {
        "non_personalized_mode": 20.0,
        "diversity": 20.0,
        "trending_off": 12.5,
        "signature_boost": 0.0,
        "exclusions": 0.0,
    }
    assert score.score == 52.5 and score.letter == "D"  # D from 40, C from 55
    worse = score_rubric(rubric, [check("non_personalized", "contradicted")], {})
    assert worse.score == 0.0 and worse.items[0].points == -20.0


def test_shipped_rubrics_load_and_weigh_to_a_total():
    for name in RUBRICS:
        rubric = load_rubric(name)
        assert rubric.version >= 1 and sum(i.weight for i in rubric.items) == 100


def test_bad_rubric_is_a_located_error(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        textwrap.dedent("""\
        rubric: mine
        version: 1
        untested_credit: 2
        contradicted_penalty: 1
        letters: {A: 85, B: 70, C: 55, D: 40}
        items:
          - {id: x, weight: 10, description: d, check: a, promise: b}
          - {id: y, weight: -1, description: d, check: a, colour: red}
        """)
    )
    with pytest.raises(SpecError) as info:
        load_rubric(path)
    assert str(info.value).splitlines() == [
        "mine.yaml:3 untested_credit: must be a number from 0.0 to 1.0; got 2",
        "mine.yaml:7 items[0]: give exactly one of 'check' or 'promise'",
        "mine.yaml:8 items[1].colour: is not a valid key; valid keys: check, description, id, "
        "promise, weight",
        "mine.yaml:8 items[1].weight: must be a number greater than 0; got -1",
    ]


KNOB_VENDOR = '''
import zlib


class HalfKnobVendor:
    """Answers each history with the knob on, or off, never both."""

    def recommend(self, request):
        odd = zlib.crc32(",".join(request.history).encode()) % 2 == 1
        if odd == bool(request.options):
            raise ValueError("not answered")
        return [f"{request.shop_id}-{i:04d}" for i in range(1, request.k + 1)]


def make():
    return HalfKnobVendor()
'''


def test_knob_whose_pairs_are_all_incomplete_is_untested(tmp_path, monkeypatch):
    (tmp_path / "akt_half_knob_vendor.py").write_text(KNOB_VENDOR)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = {
        "auditkit": 1,
        "name": "half answered knob",
        "seed": 8,
        "world": {"shops": 3, "items_per_shop": 60},
        "vendor": {"adapter": "python", "target": "akt_half_knob_vendor:make"},
        "probes": {"k": 5, "personas": [{"id": "any", "history_length": 3, "customers": 4}]},
        "metrics": {"homogenization.cross_shop_jaccard": {}},
        "claims": {"knobs": CLAIMS["knobs"][:1], "verification_customers": 3},
        "inference": {"n_resamples": 100},
    }
    result = run_audit(AuditSpec.model_validate(data), out=tmp_path / "run")
    knob = next(c for c in result.claims if c.id == "knob:diversity")
    assert knob.verdict == "untested" and knob.measured == "no answered check probes"
