"""Several runs side by side: vendors compared on one trial, or one vendor over time.

`compare_runs` reads each run's ``results.json`` and lines up metrics, claims and scores by
id, each cell with its change from the first run; `write_comparison` renders
``comparison.html`` (with a trend chart per headline metric when every run audits the same
vendor) and ``comparison.json``; `comparison_summary` is what the terminal prints. Nothing
is recomputed: each cell is what that run measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditkit.errors import ResultsError
from auditkit.reports._charts import Whisker, trend_chart
from auditkit.reports._family_charts import ChartView, thresholds
from auditkit.reports._files import write_text_atomic
from auditkit.reports._html import _environment
from auditkit.reports._json import dumps_results, read_results
from auditkit.reports._view import plain
from auditkit.reports._words import (
    CLAIM_WORDS,
    VERDICT_WORDS,
    claim_title,
    metric_delta,
    metric_interval,
    metric_title,
    metric_value,
    number,
)

COMPARISON_FILE = "comparison.html"
COMPARISON_DATA_FILE = "comparison.json"
COMPARISON_SCHEMA = "auditkit.comparison/1"
TOO_FEW_RUNS = "compare: runs must be at least two run directories; got {count}"
SAME_RUN = "compare: runs must be different run directories; {path} is given twice"
_VERDICT_ORDER = {"fail": 0, "warn": 1, "inconclusive": 2, "pass": 3, "reported": 4}


def _label(document: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    audit = document["audit"]
    return {
        "dir": str(run_dir),
        "label": run_dir.resolve().name,
        "name": audit.get("name", ""),
        "vendor": audit.get("vendor", ""),
        "seed": audit.get("seed"),
        "spec_sha256": audit.get("spec_sha256", ""),
        "evidence_sha256": audit.get("evidence_sha256", ""),
        "probes_answered": document["data_quality"]["probes_answered"],
        "probes_planned": document["data_quality"]["probes_planned"],
    }


def _metric_cell(
    metric: dict[str, Any] | None, first: dict[str, Any] | None
) -> dict[str, Any] | None:
    if metric is None:
        return None
    ci = metric.get("ci")
    value, base = metric.get("value"), (first or {}).get("value")
    delta = None if value is None or base is None else value - base
    return {
        "delta": delta,
        "threshold": metric.get("threshold"),
        "delta_text": metric_delta(metric["id"], delta),
        "value": metric.get("value"),
        "ci": ci,
        "verdict": metric["verdict"],
        "n": metric["n"],
        "text": metric_value(metric["id"], metric.get("value")),
        "ci_text": "" if not ci else metric_interval(metric["id"], ci),
        "verdict_words": VERDICT_WORDS[metric["verdict"]],
    }


def _claim_cell(claim: dict[str, Any] | None) -> dict[str, Any] | None:
    if claim is None:
        return None
    return {
        "verdict": claim["verdict"],
        "verdict_words": CLAIM_WORDS[claim["verdict"]],
        "stated": plain(claim["stated"]),
        "measured": plain(claim["measured"]),
    }


def _line_up(
    documents: Sequence[dict[str, Any]], section: str, key: str
) -> list[tuple[str, list[dict[str, Any] | None]]]:
    """Per id found in any document's ``section``: that entry of each document, or None."""
    by_run = [{entry[key]: entry for entry in d.get(section, [])} for d in documents]
    ids = sorted({entry_id for entries in by_run for entry_id in entries})
    return [(entry_id, [entries.get(entry_id) for entries in by_run]) for entry_id in ids]


def compare_runs(run_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """Line up the results of several run directories by metric, claim and score.

    Parameters
    ----------
    run_dirs
        Two or more run directories, each holding a ``results.json``; they are shown in the
        order given.

    Returns
    -------
    dict
        ``{"schema", "runs": [...], "metrics": [{"id", "family", "cells": [...]}],
        "claims": [...], "scores": [...]}``, one cell per run (``None`` where a run lacks
        the row). Metrics are ordered by family, then by the worst verdict any run got.

    Raises
    ------
    ResultsError
        With fewer than two runs, a run given twice, or a run without readable results.
    """
    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        raise ResultsError(TOO_FEW_RUNS.format(count=len(paths)))
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:
            raise ResultsError(SAME_RUN.format(path=path))
        seen.add(path.resolve())
    documents = [read_results(path) for path in paths]

    metrics = []
    for metric_id, row in _line_up(documents, "metrics", "id"):
        cells = [_metric_cell(m, row[0]) for m in row]
        worst = min(_VERDICT_ORDER[c["verdict"]] for c in cells if c is not None)
        family = next(m["family"] for m in row if m is not None)
        metrics.append(
            {
                "id": metric_id,
                "title": metric_title(metric_id),
                "family": family,
                "worst": worst,
                "cells": cells,
            }
        )
    metrics.sort(key=lambda row: (row["family"], row["worst"], row["id"]))
    claims = [
        {"id": claim_id, "title": claim_title(claim_id), "cells": [_claim_cell(c) for c in row]}
        for claim_id, row in _line_up(documents, "claims", "id")
    ]
    scores = [
        {
            "rubric": rubric,
            "cells": [
                None
                if s is None
                else {"score": s["score"], "letter": s["letter"], "text": number(s["score"])}
                for s in row
            ],
        }
        for rubric, row in _line_up(documents, "scores", "rubric")
    ]
    return {
        "schema": COMPARISON_SCHEMA,
        "runs": [_label(d, p) for d, p in zip(documents, paths, strict=True)],
        "metrics": [{k: v for k, v in row.items() if k != "worst"} for row in metrics],
        "claims": claims,
        "scores": scores,
    }


_TRENDS = 6


def _headline(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics any run flagged (warn or fail), and the convergence index, at most six."""
    rows = comparison["metrics"]
    flagged = [r for r in rows if any(c and c["verdict"] in ("warn", "fail") for c in r["cells"])]
    index = [r for r in rows if r["id"] == "homogenization.index" and r not in flagged]
    return (index + flagged)[:_TRENDS]


def _trends(comparison: dict[str, Any]) -> list[ChartView]:
    """A chart per headline metric over the runs, when every run audits the same vendor."""
    runs = comparison["runs"]
    if len({run["vendor"] for run in runs}) != 1:
        return []
    charts: list[ChartView] = []
    for row in _headline(comparison):
        points = [
            None
            if cell is None or cell["value"] is None
            else Whisker("", cell["value"], *(cell["ci"] or [None, None]))
            for cell in row["cells"]
        ]
        last = next(c for c in reversed(row["cells"]) if c is not None)
        title = f"{row['title']}, run by run"
        svg = trend_chart(
            title,
            [run["label"] for run in runs],
            points,
            ylabel="value (dot) and 95% interval",
            text=lambda v, metric_id=row["id"]: metric_value(metric_id, v),
            references=thresholds({"id": row["id"], "threshold": last["threshold"]}),
        )
        first, final = row["cells"][0], row["cells"][-1]
        change = "" if first is None or final is None else final["delta_text"]
        caption = f"From the first run to the last: {change or 'no change measured'}."
        charts.append({"title": title, "caption": caption, "svg": svg})
    return charts


def comparison_summary(comparison: dict[str, Any]) -> list[str]:
    """The comparison as terminal lines: each run, then each metric's values and changes."""
    runs = comparison["runs"]
    lines = [f"run {i + 1}: {r['label']} ({r['vendor']}, {r['name']})" for i, r in enumerate(runs)]
    for row in comparison["metrics"]:
        cells = [
            "not measured"
            if c is None
            else f"{c['text']} {c['verdict_words'].lower()}"
            + (f" ({c['delta_text']})" if i and c["delta_text"] else "")
            for i, c in enumerate(row["cells"])
        ]
        lines.append(f"{row['title']}: {' → '.join(cells)}")
    for row in comparison["claims"]:
        cells = ["–" if c is None else c["verdict_words"].lower() for c in row["cells"]]
        lines.append(f"claim: {row['title']}: {' → '.join(cells)}")
    for row in comparison["scores"]:
        cells = ["–" if c is None else f"{c['letter']} ({c['text']} of 100)" for c in row["cells"]]
        lines.append(f"{row['rubric']}: {' → '.join(cells)}")
    return lines


def write_comparison(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """Write ``comparison.html`` and ``comparison.json`` into ``out``; return the HTML path."""
    comparison = compare_runs(run_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / COMPARISON_DATA_FILE, dumps_results(comparison))
    html = (
        _environment()
        .get_template("comparison.html.j2")
        .render(**comparison, trends=_trends(comparison))
    )
    path = out / COMPARISON_FILE
    write_text_atomic(path, html)
    return path
