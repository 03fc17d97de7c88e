"""Counterfactual twins compared outcome by outcome: what one attribute alone changes.

A pair group (``pair_id``) holds twins identical but for ``pair_attribute``. For one per-probe
outcome ``y`` (on a log scale for prices and popularity), each twin's paired difference is
``y - mean of y over the other twins of its group``; the effect of a level is the mean of its
twins' differences. Under the null hypothesis the twins are exchangeable, so the differences
have mean zero. The test relabels the levels within each customer
(`auditkit.metrics.stats.level_permutation_p`, exact under that null; sign flips assumed
symmetric differences, which a skewed outcome over three or more levels does not give) and the
bootstrap resamples customers (`auditkit.metrics._customers`), since the same customer's pair
groups at different shops share a history.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.metrics.segments.groups import FAMILY
from auditkit.metrics.segments.outcomes import (
    CUSTOMER,
    PROBE_COLUMNS,
    RESPONSE_COLUMNS,
    shared_probe_outcomes,
)
from auditkit.metrics.stats import (
    benjamini_hochberg,
    bootstrap_ci,
    check_columns,
    check_metric_inputs,
    level_permutation_p,
)
from auditkit.results import Estimate, Threshold
from auditkit.tables import SEGMENT_PREFIX, AuditTables

UNIT = "pair group"

PRICE_GAP_ID = "segment.counterfactual_price_gap"
POPULARITY_GAP_ID = "segment.counterfactual_popularity_gap"
# |relative change| of a level's lists against its twins': 0.1 is a tenth cheaper (or
# pricier, or more popular) for that attribute alone, 0.2 a fifth. See docs/metrics.md.
DEFAULT_THRESHOLD = Threshold(warn=0.1, fail=0.2)

_ROUNDING = 1e-12
# Effects equal to this many decimals (on the log scale) are the same size.
_TIE_DIGITS = 9

REASON_NONE = "no pair group has two or more answered twins with the outcome"


@dataclass(frozen=True)
class _Outcome:
    """How a paired metric reads its outcome: column, scale, and words for its direction."""

    metric_id: str
    column: str
    scale: Callable[[np.ndarray], np.ndarray]
    what: str
    up: str
    down: str


@dataclass(frozen=True)
class LevelEffect:
    """One level's paired effect: on the log scale, with its interval and sign-flip p-value."""

    attribute: str
    level: str
    log_effect: float
    log_ci: tuple[float, float]
    p_value: float
    twins: int
    customers: int

    @property
    def effect(self) -> float:
        """The relative change, ``exp(log_effect) - 1``."""
        return math.expm1(self.log_effect)

    def magnitude(self) -> tuple[float, tuple[float, float] | None]:
        """``|effect|`` and its interval, both oriented in the direction of the effect."""
        low, high = (math.expm1(x) for x in self.log_ci)
        ci = None if not math.isfinite(low) else (low, high)
        if self.log_effect >= 0 or ci is None:
            return abs(self.effect), ci
        return abs(self.effect), (-ci[1], -ci[0])

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, with the relative effect and interval."""
        low, high = (math.expm1(x) for x in self.log_ci)
        return {
            "attribute": self.attribute,
            "level": self.level,
            "effect": self.effect,
            "ci": [low, high],
            "p_value": self.p_value,
            "twins": self.twins,
            "customers": self.customers,
        }


def twin_differences(outcomes: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    """Each twin's ``value`` minus the mean value of the other twins of its pair group.

    Parameters
    ----------
    outcomes : DataFrame
        From `probe_outcomes` (first repetitions); rows without ``pair_id`` are ignored.
    values : ndarray of float
        The outcome of each row, on the scale to compare (NaN rows are left out).

    Returns
    -------
    DataFrame
        ``pair_id, attribute, level, customer, difference`` for every twin whose group has at
        least one other twin with a value.
    """
    keep = outcomes["pair_id"].notna().to_numpy(dtype=bool) & np.isfinite(values)
    rows = outcomes[keep]
    y = values[keep]
    group = rows.groupby("pair_id", sort=True).ngroup().to_numpy()
    total = np.bincount(group, weights=y)
    count = np.bincount(group)
    others = count[group] - 1
    usable = others > 0
    difference = y[usable] - (total[group][usable] - y[usable]) / others[usable]
    # Identical twins differ only by the rounding of the group sum: that is exactly zero.
    scale = np.abs(y).max() if len(y) else 0.0
    difference[np.abs(difference) <= _ROUNDING * scale] = 0.0
    attribute = rows["pair_attribute"].astype("string").to_numpy(dtype=object)[usable]
    level = np.full(len(attribute), None, dtype=object)
    for name in pd.unique(attribute):
        column = SEGMENT_PREFIX + str(name)
        if column in rows.columns:
            mask = attribute == name
            level[mask] = rows[column].astype("string").to_numpy(dtype=object)[usable][mask]
    return pd.DataFrame(
        {
            "pair_id": rows["pair_id"].to_numpy()[usable],
            "attribute": attribute,
            "level": level,
            "customer": rows[CUSTOMER].to_numpy()[usable],
            "difference": difference,
        }
    ).dropna(subset=["attribute", "level"])


def _named_first(test: LevelEffect) -> tuple[float, bool, str, str]:
    """The order in which a level is named: largest effect, then the one pushed down.

    Effects compare on the log scale, where a level pushed down and its twins pushed up are
    alike, rounded so that mirror images tie: the two levels of a two-level attribute always
    have effects of the same size and opposite signs, and the one named is then the one whose
    lists go down (cheaper, less popular), whatever the rounding or the levels' names.
    """
    size = round(abs(test.log_effect), _TIE_DIGITS)
    return (size, test.log_effect < 0, test.attribute, test.level)


def _level_p_values(
    per_customer: pd.DataFrame, seeds: np.ndarray, n_resamples: int
) -> dict[tuple[str, str], float]:
    """Each level's p-value from relabelling levels within customers, attribute by attribute.

    ``per_customer`` holds ``attribute, level, customer, sum, count``, sorted by attribute and
    level; an attribute's test is seeded by the seed at the index of its first level.
    """
    p_values: dict[tuple[str, str], float] = {}
    start = 0
    for attribute, part in per_customer.groupby("attribute", sort=True):
        sums = part.pivot(index="customer", columns="level", values="sum")
        counts = part.pivot(index="customer", columns="level", values="count")
        found = level_permutation_p(
            sums.fillna(0.0).to_numpy(dtype=np.float64),
            counts.fillna(0.0).to_numpy(dtype=np.float64),
            n_resamples=n_resamples,
            seed=int(seeds[start]),
        )
        for level, p in zip(sums.columns, found, strict=True):
            p_values[(str(attribute), str(level))] = float(p)
        start += sums.shape[1]
    return p_values


def _paired_metric(
    spec: _Outcome,
    tables: AuditTables,
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> Estimate:
    check_metric_inputs(
        spec.metric_id,
        tables,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    check_columns(spec.metric_id, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(spec.metric_id, "tables.responses", tables.responses, RESPONSE_COLUMNS)
    outcomes = shared_probe_outcomes(tables)
    outcomes = outcomes[(outcomes["repetition"] == 0).to_numpy(dtype=bool)]
    with np.errstate(divide="ignore", invalid="ignore"):
        values = spec.scale(outcomes[spec.column].to_numpy(dtype=np.float64))
    twins = twin_differences(outcomes, values)
    n = int(twins["pair_id"].nunique())
    if twins.empty:
        return Estimate(
            id=spec.metric_id,
            family=FAMILY,
            value=math.nan,
            ci=None,
            n=0,
            unit=UNIT,
            details={"reason": REASON_NONE},
            words={"what": spec.what},
            reason=REASON_NONE,
        )
    # The unit is the customer: sums and counts of its twins' differences per level.
    per_customer = (
        twins.groupby(["attribute", "level", "customer"], sort=True)["difference"]
        .agg(["sum", "count"])
        .reset_index()
    )
    levels = list(per_customer.groupby(["attribute", "level"], sort=True))
    child_seeds = np.random.SeedSequence(seed).generate_state(2 * len(levels))
    p_values = _level_p_values(per_customer, child_seeds[1::2], max(n_resamples, 999))
    tests = []
    for index, ((attribute, level), part) in enumerate(levels):
        sums = part["sum"].to_numpy(dtype=np.float64)
        counts = part["count"].to_numpy(dtype=np.float64)
        low, high = bootstrap_ci(
            sums,
            weights=counts,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=int(child_seeds[2 * index]),
        )
        tests.append(
            LevelEffect(
                attribute=str(attribute),
                level=str(level),
                log_effect=float(sums.sum() / counts.sum()),
                log_ci=(low, high),
                p_value=p_values[(str(attribute), str(level))],
                twins=int(counts.sum()),
                customers=len(part),
            )
        )
    q_values = benjamini_hochberg([t.p_value for t in tests])
    alpha = 1.0 - confidence
    present = [float(q) for q in q_values if np.isfinite(q)]
    p_value = min(present) if present else None
    significant = [t for t, q in zip(tests, q_values, strict=True) if q < alpha]
    worst = max(significant or tests, key=_named_first)
    value, ci = worst.magnitude()
    direction = spec.up if worst.log_effect >= 0 else spec.down
    by_group: dict[str, dict[str, float]] = {}
    for test in tests:
        by_group.setdefault(test.attribute, {})[test.level] = test.effect
    details: dict[str, object] = {
        "attribute": worst.attribute,
        "level": worst.level,
        "direction": direction,
        "effect": worst.effect,
        "customers": int(twins["customer"].nunique()),
        "tests": [
            {**test.to_dict(), "q_value": float(q)}
            for test, q in zip(tests, q_values, strict=True)
        ],
    }
    return Estimate(
        id=spec.metric_id,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        p_value=p_value,
        by_group=by_group,
        details=details,
        words={
            "attribute": worst.attribute.replace("_", " "),
            "level": worst.level,
            "direction": direction,
        },
    )


PRICE = _Outcome(PRICE_GAP_ID, "mean_price", np.log, "prices", "pricier", "cheaper")
POPULARITY = _Outcome(
    POPULARITY_GAP_ID, "popularity_lift", np.log1p, "popularity", "more popular", "less popular"
)


def counterfactual_price_gap(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Relative change in list price that one segment attribute alone makes, between twins.

    Per twin, ``d = log(mean price) - mean over its other twins of log(mean price)``; a
    level's effect is ``exp(mean d over its twins) - 1`` (e.g. -0.3: lists 30% cheaper than
    its twins'). The value is the largest ``|effect|`` over the attributes' levels (among
    those significant after Benjamini–Hochberg within the metric, when any is).

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses``, ``histories`` and ``catalogs``.
    n_resamples : int, default 1000
        Bootstrap resamples of customers (and at least 999 sign flips).
    confidence : float, default 0.95
        Coverage of the confidence interval; ``1 - confidence`` is the level of the tests.
    seed : int, default 0
        Seeds the bootstrap and the sign flips.

    Returns
    -------
    Estimate
        ``value`` and ``ci`` are in the direction of the named level's effect (a CI below 0
        means the direction is uncertain). The p-value is the smallest BH-adjusted sign-flip
        p-value of the levels (their Simes combination). ``by_group = {attribute: {level:
        effect}}``; ``details`` names the attribute, level and direction and lists every
        level's test. Judged by the "tested" rule: a warn or fail that the test cannot tell
        from chance is inconclusive.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    return _paired_metric(PRICE, tables, n_resamples=n_resamples, confidence=confidence, seed=seed)


def counterfactual_popularity_gap(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Relative change in the popularity of listed products that one attribute alone makes.

    As `counterfactual_price_gap`, on ``log(1 + popularity lift)``: twins share a history, so
    the paired difference is the log ratio of their lists' mean popularity (each item's share
    of its shop's sales). A level steered toward trending products shows a positive effect.

    Parameters, returns and errors are those of `counterfactual_price_gap`.
    """
    return _paired_metric(
        POPULARITY, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
