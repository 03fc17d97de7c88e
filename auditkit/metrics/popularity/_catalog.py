"""The shops' catalogs as codes: their popularity per shop, and tables of the catalogs alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditkit.metrics._overlap import code_counts, code_sums
from auditkit.metrics.popularity._arrays import numbers
from auditkit.tables import AuditTables


def catalog_tables(catalogs: pd.DataFrame) -> AuditTables:
    """Tables of the catalogs alone, to code their id columns."""
    empty = pd.DataFrame()
    return AuditTables(probes=empty, responses=empty, histories=empty, catalogs=catalogs)


def shop_popularity(tables: AuditTables) -> tuple[np.ndarray, np.ndarray]:
    """Per shop code: the sum of its catalog's known popularity, and how many items know it."""
    shop = tables.codes.of("catalogs", "shop_id")
    popularity = numbers(tables.catalogs["popularity"])
    size = len(tables.codes.dictionary("shop_id"))
    known = np.isfinite(popularity)
    if not known.all():
        shop = np.where(known, shop, -1)  # an item of unknown popularity counts in no shop
    return code_sums(shop, popularity, size), code_counts(shop, size)
