"""The regulatory mapping as data: which clause each obligation comes from, and its tests.

The mapping lives in ``obligations.yaml`` beside the suites; this module reads it once and
gives it types. Code decides nothing about which metric serves which clause.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

MAPPING_FILE = "obligations.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Framework(_Frozen):
    """The rules a regulator's audit report follows (the opinion's layout)."""

    clause: str
    title: str
    structure: str


class Obligation(_Frozen):
    """One regulatory obligation: its clause, what it asks, what tests it, and with what.

    ``claims`` may end in ``*`` (``knob:*``: every knob the vendor claims).
    ``impact_ratios`` names the segment metrics whose groups give LL144-style ratios.
    """

    id: str
    clause: str
    title: str
    obligation: str
    tested: str
    metrics: list[str] = Field(default_factory=list)
    claims: list[str] = Field(default_factory=list)
    impact_ratios: list[str] = Field(default_factory=list)


class Mapping(_Frozen):
    """The whole mapping: the framework and the obligations by id."""

    framework: Framework
    obligations: list[Obligation]

    def obligation(self, obligation_id: str) -> Obligation:
        """The obligation called ``obligation_id`` (``KeyError`` lists the ids)."""
        for obligation in self.obligations:
            if obligation.id == obligation_id:
                return obligation
        raise KeyError(f"no obligation {obligation_id!r}; have {self.ids()}")

    def ids(self) -> list[str]:
        """The obligations' ids, in the mapping's order."""
        return [o.id for o in self.obligations]


@cache
def regulatory_mapping() -> Mapping:
    """The mapping shipped with auditkit (read safely, validated, cached)."""
    text = resources.files("auditkit.suites").joinpath(MAPPING_FILE).read_text(encoding="utf-8")
    data: Any = yaml.safe_load(text)
    return Mapping.model_validate(data)


def obligation_ids() -> tuple[str, ...]:
    """The ids a suite's ``obligations`` may name."""
    return tuple(regulatory_mapping().ids())
