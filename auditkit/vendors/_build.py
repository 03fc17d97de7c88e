"""Build the vendor an audit spec names: one entry per adapter."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

import pandas as pd

from auditkit.spec import (
    AuditSpec,
    HttpVendorSpec,
    PythonVendorSpec,
    ReplayVendorSpec,
    SimulatedVendorSpec,
)
from auditkit.vendors._base import Vendor
from auditkit.vendors._python import load_python_vendor

Signatures = Mapping[str, tuple[str, ...]]


def _simulated(
    spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame], signatures: Signatures
) -> Vendor:
    from auditkit.world import SimulatedVendor, Steering

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


def _python(
    spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame], signatures: Signatures
) -> Vendor:
    vendor = cast(PythonVendorSpec, spec.vendor)
    return load_python_vendor(vendor.target, dict(vendor.options))


def _http(spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame], signatures: Signatures) -> Vendor:
    from auditkit.vendors._http import HttpEventVendor, HttpVendor

    vendor = cast(HttpVendorSpec, spec.vendor)
    # Only a vendor with an event API satisfies EventSink (trend planting checks for it).
    if vendor.events is not None:
        return HttpEventVendor(vendor, catalogs)
    return HttpVendor(vendor, catalogs)


def _replay(
    spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame], signatures: Signatures
) -> Vendor:
    from auditkit.vendors._replay import ReplayVendor

    return ReplayVendor(spec.resolve_path(cast(ReplayVendorSpec, spec.vendor).path))


ADAPTERS: dict[str, Callable[[AuditSpec, Mapping[str, pd.DataFrame], Signatures], Vendor]] = {
    "simulated": _simulated,
    "python": _python,
    "http": _http,
    "replay": _replay,
}


def build_vendor(
    spec: AuditSpec,
    catalogs: Mapping[str, pd.DataFrame],
    signatures: Signatures | None = None,
) -> Vendor:
    """The vendor object for ``spec.vendor``; the simulated one serves ``catalogs``."""
    return ADAPTERS[spec.vendor.adapter](spec, catalogs, signatures or {})
