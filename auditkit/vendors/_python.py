"""The ``python`` adapter: audit any object with ``recommend(request)`` built by a factory.

The object needs only ``recommend``. What else it offers is read once, here, when it is
loaded: ``send_events`` (it takes events), ``close`` (called once, after the run) and the
optional attributes ``concurrency``, ``rate_per_second``, ``retries`` (attempts per call, or
a `RetrySpec`) and ``event_batch_size``, which become its capabilities (the spec's
``concurrency``, ``rate_per_second`` and ``retries``, where written, win over them). This is
the one place auditkit finds out what a vendor can do from the names it happens to have.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auditkit.errors import VendorError, invalid_argument
from auditkit.spec import PythonVendorSpec, RetrySpec
from auditkit.vendors._base import (
    RecommendRequest,
    VendorAdapter,
    VendorCapabilities,
    secret_values,
)

BAD_TARGET = "vendor.target {target!r}: {reason}"
CAPABILITY_RULES = {
    "concurrency": "a positive integer",
    "rate_per_second": "a positive number",
    "retries": "a positive integer (attempts, the first included) or a RetrySpec",
    "event_batch_size": "a positive integer",
}
"""What each capability attribute of a python vendor must be, when it is not None."""


class PythonVendor(VendorAdapter):
    """A user's object behind the seam: its ``recommend`` and, if it has one, its ``close``.

    Parameters
    ----------
    target : object
        What the factory returned; ``target.recommend`` answers each request.
    capabilities : VendorCapabilities
        Read from ``target`` when it was loaded (see `load_python_vendor`).
    close : callable, optional
        ``target.close``, when it has one.
    """

    def __init__(
        self,
        target: Any,
        capabilities: VendorCapabilities,
        close: Callable[[], object] | None = None,
    ) -> None:
        self.target = target
        self._recommend: Callable[[RecommendRequest], Any] = target.recommend
        self._capabilities = capabilities
        self._close = close

    def recommend(self, request: RecommendRequest) -> Any:
        """The object's own answer to ``request``, as it gave it."""
        return self._recommend(request)

    def secret_values(self) -> tuple[str, ...]:
        """The credentials the object names with its own ``secret_values()``, if any."""
        return secret_values(self.target)

    def close(self) -> None:
        """Call the object's ``close``, if it has one."""
        if self._close is not None:
            self._close()


class PythonEventVendor(PythonVendor):
    """A `PythonVendor` whose object also has ``send_events``: it takes events too."""

    def __init__(
        self,
        target: Any,
        capabilities: VendorCapabilities,
        close: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(target, capabilities, close)
        self._send_events: Callable[[str, Sequence[Mapping[str, Any]]], object] = (
            target.send_events
        )

    def send_events(self, shop_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Pass the events on to the object's ``send_events``."""
        self._send_events(shop_id, events)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _positive_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _declared(vendor: Any, target: str) -> dict[str, Any]:
    """The capabilities ``vendor`` declares as attributes, checked (absent or None: left out)."""
    where = f"vendor.target {target!r}"
    found: dict[str, Any] = {}
    for key in ("concurrency", "rate_per_second", "retries", "event_batch_size"):
        value = getattr(vendor, key, None)
        if value is None:
            continue
        if key == "rate_per_second" and _positive_number(value):
            found[key] = float(value)
        elif key == "retries" and isinstance(value, RetrySpec):
            found[key] = value
        elif key == "retries" and _positive_int(value):
            found[key] = RetrySpec(max_attempts=int(value))
        elif key in ("concurrency", "event_batch_size") and _positive_int(value):
            found[key] = int(value)
        else:
            raise VendorError(invalid_argument(where, key, CAPABILITY_RULES[key], value))
    return found


def load_python_vendor(
    target: str, options: dict[str, Any], *, settings: PythonVendorSpec | None = None
) -> PythonVendor:
    """Import ``module:factory``, call ``factory(**options)`` and wrap what it returns.

    Parameters
    ----------
    target : str
        ``"pkg.module:factory"``.
    options : dict
        The factory's keyword arguments.
    settings : PythonVendorSpec, optional
        The vendor's spec: its ``concurrency``, ``rate_per_second`` and ``retries``, where
        written, win over the object's attributes, and stand in for those it lacks.

    Returns
    -------
    PythonVendor
        A `PythonEventVendor` when the object has ``send_events``; its capabilities are the
        object's ``concurrency``, ``rate_per_second``, ``retries`` and ``event_batch_size``
        attributes (read once, now) under the spec's settings.

    Raises
    ------
    VendorError
        When the module or factory is missing, the factory fails, what it returns has no
        ``recommend`` method, or one of its capability attributes is out of range.
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
    found = _declared(vendor, target)
    if settings is not None:
        spec = {
            "concurrency": settings.concurrency,
            "rate_per_second": settings.rate_per_second,
            "retries": settings.retries,
        }
        written = settings.model_fields_set
        found.update(
            {key: value for key, value in spec.items() if key in written or key not in found}
        )
    send_events = getattr(vendor, "send_events", None)
    close = getattr(vendor, "close", None)
    capabilities = VendorCapabilities(**found, events=callable(send_events))
    kind = PythonEventVendor if callable(send_events) else PythonVendor
    return kind(vendor, capabilities, close if callable(close) else None)
