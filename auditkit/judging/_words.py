"""The sentence of every metric, by id: what a reader is told about its estimate.

Each family's sentences live in `auditkit.judging.words.<family>`; a sentence is a function of
the estimate and the test level ``alpha`` (some sentences say when a gap is within chance).
"""

from __future__ import annotations

from collections.abc import Callable

from auditkit.judging.words import homogenization, popularity, segments
from auditkit.results import Estimate

Sentence = Callable[[Estimate, float], str]

SENTENCES: dict[str, Sentence] = {
    **homogenization.SENTENCES,
    **popularity.SENTENCES,
    **segments.SENTENCES,
}
NO_SENTENCE = "sentence: metric id must be one of {valid}; got {value!r}"


def sentence(estimate: Estimate, alpha: float) -> str:
    """The words for ``estimate`` (``KeyError`` lists the ids that have words)."""
    try:
        words = SENTENCES[estimate.id]
    except KeyError:
        raise KeyError(NO_SENTENCE.format(valid=sorted(SENTENCES), value=estimate.id)) from None
    return words(estimate, alpha)
