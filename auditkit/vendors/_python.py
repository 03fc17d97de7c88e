"""The ``python`` adapter: audit any object with ``recommend(request)`` built by a factory."""

from __future__ import annotations

import importlib
from typing import Any

from auditkit.errors import VendorError
from auditkit.vendors._base import Vendor

BAD_TARGET = "vendor.target {target!r}: {reason}"


def load_python_vendor(target: str, options: dict[str, Any]) -> Vendor:
    """Import ``module:factory`` and call ``factory(**options)``.

    Raises `VendorError` when the module or factory is missing, the factory fails, or what it
    returns has no ``recommend`` method.
    """
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise VendorError(
            BAD_TARGET.format(target=target, reason=f"cannot import ({exc})")
        ) from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise VendorError(BAD_TARGET.format(target=target, reason=f"no callable {attribute!r}"))
    try:
        vendor = factory(**options)
    except Exception as exc:
        raise VendorError(
            BAD_TARGET.format(target=target, reason=f"factory failed: {type(exc).__name__}: {exc}")
        ) from exc
    if not callable(getattr(vendor, "recommend", None)):
        raise VendorError(
            BAD_TARGET.format(target=target, reason="the factory's result has no recommend()")
        )
    return vendor
