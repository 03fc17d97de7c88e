"""The adapters that reach a vendor outside auditkit, by the name a spec gives them.

Adding an adapter is a module in this folder, its entry here and its model in the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

import pandas as pd

from auditkit.spec import AuditSpec, HttpVendorSpec, PythonVendorSpec, ReplayVendorSpec
from auditkit.vendors._base import Vendor
from auditkit.vendors._python import load_python_vendor

AdapterBuilder = Callable[[AuditSpec, Mapping[str, pd.DataFrame]], Vendor]


def _python(spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame]) -> Vendor:
    vendor = cast(PythonVendorSpec, spec.vendor)
    return load_python_vendor(vendor.target, dict(vendor.options), settings=vendor)


def _http(spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame]) -> Vendor:
    from auditkit.vendors._http import HttpEventVendor, HttpVendor

    vendor = cast(HttpVendorSpec, spec.vendor)
    # Only a vendor with an event API takes events (its capabilities say so).
    if vendor.events is not None:
        return HttpEventVendor(vendor, catalogs)
    return HttpVendor(vendor, catalogs)


def _replay(spec: AuditSpec, catalogs: Mapping[str, pd.DataFrame]) -> Vendor:
    from auditkit.vendors._replay import ReplayVendor

    return ReplayVendor(spec.resolve_path(cast(ReplayVendorSpec, spec.vendor).path))


ADAPTERS: dict[str, AdapterBuilder] = {
    "python": _python,
    "http": _http,
    "replay": _replay,
}
