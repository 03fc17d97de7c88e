"""The audit opinion page: built only from results that hold an opinion, in the DA's layout."""

import pytest

from auditkit.reports import (
    build_opinion,
    render_opinion_html,
    render_opinion_markdown,
    report_files,
)
from auditkit.reports._opinion import OPINION_RULE

HOSTILE = "<script>alert(1)</script>"


def document(opinion="negative"):
    return {
        "schema": "auditkit.results/1",
        "audit": {
            "name": f"Audit {HOSTILE}",
            "vendor": f"Vendor {HOSTILE}",
            "adapter": "http",
            "seed": 1,
            "description": "",
            "spec_sha256": "a" * 64,
            "evidence_sha256": "b" * 64,
            "suite": {
                "id": "regulator",
                "version": 1,
                "hash": "c" * 64,
                "unmodified": False,
                "modified": ["probes.k"],
            },
        },
        "summary": {"verdicts": {}},
        "data_quality": {
            "probes_planned": 10,
            "probes_answered": 9,
            "attempts": 12,
            "answer_rate": 0.9,
            "failures_by_kind": {},
            "probes_shared": 0,
            "stopped": None,
        },
        "metrics": [
            {
                "id": "segment.price_gap",
                "verdict": "fail",
                "threshold": {
                    "warn": 0.1,
                    "fail": 0.2,
                    "direction": "higher_is_worse",
                    "min_units": 10,
                },
            },
            {"id": "popularity.gini", "verdict": "reported", "threshold": None},
            {"id": "popularity.arp", "verdict": "reported", "threshold": None},
        ],
        "claims": [],
        "scores": [],
        "obligations": [
            {
                "id": "ai_act_art10",
                "clause": "EU AI Act Art. 10(2)(f)",
                "title": "Examination for possible biases",
                "obligation": "Examine.",
                "tested": "Twins.",
                "tests": [
                    {
                        "kind": "metric",
                        "id": "segment.price_gap",
                        "verdict": "fail",
                        "summary": f"gap for {HOSTILE}",
                    },
                    {
                        "kind": "metric",
                        "id": "popularity.gini",
                        "verdict": "reported",
                        "summary": "",
                    },
                ],
                "finding": opinion,
                "reasons": ["segment.price_gap: fail"],
                "impact_ratios": [
                    {
                        "metric": "segment.exposure_impact_ratio",
                        "grouping": "age",
                        "lowest_impact_ratio": 0.5,
                        "categories": [
                            {
                                "category": "old",
                                "rate": 0.2,
                                "n": 50,
                                "share": 0.5,
                                "excluded": False,
                                "impact_ratio": 0.5,
                            },
                            {
                                "category": "rare",
                                "rate": 0.9,
                                "n": 1,
                                "share": 0.01,
                                "excluded": True,
                                "impact_ratio": None,
                            },
                        ],
                    },
                    {
                        "metric": "m",
                        "grouping": "age × device",
                        "lowest_impact_ratio": 0.1,
                        "categories": [],
                    },
                ],
            }
        ],
        "opinion": {"opinion": opinion, "reasons": ["EU AI Act Art. 10(2)(f): negative"]},
    }


def test_no_opinion_in_the_results_gives_no_page():
    plain = document()
    del plain["opinion"], plain["obligations"]
    assert build_opinion(plain) is None
    assert report_files(plain) == ("report.html", "report.md")
    assert report_files(document()) == ("report.html", "report.md", "opinion.html", "opinion.md")


def test_the_view_holds_the_delegated_regulations_sections():
    view = build_opinion(document(), {"versions": {"auditkit": "9.9"}})
    assert view["criteria"]["hash"] == "c" * 64 and view["criteria"]["unmodified"] is False
    assert view["materiality"] == [
        {
            "metric": "segment.price_gap",
            "warn": "0.1",
            "fail": "0.2",
            "direction": "higher is worse",
        }
    ]
    # popularity.arp serves no obligation here: not a threshold of this opinion.
    assert view["reported"] == ["popularity.gini"]
    assert view["tests_performed"]["answer_rate"] == "90.0%"
    (section,) = view["obligations"]
    assert [t["id"] for t in section["flagged"]] == ["segment.price_gap"]
    assert [t["id"] for t in section["clean"]] == ["popularity.gini"]
    assert section["notes"] == []  # the one reason is the flagged test's own
    (table,) = section["impact_ratios"]  # the intersection (age × device) is left to json
    assert [(r["grouping"], r["category"], r["ratio"]) for r in table["rows"]] == [
        ("age", "old", "0.5"),
        ("age", "rare", "excluded (under 2% of the data)"),
    ]
    assert view["opinion_words"] == "Negative" and view["auditkit_version"] == "9.9"


@pytest.mark.parametrize("opinion", ["positive", "positive with comments", "negative"])
def test_both_pages_state_the_opinion_and_the_rule(opinion):
    view = build_opinion(document(opinion))
    html = render_opinion_html(view)
    markdown = render_opinion_markdown(view)
    words = {"positive": "Positive", "positive with comments": "Positive with comments"}
    word = words.get(opinion, "Negative")
    assert f">{word}</strong>" in html and f"**{word}**" in markdown
    assert OPINION_RULE.replace("'", "&#39;") in html and OPINION_RULE in markdown
    headings = [
        "1. Audited service",
        "2. Audit criteria",
        "3. Materiality thresholds",
        "4. Tests performed",
        "5. Results per obligation",
        "6. Audit opinion",
    ]
    for heading in headings:
        assert f"<h2>{heading}</h2>" in html and f"## {heading}\n" in markdown
    assert "modified probes.k" in html


def test_vendor_text_is_escaped_and_the_page_loads_nothing():
    view = build_opinion(document())
    html = render_opinion_html(view)
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "default-src 'none'" in html and "<script" not in html
    markdown = render_opinion_markdown(view)
    assert HOSTILE not in markdown and r"\<script\>alert(1)\</script\>" in markdown
