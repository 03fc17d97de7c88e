"""Transparency and customizability: vendor claims checked against measured behaviour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditkit.results import ClaimCheck, MetricResult, Score
from auditkit.scoring._claims import verify_claims
from auditkit.scoring._rubric import RUBRICS, Rubric, RubricItem, load_rubric
from auditkit.scoring._score import score_rubric
from auditkit.spec import ClaimsSpec
from auditkit.tables import AuditTables

__all__ = [
    "RUBRICS",
    "Rubric",
    "RubricItem",
    "load_rubric",
    "score_claims",
    "score_rubric",
    "verify_claims",
]


def score_claims(
    claims: ClaimsSpec,
    tables: AuditTables,
    metrics: Sequence[MetricResult],
    *,
    signatures: Mapping[str, tuple[str, ...]],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[list[ClaimCheck], list[Score]]:
    """Check the claims, then score them with the shipped rubrics."""
    checks = verify_claims(
        claims,
        tables,
        metrics,
        signatures=signatures,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    promises = {f"knob:{knob.name}": knob.promises for knob in claims.knobs}
    scores = [score_rubric(load_rubric(name), checks, promises) for name in RUBRICS]
    return checks, scores
