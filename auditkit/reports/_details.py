"""A metric's details and by-group values as formatted tables, never as Python reprs.

Results carry details of three shapes: a scalar (``probes: 528``), a mapping of scalars (a value
per shop) and nested records (a test per attribute). Each becomes a `Table` of strings.
"""

from __future__ import annotations

from typing import Any, TypedDict

from auditkit.reports._words import label, number


class Table(TypedDict):
    """A captioned table of formatted cells: a header row and body rows."""

    caption: str
    header: list[str]
    rows: list[list[str]]


def cell(value: Any) -> str:
    """One value as a table cell: numbers formatted, an interval as "a to b", records joined."""
    if isinstance(value, dict):
        return "; ".join(f"{label(str(k))} {cell(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        if len(value) == 2 and all(isinstance(v, int | float) for v in value):
            return f"{number(value[0])} to {number(value[1])}"
        return ", ".join(cell(v) for v in value)
    return number(value)


def _records(caption: str, records: dict[str, dict[str, Any]], first: str) -> Table:
    columns = sorted({key for record in records.values() for key in record})
    return {
        "caption": caption,
        "header": [first, *(label(c) for c in columns)],
        "rows": [
            [name, *(cell(record.get(c)) for c in columns)]
            for name, record in sorted(records.items())
        ],
    }


def detail_tables(details: dict[str, Any]) -> tuple[list[list[str]], list[Table]]:
    """The scalar details as (label, value) rows, and every structured detail as a table."""
    rows: list[list[str]] = []
    tables: list[Table] = []
    for key, value in sorted(details.items()):
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            tables.append(_records(label(key), value, "Group"))
        elif isinstance(value, dict) and value:
            tables.append(
                {
                    "caption": label(key),
                    "header": ["Group", "Value"],
                    "rows": [[str(k), cell(v)] for k, v in sorted(value.items())],
                }
            )
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append(_records(label(key), {str(i + 1): v for i, v in enumerate(value)}, "#"))
        else:
            rows.append([label(key), cell(value)])
    return rows, tables


def group_tables(by_group: dict[str, dict[str, Any]], format_value: Any) -> list[Table]:
    """A metric's values by each grouping (persona, shop, attribute) as tables."""
    return [
        {
            "caption": f"By {label(name).lower()}",
            "header": [label(name), "Value"],
            "rows": [[str(level), format_value(v)] for level, v in sorted(values.items())],
        }
        for name, values in sorted(by_group.items())
        if values
    ]
