"""The report's words and number formats: one place for every title and every metric's number.

Every format (report.html, report.md, comparison.html, the terminal) prints a metric's value
through `metric_value`, so the same run reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

FAMILY_TITLES: dict[str, str] = {
    "homogenization": "Convergence across shops",
    "popularity": "Reliance on trending items",
    "segment": "Segment bias",
}
VERDICT_WORDS: dict[str, str] = {
    "fail": "Problem found",
    "warn": "Worth a look",
    "pass": "No problem found",
    "inconclusive": "Not enough evidence",
    "reported": "Reported, not judged",
}
CLAIM_WORDS: dict[str, str] = {
    "verified": "Verified",
    "contradicted": "Contradicted",
    "untested": "Stated, not tested",
    "not claimed": "Not claimed",
}
# A check id (results.json claims[].id, a rubric item's check) in plain words.
CLAIM_TITLES: dict[str, str] = {
    "data_sources": "Data its models learn from",
    "tenant_isolation": "Each shop's data kept separate",
    "explanations": "Explanations with each recommendation",
    "scores_exposed": "A score with each recommendation",
    "non_personalized": "A mode that ignores customers' histories",
    "documentation": "Published documentation",
    "audit_log": "A log of what was recommended and why",
}

# Each metric: its plain title, and the format of its value (a `format` spec and a suffix), the
# one the metric's sentence (`auditkit.judging.words`) prints, so every text agrees.
METRIC_WORDS: dict[str, tuple[str, str, str]] = {
    "homogenization.cross_shop_jaccard": (
        "Same products for the same customer across shops",
        ".0%",
        "",
    ),
    "homogenization.cross_shop_rbo": ("Same top of the list across shops", ".0%", ""),
    "homogenization.category_divergence": (
        "Difference in category mix across shops",
        ".2f",
        " bits",
    ),
    "homogenization.index": ("Convergence beyond the vendor's own noise", ".0%", ""),
    "homogenization.signature_retention": (
        "Exposure of each shop's signature products",
        ".2f",
        "×",
    ),
    "homogenization.within_shop_jaccard": (
        "Sameness of different customers' lists in one shop",
        ".0%",
        "",
    ),
    "popularity.lift": (
        "Popularity of recommendations over customers' own histories",
        "+.0%",
        "",
    ),
    "popularity.arp": ("Average popularity of recommended products", ".1f", "×"),
    "popularity.long_tail_share": ("Share of recommendations from the long tail", ".0%", ""),
    "popularity.gini": ("Concentration of exposure on few products (Gini)", ".2f", ""),
    "popularity.coverage": ("Share of the catalog ever recommended", ".0%", ""),
    "popularity.trend_share": (
        "Share of recommendations that are trending products",
        ".0%",
        "",
    ),
    "popularity.trend_leakage": (
        "A trend planted in one shop showing up in others",
        "+.0%",
        "",
    ),
    # Its sentence prints the two divergences, not their difference: a tenth of a percent.
    "segment.counterfactual_divergence": (
        "Lists changed by one customer attribute alone",
        ".1%",
        "",
    ),
    "segment.price_gap": ("Price gap between customer segments", ".0%", ""),
    "segment.exposure_impact_ratio": (
        "Premium products shown to each segment (impact ratio)",
        ".0%",
        "",
    ),
    "segment.hit_rate_ratio": ("Own tastes found by each segment (impact ratio)", ".0%", ""),
    "segment.counterfactual_price_gap": (
        "Price change from one customer attribute alone",
        ".0%",
        "",
    ),
    "segment.counterfactual_popularity_gap": (
        "Popularity change from one customer attribute alone",
        ".0%",
        "",
    ),
}


def number(value: Any) -> str:
    """A number for people: at most three significant digits, thousands separated; – if none."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value == int(value) and abs(value) < 1e6:
            return f"{int(value):,}"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def percent(value: float) -> str:
    """A share as a percentage: whole percents, one decimal under ten."""
    if not math.isfinite(value):
        return "–"
    return f"{value:.1%}" if abs(value) < 0.1 and value != 0 else f"{value:.0%}"


def metric_title(metric_id: str) -> str:
    """The plain title of a metric (its id, made readable, for one the report has no words for)."""
    words = METRIC_WORDS.get(metric_id)
    if words is not None:
        return words[0]
    return metric_id.split(".", 1)[-1].replace("_", " ").capitalize()


def metric_value(metric_id: str, value: Any) -> str:
    """A metric's value as every format prints it (–, when it could not be measured)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "–"
    value = float(value)
    if not math.isfinite(value):
        return "–"
    words = METRIC_WORDS.get(metric_id)
    if words is None:
        return number(value)
    text = format(value, words[1])
    return text.replace("-", "−") + words[2]


def metric_interval(metric_id: str, ci: Any) -> str:
    """A metric's interval, in the metric's own format (– when it has none)."""
    if not ci or ci[0] is None or ci[1] is None:
        return "–"
    return f"{metric_value(metric_id, ci[0])} to {metric_value(metric_id, ci[1])}"


def claim_title(check_id: str) -> str:
    """A claim check in plain words, the same in the report and the comparison."""
    if check_id in CLAIM_TITLES:
        return CLAIM_TITLES[check_id]
    if check_id.startswith("knob:"):
        return f"The setting “{check_id.removeprefix('knob:')}” works as promised"
    return check_id.replace("_", " ").capitalize()


def label(key: str) -> str:
    """A key of the results (``probes_skipped``) as a table heading (``Probes skipped``)."""
    return key.replace("_", " ").capitalize()


def metric_delta(metric_id: str, delta: float | None) -> str:
    """A change of a metric's value between two runs: shares in percentage points."""
    if delta is None or not math.isfinite(delta):
        return ""
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    words = METRIC_WORDS.get(metric_id)
    if words is None:
        return f"{sign}{number(abs(delta))}"
    if words[1].endswith("%"):
        points = abs(delta) * 100
        return f"{sign}{points:.1f} pts" if points < 10 else f"{sign}{points:.0f} pts"
    return f"{sign}{format(abs(delta), words[1].lstrip('+'))}{words[2]}"
