"""Vendor adapters: the only place auditkit talks to a recommender."""

from auditkit.vendors._adapters import ADAPTERS, AdapterBuilder
from auditkit.vendors._base import (
    EventSink,
    InvalidAnswer,
    RecommendRequest,
    RecommendResponse,
    RequestFailed,
    Vendor,
    VendorAdapter,
    VendorCapabilities,
    coerce_response,
    secret_values,
)
from auditkit.vendors._python import load_python_vendor

__all__ = [
    "ADAPTERS",
    "AdapterBuilder",
    "EventSink",
    "InvalidAnswer",
    "RecommendRequest",
    "RecommendResponse",
    "RequestFailed",
    "Vendor",
    "VendorAdapter",
    "VendorCapabilities",
    "coerce_response",
    "load_python_vendor",
    "secret_values",
]
