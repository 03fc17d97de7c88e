"""The spec's reference: probed with the vendor's own plan, kept in the same evidence.

The reference's answers are stored under the probe id ``reference:<probe id>``, so one
evidence file (and its hash, its bundle, ``--resume``) holds both, and the reference is asked
each probe under the plan's own id (a replayed recording finds its answers by it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from auditkit.api._vendor import build_vendor
from auditkit.spec import AuditSpec
from auditkit.vendors import (
    RecommendRequest,
    RecommendResponse,
    Vendor,
    VendorCapabilities,
    secret_values,
)

REFERENCE_PREFIX = "reference:"


class AsReference:
    """The reference vendor, asked each probe under the plan's id rather than the stored one."""

    def __init__(self, vendor: Vendor) -> None:
        self.vendor = vendor

    @property
    def capabilities(self) -> VendorCapabilities:
        """The reference's own capabilities (its concurrency, rate and retries)."""
        return self.vendor.capabilities

    def recommend(self, request: RecommendRequest) -> RecommendResponse | Sequence[str]:
        """The reference's answer to the plan's probe behind ``request``."""
        probe_id = request.probe_id
        if probe_id is not None and probe_id.startswith(REFERENCE_PREFIX):
            request = dataclasses.replace(request, probe_id=probe_id[len(REFERENCE_PREFIX) :])
        return self.vendor.recommend(request)

    def secret_values(self) -> tuple[str, ...]:
        """The reference's credentials, kept out of the evidence like the vendor's."""
        return secret_values(self.vendor)

    def close(self) -> None:
        """Close the reference vendor."""
        self.vendor.close()


def build_reference(
    spec: AuditSpec,
    catalogs: Mapping[str, pd.DataFrame],
    signatures: Mapping[str, tuple[str, ...]],
) -> AsReference | None:
    """The spec's reference vendor, or None when the spec names none."""
    if spec.reference is None:
        return None
    as_vendor = spec.model_copy(update={"vendor": spec.reference.vendor})
    return AsReference(build_vendor(as_vendor, catalogs, signatures))


def core_probes(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan's core probes: those the reference is sent and its metrics read.

    Trend-planting and claim-verification probes test the vendor alone.
    """
    keep = pd.Series(True, index=plan.index)
    for column in ("phase", "check_id"):
        if column in plan.columns:
            keep &= plan[column].isna()
    return plan[keep].reset_index(drop=True)


def reference_plan(plan: pd.DataFrame) -> pd.DataFrame:
    """The probes the reference is sent: the plan's core probes, under reference ids."""
    core = core_probes(plan)
    core["probe_id"] = REFERENCE_PREFIX + core["probe_id"].astype(str)
    if "same_as" in core.columns:
        shared = core["same_as"].notna()
        core.loc[shared, "same_as"] = REFERENCE_PREFIX + core.loc[shared, "same_as"].astype(str)
    return core


def split_answers(answers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The vendor's answers and the reference's (under the plan's own probe ids)."""
    ours = answers["probe_id"].astype(str).str.startswith(REFERENCE_PREFIX)
    vendor = answers[~ours].reset_index(drop=True)
    reference = answers[ours].copy()
    reference["probe_id"] = reference["probe_id"].str.slice(len(REFERENCE_PREFIX))
    return vendor, reference.sort_values("probe_id", kind="stable", ignore_index=True)


def is_reference(probe_ids: pd.Series) -> pd.Series:
    """Which evidence rows are the reference's."""
    return probe_ids.astype(str).str.startswith(REFERENCE_PREFIX)


def reference_record(
    spec: AuditSpec, plan: pd.DataFrame, attempts: pd.DataFrame
) -> dict[str, Any]:
    """What results.json says of the reference: what it is, and how much of it answered."""
    assert spec.reference is not None
    answered = attempts.loc[attempts["status"] == "ok", "probe_id"].str.slice(
        len(REFERENCE_PREFIX)
    )
    core = core_probes(plan)
    got = core["probe_id"].isin(answered)
    if "same_as" in core.columns:
        got |= core["same_as"].isin(answered)
    return {
        "name": spec.reference.name,
        "vendor": spec.reference.vendor.name,
        "adapter": spec.reference.vendor.adapter,
        "warn": spec.reference.warn,
        "fail": spec.reference.fail,
        "probes_planned": len(core),
        "probes_answered": int(got.sum()),
        "attempts": len(attempts),
    }
