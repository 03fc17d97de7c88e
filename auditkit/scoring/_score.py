"""Rubric scores: claim verdicts turned into points, every point traceable to an item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditkit.results import ClaimCheck, ClaimVerdict, Score, ScoreItem
from auditkit.scoring._rubric import Rubric


def _credit(rubric: Rubric, verdict: ClaimVerdict) -> float:
    return {
        "verified": 1.0,
        "untested": rubric.untested_credit,
        "not claimed": 0.0,
        "contradicted": -rubric.contradicted_penalty,
    }[verdict]


def score_rubric(
    rubric: Rubric, checks: Sequence[ClaimCheck], promises: Mapping[str, str]
) -> Score:
    """Score one rubric from the claim checks.

    ``promises`` maps each knob check id to the promise it makes; a rubric item keyed by a
    promise is decided by the first knob that makes it (best verdict first when several do).
    """
    by_id = {check.id: check for check in checks}
    order = {"verified": 0, "untested": 1, "contradicted": 2, "not claimed": 3}
    items = []
    for item in rubric.items:
        if item.check is not None:
            check = by_id.get(item.check)
        else:
            knobs = [by_id[c] for c, p in promises.items() if p == item.promise and c in by_id]
            check = min(knobs, key=lambda c: order[c.verdict]) if knobs else None
        verdict: ClaimVerdict = "not claimed" if check is None else check.verdict
        items.append(
            ScoreItem(
                id=item.id,
                description=item.description,
                weight=item.weight,
                check="" if check is None else check.id,
                verdict=verdict,
                points=item.weight * _credit(rubric, verdict),
            )
        )
    total = sum(item.weight for item in rubric.items)
    score = round(100.0 * max(0.0, sum(i.points for i in items)) / total, 1)
    return Score(
        rubric=rubric.rubric,
        version=rubric.version,
        score=score,
        letter=rubric.letter(score),
        items=items,
    )
