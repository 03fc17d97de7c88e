"""The report's charts: matplotlib figures as inline SVG, the same bytes on every machine.

Each chart is drawn on its own `Figure` (no pyplot state) inside `matplotlib.rc_context`, with a
fixed hash salt, text kept as SVG text (escaped by matplotlib) with math parsing off, and no
date or creator metadata, so the same results always give the same SVG. The SVG is cut to its
``<svg>`` element for inlining: no XML prolog, doctype or namespace URLs.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from markupsafe import Markup, escape

_RC: Any = {  # matplotlib types rc keys as literals; these are checked at run time
    "svg.hashsalt": "auditkit",
    "svg.fonttype": "none",
    "font.family": ["DejaVu Sans"],
    "font.size": 10,
    "text.parse_math": False,
    "text.usetex": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "path.simplify": False,
}
_WIDTH = 6.0  # inches: 432 pt, two charts side by side on a wide screen
_ROW = 0.28
_BAR = "#5b7fa6"
_INK = "#1f1f1f"
_NAMESPACES = re.compile(r' xmlns(:\w+)?="[^"]*"')
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


class Reference(NamedTuple):
    """A vertical reference line (a threshold, parity) with its legend label and dash style."""

    value: float
    label: str
    style: str = "--"
    color: str = "#b3261e"


class Whisker(NamedTuple):
    """One row of an interval chart: a label, the estimate and its interval."""

    label: str
    value: float
    low: float | None
    high: float | None


def _figure(rows: float, *, labels: float, legend: bool) -> Any:
    """A figure with fixed margins in inches (label column, legend column, axis below).

    Fixed margins instead of a layout engine: constrained layout doubled each chart's time.
    """
    from matplotlib.figure import Figure

    height = 0.75 + rows
    figure = Figure(figsize=(_WIDTH, height))
    figure.subplots_adjust(
        left=labels / _WIDTH,
        right=1 - (1.75 if legend else 0.25) / _WIDTH,
        bottom=0.55 / height,
        top=1 - 0.12 / height,
    )
    return figure


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label_width(labels: Sequence[str]) -> float:
    """Inches the tick labels need at 10 pt (about 0.075 in a character), plus a gap."""
    return 0.35 + 0.075 * max((len(label) for label in labels), default=4)


def _svg(figure: Any, title: str) -> Markup:
    """The figure as an inline ``<svg>`` element, labelled for screen readers."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = _METADATA.sub("", _NAMESPACES.sub("", svg))
    svg = svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{escape(title)}" ', 1)
    # matplotlib escapes its text; the Markup marks this SVG as already-escaped markup.
    return Markup(svg.strip())


def _references(axes: Any, references: Sequence[Reference]) -> None:
    for ref in references:
        axes.axvline(ref.value, color=ref.color, linestyle=ref.style, linewidth=1, label=ref.label)
    if references:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    xlabel: str,
    text: Any,
    references: Sequence[Reference] = (),
) -> Markup:
    """Horizontal bars, one per level, each labelled with its formatted value.

    ``title`` labels the SVG for screen readers; the page shows it as the figure's caption.
    """
    from matplotlib import rc_context
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    with rc_context(_RC):
        labels = [_short(label) for label, _ in bars][::-1]
        figure = _figure(_ROW * len(bars), labels=_label_width(labels), legend=bool(references))
        axes = figure.add_subplot()
        values = [value for _, value in bars][::-1]
        drawn = axes.barh(range(len(bars)), values, color=_BAR, height=0.6)
        axes.bar_label(drawn, labels=[text(v) for v in values], padding=3, fontsize=8)
        axes.set_yticks(range(len(bars)), labels)
        axes.set_xlabel(xlabel)
        axes.xaxis.set_major_locator(MaxNLocator(5))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: text(v)))
        axes.axvline(0, color=_INK, linewidth=0.8)
        high = max([0.0, *values, *(r.value for r in references)])
        low = min([0.0, *values, *(r.value for r in references)])
        axes.set_xlim(low * 1.15, high * 1.18 or 1.0)
        _references(axes, references)
        return _svg(figure, title)


def interval_chart(
    title: str,
    rows: Sequence[Whisker],
    *,
    xlabel: str,
    references: Sequence[Reference] = (),
) -> Markup:
    """A dot per estimate with its interval as whiskers, one row each."""
    from matplotlib import rc_context

    with rc_context(_RC):
        ordered = list(rows)[::-1]
        labels = [_short(r.label, 40) for r in ordered]
        figure = _figure(_ROW * len(rows), labels=_label_width(labels), legend=bool(references))
        axes = figure.add_subplot()
        for y, row in enumerate(ordered):
            if row.low is not None and row.high is not None:
                axes.plot([row.low, row.high], [y, y], color=_INK, linewidth=2)
            axes.plot([row.value], [y], "o", color=_INK, markersize=5)
        axes.set_yticks(range(len(ordered)), labels)
        axes.set_ylim(-0.6, len(ordered) - 0.4)
        axes.set_xlabel(xlabel)
        _references(axes, references)
        return _svg(figure, title)


def trend_chart(
    title: str,
    runs: Sequence[str],
    points: Sequence[Whisker | None],
    *,
    ylabel: str,
    text: Any,
    references: Sequence[Reference] = (),
) -> Markup:
    """One metric over runs in the order given: a dot per run, its interval, a joining line."""
    from matplotlib import rc_context
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    with rc_context(_RC):
        figure = _figure(1.9, labels=0.9, legend=bool(references))
        axes = figure.add_subplot()
        shown = [(x, p) for x, p in enumerate(points) if p is not None]
        axes.plot([x for x, _ in shown], [p.value for _, p in shown], color=_BAR, linewidth=1.5)
        for x, point in shown:
            if point.low is not None and point.high is not None:
                axes.plot([x, x], [point.low, point.high], color=_INK, linewidth=2)
            axes.plot([x], [point.value], "o", color=_INK, markersize=5)
            axes.annotate(
                text(point.value), (x, point.value), xytext=(6, 0), textcoords="offset points"
            )
        axes.set_xticks(range(len(runs)), [_short(r, 18) for r in runs])
        axes.set_xlim(-0.4, len(runs) - 0.4)
        axes.set_ylabel(ylabel)
        axes.yaxis.set_major_locator(MaxNLocator(5))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: text(v)))
        axes.set_xlabel("run, in the order given")
        for ref in references:
            axes.axhline(
                ref.value, color=ref.color, linestyle=ref.style, linewidth=1, label=ref.label
            )
        if references:
            axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(figure, title)


def heatmap_chart(
    title: str,
    shops: Sequence[str],
    cells: dict[tuple[str, str], float],
    *,
    legend: str,
    text: Any,
) -> Markup:
    """A shop × shop grid, each cell the value for that pair written in it (the diagonal blank).

    Cells are vector patches (``pcolormesh``), not an embedded image, so the SVG stays text.
    The value is written in every cell, so the shading is never the only carrier of it.
    """
    import numpy as np
    from matplotlib import rc_context

    with rc_context(_RC):
        n = len(shops)
        grid = np.full((n, n), np.nan)
        for (a, b), value in cells.items():
            i, j = shops.index(a), shops.index(b)
            grid[i, j] = grid[j, i] = value
        labels = [_short(shop, 16) for shop in shops]
        side = 0.42 * n + 0.45  # and room below for the slanted shop names
        figure = _figure(side, labels=_label_width(labels), legend=True)
        figure.subplots_adjust(bottom=1.0 / (0.75 + side))
        axes = figure.add_subplot()
        mesh = axes.pcolormesh(
            np.ma.masked_invalid(grid), cmap="Blues", vmin=0.0, vmax=1.0, edgecolors="white"
        )
        for i in range(n):
            for j in range(n):
                if np.isfinite(grid[i, j]):
                    ink = "white" if grid[i, j] > 0.6 else _INK
                    axes.text(
                        j + 0.5,
                        i + 0.5,
                        text(grid[i, j]),
                        ha="center",
                        va="center",
                        fontsize=8,
                        color=ink,
                    )
        ticks = np.arange(n) + 0.5
        axes.set_xticks(ticks, labels, rotation=45, ha="right")
        axes.set_yticks(ticks, labels)
        axes.set_xlim(0, n)
        axes.set_ylim(n, 0)
        axes.set_xlabel("shop")
        axes.set_ylabel("shop")
        colorbar = figure.colorbar(mesh, ax=axes, fraction=0.05, pad=0.02)
        colorbar.set_label(legend)
        return _svg(figure, title)
