"""Probes: the audit's experiment design, the runner and the evidence store."""

from auditkit.probes.columnar import ColumnarEvidenceStore
from auditkit.probes.design import design_probes, request_context
from auditkit.probes.evidence import EVIDENCE_FILE, Attempt, EvidenceStore, answers_sha256
from auditkit.probes.runner import (
    RunPolicy,
    RunProgress,
    build_requests,
    judge_answer,
    run_probes,
)
from auditkit.probes.shards import merge_shard_evidence, shard_plan, shard_units
from auditkit.probes.stores import COLUMNAR_FROM_PROBES, STORE_CHOICES, open_evidence

__all__ = [
    "COLUMNAR_FROM_PROBES",
    "EVIDENCE_FILE",
    "STORE_CHOICES",
    "Attempt",
    "ColumnarEvidenceStore",
    "EvidenceStore",
    "RunPolicy",
    "RunProgress",
    "answers_sha256",
    "build_requests",
    "design_probes",
    "judge_answer",
    "merge_shard_evidence",
    "open_evidence",
    "request_context",
    "run_probes",
    "shard_plan",
    "shard_units",
]
