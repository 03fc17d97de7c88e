"""The integer view of `AuditTables`: codes that round-trip to the ids, and core() by mask."""

import numpy as np
import pandas as pd
import pytest
from segment_world import audit_tables, demo_spec, world_of
from tables import random_inputs, shuffle_rows

from auditkit.judging import judge_metric
from auditkit.metrics import METRICS
from auditkit.tables import SEGMENT_PREFIX, AuditTables, TableCodes, coded_tables, lookup_codes
from auditkit.tables._codes import TABLES
from auditkit.tables._tables import FREE_TEXT


def _tables() -> AuditTables:
    probes = pd.DataFrame(
        {
            "probe_id": pd.array(["q3", "q1", "t1", "q2", "c1", None], dtype="string"),
            "phase": pd.array([None, None, "after", None, None, None], dtype="string"),
            "check_id": pd.array([None, None, None, None, "knob", None], dtype="string"),
        }
    )
    responses = pd.DataFrame(
        {
            "probe_id": pd.array(["q1", "q3", "t1", "zz", None, "q2", "c1", "q1"], dtype="string"),
            "item_key": pd.array(list("abcdefgh"), dtype="string"),
        }
    )
    histories = pd.DataFrame(
        {"probe_id": pd.array(["t1", "q2", "q9", "q3"], dtype="string"), "position": range(4)}
    )
    return AuditTables(probes, responses, histories, pd.DataFrame({"shop_id": ["s"]}))


def test_codes_round_trip_to_the_probe_ids():
    tables = _tables()
    codes = tables.codes
    assert codes is tables.codes  # built once
    assert list(codes.probe_ids) == ["c1", "q1", "q2", "q3", "t1"]
    for frame, found in (
        (tables.probes, codes.probe),
        (tables.responses, codes.response_probe),
        (tables.histories, codes.history_probe),
    ):
        assert found.dtype == np.int32
        ids = frame["probe_id"].astype(object).where(frame["probe_id"].notna(), None)
        known = set(codes.probe_ids)
        for value, code in zip(ids, found, strict=True):
            if value is None or value not in known:
                assert code == -1
            else:
                assert codes.probe_ids[code] == value


def test_core_equals_filtering_by_probe_id_and_keeps_its_codes_aligned():
    tables = _tables()
    core = tables.core()
    keep = tables.probes["phase"].isna() & tables.probes["check_id"].isna()
    ids = tables.probes.loc[keep, "probe_id"].dropna()
    expected = {
        "probes": tables.probes[keep].reset_index(drop=True),
        "responses": tables.responses[tables.responses["probe_id"].isin(ids)],
        "histories": tables.histories[tables.histories["probe_id"].isin(ids)],
    }
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(getattr(core, name), frame.reset_index(drop=True))
    assert list(core.responses["item_key"]) == ["a", "b", "f", "h"]
    fresh = TableCodes(core)
    # Inherited codes use the full tables' dictionary; they decode to the same ids.
    for name in ("probe", "response_probe", "history_probe"):
        inherited = getattr(core.codes, name)
        rebuilt = getattr(fresh, name)
        assert np.array_equal(inherited < 0, rebuilt < 0)
        decoded = core.codes.probe_ids[inherited[inherited >= 0]]
        assert list(decoded) == list(fresh.probe_ids[rebuilt[rebuilt >= 0]])


def test_probe_flags_select_rows_and_never_the_missing_code():
    tables = _tables()
    codes = tables.codes
    flags = codes.probe_flags(tables.probes["probe_id"].isna().to_numpy() | (codes.probe == 1))
    assert list(tables.responses.loc[codes.response_rows(flags), "item_key"]) == ["a", "h"]
    assert not codes.history_rows(flags).any()


@pytest.mark.parametrize("dtype", ["string", object, "str"])
def test_lookup_codes_reads_any_string_column(dtype):
    values = pd.Series(["b", None, "a", "x"], dtype=dtype)
    assert list(lookup_codes(values, np.array(["a", "b"], dtype=object))) == [1, -1, 0, -1]


def test_dictionaries_are_shared_across_tables_and_sorted():
    probes = pd.DataFrame({"probe_id": ["p1", "p2"], "shop_id": ["s2", "s1"]})
    responses = pd.DataFrame({"probe_id": ["p1", "p2", "p2"], "shop_id": ["s2", "s1", None]})
    catalogs = pd.DataFrame({"shop_id": ["s3", "s1"], "category": [1, 2]})
    tables = AuditTables(probes, responses, pd.DataFrame({"probe_id": []}), catalogs)
    codes = tables.codes
    assert list(codes.dictionary("shop_id")) == ["s1", "s2", "s3"]
    assert list(codes.of("probes", "shop_id")) == [1, 0]
    assert list(codes.of("responses", "shop_id")) == [1, 0, -1]
    assert list(codes.of("catalogs", "shop_id")) == [2, 0]
    # A column that is not of strings is coded by its string form.
    assert list(codes.dictionary("category")) == ["1", "2"]
    assert codes.of("catalogs", "category").dtype == np.int32


def test_core_is_a_view_of_a_prefix_when_the_core_probes_come_first():
    probes = pd.DataFrame(
        {
            "probe_id": pd.array(["a", "b", "t"], dtype="string"),
            "shop_id": pd.array(["s1", "s2", "s1"], dtype="string"),
            "phase": pd.array([None, None, "after"], dtype="string"),
        }
    )
    responses = pd.DataFrame(
        {
            "probe_id": pd.array(["a", "a", "b", "t"], dtype="string"),
            "item_key": pd.array(["x", "y", "x", "z"], dtype="string"),
            "rank": np.array([1, 2, 1, 1]),
        }
    )
    tables = AuditTables(probes, responses, responses.iloc[:0], pd.DataFrame({"shop_id": ["s1"]}))
    core = tables.core()
    # Nothing copied: the core rank column is the full one's memory.
    assert np.shares_memory(core.responses["rank"].to_numpy(), tables.responses["rank"].to_numpy())
    assert list(core.responses["item_key"]) == ["x", "y", "x"]
    assert list(core.codes.of("responses", "item_key")) == [0, 1, 0]
    assert list(core.codes.dictionary("item_key")) == ["x", "y", "z"]
    assert list(core.codes.of("probes", "shop_id")) == [0, 1]


def test_shared_derivations_are_built_once_until_dropped():
    tables = _tables()
    calls = []

    def build() -> list[int]:
        calls.append(1)
        return [len(calls)]

    first = tables.codes.shared("x", build)
    assert tables.codes.shared("x", build) is first and len(calls) == 1
    tables.codes.drop_shared()
    assert tables.codes.shared("x", build) == [2]


def test_per_probe_maps_a_probe_code_to_its_column_code():
    tables = _tables()
    codes = tables.codes
    phase = codes.per_probe("phase")
    assert phase.dtype == np.int32 and phase.size == len(codes.probe_ids) + 1
    names = codes.dictionary("phase")
    by_id = {c: (None if phase[i] < 0 else names[phase[i]]) for i, c in enumerate(codes.probe_ids)}
    assert by_id == {"c1": None, "q1": None, "q2": None, "q3": None, "t1": "after"}
    assert phase[-1] == -1  # code -1 (no probe) reads the padding
    assert codes.per_probe("phase") is phase  # kept with the codes


@pytest.mark.parametrize("adjacent", [True, False])
def test_response_positions_equal_the_mask_of_their_probes(adjacent):
    rng = np.random.default_rng(2)
    ids = [f"p{i:02d}" for i in range(30)]
    listed = np.repeat(np.arange(30), rng.integers(0, 4, size=30))
    if not adjacent:
        listed = rng.permutation(listed)
    names = np.append(np.array(ids, dtype=object)[listed], ["zz", None])  # unplanned, NA
    responses = pd.DataFrame({"probe_id": pd.array(names, dtype="string")})
    probes = pd.DataFrame({"probe_id": pd.array(ids, dtype="string")})
    codes = AuditTables(probes, responses, pd.DataFrame(), pd.DataFrame()).codes
    for wanted in ([3, 17, 17, 5], [], list(range(30)), [-1, 8]):
        probes_wanted = np.array(wanted, dtype=np.int32)
        flags = np.zeros(31, dtype=bool)
        flags[probes_wanted[probes_wanted >= 0]] = True
        expected = np.flatnonzero(codes.response_rows(flags))
        np.testing.assert_array_equal(codes.response_positions(probes_wanted), expected)
    assert (codes._response_extents() is not None) is adjacent


@pytest.mark.parametrize("seed", range(3))
def test_codes_read_through_catalog_rows_equal_encoding_every_row(seed):
    # Columns the join copies from the catalogs are coded by gathering the catalogs' codes;
    # without ``catalog_row`` every row is encoded. Both must decode to the rows' values, on
    # tables with unknown items and in any row order.
    inputs = random_inputs(seed)
    for tables in (inputs.tables(), shuffle_rows(inputs.tables(), seed)):
        assert (tables.responses["catalog_row"] < 0).any()  # some items are not listed
        plain = AuditTables(
            tables.probes,
            tables.responses.drop(columns="catalog_row"),
            tables.histories.drop(columns="catalog_row"),
            tables.catalogs,
        )
        for table in ("responses", "histories"):
            for column in ("shop_id", "item_id", "item_key", "category"):
                gathered = tables.codes.of(table, column)
                encoded = plain.codes.of(table, column)
                names = tables.codes.dictionary(column)
                assert list(names) == list(plain.codes.dictionary(column))
                np.testing.assert_array_equal(gathered, encoded)
                values = getattr(tables, table)[column]
                decoded = [None if c < 0 else names[c] for c in gathered]
                assert decoded == [None if pd.isna(v) else v for v in values]
        core = tables.core()
        np.testing.assert_array_equal(
            core.codes.of("responses", "item_key"), TableCodes(core).of("responses", "item_key")
        )


def test_a_catalog_row_past_the_catalogs_is_a_clear_error():
    tables = random_inputs(0).tables()
    rows = tables.responses["catalog_row"].to_numpy().copy()
    rows[3] = len(tables.catalogs)
    broken = AuditTables(
        tables.probes, tables.responses.assign(catalog_row=rows), tables.histories, tables.catalogs
    )
    with pytest.raises(ValueError, match=r"tables.responses.catalog_row must be -1 or a row"):
        broken.codes.of("responses", "item_key")


def test_distinct_is_numpys_unique():
    from auditkit.tables import distinct

    rng = np.random.default_rng(0)
    for values in (rng.integers(-5, 50, 1000), np.empty(0, dtype=np.int32), np.array([7])):
        found = distinct(values)
        np.testing.assert_array_equal(found, np.unique(values))
        assert found.dtype == values.dtype


def _as_strings(tables: AuditTables) -> AuditTables:
    """``tables`` with every dictionary-coded column turned back into strings."""

    def strings(frame: pd.DataFrame) -> pd.DataFrame:
        coded = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
        return frame.assign(**{c: frame[c].astype("string") for c in coded})

    return AuditTables(*(strings(getattr(tables, n)) for n in TABLES))


@pytest.fixture(scope="module")
def demo_tables() -> AuditTables:
    spec = demo_spec(5, customers=6)
    return audit_tables(spec, world_of(spec))


def test_build_tables_codes_every_text_column_but_free_text_with_one_dictionary(demo_tables):
    coded = {}
    for name in TABLES:
        frame = getattr(demo_tables, name)
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.CategoricalDtype):
                coded.setdefault(column, []).append(frame[column].dtype)
            else:
                assert not isinstance(frame[column].dtype, pd.StringDtype) or column in FREE_TEXT
    for column in ("probe_id", "shop_id", "item_id", "item_key", "category", "persona_id"):
        assert column in coded
    assert any(column.startswith(SEGMENT_PREFIX) for column in coded)
    for column, dtypes in coded.items():
        assert all(dtype == dtypes[0] for dtype in dtypes), column  # one dictionary
        categories = list(dtypes[0].categories)
        assert categories == sorted(categories)
        assert codes_of(demo_tables, column) == set(categories)  # only values some row holds


def codes_of(tables: AuditTables, column: str) -> set[str]:
    """The distinct non-NA values of ``column`` over the tables, as strings."""
    found: set[str] = set()
    for name in TABLES:
        frame = getattr(tables, name)
        if column in frame.columns:
            found |= set(frame[column].dropna().astype(str))
    return found


def test_coded_tables_hold_the_same_values_as_the_strings(demo_tables):
    strings = _as_strings(demo_tables)
    for name in TABLES:
        pd.testing.assert_frame_equal(
            getattr(strings, name), getattr(_as_strings(coded_tables(strings)), name)
        )
    codes, plain = demo_tables.codes, strings.codes
    for column in ("probe_id", "shop_id", "item_key", "category"):
        assert list(codes.dictionary(column)) == list(plain.dictionary(column))
        for name in ("responses", "histories"):
            assert np.array_equal(codes.of(name, column), plain.of(name, column))


@pytest.mark.parametrize("name", list(METRICS))
def test_every_metric_is_the_same_on_codes_and_on_strings(demo_tables, name):
    options = {"n_resamples": 50, "seed": 3}
    coded = judge_metric(name, demo_tables, **options)
    plain = judge_metric(name, _as_strings(demo_tables), **options)
    assert coded.to_dict() == plain.to_dict()
