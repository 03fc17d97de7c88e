"""Build the vendor an audit spec names: the built-in world's or one of the seam's adapters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pandas as pd

from auditkit.spec import AuditSpec, SimulatedVendorSpec
from auditkit.vendors import ADAPTERS, Vendor
from auditkit.world import SimulatedVendor, Steering

Signatures = Mapping[str, tuple[str, ...]]


def _simulated(
    spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame], signatures: Signatures
) -> Vendor:
    options = cast(SimulatedVendorSpec, spec.vendor).options
    steering = [
        Steering(s.attribute, s.level, price_shift=s.price_shift, trend_shift=s.trend_shift)
        for s in options.steering
    ]
    return SimulatedVendor(
        catalogs,
        seed=spec.seed,
        pooling=options.pooling,
        trend_weight=options.trend_weight,
        personalization=options.personalization,
        noise=options.noise,
        steering=steering,
        signatures=signatures,
        ignored_options=options.ignored_options,
        calibrated_lift=options.calibrated_lift,
    )


def build_vendor(
    spec: AuditSpec,
    catalogs: Mapping[str, pd.DataFrame],
    signatures: Signatures | None = None,
) -> Vendor:
    """The vendor object for ``spec.vendor``; the simulated one serves ``catalogs``."""
    if spec.vendor.adapter == "simulated":
        return _simulated(spec, catalogs, signatures or {})
    return ADAPTERS[spec.vendor.adapter](spec, catalogs)
