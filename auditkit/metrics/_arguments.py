"""The argument checks every metric and inference function shares, with one message template.

Every check raises `ValueError` with `INVALID_ARGUMENT`: who checked, the key, the rule it
broke and the value it got, so a caller's mistake reads the same wherever it is caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from auditkit.errors import invalid_argument
from auditkit.tables import AuditTables

RULE_POSITIVE_INT = "a positive integer"
RULE_SEED = "a non-negative integer"
RULE_CONFIDENCE = "a number strictly between 0 and 1"
RULE_FINITE_1D = "a 1-D array of finite numbers"
RULE_WEIGHTS = "a 1-D array of non-negative finite numbers as long as values"
RULE_STRATA = "a 1-D array of labels as long as values"
RULE_CLUSTERS = "a 1-D array of sortable labels as long as values"
RULE_FINITE_2D = "a 2-D array of finite numbers with at least one row"
RULE_P_VALUES = "a 1-D sequence of numbers in [0, 1], NaN or None"
RULE_ALTERNATIVE = "one of 'greater', 'less', 'two-sided'"
RULE_COLUMNS = "a table with columns {columns}"
RULE_TABLES = "an AuditTables"
RULE_THRESHOLD = "a Threshold or None"

ALTERNATIVES: tuple[str, ...] = ("greater", "less", "two-sided")


def invalid(where: str, key: str, rule: str, value: object) -> ValueError:
    """The `ValueError` of `INVALID_ARGUMENT`: who checked, which key, the rule, the value."""
    return ValueError(invalid_argument(where, key, rule, value))


def check_inference_options(
    where: str, *, n_resamples: object, confidence: object = None, seed: object
) -> None:
    """Raise `ValueError` (one template) unless the resampling options are usable.

    Parameters
    ----------
    where : str
        Who is checking (a function or metric id), the start of the message.
    n_resamples, confidence, seed
        The options as the caller received them; ``confidence=None`` is for a caller without
        an interval (a test's p-value, a bootstrap distribution).
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, Integral) or n_resamples < 1:
        raise invalid(where, "n_resamples", RULE_POSITIVE_INT, n_resamples)
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise invalid(where, "confidence", RULE_CONFIDENCE, confidence)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise invalid(where, "seed", RULE_SEED, seed)


def check_metric_inputs(
    where: str,
    tables: object,
    *,
    n_resamples: object,
    confidence: object,
    seed: object,
) -> None:
    """Raise `ValueError` (one template) unless a metric's inputs are usable.

    Parameters
    ----------
    where : str
        The metric id, the start of the message.
    tables, n_resamples, confidence, seed
        The metric's arguments as it received them.
    """
    if not isinstance(tables, AuditTables):
        raise invalid(where, "tables", RULE_TABLES, type(tables).__name__)
    check_inference_options(where, n_resamples=n_resamples, confidence=confidence, seed=seed)


def check_columns(where: str, key: str, frame: Any, columns: Sequence[str]) -> None:
    """Raise `ValueError` (one template) unless ``frame`` has every one of ``columns``.

    Parameters
    ----------
    where : str
        Who is checking (a metric id), the start of the message.
    key : str
        How the caller names the table, e.g. ``"tables.responses"``.
    frame : DataFrame
        The table (anything with ``columns``).
    columns : sequence of str
        The columns the caller reads.
    """
    present = list(frame.columns)
    if any(column not in present for column in columns):
        rule = RULE_COLUMNS.format(columns=list(columns))
        raise invalid(where, key, rule, present)


def as_finite(where: str, key: str, values: Any) -> np.ndarray:
    """``values`` as a 1-D float64 array of finite numbers, else raise."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise invalid(where, key, RULE_FINITE_1D, values) from None
    if array.ndim != 1:
        raise invalid(where, key, RULE_FINITE_1D, array.shape)
    bad = ~np.isfinite(array)
    if bad.any():
        raise invalid(where, key, RULE_FINITE_1D, float(array[bad][0]))
    return array


def check_alternative(where: str, alternative: object) -> None:
    """Raise `ValueError` (one template) unless ``alternative`` names a test's alternative."""
    if alternative not in ALTERNATIVES:
        raise invalid(where, "alternative", RULE_ALTERNATIVE, alternative)
