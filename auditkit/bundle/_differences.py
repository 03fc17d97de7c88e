"""Where two versions of a file first differ: a JSON path, a line of text, a cell of a table."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

# How much of a differing line a message shows, either side of the first differing character.
CONTEXT = 40
# Object keys that name a list element in a path's words ("metrics[3] (homogenization.x)").
ELEMENT_NAMES = ("id", "claim", "rubric")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JsonPath = tuple[str | int, ...]


class _Absent:
    """The other side of a key or element present on one side only."""

    def __repr__(self) -> str:
        return "(absent)"

    __str__ = __repr__


ABSENT: Any = _Absent()


def json_path(path: JsonPath) -> str:
    """``$.metrics[3].value``; a key that is not an identifier is written ``['a.b']``."""
    text = "$"
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _IDENTIFIER.fullmatch(step):
            text += f".{step}"
        else:
            text += f"[{step!r}]"
    return text


def _same(a: Any, b: Any) -> bool:
    """Equal and of one JSON type (``1`` is not ``1.0``, ``true`` is not ``1``)."""
    return type(a) is type(b) and a == b


def first_json_difference(
    bundled: Any, recomputed: Any, path: JsonPath = ()
) -> tuple[JsonPath, Any, Any] | None:
    """The path of the first value that differs (keys in sorted order), and both values.

    A key or element present on one side only shows `ABSENT` on the other.
    """
    if isinstance(bundled, dict) and isinstance(recomputed, dict):
        for key in sorted(bundled.keys() | recomputed.keys()):
            if key not in bundled or key not in recomputed:
                return (*path, key), bundled.get(key, ABSENT), recomputed.get(key, ABSENT)
            found = first_json_difference(bundled[key], recomputed[key], (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(bundled, list) and isinstance(recomputed, list):
        for i, (a, b) in enumerate(zip(bundled, recomputed, strict=False)):
            found = first_json_difference(a, b, (*path, i))
            if found is not None:
                return found
        if len(bundled) != len(recomputed):
            i = min(len(bundled), len(recomputed))
            return (
                (*path, i),
                bundled[i] if i < len(bundled) else ABSENT,
                recomputed[i] if i < len(recomputed) else ABSENT,
            )
        return None
    return None if _same(bundled, recomputed) else (path, bundled, recomputed)


def element_names(document: Any, path: JsonPath) -> list[str]:
    """The ids of the list elements a path passes through (a metric's id, a claim's name)."""
    names, node = [], document
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(step, int) and isinstance(node, dict):
            names += [str(node[key]) for key in ELEMENT_NAMES if isinstance(node.get(key), str)]
    return names


def first_text_difference(bundled: str, rendered: str) -> tuple[int, int, str, str] | None:
    """Line and column (from 1) of the first differing character, and both lines around it."""
    if bundled == rendered:
        return None
    index = next(
        (i for i, (a, b) in enumerate(zip(bundled, rendered, strict=False)) if a != b),
        min(len(bundled), len(rendered)),
    )
    line = bundled.count("\n", 0, index) + 1
    start = bundled.rfind("\n", 0, index) + 1
    column = index - start + 1

    def around(text: str) -> str:
        end = text.find("\n", index)
        end = len(text) if end == -1 else end
        return text[max(start, index - CONTEXT) : min(end, index + CONTEXT)]

    return line, column, around(bundled), around(rendered)


def _cell(value: Any) -> Any:
    """A table cell as plain Python: arrays as lists, every kind of missing as None."""
    if isinstance(value, np.ndarray | list | tuple):
        return [_cell(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _cell(value.item())
    return value


def first_frame_difference(
    bundled: pd.DataFrame, designed: pd.DataFrame, *, key: str
) -> str | None:
    """Where two tables first differ, in words: columns, row count, or a row's cell.

    A row is named by its position and its ``key`` column.
    """
    if list(bundled.columns) != list(designed.columns):
        return f"has columns {list(bundled.columns)}; the spec designs {list(designed.columns)}"
    if len(bundled) != len(designed):
        return f"has {len(bundled)} rows; the spec designs {len(designed)}"
    columns = list(bundled.columns)
    left = {c: [_cell(v) for v in bundled[c]] for c in columns}
    right = {c: [_cell(v) for v in designed[c]] for c in columns}
    for row in range(len(bundled)):
        for column in columns:
            a, b = left[column][row], right[column][row]
            if a != b:
                name = right[key][row] if key in right else None
                return (
                    f"row {row} ({key} {name!r}) column {column!r} is {a!r}; "
                    f"the spec designs {b!r}"
                )
    return None
