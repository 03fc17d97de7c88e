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
from auditkit.results import VERDICTS, AuditResult

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
    return _clean(
        {
            "schema": RESULTS_SCHEMA,
            "audit": {"name": result.name, **result.provenance},
            "summary": {"verdicts": verdicts},
            "data_quality": quality,
            "metrics": [m.to_dict() for m in result.metrics],
            "claims": [asdict(c) for c in result.claims],
            "scores": [asdict(s) for s in result.scores],
        }
    )


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
