"""Shared fixtures: small hand-made shops whose every item is known."""

import pandas as pd
import pytest
from support import make_catalog


@pytest.fixture
def small_catalogs() -> dict[str, pd.DataFrame]:
    return {
        "a": make_catalog("a", 30, 20),
        "b": make_catalog("b", 30, 10),
        "c": make_catalog("c", 20, 5),
    }
