"""A suite's protected keys, their hash, and whether a run's spec still holds the shipped ones.

The protected keys are what makes two runs of a suite the same audit: the probe design and
the thresholds the findings are judged against. The vendor, the shops, the questionnaire
answers and the names may change from one vendor to the next; these may not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import cache
from typing import Any

from auditkit.metrics.registry import METRICS
from auditkit.results import Threshold
from auditkit.spec import AuditSpec
from auditkit.suites._shipped import SUITE_FILES, load_suite

PROTECTED_KEYS: tuple[str, ...] = (
    "seed",
    "probes.*",
    "inference.*",
    "claims.verification_customers",
    "metrics",
    "thresholds.*",
    "suite.obligations",
)
"""The protected keys, as `protected_form` spells them (``*``: one key per field or metric).

``probes.*`` is each key of ``probes`` (k, personas, segments, counterfactual, repetitions,
segment_design, trend_planting); ``metrics`` the ids computed; ``thresholds.*`` each computed
metric's effective threshold (the spec's override over the registry's default), so a changed
default changes the hash too.
"""


def metric_thresholds(spec: AuditSpec) -> dict[str, Threshold | None]:
    """Each metric the spec computes, with the threshold it is judged against.

    A ``reported`` metric without a warn or fail of the spec's own has none (reported, not
    judged). This is the one place that resolves a spec's thresholds; the run judges by it.
    """
    wanted = spec.metrics if spec.metrics is not None else dict.fromkeys(METRICS)
    out: dict[str, Threshold | None] = {}
    for metric_id, override in wanted.items():
        definition = METRICS[metric_id]
        changes = {} if override is None else override.model_dump(exclude_none=True)
        threshold: Threshold | None = dataclasses.replace(definition.default_threshold, **changes)
        if definition.rule == "reported" and not changes.keys() & {"warn", "fail"}:
            threshold = None
        out[metric_id] = threshold
    return out


def protected_form(spec: AuditSpec) -> dict[str, Any]:
    """The spec's protected keys (`PROTECTED_KEYS`) as one flat JSON-ready mapping."""
    form: dict[str, Any] = {"seed": spec.seed}
    for key, value in spec.probes.model_dump(mode="json").items():
        form[f"probes.{key}"] = value
    for key, value in spec.inference.model_dump(mode="json").items():
        form[f"inference.{key}"] = value
    claims = spec.claims
    form["claims.verification_customers"] = (
        None if claims is None else claims.verification_customers
    )
    thresholds = metric_thresholds(spec)
    form["metrics"] = sorted(thresholds)
    for metric_id, threshold in thresholds.items():
        form[f"thresholds.{metric_id}"] = (
            None if threshold is None else dataclasses.asdict(threshold)
        )
    form["suite.obligations"] = [] if spec.suite is None else list(spec.suite.obligations)
    return form


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def suite_sha256(spec: AuditSpec) -> str:
    """SHA-256 of the canonical JSON of the spec's protected keys: the suite's own hash."""
    return hashlib.sha256(_canonical(protected_form(spec)).encode("utf-8")).hexdigest()


@cache
def _shipped_form(suite_id: str) -> tuple[int, dict[str, str]]:
    """The shipped suite's version and its protected keys, each as canonical JSON."""
    shipped = load_suite(suite_id)
    assert shipped.suite is not None  # a test checks every shipped suite has its block
    return shipped.suite.version, {k: _canonical(v) for k, v in protected_form(shipped).items()}


def modified_keys(spec: AuditSpec) -> list[str]:
    """The protected keys in which ``spec`` departs from the shipped suite it names.

    ``suite.id`` when auditkit ships no such suite, ``suite.version`` when it ships another
    version of it; empty when the spec runs the shipped suite unmodified.
    """
    if spec.suite is None or spec.suite.id not in SUITE_FILES:
        return ["suite.id"]
    version, shipped = _shipped_form(spec.suite.id)
    if spec.suite.version != version:
        return ["suite.version"]
    mine = {k: _canonical(v) for k, v in protected_form(spec).items()}
    return sorted(k for k in mine.keys() | shipped.keys() if mine.get(k) != shipped.get(k))


def suite_record(spec: AuditSpec) -> dict[str, Any] | None:
    """What a run records of its suite: id, version, hash, unmodified and the keys modified.

    None for a spec that names no suite.
    """
    if spec.suite is None:
        return None
    modified = modified_keys(spec)
    return {
        "id": spec.suite.id,
        "version": spec.suite.version,
        "hash": suite_sha256(spec),
        "unmodified": not modified,
        "modified": modified,
    }
