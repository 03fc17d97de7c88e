"""Lists as pandas tables: answered probes, their item sets, pairs of probes and their Jaccard.

The table-level helpers that the segment metrics and the claim checks share (the cross-shop
metrics work on the integer-coded kernels of ``_overlap`` and ``_matched``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


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
