"""Homogenization across client shops: matched customers shown the same products everywhere.

`cross_shop_jaccard` compares the lists that the same synthetic customer (a match group,
``match_id``) receives at different shops, on ``item_key`` (canonical ids where catalogs share
products). The two helpers below, `probe_pairs` and `pairwise_jaccard`, are the vectorized
set-overlap kernel that the segment metrics reuse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from auditkit.frames import AuditTables
from auditkit.metrics.stats import bootstrap_ci, check_columns, check_metric_inputs
from auditkit.results import MetricResult, Threshold

METRIC_ID = "homogenization.cross_shop_jaccard"
FAMILY = "homogenization"
UNIT = "match group"
# Jaccard J of two k-lists sharing s items is s / (2k - s): 0.3 means about 46% of a 10-item
# list is shared, 0.5 means two thirds are. See docs/metrics.md.
DEFAULT_THRESHOLD = Threshold(warn=0.3, fail=0.5)

PROBE_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "persona_id",
    "match_id",
    "repetition",
    "answered",
)
RESPONSE_COLUMNS: tuple[str, ...] = ("probe_id", "item_key")

SUMMARY = (
    "Matched customers at different shops get overlapping recommendations: on average "
    "{value:.0%} of the products in two shops' lists appear in both."
)
SUMMARY_NONE = (
    "There were not enough matched customers answered at two or more shops to measure "
    "overlap between shops."
)
REASON_NONE = "no match group has answered probes at two or more shops"


def answered_probes(probes: pd.DataFrame) -> pd.DataFrame:
    """The probes the vendor answered (a missing ``answered`` flag counts as unanswered)."""
    answered = probes["answered"].astype("boolean").fillna(False).astype(bool)
    return probes[answered.to_numpy()]


def item_sets(responses: pd.DataFrame, probe_ids: pd.Series) -> pd.DataFrame:
    """``probe_id, item_key``: each listed probe's distinct recommended items."""
    rows = responses.loc[responses["probe_id"].isin(probe_ids), ["probe_id", "item_key"]]
    return rows.dropna().drop_duplicates(ignore_index=True)


def probe_pairs(
    probes: pd.DataFrame, by: Sequence[str], *, differ: str | None = None
) -> pd.DataFrame:
    """Every unordered pair of probes sharing all of ``by`` (NA equal to NA).

    Parameters
    ----------
    probes : DataFrame
        Has ``probe_id`` and the columns named in ``by`` (and ``differ``).
    by : sequence of str
        Columns whose values define a group.
    differ : str, optional
        Keep only pairs whose values in this column differ (e.g. ``shop_id``).

    Returns
    -------
    DataFrame
        ``group, probe_a, probe_b`` with ``probe_a < probe_b``, sorted; ``group`` numbers the
        groups in sorted order of their ``by`` values, so neither row order nor the labels of
        other columns change it.
    """
    frame = pd.DataFrame(
        {
            "group": probes.groupby(list(by), dropna=False, sort=True).ngroup().to_numpy(),
            "probe_id": probes["probe_id"].astype("string").to_numpy(),
            "differ": probes[differ].to_numpy() if differ is not None else 0,
        }
    )
    pairs = frame.merge(frame, on="group", suffixes=("_a", "_b"))
    keep = (pairs["probe_id_a"] < pairs["probe_id_b"]).to_numpy(dtype=bool)
    if differ is not None:
        keep = keep & (pairs["differ_a"] != pairs["differ_b"]).to_numpy(dtype=bool)
    pairs = pairs.loc[keep, ["group", "probe_id_a", "probe_id_b"]]
    pairs.columns = pd.Index(["group", "probe_a", "probe_b"])
    return pairs.sort_values(["group", "probe_a", "probe_b"], ignore_index=True)


def pairwise_jaccard(items: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Jaccard similarity of the item sets of each pair of probes.

    Parameters
    ----------
    items : DataFrame
        ``probe_id, item_key``, one row per distinct item of a probe's list.
    pairs : DataFrame
        ``probe_a, probe_b``; a probe without rows in ``items`` has an empty list.

    Returns
    -------
    ndarray of float
        ``|A ∩ B| / |A ∪ B|`` per pair, in the order of ``pairs``; NaN when both lists are
        empty (no evidence either way).
    """
    sizes = items.groupby("probe_id", sort=False).size()
    size_a = pairs["probe_a"].map(sizes).fillna(0).to_numpy(dtype=np.float64)
    size_b = pairs["probe_b"].map(sizes).fillna(0).to_numpy(dtype=np.float64)
    indexed = pd.DataFrame(
        {
            "pair": np.arange(len(pairs)),
            "probe_a": pairs["probe_a"].to_numpy(),
            "probe_b": pairs["probe_b"].to_numpy(),
        }
    )
    # Intersections through joins: one row per (pair, item of A), kept when B has the item too.
    left = indexed.merge(items.rename(columns={"probe_id": "probe_a"}), on="probe_a")
    hits = left.merge(items.rename(columns={"probe_id": "probe_b"}), on=["probe_b", "item_key"])
    shared = np.bincount(hits["pair"].to_numpy(dtype=np.intp), minlength=len(pairs))
    union = size_a + size_b - shared
    jaccard = np.full(len(pairs), np.nan)
    np.divide(shared, union, out=jaccard, where=union > 0)
    return jaccard


def group_means(groups: np.ndarray, values: np.ndarray) -> pd.Series:
    """Mean of the finite ``values`` per group code; groups with none are left out."""
    finite = np.isfinite(values)
    frame = pd.DataFrame({"group": groups[finite], "value": values[finite]})
    return frame.groupby("group", sort=True)["value"].mean()


def _match_group_overlap(probes: pd.DataFrame, items: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Per match group: its persona and mean cross-shop Jaccard; and the pairs counted."""
    pairs = probe_pairs(probes, ["match_id"], differ="shop_id")
    jaccard = pairwise_jaccard(items, pairs)
    groups = pairs["group"].to_numpy()
    means = group_means(groups, jaccard)
    keys = (
        probes.groupby("match_id", dropna=False, sort=True)
        .agg(persona_id=("persona_id", "first"))
        .reset_index()
    )
    per_group = keys.iloc[means.index.to_numpy()].assign(jaccard=means.to_numpy())
    return per_group.reset_index(drop=True), int(np.isfinite(jaccard).sum())


def cross_shop_jaccard(
    tables: AuditTables,
    *,
    threshold: Threshold | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricResult:
    """Mean Jaccard overlap of matched customers' lists at different shops.

    For each match group (the same synthetic customer carried into every shop), the Jaccard
    similarity ``|A ∩ B| / |A ∪ B|`` of the ``item_key`` sets is averaged over all pairs of its
    answered first-repetition probes at different shops; the value is the mean over match
    groups. Groups answered at fewer than two shops are skipped, and so are pairs whose two
    lists are both empty. Higher means the shops converge.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` and ``responses``.
    threshold : Threshold, optional
        Judges the value; `DEFAULT_THRESHOLD` when omitted.
    n_resamples : int, default 1000
        Bootstrap resamples of match groups.
    confidence : float, default 0.95
        Coverage of the confidence interval.
    seed : int, default 0
        Seeds the bootstrap.

    Returns
    -------
    MetricResult
        ``by_group = {"persona": {persona_id: mean over its match groups}}``;
        ``details = {"match_groups": n, "probe_pairs": m}``.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        METRIC_ID, tables, threshold, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(METRIC_ID, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(METRIC_ID, "tables.responses", tables.responses, RESPONSE_COLUMNS)
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold

    probes = answered_probes(tables.probes)
    probes = probes[(probes["repetition"] == 0).to_numpy(dtype=bool)]
    items = item_sets(tables.responses, probes["probe_id"])
    per_group, n_pairs = _match_group_overlap(probes, items)

    values = per_group["jaccard"].to_numpy()
    n = len(values)
    details: dict[str, object] = {"match_groups": n, "probe_pairs": n_pairs}
    if n == 0:
        value, ci = math.nan, None
        details["reason"] = REASON_NONE
        summary = SUMMARY_NONE
    else:
        value = float(values.mean())
        # Each persona has a fixed number of customers by design: resample within personas.
        ci = bootstrap_ci(
            values,
            strata=per_group["persona_id"].to_numpy(),
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        summary = SUMMARY.format(value=value)
    by_persona = per_group.groupby("persona_id", sort=True)["jaccard"].mean()
    return MetricResult(
        id=METRIC_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        verdict=threshold.verdict(value, ci, n),
        threshold=threshold,
        by_group={"persona": {str(k): float(v) for k, v in by_persona.items()}},
        details=details,
        summary=summary,
    )
