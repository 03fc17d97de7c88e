"""The sentences of the homogenization metrics."""

from __future__ import annotations

from collections.abc import Callable

from auditkit.results import Estimate

SENTENCES: dict[str, Callable[[Estimate, float], str]] = {}
