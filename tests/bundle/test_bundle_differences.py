"""Where two versions first differ: the JSON path, the line and column, the table cell."""

import pandas as pd
import pytest

from auditkit.bundle._differences import (
    ABSENT,
    element_names,
    first_frame_difference,
    first_json_difference,
    first_text_difference,
    json_path,
)
from auditkit.bundle._manifest import version_differences
from auditkit.bundle._rows import RowDigest, parse_rows, row_differences, rows_text


@pytest.mark.parametrize(
    ("bundled", "recomputed", "path", "values"),
    [
        ({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 3]}, ("b", 1), (2, 3)),
        ({"a": 1}, {"a": 1.0}, ("a",), (1, 1.0)),  # 1 and 1.0 are different text
        ({"a": True}, {"a": 1}, ("a",), (True, 1)),
        ({"a": [1]}, {"a": [1, 2]}, ("a", 1), (ABSENT, 2)),
        ({"z": 1, "a": {"x": None}}, {"z": 2, "a": {}}, ("a", "x"), (None, ABSENT)),
    ],
)
def test_first_json_difference_in_sorted_key_order(bundled, recomputed, path, values):
    assert first_json_difference(bundled, recomputed) == (path, *values)


def test_equal_documents_have_no_difference():
    document = {"metrics": [{"id": "m", "value": 0.5, "ci": [0.1, 0.9]}], "n": None}
    assert first_json_difference(document, {**document}) is None


def test_json_path_quotes_keys_that_are_not_identifiers_and_names_elements():
    assert json_path(("metrics", 3, "by_group", "age_band", "18-34")) == (
        "$.metrics[3].by_group.age_band['18-34']"
    )
    document = {"metrics": [{"id": "a"}, {"id": "homogenization.index", "details": {}}]}
    assert element_names(document, ("metrics", 1, "details")) == ["homogenization.index"]


def test_first_text_difference_gives_line_column_and_context():
    bundled = "line one\nline two is here\n"
    rendered = "line one\nline TWO is here\n"
    assert first_text_difference(bundled, rendered) == (
        2,
        6,
        "line two is here",
        "line TWO is here",
    )
    assert first_text_difference("same", "same") is None
    assert first_text_difference("short", "short and more")[:2] == (1, 6)


def test_first_frame_difference_names_the_row_by_key():
    designed = pd.DataFrame({"probe_id": ["p0", "p1"], "history": [["a"], ["b", "c"]]})
    bundled = designed.assign(history=[["a"], ["b", "x"]])
    assert first_frame_difference(bundled, designed, key="probe_id") == (
        "row 1 (probe_id 'p1') column 'history' is ['b', 'x']; the spec designs ['b', 'c']"
    )
    assert first_frame_difference(designed, designed.copy(), key="probe_id") is None
    assert first_frame_difference(designed.head(1), designed, key="probe_id") == (
        "has 1 rows; the spec designs 2"
    )


def test_row_digests_round_trip_and_name_what_changed():
    rows = [
        RowDigest("attempts", (1,), (("id", 1), ("probe_id", "p0")), "a" * 64),
        RowDigest("meta", ("spec_sha256",), (("key", "spec_sha256"),), "b" * 64),
    ]
    assert parse_rows(rows_text(rows)) == rows
    found = [RowDigest("attempts", (1,), rows[0].names, "c" * 64)]
    found.append(RowDigest("attempts", (2,), (("id", 2), ("probe_id", "p1")), "d" * 64))
    differences = row_differences(rows, found)
    assert [where for where, _ in differences] == [
        "attempts row id 1, probe_id 'p0'",
        "meta row key 'spec_sha256'",
        "attempts row id 2, probe_id 'p1'",
    ]
    assert [message.split(" ")[0:2] for _, message in differences] == [
        ["differs", "from"],
        ["is", "missing:"],
        ["is", "not"],
    ]
    with pytest.raises(ValueError, match="line 2 is not a row digest"):
        parse_rows(rows_text(rows[:1]) + b'{"table": "meta"}\n')


def test_version_differences_name_each_version_that_moved():
    recorded = {"numpy": "2.3.0", "pandas": "3.1.1", "gone": "1.0"}
    here = {"numpy": "2.4.6", "pandas": "3.1.1", "new": "2.0"}
    assert version_differences(recorded, here) == "numpy 2.4.6 here, 2.3.0 in the bundle"
    assert version_differences(here, here) == ""
