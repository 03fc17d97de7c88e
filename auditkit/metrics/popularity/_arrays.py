"""Table columns as numpy arrays, and means per label code: what the popularity metrics share.

A boolean column becomes a mask (NA is False), a numeric one float64 (NA is NaN); a lookup by
code reads code -1 (NA) from one padded slot at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditkit.metrics._matched import group_mean


def flags(column: pd.Series) -> np.ndarray:
    """A boolean column as a numpy mask, NA counted as False (no copy for a plain bool one)."""
    if column.dtype == np.bool_:
        return column.to_numpy()
    return column.astype("boolean").fillna(False).to_numpy(dtype=bool)


def numbers(column: pd.Series) -> np.ndarray:
    """A numeric column as float64, NA as NaN (no copy for a float64 column)."""
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def padded(values: np.ndarray, fill: object) -> np.ndarray:
    """``values`` with ``fill`` appended: indexing with code -1 (NA) then reads ``fill``."""
    return np.concatenate([values, np.array([fill], dtype=values.dtype)])


def label_means(codes: np.ndarray, values: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Mean of the finite ``values`` per label code (into ``labels``), sorted by label.

    Code -1 (no label) is left out, as are labels without a finite value.
    """
    known = codes >= 0
    means = group_mean(codes[known], values[known], len(labels))
    return {str(labels[i]): float(means[i]) for i in np.flatnonzero(np.isfinite(means))}
