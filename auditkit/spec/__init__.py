"""The audit spec: typed models, YAML loading with located errors, JSON Schema export."""

from __future__ import annotations

import json
from typing import Any

from auditkit.spec._loader import (
    MetricRule,
    load_spec,
    obligation_issues,
    parse_yaml,
    spec_from_data,
    spec_issue,
    spec_sha256,
    validate_document,
)
from auditkit.spec._models import (
    AuditSpec,
    ClaimsSpec,
    EvidenceSpec,
    HttpEventsSpec,
    HttpVendorSpec,
    InferenceSpec,
    KnobClaim,
    MetricSpec,
    NonPersonalizedClaim,
    PersonaSpec,
    ProbesSpec,
    PythonVendorSpec,
    ReferenceSpec,
    ReplayVendorSpec,
    ResponsePathsSpec,
    RetrySpec,
    ShopSpec,
    SignatureSpec,
    SimulatedOptions,
    SimulatedVendorSpec,
    SteeringSpec,
    SuiteSpec,
    TrainedOptions,
    TrainedVendorSpec,
    TrendPlantingSpec,
    WorldSpec,
)

__all__ = [
    "AuditSpec",
    "ClaimsSpec",
    "EvidenceSpec",
    "HttpEventsSpec",
    "HttpVendorSpec",
    "InferenceSpec",
    "KnobClaim",
    "MetricRule",
    "MetricSpec",
    "NonPersonalizedClaim",
    "PersonaSpec",
    "ProbesSpec",
    "PythonVendorSpec",
    "ReferenceSpec",
    "ReplayVendorSpec",
    "ResponsePathsSpec",
    "RetrySpec",
    "ShopSpec",
    "SignatureSpec",
    "SimulatedOptions",
    "SimulatedVendorSpec",
    "SteeringSpec",
    "SuiteSpec",
    "TrainedOptions",
    "TrainedVendorSpec",
    "TrendPlantingSpec",
    "WorldSpec",
    "load_spec",
    "obligation_issues",
    "parse_yaml",
    "spec_from_data",
    "spec_issue",
    "spec_json_schema",
    "spec_sha256",
    "validate_document",
]


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of an audit spec, for editors to complete and check spec files."""
    schema = AuditSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "auditkit audit spec (format 1)"
    return json.loads(json.dumps(schema, sort_keys=True))
