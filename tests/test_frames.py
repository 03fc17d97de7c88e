import pandas as pd
from support import make_catalog

from auditkit.tables import build_tables


def plan(rows):
    frame = pd.DataFrame(rows)
    for column in ("phase", "check_id"):
        frame[column] = frame.get(column, pd.Series([None] * len(frame))).astype("string")
    frame["k"] = 3
    return frame


def test_scores_and_explanations_align_with_items():
    catalogs = {"a": make_catalog("a", 5, 5)}
    probes = plan(
        [
            {"probe_id": "p1", "shop_id": "a", "history": ["a-0"]},
            {"probe_id": "p2", "shop_id": "a", "history": []},
        ]
    )
    answers = pd.DataFrame(
        {
            "probe_id": ["p1", "p2"],
            "items": [["a-1", "a-2", "zz"], ["a-3"]],
            "scores": [[0.9, 0.5], None],
            "explanations": [["because", None, "odd"], None],
        }
    )
    tables = build_tables(probes, answers, catalogs)
    rows = tables.responses.set_index("item_id")
    assert rows.loc["a-1", "score"] == 0.9 and pd.isna(rows.loc["zz", "score"])
    assert rows.loc["zz", "explanation"] == "odd" and not rows.loc["zz", "in_catalog"]
    assert pd.isna(rows.loc["a-3", "explanation"])
    assert rows.loc["a-1", "item_key"] == "P1" and rows.loc["zz", "item_key"] == "a:zz"


def test_catalog_row_is_the_items_row_in_the_stacked_catalogs():
    # Shop b stacks after a; both list items of the same ids' pattern, b's in reverse order.
    catalogs = {"b": make_catalog("b", 4, 4).iloc[::-1], "a": make_catalog("a", 3, 3)}
    probes = plan(
        [
            {"probe_id": "p1", "shop_id": "a", "history": ["a-2", "gone"]},
            {"probe_id": "p2", "shop_id": "b", "history": ["b-0"]},
        ]
    )
    answers = pd.DataFrame({"probe_id": ["p1", "p2"], "items": [["a-1", "zz"], ["b-3", "b-0"]]})
    tables = build_tables(probes, answers, catalogs)
    for table in (tables.responses, tables.histories):
        known = table["catalog_row"] >= 0
        listed = tables.catalogs.iloc[table.loc[known, "catalog_row"]]
        assert list(listed["shop_id"]) == list(table.loc[known, "shop_id"])
        assert list(listed["item_id"]) == list(table.loc[known, "item_id"])
        assert set(table.loc[~known, "item_id"]) <= {"zz", "gone"} and (~known).sum() == 1
    assert tables.responses["catalog_row"].dtype == "int64"
    assert list(tables.responses["in_catalog"]) == [True, False, True, True]


def test_core_leaves_out_planting_and_check_probes():
    catalogs = {"a": make_catalog("a", 5, 5)}
    probes = plan(
        [
            {"probe_id": "p1", "shop_id": "a", "history": ["a-0"]},
            {"probe_id": "p2", "shop_id": "a", "history": ["a-1"], "phase": "before"},
            {"probe_id": "p3", "shop_id": "a", "history": ["a-2"], "check_id": "knob:x"},
        ]
    )
    answers = pd.DataFrame({"probe_id": ["p1", "p2", "p3"], "items": [["a-3"]] * 3})
    tables = build_tables(probes, answers, catalogs)
    core = tables.core()
    assert core.probes["probe_id"].tolist() == ["p1"]
    assert set(core.responses["probe_id"]) == {"p1"} and set(core.histories["probe_id"]) == {"p1"}
    assert len(tables.responses) == 3
