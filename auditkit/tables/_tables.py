"""Evidence → the long tables every metric reads.

Tables (all pandas; every text column but free text is dictionary-coded, see `coded_tables`):

``probes``      one row per planned probe: ``probe_id, shop_id, persona_id, customer_id, match_id,
                pair_id (NA if unpaired), pair_attribute (NA if unpaired), repetition, k,
                history (list of item ids)``, one ``segment.<attribute>`` column per segment
                attribute, and ``answered`` (bool: the vendor gave a usable answer).
``responses``   one row per recommended item of an answered probe: the probe's columns above
                (without ``history``) plus ``rank`` (1-based), ``item_id``, ``item_key``,
                ``category``, ``price``, ``popularity``, ``in_catalog`` and ``catalog_row``.
``histories``   one row per history item: ``probe_id, shop_id, position, item_id, item_key,
                category, price, popularity, catalog_row``.
``catalogs``    every shop's catalog stacked, with ``shop_id``, ``item_key`` and ``signature``
                (bool: the item, or its category, is one the shop declared as its signature);
                ``trending`` (bool: its ``canonical_id`` is in the spec's trending list) only
                when the spec gives that list.

``item_key`` is what makes items comparable across shops: the ``canonical_id`` when the catalog
has one, else ``"<shop_id>:<item_id>"`` (a product only that shop sells).

``catalog_row`` (int64) is the position in ``catalogs`` of the item's row at its shop, -1 for an
item the shop does not list (``in_catalog`` is ``catalog_row >= 0``). It keeps the join that
`build_tables` does once: a metric that needs a shown item's catalog row (exposure over the
whole catalog, signature flags) reads it instead of joining again, and the codes of the columns
a row shares with its catalog row (``shop_id``, ``item_id``, ``item_key``, ``category``) are the
catalogs' codes gathered through it (`TableCodes`). Item ids are unique within a shop's catalog
(`catalogs.validate_catalog`), so each item has one row. Tables built by hand must keep both
promises: ``catalog_row`` points at the row, and that row holds the same values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from auditkit.catalogs import stack_catalogs
from auditkit.probes.design import SEGMENT_PREFIX
from auditkit.tables._codes import TableCodes, encode_strings, shared_dictionary

ITEM_COLUMNS: tuple[str, ...] = ("item_key", "category", "price", "popularity")
# Text written once per row (a vendor's explanation, a product's title): a dictionary of
# nearly as many values as rows saves nothing, so these stay strings.
FREE_TEXT: frozenset[str] = frozenset({"explanation", "title"})


def _prefix_or_mask(mask: np.ndarray) -> np.ndarray | slice:
    """``slice(0, m)`` when ``mask`` selects exactly its first ``m`` rows, else ``mask``."""
    m = int(mask.sum())
    return slice(0, m) if mask[:m].all() else mask


def _select(frame: pd.DataFrame, rows: np.ndarray | slice) -> pd.DataFrame:
    """The rows of ``frame``: a view of a prefix (no copy), else a filtered copy."""
    if isinstance(rows, slice):
        return frame.iloc[rows]
    return frame[rows].reset_index(drop=True)


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
        `build_tables` puts the core probes first, so the core tables are views of a prefix
        of each table (nothing is copied); other tables are filtered.
        """
        keep = np.ones(len(self.probes), dtype=bool)
        for column in ("phase", "check_id"):
            if column in self.probes.columns:
                keep &= self.probes[column].isna().to_numpy(dtype=bool)
        if keep.all():
            return self
        codes = self.codes
        flags = codes.probe_flags(keep)
        rows = {
            "probes": _prefix_or_mask(keep),
            "responses": _prefix_or_mask(codes.response_rows(flags)),
            "histories": _prefix_or_mask(codes.history_rows(flags)),
        }
        core = AuditTables(
            probes=_select(self.probes, rows["probes"]),
            responses=_select(self.responses, rows["responses"]),
            histories=_select(self.histories, rows["histories"]),
            catalogs=self.catalogs,
        )
        # The core tables keep the full tables' dictionaries (supersets) and slice their codes.
        core.__dict__["codes"] = TableCodes(core, parent=codes, rows=rows)
        return core

    @cached_property
    def codes(self) -> TableCodes:
        """Integer codes of the tables' id columns, built once on first use (`TableCodes`)."""
        return TableCodes(self)

    @property
    def segment_columns(self) -> list[str]:
        """The ``segment.<attribute>`` columns of the probes table, in order."""
        return [c for c in self.probes.columns if c.startswith(SEGMENT_PREFIX)]


def _attach_items(long: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Join item attributes and catalog row by (shop_id, item_id); unknown items get NA, -1."""
    lookup = catalog[["shop_id", "item_id", *ITEM_COLUMNS]].assign(
        catalog_row=np.arange(len(catalog), dtype=np.int64)
    )
    out = long.merge(lookup, on=["shop_id", "item_id"], how="left", sort=False)
    out["catalog_row"] = out["catalog_row"].fillna(-1).astype(np.int64)
    out["in_catalog"] = out["catalog_row"].to_numpy() >= 0
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


def mark_trending(catalog: pd.DataFrame, trending: Sequence[str] | None) -> pd.DataFrame:
    """``catalog`` with a ``trending`` column (its ``canonical_id`` is listed); as is for None."""
    if trending is None:
        return catalog
    listed = catalog["canonical_id"].isin([str(name) for name in trending])
    return catalog.assign(trending=listed.to_numpy(dtype=bool))


def _is_text(column: pd.Series) -> bool:
    """Whether ``column`` holds strings as a pandas string dtype (not lists, not codes)."""
    return isinstance(column.dtype, pd.StringDtype)


def coded_tables(tables: AuditTables) -> AuditTables:
    """``tables`` with every text column but free text stored as dictionary codes.

    Ids and attributes (probe, shop, item, canonical and customer ids, categories, personas,
    segment attributes) repeat over millions of list rows: as pandas ``Categorical`` each row
    holds a small integer code instead of a string, which keeps a regulator-size audit's
    tables in memory. A column has one dictionary across the four tables, its distinct values
    sorted, so its codes compare between tables, sorting by code is sorting by value, and
    every grouping, join and label reads the same values as the strings did.
    """
    frames = {name: getattr(tables, name) for name in ("probes", "responses", "histories")}
    frames["catalogs"] = tables.catalogs
    names: dict[str, list[str]] = {}
    for table, frame in frames.items():
        for column in frame.columns:
            if column not in FREE_TEXT and _is_text(frame[column]):
                names.setdefault(column, []).append(table)
    columns: dict[str, dict[str, pd.Categorical]] = {table: {} for table in frames}
    for column, present in names.items():
        encoded = [encode_strings(frames[table][column]) for table in present]
        dictionary, places = shared_dictionary([distinct for _, distinct in encoded])
        dtype = pd.CategoricalDtype(pd.Index(dictionary.to_pandas(), dtype="string"))
        for table, (indices, _), place in zip(present, encoded, places, strict=True):
            codes = np.append(place, np.int32(-1))[indices]  # index -1 (NA) picks -1
            columns[table][column] = pd.Categorical.from_codes(codes, dtype=dtype)
    coded = {
        table: frame.assign(**columns[table]) if columns[table] else frame
        for table, frame in frames.items()
    }
    return AuditTables(**coded)


def build_tables(
    probes: pd.DataFrame,
    answers: pd.DataFrame,
    catalogs: Mapping[str, pd.DataFrame],
    *,
    signatures: Mapping[str, Sequence[str]] | None = None,
    trending: Sequence[str] | None = None,
) -> AuditTables:
    """Join the probe plan, the vendor's answers and the catalogs into `AuditTables`.

    ``answers`` has one row per answered probe: ``probe_id`` and ``items`` (list of item ids,
    best first), optionally ``scores`` and ``explanations`` (lists aligned with ``items``, or
    null). Probes without a row are kept in ``probes`` with ``answered = False``. Text
    columns come out dictionary-coded (`coded_tables`).
    ``signatures`` gives each shop's signature categories and item ids (see ``Shops``);
    ``trending`` the spec's trending canonical ids, if it names them.
    """
    catalog = mark_trending(mark_signatures(stack_catalogs(catalogs), signatures), trending)
    # Core probes first (in plan order), then the rest: every table's core rows are a prefix,
    # which `AuditTables.core` takes without a copy.
    special = np.zeros(len(probes), dtype=bool)
    for column in ("phase", "check_id"):
        if column in probes.columns:
            special |= probes[column].notna().to_numpy(dtype=bool)
    plan = probes.iloc[np.argsort(special, kind="stable")].reset_index(drop=True)
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
    return coded_tables(
        AuditTables(probes=plan, responses=responses, histories=histories, catalogs=catalog)
    )
