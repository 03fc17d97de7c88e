"""Vendor adapters: the only place auditkit talks to a recommender."""

from auditkit.vendors._base import (
    InvalidAnswer,
    RecommendRequest,
    RecommendResponse,
    RequestFailed,
    Vendor,
    coerce_response,
)
from auditkit.vendors._build import ADAPTERS, build_vendor
from auditkit.vendors._python import load_python_vendor

__all__ = [
    "ADAPTERS",
    "InvalidAnswer",
    "RecommendRequest",
    "RecommendResponse",
    "RequestFailed",
    "Vendor",
    "build_vendor",
    "coerce_response",
    "load_python_vendor",
]
