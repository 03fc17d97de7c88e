"""The ``replay`` adapter: audit a vendor's recorded outputs, with no live calls.

For vendors that only hand over exports. The recording has one row per recommended item;
a probe is found by its ``probe_id`` when the recording has that column (an answer to a plan
made with ``auditkit plan --out``), else by its shop and customer id.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from auditkit.errors import VendorError, invalid_argument
from auditkit.vendors._base import (
    RecommendRequest,
    RecommendResponse,
    RequestFailed,
    VendorAdapter,
)

NOT_RECORDED = "not_recorded: the recording has no answer for this probe"
READERS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
ID_COLUMNS = ("shop_id", "probe_id", "customer_id", "item_id")


def _read(path: Path) -> pd.DataFrame:
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise VendorError(
            invalid_argument(
                where=path,
                key="the file type",
                rule=f"one of {sorted(READERS)}",
                value=path.suffix,
            )
        )
    try:
        if kind == "csv":
            return pd.read_csv(path, dtype={c: "string" for c in ID_COLUMNS})
        if kind == "jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise VendorError(f"{path}: cannot read the recording ({exc})") from None


class ReplayVendor(VendorAdapter):
    """Answers each probe with what the vendor answered when it was recorded.

    Parameters
    ----------
    path : Path
        CSV, JSONL or Parquet with ``shop_id``, ``probe_id`` or ``customer_id``, ``rank``,
        ``item_id``, and optionally ``score`` and ``explanation``.

    Raises
    ------
    VendorError
        When the file cannot be read or lacks a required column.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        frame = _read(path)
        where = path.name
        self.by_probe = "probe_id" in frame.columns
        keys = ["probe_id"] if self.by_probe else ["shop_id", "customer_id"]
        for column in [*keys, "rank", "item_id"]:
            if column not in frame.columns:
                raise VendorError(
                    invalid_argument(
                        where=where,
                        key="the columns",
                        rule=f"a superset of {[*keys, 'rank', 'item_id']}",
                        value=sorted(map(str, frame.columns)),
                    )
                )
        rank = pd.to_numeric(frame["rank"], errors="coerce")
        if rank.isna().any():
            bad = frame.loc[rank.isna(), "rank"].iloc[0]
            raise VendorError(
                invalid_argument(where=where, key="rank", rule="a number", value=bad)
            )
        frame = frame.assign(rank=rank).sort_values([*keys, "rank"], kind="stable")
        for column in keys:
            frame[column] = frame[column].astype("string")
        frame["item_id"] = frame["item_id"].astype("string")
        grouped = frame.groupby(keys, sort=False)
        items = grouped["item_id"].agg(tuple)
        scores = grouped["score"].agg(tuple) if "score" in frame.columns else None
        explanations = (
            grouped["explanation"].agg(tuple) if "explanation" in frame.columns else None
        )
        self._answers: dict[object, RecommendResponse] = {}
        for key, listed in items.items():
            self._answers[key] = RecommendResponse(
                items=tuple(str(i) for i in listed),
                scores=None
                if scores is None
                else tuple(float(s) for s in pd.to_numeric(pd.Series(scores[key]))),
                explanations=None
                if explanations is None
                else tuple(None if pd.isna(e) else str(e) for e in explanations[key]),
                raw={"recorded": list(map(str, listed))},
            )

    def recommend(self, request: RecommendRequest) -> RecommendResponse:
        """The recorded answer to ``request``.

        Raises
        ------
        RequestFailed
            When the recording has no answer for this probe (not retryable).
        """
        key: object = request.probe_id if self.by_probe else (request.shop_id, request.customer_id)
        answer = self._answers.get(key)
        if answer is None:
            raise RequestFailed(NOT_RECORDED, retryable=False)
        return answer
