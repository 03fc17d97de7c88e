"""Which charts each family's section shows, drawn from the metrics' results (`_charts`).

Convergence: cross-shop overlap as a shop × shop grid and by persona, signature retention per
shop. Trending: the
popularity of recommended products against the customers' own histories, trend share by
persona. Segments: each segment comparison's ratio with its interval, and what changing one
attribute alone does, with its interval. A chart whose numbers a run lacks is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from markupsafe import Markup

from auditkit.metrics.homogenization.cross_shop import PAIR_JOIN
from auditkit.reports._charts import (
    Reference,
    Whisker,
    bar_chart,
    heatmap_chart,
    interval_chart,
)
from auditkit.reports._words import label, metric_title, metric_value, number


class ChartView(TypedDict):
    """One chart: its title, a caption saying how to read it, and its inline SVG."""

    title: str
    caption: str
    svg: Markup


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def thresholds(metric: dict[str, Any]) -> list[Reference]:
    """A metric's warn and fail thresholds as reference lines, labelled in its own format."""
    threshold = metric.get("threshold") or {}
    marks = []
    for key, words, style, color in (
        ("warn", "worth a look", ":", "#b26a00"),
        ("fail", "a problem", "--", "#b3261e"),
    ):
        if _finite(threshold.get(key)):
            value = metric_value(metric["id"], threshold[key])
            marks.append(Reference(threshold[key], f"{words} at {value}", style, color))
    return marks


def _by_group_bars(
    metric: dict[str, Any] | None, group: str, xlabel: str, references: list[Reference]
) -> ChartView | None:
    if metric is None:
        return None
    values = (metric.get("by_group") or {}).get(group) or {}
    bars = [(str(level), float(v)) for level, v in sorted(values.items()) if _finite(v)]
    if not bars:
        return None
    title = f"{metric_title(metric['id'])}, by {label(group).lower()}"
    svg = bar_chart(
        title,
        bars,
        xlabel=xlabel,
        text=lambda v: metric_value(metric["id"], v),
        references=[*references, *thresholds(metric)],
    )
    caption = f"Each bar is one {label(group).lower()}; the overall value is "
    caption += f"{metric_value(metric['id'], metric.get('value'))}."
    return {"title": title, "caption": caption, "svg": svg}


def _shop_pairs(metric: dict[str, Any] | None) -> ChartView | None:
    """Cross-shop overlap of every pair of shops as a grid, from ``by_group["shop pair"]``."""
    if metric is None:
        return None
    pairs = (metric.get("by_group") or {}).get("shop pair") or {}
    cells = {}
    for key, value in pairs.items():
        shops = str(key).split(PAIR_JOIN)
        if len(shops) == 2 and _finite(value):
            cells[(shops[0], shops[1])] = float(value)
    if not cells:
        return None
    shops = sorted({shop for pair in cells for shop in pair})
    title = f"{metric_title(metric['id'])}, by pair of shops"
    svg = heatmap_chart(
        title,
        shops,
        cells,
        legend="share of products in both lists (Jaccard)",
        text=lambda v: metric_value(metric["id"], v),
    )
    caption = (
        "Each cell is one pair of shops: how much matched customers' lists there overlap, on "
        "the products both shops sell. A dark row or column is a shop the vendor makes like "
        f"the others; the overall value is {metric_value(metric['id'], metric.get('value'))}."
    )
    return {"title": title, "caption": caption, "svg": svg}


def _homogenization(metrics: dict[str, dict[str, Any]]) -> list[ChartView | None]:
    grid = _shop_pairs(metrics.get("homogenization.cross_shop_jaccard"))
    overlap = _by_group_bars(
        metrics.get("homogenization.cross_shop_jaccard"),
        "persona",
        "share of products in both shops' lists (Jaccard)",
        [],
    )
    retention = _by_group_bars(
        metrics.get("homogenization.signature_retention"),
        "shop",
        "signature products' exposure ÷ their share of the catalog",
        [Reference(1.0, "fair share (1×)", "-", "#1e7a3c")],
    )
    return [grid, overlap, retention]


def _popularity(metrics: dict[str, dict[str, Any]]) -> list[ChartView | None]:
    charts: list[ChartView | None] = []
    lift = metrics.get("popularity.lift")
    details = (lift or {}).get("details") or {}
    history: Any = details.get("mean_arp_hist")
    shown: Any = details.get("mean_arp_rec")
    if lift is not None and _finite(history) and _finite(shown):
        title = "Popularity of recommended products against the customers' own histories"
        svg = bar_chart(
            title,
            [("customers' histories", float(history)), ("recommended", float(shown))],
            xlabel="a product's share of its shop's sales or views (mean)",
            text=number,
        )
        caption = (
            "Recommended products are "
            f"{metric_value(lift['id'], lift.get('value'))} more popular, on average, "
            "than the products the same customers chose themselves."
        )
        charts.append({"title": title, "caption": caption, "svg": svg})
    charts.append(
        _by_group_bars(
            metrics.get("popularity.trend_share"),
            "persona",
            "share of recommended products that are trending",
            [],
        )
    )
    return charts


# Row labels of the segment charts: what differs, before the attribute it differs by.
_SHORT: dict[str, str] = {
    "segment.price_gap": "Price",
    "segment.exposure_impact_ratio": "Premium products",
    "segment.hit_rate_ratio": "Own tastes found",
    "segment.counterfactual_divergence": "Products differ",
    "segment.counterfactual_price_gap": "Price",
    "segment.counterfactual_popularity_gap": "Popularity",
}


def _comparison_rows(metrics: dict[str, dict[str, Any]]) -> list[Whisker]:
    rows = []
    for metric in metrics.values():
        comparisons = (metric.get("details") or {}).get("comparisons") or {}
        for attribute, comparison in sorted(comparisons.items()):
            ratio, ci = comparison.get("ratio"), comparison.get("ratio_ci") or [None, None]
            if not _finite(ratio):
                continue
            what = _SHORT.get(metric["id"], metric_title(metric["id"]))
            rows.append(Whisker(f"{what} · {attribute}", float(ratio), ci[0], ci[1]))
    return rows


def _twin_rows(metrics: dict[str, dict[str, Any]]) -> list[Whisker]:
    rows = []
    for metric in metrics.values():
        for test in (metric.get("details") or {}).get("tests") or []:
            effect = test.get("effect", test.get("excess"))
            ci = test.get("ci") or [None, None]
            if not _finite(effect):
                continue
            to = f" → {test['level']}" if test.get("level") else ""
            what = _SHORT.get(metric["id"], metric_title(metric["id"]))
            rows.append(Whisker(f"{what} · {test.get('attribute')}{to}", effect, ci[0], ci[1]))
    return rows


def _segments(metrics: dict[str, dict[str, Any]]) -> list[ChartView | None]:
    charts: list[ChartView | None] = []
    rows = _comparison_rows(metrics)
    if rows:
        title = "Lowest segment against highest, with 95% intervals"
        svg = interval_chart(
            title,
            rows,
            xlabel="lowest group's value ÷ highest group's (1 = treated alike)",
            references=[
                Reference(1.0, "treated alike (1)", "-", "#1e7a3c"),
                Reference(0.8, "four-fifths rule (0.8)", "--", "#b26a00"),
            ],
        )
        caption = "A dot is the ratio between the segments furthest apart; the line, its interval."
        charts.append({"title": title, "caption": caption, "svg": svg})
    twins = _twin_rows(metrics)
    if twins:
        title = "What changing one attribute alone does, with 95% intervals"
        svg = interval_chart(
            title,
            twins,
            xlabel="change between otherwise identical customers (share)",
            references=[Reference(0.0, "no change (0)", "-", "#1e7a3c")],
        )
        caption = "An interval that crosses 0 cannot tell the change from chance."
        charts.append({"title": title, "caption": caption, "svg": svg})
    return charts


_FAMILIES: dict[str, Callable[[dict[str, dict[str, Any]]], list[ChartView | None]]] = {
    "homogenization": _homogenization,
    "popularity": _popularity,
    "segment": _segments,
}


def family_charts(family: str, metrics: list[dict[str, Any]]) -> list[ChartView]:
    """The charts of one family's section (none for a family without charts)."""
    draw = _FAMILIES.get(family)
    if draw is None:
        return []
    return [c for c in draw({m["id"]: m for m in metrics}) if c is not None]
