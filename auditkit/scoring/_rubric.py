"""Rubrics as data: YAML files shipped in the package, validated like specs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from auditkit.errors import SpecError, SpecIssue
from auditkit.spec import parse_yaml, validate_document

RUBRICS: tuple[str, ...] = ("transparency", "customizability")
UNKNOWN_RUBRIC = "rubric must be one of {valid}; got {name!r}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RubricItem(_Model):
    """One scored item: the claim check (or knob promise) that decides it, and its weight."""

    id: str
    weight: Annotated[float, Field(gt=0)]
    description: str
    check: str | None = None
    promise: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> RubricItem:
        if (self.check is None) == (self.promise is None):
            raise ValueError("give exactly one of 'check' or 'promise'")
        return self


class Letters(_Model):
    """Lowest score for each letter; below ``D`` is ``F``."""

    A: float
    B: float
    C: float
    D: float


class Rubric(_Model):
    """A versioned rubric: items, and how verdicts turn into points."""

    rubric: str
    version: Annotated[int, Field(ge=1)]
    untested_credit: Annotated[float, Field(ge=0.0, le=1.0)]
    contradicted_penalty: Annotated[float, Field(ge=0.0)]
    letters: Letters
    items: Annotated[list[RubricItem], Field(min_length=1)]

    def letter(self, score: float) -> str:
        """The letter of a 0-100 score."""
        for letter in ("A", "B", "C", "D"):
            if score >= getattr(self.letters, letter):
                return letter
        return "F"


def load_rubric(source: str | Path) -> Rubric:
    """Load a rubric by name (``transparency``, ``customizability``) or from a YAML path.

    Raises `SpecError` with every problem located as ``file:line key.path: message``.
    """
    if isinstance(source, str) and source in RUBRICS:
        resource = resources.files("auditkit.scoring").joinpath(f"rubrics/{source}.yaml")
        text, file = resource.read_text(encoding="utf-8"), f"{source}.yaml"
    elif isinstance(source, Path) or source.endswith((".yaml", ".yml")):
        path = Path(source)
        try:
            text, file = path.read_text(encoding="utf-8"), path.name
        except OSError as exc:
            raise SpecError(
                [SpecIssue(str(path), None, "", f"cannot read rubric ({exc})")]
            ) from None
    else:
        raise SpecError(
            [
                SpecIssue(
                    str(source), None, "", UNKNOWN_RUBRIC.format(valid=list(RUBRICS), name=source)
                )
            ]
        )
    data, lines = parse_yaml(text, file=file)
    return validate_document(data, Rubric, file=file, lines=lines)
