"""Integer codes of the tables' string columns, built once per tables, and the Arrow helpers.

Every metric compares ids (shops, items, customers) as small integers: `TableCodes` encodes each
column once per `AuditTables` and shares the codes, and derivations built from them, between
metrics.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from auditkit.tables._tables import AuditTables

T = TypeVar("T")


def arrow_strings(
    values: pd.Series | pd.Index | np.ndarray | pa.Array | pa.ChunkedArray,
) -> pa.ChunkedArray | pa.Array:
    """``values`` as Arrow strings, without a copy when they already are Arrow strings."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if isinstance(values, pd.Series | pd.Index) and not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")  # other columns are coded by their string form
    array = values.array if isinstance(values, pd.Series | pd.Index) else values
    native = getattr(array, "_pa_array", None)
    if native is not None and (
        pa.types.is_string(native.type) or pa.types.is_large_string(native.type)
    ):
        return native  # pandas' own Arrow strings (``large_string`` in pandas 3)
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def lookup_codes(
    values: pd.Series | pd.Index | np.ndarray | pa.Array | pa.ChunkedArray,
    dictionary: np.ndarray | pa.Array,
) -> np.ndarray:
    """Position of each of ``values`` in ``dictionary`` (distinct strings); -1 for NA or absent.

    A hash lookup inside Arrow: no Python string is made per value; a ``Categorical`` looks up
    its categories only.
    """
    if isinstance(values, pd.Series | pd.Index) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.codes if isinstance(values, pd.Index) else values.cat.codes)
        found = lookup_codes(pd.Series(values.dtype.categories, copy=False), dictionary)
        return np.append(found, np.int32(-1))[codes]  # code -1 (NA) picks -1
    strings = arrow_strings(values)
    value_set = (
        dictionary.cast(strings.type)
        if isinstance(dictionary, pa.Array)
        else pa.array(dictionary, type=strings.type)
    )
    found = pc.index_in(strings, value_set=value_set)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)


TABLES: tuple[str, ...] = ("probes", "responses", "histories", "catalogs")
# The columns a list or history row shares with its catalog row: the join's keys and the id
# columns the join copies (see ``catalog_row``).
_CATALOG_COPIED: frozenset[str] = frozenset({"shop_id", "item_id", "item_key", "category"})


def encode_strings(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """``values`` as row indices (int32, -1 for NA) into their distinct strings (Arrow).

    A ``Categorical`` gives its own codes (only the categories some row uses are kept);
    other values are dictionary-encoded in one hash pass, distinct strings in order of first
    appearance.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _categorical_codes(values)
    encoded = pc.dictionary_encode(arrow_strings(values))
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    if not chunks:
        return np.empty(0, dtype=np.int32), pa.array([], type=pa.large_string())
    # The chunks of one encoding share its dictionary (the longest holds every value).
    distinct = max((chunk.dictionary for chunk in chunks), key=len).cast(pa.large_string())
    indices = pa.chunked_array([chunk.indices for chunk in chunks], type=chunks[0].indices.type)
    return indices.fill_null(-1).to_numpy().astype(np.int32, copy=False), distinct


def _categorical_codes(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """A ``Categorical``'s codes and categories, narrowed to the categories its rows use."""
    codes = values.cat.codes.to_numpy().astype(np.int32)
    categories = values.cat.categories
    known = codes >= 0
    used = np.bincount(codes[known], minlength=len(categories)) > 0
    if not used.all():
        place = (np.cumsum(used) - 1).astype(np.int32)
        codes[known] = place[codes[known]]
        categories = categories[used]
    strings = arrow_strings(pd.Series(categories, copy=False))
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    return codes, strings.cast(pa.large_string())


def shared_dictionary(parts: Sequence[pa.Array]) -> tuple[pa.Array, list[np.ndarray]]:
    """The sorted union of the distinct strings ``parts``, and each part's places in it.

    One dense rank over the parts together (a sort, no hashing): a value's rank is its place.
    """
    parts = [part.cast(pa.large_string()) for part in parts]
    joined = pa.chunked_array(parts, type=pa.large_string()).combine_chunks()
    if len(joined) == 0:
        return joined, [np.empty(0, dtype=np.int32) for _ in parts]
    rank = pc.rank(joined, sort_keys="ascending", tiebreaker="dense").to_numpy()
    place = (rank - 1).astype(np.int32)
    first = np.empty(int(place.max()) + 1, dtype=np.int64)
    first[place] = np.arange(place.size)
    bounds = np.cumsum([0, *(len(part) for part in parts)])
    return joined.take(pa.array(first)), [place[lo:hi] for lo, hi in itertools.pairwise(bounds)]


def _extents(probe: np.ndarray, n_probes: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Per probe code (padded for -1), the first row and row count of its adjacent rows.

    None when some probe's rows are not adjacent.
    """
    starts = run_starts(probe)
    run_probe = probe[starts]
    if (np.bincount(run_probe[run_probe >= 0], minlength=n_probes) > 1).any():
        return None
    begin = np.zeros(n_probes + 1, dtype=np.int64)
    length = np.zeros(n_probes + 1, dtype=np.int64)
    begin[run_probe] = starts
    length[run_probe] = np.diff(np.append(starts, probe.size))
    begin[-1] = length[-1] = 0  # code -1 (NA or unplanned) has no extent
    return begin, length


class TableCodes:
    """Integer codes of the tables' id columns, aligned with their rows; built once, shared.

    ``dictionary(column)`` holds the distinct values of ``column`` across the tables, sorted,
    and ``of(table, column)`` the position of each row's value in it (int32; -1 where the
    value is NA or absent), so sorting by code is sorting by value and codes from different
    tables compare directly (a shop code in ``responses`` is the same shop in ``catalogs``).
    Probe ids are the exception: their dictionary holds the planned probes (the ``probes``
    table) only, so a response of an unplanned probe gets -1. Every array is computed on first
    use and shared by every metric that reads the tables (which are never modified).
    """

    def __init__(
        self,
        tables: AuditTables,
        *,
        parent: TableCodes | None = None,
        rows: Mapping[str, np.ndarray | slice] | None = None,
    ) -> None:
        self._tables = tables
        # Core tables select rows of their parent's tables and reuse the parent's codes.
        self._parent = parent
        self._rows = dict(rows or {})
        self._encoded: dict[tuple[str, str], tuple[np.ndarray, pa.Array]] = {}
        self._dictionaries: dict[str, pa.Array] = {}
        self._objects: dict[str, np.ndarray] = {}
        self._places: dict[tuple[str, str], np.ndarray] = {}
        self._shared: dict[str, object] = {}
        self._codes: dict[tuple[str, str], np.ndarray] = {}
        self._extents: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def catalog_rows(self, table: str) -> np.ndarray:
        """``table``'s ``catalog_row`` column (``"responses"`` or ``"histories"``), checked.

        Raises `ValueError` unless every value is -1 or a row of ``catalogs``.
        """
        key = (table, "catalog_row")
        found = self._codes.get(key)
        if found is None:
            if self._parent is not None:
                found = self._parent.catalog_rows(table)[self._rows.get(table, slice(None))]
            else:
                found = getattr(self._tables, table)["catalog_row"].to_numpy(dtype=np.int64)
                n_rows = len(self._tables.catalogs)
                if found.size and (int(found.min()) < -1 or int(found.max()) >= n_rows):
                    bad = int(found.min()) if int(found.min()) < -1 else int(found.max())
                    raise ValueError(
                        f"tables.{table}.catalog_row must be -1 or a row of tables.catalogs "
                        f"(0 to {n_rows - 1}); got {bad}"
                    )
            self._codes[key] = found
        return found

    def _copied(self, table: str, column: str) -> bool:
        """Whether ``table``'s in-catalog rows hold their catalog row's ``column`` value.

        True for the list and history rows' join keys and the item columns the join copies
        (`_CATALOG_COPIED`): their codes come from the catalogs' codes by ``catalog_row``,
        and only the rows outside the catalogs are encoded.
        """
        frame = getattr(self._tables, table)
        return (
            table in ("responses", "histories")
            and column in _CATALOG_COPIED
            and "catalog_row" in frame.columns
            and column in self._tables.catalogs.columns
        )

    def _local(self, table: str, column: str) -> tuple[np.ndarray, pa.Array]:
        """``column`` of ``table`` encoded on its own (see `encode_strings`), built once.

        For a column copied from the catalogs (`_copied`), only the rows outside them.
        """
        key = (table, column)
        found = self._encoded.get(key)
        if found is None:
            values = getattr(self._tables, table)[column]
            if self._copied(table, column):
                values = values[self.catalog_rows(table) < 0]
            found = encode_strings(values)
            self._encoded[key] = found
        return found

    def _sorted(self, column: str) -> pa.Array:
        """The shared dictionary of ``column`` as an Arrow array."""
        found = self._dictionaries.get(column)
        if found is None:
            names = ("probes",) if column == "probe_id" else TABLES
            present = [n for n in names if column in getattr(self._tables, n).columns]
            found, places = shared_dictionary([self._local(n, column)[1] for n in present])
            self._dictionaries[column] = found
            self._places.update({(n, column): p for n, p in zip(present, places, strict=True)})
        return found

    def _place(self, table: str, column: str) -> np.ndarray:
        """Each distinct value of ``table``'s ``column``: its place in the shared dictionary."""
        dictionary = self._sorted(column)
        found = self._places.get((table, column))
        if found is None:  # probe ids of a table other than ``probes``: a lookup (-1 absent)
            distinct = self._local(table, column)[1]
            found = pc.index_in(distinct, value_set=dictionary).fill_null(-1).to_numpy()
            found = found.astype(np.int32)
            self._places[(table, column)] = found
        return found

    def dictionary(self, column: str) -> np.ndarray:
        """The sorted distinct non-NA values of ``column`` across the tables (object of str)."""
        if self._parent is not None:
            return self._parent.dictionary(column)
        found = self._objects.get(column)
        if found is None:
            found = np.asarray(self._sorted(column).to_numpy(zero_copy_only=False), dtype=object)
            self._objects[column] = found
        return found

    def of(self, table: str, column: str) -> np.ndarray:
        """Per row of ``table`` (``"probes"``, ``"responses"``…): the code of its ``column``."""
        key = (table, column)
        found = self._codes.get(key)
        if found is None:
            if self._parent is not None:
                found = self._parent.of(table, column)[self._rows.get(table, slice(None))]
            else:
                indices = self._local(table, column)[0]
                # Index -1 (NA) picks the appended -1.
                local = np.append(self._place(table, column), np.int32(-1))[indices]
                if self._copied(table, column):
                    rows = self.catalog_rows(table)
                    found = np.append(self.of("catalogs", column), np.int32(-1))[rows]
                    found[rows < 0] = local
                else:
                    found = local
            self._codes[key] = found
        return found

    def shared(self, key: str, build: Callable[[], T]) -> T:
        """What ``build()`` derives from these tables, built once and shared under ``key``.

        Several metrics start from the same derivation (the matched cross-shop pairs, their
        overlaps); the tables never change, so the first metric's result serves the rest.
        """
        if key not in self._shared:
            self._shared[key] = build()
        return cast(T, self._shared[key])

    def drop_shared(self) -> None:
        """Forget every `shared` derivation (the codes stay): to time one metric on its own."""
        self._shared.clear()

    @property
    def probe_ids(self) -> np.ndarray:
        """The distinct non-NA probe ids of ``probes``, sorted (object array of str)."""
        return self.dictionary("probe_id")

    @property
    def probe(self) -> np.ndarray:
        """Per row of ``probes``: the code of its probe id (-1 for NA)."""
        return self.of("probes", "probe_id")

    @property
    def response_probe(self) -> np.ndarray:
        """Per row of ``responses``: the code of its probe id (-1 for NA or unplanned)."""
        return self.of("responses", "probe_id")

    @property
    def history_probe(self) -> np.ndarray:
        """Per row of ``histories``: the code of its probe id (-1 for NA or unplanned)."""
        return self.of("histories", "probe_id")

    def per_probe(self, column: str) -> np.ndarray:
        """Per probe code, the code of its ``column`` in ``probes`` (-1 for none), padded.

        Index it with a probe code (-1, the padding, gives -1): a response row's shop is
        ``per_probe("shop_id")[response_probe]``.
        """
        key = ("per_probe", column)
        found = self._codes.get(key)
        if found is None:
            probe = self.probe
            known = probe >= 0
            found = np.full(len(self.probe_ids) + 1, -1, dtype=np.int32)
            found[probe[known]] = self.of("probes", column)[known]
            self._codes[key] = found
        return found

    def probe_flags(self, rows: np.ndarray) -> np.ndarray:
        """Per probe code: whether some row of ``probes`` selected by the mask ``rows`` has it."""
        flags = np.zeros(len(self.probe_ids) + 1, dtype=bool)
        flags[self.probe[rows]] = True
        flags[-1] = False  # code -1 (NA) selects nothing
        return flags

    def response_rows(self, flags: np.ndarray) -> np.ndarray:
        """Mask of the ``responses`` rows whose probe code is flagged (see `probe_flags`)."""
        return flags[self.response_probe]

    def response_positions(self, probes: np.ndarray) -> np.ndarray:
        """Positions, in row order, of the ``responses`` rows of the probe codes ``probes``.

        For a few probes among many: when every probe's rows are adjacent (as `build_tables`
        writes them), each probe's extent is looked up instead of testing every row.
        """
        extents = self._response_extents()
        probes = distinct(probes[probes >= 0])
        if extents is None:
            flags = np.zeros(len(self.probe_ids) + 1, dtype=bool)
            flags[probes] = True
            return np.flatnonzero(self.response_rows(flags))
        begin, length = extents
        probes = probes[np.argsort(begin[probes], kind="stable")]
        start, size = begin[probes], length[probes]
        # Each extent's positions: its start plus 0..size-1, for all extents at once.
        offset = np.repeat(start - (np.cumsum(size) - size), size)
        return offset + np.arange(int(size.sum()), dtype=np.int64)

    def _response_extents(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per probe code, where its ``responses`` rows begin and how many there are.

        None when some probe's rows are not adjacent. Built once.
        """
        if "responses" not in self._extents:
            self._extents["responses"] = _extents(self.response_probe, len(self.probe_ids))
        return self._extents["responses"]

    def history_rows(self, flags: np.ndarray) -> np.ndarray:
        """Mask of the ``histories`` rows whose probe code is flagged (see `probe_flags`)."""
        return flags[self.history_probe]


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array, as ``np.unique`` gives them, by a sort.

    Plain ``np.unique`` (numpy 2.3 on) collects the values in a hash table, which at millions
    of distinct codes is many times slower than sorting them (27 s against 1 s for the 5M
    (shop, item) codes of a regulator's catalogs on a two-core machine).
    """
    ordered = np.sort(np.asarray(values).ravel())
    keep = np.ones(ordered.size, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values of ``values`` (sorted, or grouped) begins."""
    first = np.ones(values.size, dtype=bool)
    first[1:] = values[1:] != values[:-1]
    return np.flatnonzero(first)
