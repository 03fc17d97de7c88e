"""Build the vendor an audit spec names: the built-in world's or one of the seam's adapters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pandas as pd

from auditkit.api._seeds import AuditSeeds
from auditkit.spec import AuditSpec, SimulatedVendorSpec, TrainedVendorSpec
from auditkit.vendors import ADAPTERS, Vendor
from auditkit.world import SimulatedVendor, Steering, TrainedVendor

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
        seed=AuditSeeds(spec.seed).vendor,
        pooling=options.pooling,
        trend_weight=options.trend_weight,
        personalization=options.personalization,
        noise=options.noise,
        steering=steering,
        signatures=signatures,
        ignored_options=options.ignored_options,
        calibrated_lift=options.calibrated_lift,
    )


def _trained(spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame]) -> Vendor:
    options = cast(TrainedVendorSpec, spec.vendor).options
    return TrainedVendor(
        catalogs,
        seed=AuditSeeds(spec.seed).vendor if options.log_seed is None else options.log_seed,
        training=options.training,
        algorithm=options.algorithm,
        neighbours=options.neighbours,
        factors=options.factors,
        customers_per_shop=options.customers_per_shop,
        noise=options.noise,
    )


def build_vendor(
    spec: AuditSpec,
    catalogs: Mapping[str, pd.DataFrame],
    signatures: Signatures | None = None,
) -> Vendor:
    """The vendor object for ``spec.vendor``; the built-in ones serve ``catalogs``."""
    if spec.vendor.adapter == "simulated":
        return _simulated(spec, catalogs, signatures or {})
    if spec.vendor.adapter == "trained":
        return _trained(spec, catalogs)
    return ADAPTERS[spec.vendor.adapter](spec, catalogs)
