"""Shared fixtures: small hand-made shops whose every item is known."""

import pandas as pd
import pytest

from auditkit.catalogs import validate_catalog


def make_catalog(shop: str, n: int, shared: int, categories: int = 3) -> pd.DataFrame:
    """``n`` items; the first ``shared`` carry canonical ids P0.. shared with other shops."""
    frame = pd.DataFrame(
        {
            "item_id": [f"{shop}-{i}" for i in range(n)],
            "category": [f"cat{i % categories}" for i in range(n)],
            "canonical_id": [f"P{i}" if i < shared else None for i in range(n)],
            "price": [10.0 + i for i in range(n)],
            "popularity": [float(n - i) for i in range(n)],
        }
    )
    return validate_catalog(frame, source=shop)


@pytest.fixture
def small_catalogs() -> dict[str, pd.DataFrame]:
    return {
        "a": make_catalog("a", 30, 20),
        "b": make_catalog("b", 30, 10),
        "c": make_catalog("c", 20, 5),
    }
