"""A run's metric and by-group tables as CSV or Parquet, for spreadsheets and notebooks.

Read from ``results.json`` alone: ``metrics.<ext>`` has one row per metric (the value, its
interval, verdict and thresholds), ``by_group.<ext>`` one row per metric, grouping and level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd

from auditkit.errors import ResultsError
from auditkit.reports._json import read_results
from auditkit.reports._words import metric_title

ExportFormat = Literal["csv", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")
BAD_FORMAT = "export: format must be one of {valid}; got {value!r}"
METRIC_COLUMNS = (
    "id",
    "title",
    "family",
    "value",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "unit",
    "verdict",
    "warn",
    "fail",
    "direction",
)


def metric_table(document: dict[str, Any]) -> pd.DataFrame:
    """One row per metric of a results document."""
    rows = []
    for m in document["metrics"]:
        ci = m.get("ci") or [None, None]
        threshold = m.get("threshold") or {}
        rows.append(
            {
                "id": m["id"],
                "title": metric_title(m["id"]),
                "family": m["family"],
                "value": m.get("value"),
                "ci_low": ci[0],
                "ci_high": ci[1],
                "p_value": m.get("p_value"),
                "n": m["n"],
                "unit": m["unit"],
                "verdict": m["verdict"],
                "warn": threshold.get("warn"),
                "fail": threshold.get("fail"),
                "direction": threshold.get("direction"),
            }
        )
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS)).astype(
        {c: "float64" for c in ("value", "ci_low", "ci_high", "p_value", "warn", "fail")}
    )


def group_table(document: dict[str, Any]) -> pd.DataFrame:
    """One row per metric, grouping (persona, shop, attribute) and level."""
    rows = [
        {"metric_id": m["id"], "grouping": grouping, "level": str(level), "value": value}
        for m in document["metrics"]
        for grouping, levels in sorted((m.get("by_group") or {}).items())
        for level, value in sorted(levels.items())
    ]
    columns = ["metric_id", "grouping", "level", "value"]
    return pd.DataFrame(rows, columns=columns).astype({"value": "float64"})


def export_tables(
    run_dir: str | Path, *, format: str = "csv", out: str | Path | None = None
) -> list[Path]:
    """Write ``metrics`` and ``by_group`` tables of ``run_dir`` into ``out`` (default: the run).

    Parameters
    ----------
    run_dir
        A finished run directory (its ``results.json`` is read).
    format
        ``"csv"`` or ``"parquet"``.
    out
        The directory to write into; created if absent.

    Returns
    -------
    list of Path
        The two files written.
    """
    if format not in EXPORT_FORMATS:
        raise ResultsError(BAD_FORMAT.format(valid=list(EXPORT_FORMATS), value=format))
    document = read_results(run_dir)
    target = Path(run_dir if out is None else out)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("metrics", metric_table(document)), ("by_group", group_table(document))):
        path = target / f"{name}.{format}"
        if format == "csv":
            table.to_csv(path, index=False)
        else:
            table.to_parquet(path, index=False)
        written.append(path)
    return written
