"""``results.json``: everything the report shows, deterministic byte for byte."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from auditkit.errors import ResultsError
from auditkit.reports._files import write_text_atomic
from auditkit.results import (
    VERDICTS,
    AuditResult,
    ClaimCheck,
    DataQuality,
    MetricResult,
    Score,
    ScoreItem,
    Threshold,
)

RESULTS_FILE = "results.json"
RESULTS_SCHEMA = "auditkit.results/1"
SIGNIFICANT_DIGITS = 10
NOT_RESULTS = "{path}: not an auditkit results file ({reason})"


def _clean(value: Any) -> Any:
    """JSON-safe and machine-independent: floats to 10 significant digits, NaN to null."""
    if isinstance(value, float):
        return None if not math.isfinite(value) else float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def results_document(result: AuditResult) -> dict[str, Any]:
    """The results as plain data (the documented ``results.json`` schema)."""
    verdicts = {v: sum(m.verdict == v for m in result.metrics) for v in VERDICTS}
    quality = asdict(result.data_quality)
    quality["answer_rate"] = result.data_quality.answer_rate
    document: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "audit": {"name": result.name, **result.provenance},
        "summary": {"verdicts": verdicts},
        "data_quality": quality,
        "metrics": [m.to_dict() for m in result.metrics],
        "claims": [asdict(c) for c in result.claims],
        "scores": [asdict(s) for s in result.scores],
    }
    # Only a suite that names obligations adds them: other runs' results stay as they were.
    if result.opinion is not None:
        document["obligations"] = [asdict(o) for o in result.obligations]
        document["opinion"] = asdict(result.opinion)
    return _clean(document)


def dumps_results(document: dict[str, Any]) -> str:
    """Serialize a results document canonically (sorted keys, two-space indent)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_results(result: AuditResult, run_dir: str | Path) -> Path:
    """Write ``results.json`` into ``run_dir`` and return its path."""
    path = Path(run_dir) / RESULTS_FILE
    write_text_atomic(path, dumps_results(results_document(result)))
    return path


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``results.json`` (draft 2020-12), as shipped in the package."""
    text = resources.files("auditkit.reports").joinpath("schemas/results.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def read_results(run_dir: str | Path) -> dict[str, Any]:
    """Read a run directory's ``results.json``; `ResultsError` when absent or foreign."""
    path = Path(run_dir) / RESULTS_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(NOT_RESULTS.format(path=path, reason="no such file")) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(NOT_RESULTS.format(path=path, reason=exc)) from None
    if not isinstance(document, dict) or document.get("schema") != RESULTS_SCHEMA:
        raise ResultsError(NOT_RESULTS.format(path=path, reason=f"schema is not {RESULTS_SCHEMA}"))
    return document


def _interval(value: Any) -> tuple[float, float] | None:
    return None if value is None else (value[0], value[1])


def _metric(data: dict[str, Any]) -> MetricResult:
    threshold = data.get("threshold")
    return MetricResult(
        **{
            **data,
            "value": math.nan if data["value"] is None else data["value"],
            "ci": _interval(data.get("ci")),
            "threshold": None if threshold is None else Threshold(**threshold),
        }
    )


def result_from_document(
    document: dict[str, Any], run_dir: str | Path | None = None
) -> AuditResult:
    """The `AuditResult` a results document holds (the inverse of `results_document`)."""
    quality = {k: v for k, v in document["data_quality"].items() if k != "answer_rate"}
    audit = dict(document["audit"])
    return AuditResult(
        name=audit.pop("name"),
        metrics=[_metric(m) for m in document["metrics"]],
        data_quality=DataQuality(**quality),
        provenance=audit,
        run_dir=None if run_dir is None else str(run_dir),
        claims=[ClaimCheck(**{**c, "ci": _interval(c.get("ci"))}) for c in document["claims"]],
        scores=[
            Score(**{**s, "items": [ScoreItem(**item) for item in s["items"]]})
            for s in document["scores"]
        ],
    )


def load_run(run_dir: str | Path) -> AuditResult:
    """Read a finished run: the `AuditResult` of ``run_dir``'s ``results.json``.

    Raises
    ------
    ResultsError
        When ``run_dir`` has no readable auditkit ``results.json``.
    """
    return result_from_document(read_results(run_dir), run_dir)
