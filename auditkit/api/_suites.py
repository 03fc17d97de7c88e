"""The standard suites as `auditkit suites` lists them: id, version, purpose, probe budget."""

from __future__ import annotations

from dataclasses import dataclass

from auditkit.api._run import plan_probes
from auditkit.api._shops import load_shops
from auditkit.suites import load_suite, suite_ids, suite_sha256


@dataclass(frozen=True)
class SuiteListing:
    """One standard suite: what it is, how many probes its plan sends, and its hash.

    ``probes`` counts the requests the plan sends as shipped (on the built-in world), before
    retries: every planned probe but the twins that repeat another probe's request.
    """

    id: str
    version: int
    purpose: str
    probes: int
    obligations: tuple[str, ...]
    sha256: str


def standard_suites() -> list[SuiteListing]:
    """Every standard suite, its probe budget counted by designing its plan."""
    listings = []
    for suite_id in suite_ids():
        spec = load_suite(suite_id)
        if spec.suite is None:  # every shipped suite has one: a test checks it
            continue
        plan = plan_probes(spec, load_shops(spec))
        sent = int(plan["same_as"].isna().sum()) if "same_as" in plan else len(plan)
        listings.append(
            SuiteListing(
                id=spec.suite.id,
                version=spec.suite.version,
                purpose=spec.suite.purpose,
                probes=sent,
                obligations=tuple(spec.suite.obligations),
                sha256=suite_sha256(spec),
            )
        )
    return listings
