"""Evidence → the long tables every metric reads.

Tables (all pandas, string ids):

``probes``      one row per planned probe: ``probe_id, shop_id, persona_id, customer_id, match_id,
                pair_id (NA if unpaired), pair_attribute (NA if unpaired), repetition, k,
                history (list of item ids)``, one ``segment.<attribute>`` column per segment
                attribute, and ``answered`` (bool: the vendor gave a usable answer).
``responses``   one row per recommended item of an answered probe: the probe's columns above
                (without ``history``) plus ``rank`` (1-based), ``item_id``, ``item_key``,
                ``category``, ``price``, ``popularity``, ``in_catalog``.
``histories``   one row per history item: ``probe_id, shop_id, position, item_id, item_key,
                category, price, popularity``.
``catalogs``    every shop's catalog stacked, with ``shop_id``, ``item_key`` and ``signature``
                (bool: the item, or its category, is one the shop declared as its signature).

``item_key`` is what makes items comparable across shops: the ``canonical_id`` when the catalog
has one, else ``"<shop_id>:<item_id>"`` (a product only that shop sells).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SEGMENT_PREFIX = "segment."
ITEM_COLUMNS: tuple[str, ...] = ("item_key", "category", "price", "popularity")


def _arrow_strings(values: pd.Series | pd.Index | np.ndarray) -> pa.ChunkedArray | pa.Array:
    """``values`` as an Arrow string array, without a copy when they already are one."""
    array = values.array if isinstance(values, pd.Series | pd.Index) else values
    native = getattr(array, "_pa_array", None)
    if native is not None and pa.types.is_string(native.type):
        return native
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def lookup_codes(values: pd.Series | pd.Index | np.ndarray, dictionary: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` in ``dictionary`` (distinct strings); -1 for NA or absent.

    A hash lookup inside Arrow: no Python string is made per value.
    """
    found = pc.index_in(_arrow_strings(values), value_set=pa.array(dictionary, type=pa.string()))
    return found.fill_null(-1).to_numpy().astype(np.int32)


class TableCodes:
    """Integer codes of the probe ids, aligned with the rows of an `AuditTables`' tables.

    ``probe_ids`` are the distinct probe ids of ``probes``, sorted; ``probe[r]`` is the code of
    row ``r`` of ``probes`` (its position in ``probe_ids``), ``response_probe`` and
    ``history_probe`` the same for ``responses`` and ``histories`` (-1 where the id is NA or
    names no planned probe). Sorting by code is sorting by id. Each array is built once, on
    first use, and shared by every metric that reads the tables (which are never modified).
    """

    def __init__(self, tables: AuditTables, **known: np.ndarray) -> None:
        self._tables = tables
        self.__dict__.update(known)

    @cached_property
    def probe_ids(self) -> np.ndarray:
        """The distinct non-NA probe ids, sorted (object array of str)."""
        ids = self._tables.probes["probe_id"].dropna().astype("string").unique()
        return np.sort(np.asarray(ids, dtype=object).astype(str)).astype(object)

    @cached_property
    def probe(self) -> np.ndarray:
        """Per row of ``probes``: the code of its probe id (-1 for NA)."""
        return lookup_codes(self._tables.probes["probe_id"], self.probe_ids)

    @cached_property
    def response_probe(self) -> np.ndarray:
        """Per row of ``responses``: the code of its probe id (-1 for NA or unplanned)."""
        return lookup_codes(self._tables.responses["probe_id"], self.probe_ids)

    @cached_property
    def history_probe(self) -> np.ndarray:
        """Per row of ``histories``: the code of its probe id (-1 for NA or unplanned)."""
        return lookup_codes(self._tables.histories["probe_id"], self.probe_ids)

    def probe_flags(self, rows: np.ndarray) -> np.ndarray:
        """Per probe code: whether some row of ``probes`` selected by the mask ``rows`` has it."""
        flags = np.zeros(len(self.probe_ids) + 1, dtype=bool)
        flags[self.probe[rows]] = True
        flags[-1] = False  # code -1 (NA) selects nothing
        return flags

    def response_rows(self, flags: np.ndarray) -> np.ndarray:
        """Mask of the ``responses`` rows whose probe code is flagged (see `probe_flags`)."""
        return flags[self.response_probe]

    def history_rows(self, flags: np.ndarray) -> np.ndarray:
        """Mask of the ``histories`` rows whose probe code is flagged (see `probe_flags`)."""
        return flags[self.history_probe]


@dataclass(frozen=True)
class AuditTables:
    """The four tables the metrics read; see the module docstring for their columns."""

    probes: pd.DataFrame
    responses: pd.DataFrame
    histories: pd.DataFrame
    catalogs: pd.DataFrame

    def core(self) -> AuditTables:
        """The tables without trend-planting and claim-verification probes.

        Those probes exist to test one thing each (a planted trend, a claimed knob); the
        audit's other metrics describe the vendor's ordinary behaviour and leave them out.
        """
        keep = np.ones(len(self.probes), dtype=bool)
        for column in ("phase", "check_id"):
            if column in self.probes.columns:
                keep &= self.probes[column].isna().to_numpy(dtype=bool)
        if keep.all():
            return self
        codes = self.codes
        flags = codes.probe_flags(keep)
        responses = codes.response_rows(flags)
        histories = codes.history_rows(flags)
        core = AuditTables(
            probes=self.probes[keep].reset_index(drop=True),
            responses=self.responses[responses].reset_index(drop=True),
            histories=self.histories[histories].reset_index(drop=True),
            catalogs=self.catalogs,
        )
        # The core tables keep the full tables' dictionary of probe ids (a superset).
        core.__dict__["codes"] = TableCodes(
            core,
            probe_ids=codes.probe_ids,
            probe=codes.probe[keep],
            response_probe=codes.response_probe[responses],
            history_probe=codes.history_probe[histories],
        )
        return core

    @cached_property
    def codes(self) -> TableCodes:
        """Integer codes of the tables' probe ids, built once on first use (`TableCodes`)."""
        return TableCodes(self)

    @property
    def segment_columns(self) -> list[str]:
        """The ``segment.<attribute>`` columns of the probes table, in order."""
        return [c for c in self.probes.columns if c.startswith(SEGMENT_PREFIX)]


def stack_catalogs(catalogs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack per-shop catalogs into one table with ``shop_id`` and ``item_key``."""
    parts = []
    for shop_id in sorted(catalogs):
        part = catalogs[shop_id].copy()
        part.insert(0, "shop_id", shop_id)
        parts.append(part)
    stacked = pd.concat(parts, ignore_index=True)
    stacked["shop_id"] = stacked["shop_id"].astype("string")
    stacked["item_key"] = stacked["canonical_id"].fillna(
        stacked["shop_id"] + ":" + stacked["item_id"]
    )
    return stacked


def _attach_items(long: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Join item attributes by (shop_id, item_id); unknown items keep NA attributes."""
    lookup = catalog[["shop_id", "item_id", *ITEM_COLUMNS]].assign(in_catalog=True)
    out = long.merge(lookup, on=["shop_id", "item_id"], how="left", sort=False)
    out["in_catalog"] = out["in_catalog"].fillna(False).astype(bool)
    out["item_key"] = out["item_key"].fillna(out["shop_id"] + ":" + out["item_id"])
    return out


def _ranked(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per answered item, with its score and explanation where the vendor gave one."""
    columns = ["probe_id", "items"]
    frame = answers[columns].copy()
    for extra in ("scores", "explanations"):
        if extra in answers.columns:
            # Align with items; a missing or short list leaves the rest empty.
            frame[extra] = [
                (list(values) if isinstance(values, list) else [])[: len(items)]
                + [None] * (len(items) - (len(values) if isinstance(values, list) else 0))
                for items, values in zip(answers["items"], answers[extra], strict=True)
            ]
            columns.append(extra)
    ranked = frame.explode(columns[1:], ignore_index=True)
    ranked = ranked.dropna(subset=["items"]).rename(
        columns={"items": "item_id", "scores": "score", "explanations": "explanation"}
    )
    if "score" in ranked.columns:
        ranked["score"] = pd.to_numeric(ranked["score"], errors="coerce").astype("float64")
    if "explanation" in ranked.columns:
        ranked["explanation"] = ranked["explanation"].astype("string")
    return ranked


def mark_signatures(
    catalog: pd.DataFrame, signatures: Mapping[str, Sequence[str]] | None
) -> pd.DataFrame:
    """``catalog`` with a ``signature`` column: the item id or category is in its shop's list."""
    names = pd.DataFrame(
        [(shop, str(name)) for shop, values in (signatures or {}).items() for name in values],
        columns=["shop_id", "name"],
        dtype="string",
    ).drop_duplicates()
    marked = pd.Series(False, index=catalog.index)
    for column in ("category", "item_id"):
        found = catalog[["shop_id", column]].merge(
            names, left_on=["shop_id", column], right_on=["shop_id", "name"], how="left"
        )["name"]
        marked |= found.notna().to_numpy()
    return catalog.assign(signature=marked.to_numpy(dtype=bool))


def build_tables(
    probes: pd.DataFrame,
    answers: pd.DataFrame,
    catalogs: Mapping[str, pd.DataFrame],
    *,
    signatures: Mapping[str, Sequence[str]] | None = None,
) -> AuditTables:
    """Join the probe plan, the vendor's answers and the catalogs into `AuditTables`.

    ``answers`` has one row per answered probe: ``probe_id`` and ``items`` (list of item ids,
    best first), optionally ``scores`` and ``explanations`` (lists aligned with ``items``, or
    null). Probes without a row are kept in ``probes`` with ``answered = False``.
    ``signatures`` gives each shop's signature categories and item ids (see ``Shops``).
    """
    catalog = mark_signatures(stack_catalogs(catalogs), signatures)
    plan = probes.copy()
    plan["answered"] = plan["probe_id"].isin(answers["probe_id"])
    probe_columns = [c for c in plan.columns if c not in ("history", "answered")]

    ranked = _ranked(answers)
    ranked["item_id"] = ranked["item_id"].astype("string")
    # A vendor's duplicates and items past k are kept in evidence, not counted as exposure.
    ranked = ranked.drop_duplicates(["probe_id", "item_id"], ignore_index=True)
    ranked["rank"] = ranked.groupby("probe_id", sort=False).cumcount() + 1
    responses = plan[probe_columns].merge(ranked, on="probe_id", how="inner", sort=False)
    responses = responses[responses["rank"] <= responses["k"]].reset_index(drop=True)
    responses = _attach_items(responses, catalog)

    hist = plan[["probe_id", "shop_id", "history"]].explode("history", ignore_index=True)
    hist = hist.dropna(subset=["history"]).rename(columns={"history": "item_id"})
    hist["item_id"] = hist["item_id"].astype("string")
    hist["position"] = hist.groupby("probe_id", sort=False).cumcount()
    histories = _attach_items(hist, catalog).drop(columns="in_catalog")
    return AuditTables(probes=plan, responses=responses, histories=histories, catalogs=catalog)
