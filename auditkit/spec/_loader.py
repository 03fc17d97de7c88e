"""Load a YAML spec safely and report every problem with its file, line and key path."""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from auditkit.errors import SpecError, SpecIssue
from auditkit.results import Threshold
from auditkit.spec._models import EXECUTION_KEYS, AuditSpec, MetricSpec

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)

UNKNOWN_KEY = "is not a valid key{hint}; valid keys: {valid}"
DUPLICATE_KEY = "appears twice (first at line {first})"
REQUIRED = "is required"
NOT_A_MAPPING = "must be a mapping of keys to values; got {kind}"
UNKNOWN_METRIC = "is not a known metric{hint}; known metrics: {valid}"
UNKNOWN_OBLIGATION = "is not a known obligation{hint}; known obligations: {valid}"
MISSING_CATALOG = "must be an existing CSV or Parquet file (relative to the spec); got {value!r}"
TOO_LARGE = "must be at most {limit:,} bytes (a spec holds settings, catalogs hold data); got more"
NOT_UTF8 = "must be UTF-8 text; byte 0x{byte:02x} is not"
BAD_CHARACTER = (
    'invalid YAML: character {code} is not allowed; write it as "{escape}" inside double quotes'
)
TOO_DEEP = "nested more than {limit} levels deep"
TOO_MANY_VALUES = "holds more than {limit:,} values (a spec holds settings, catalogs hold data)"
ALIAS_BOMB = "aliases expand to more than {limit:,} values; write the values out, or alias less"
SELF_ALIAS = "is an alias of a mapping or list that holds it"
NOT_A_KEY = "keys must be plain values; got a {kind} as a key"
REFUSED_TAG = "tag {tag!r} is not allowed: a spec holds plain values only"
UNREADABLE_VALUE = "cannot read {value} as {tag}: {reason}"
OUT_OF_RANGE = "must be {rule}, the metric's range; got {value!r}"
WARN_PAST_FAIL = (
    "must be {side} fail ({fail:g}{default}): {worse} is worse for this metric; got {warn!r}"
)
FAIL_PAST_WARN = (
    "must be {side} warn ({warn:g}{default}): {worse} is worse for this metric; got {fail!r}"
)

MAX_SPEC_BYTES = 1_048_576
MAX_DEPTH = 32
# pyyaml composes some 30,000 values a second: past this many a file is data, not settings.
MAX_VALUES = 50_000
MAX_ALIASED_VALUES = 10_000
# Python's int() is quadratic in the digits of a base-60 literal ("1:00:00") and refuses more
# than 4300 decimal digits; longer integer literals stay text for the key's own rule to refuse.
MAX_INTEGER_CHARS = 100
# How much of a wrong value a message repeats.
SHOWN_CHARS = 80


class MetricRule(Protocol):
    """What a spec's thresholds are checked against: a metric's registered default and range.

    `auditkit.metrics.MetricDef` is one; the spec stage names only what it reads.
    """

    @property
    def default_threshold(self) -> Threshold:
        """The metric's default warn and fail, and which way is worse."""
        ...

    @property
    def value_range(self) -> tuple[float, float]:
        """The lowest and highest value the metric can take."""
        ...


class _SpecLoader(yaml.SafeLoader):
    """pyyaml's safe loader with bounds: values, nesting depth, integer length, plain tags."""

    def __init__(self, stream: str) -> None:
        self._depth = 0
        self._values = 0
        # The line of each list item written as an alias, by (list node id, index): the
        # node an alias yields is its anchor's, which tells the anchor's line only.
        self.alias_lines: dict[tuple[int, int], int] = {}
        super().__init__(stream)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node; refuse more than `MAX_VALUES` in all, or `MAX_DEPTH` levels.

        pyyaml composes by recursion, one level per nesting: the depth bound comes first.
        """
        self._values += 1
        if self._depth >= MAX_DEPTH or self._values > MAX_VALUES:
            mark = self.peek_event().start_mark
            message = (
                TOO_DEEP.format(limit=MAX_DEPTH)
                if self._depth >= MAX_DEPTH
                else TOO_MANY_VALUES.format(limit=MAX_VALUES)
            )
            raise yaml.composer.ComposerError(None, None, message, mark)
        if isinstance(index, int) and parent is not None and self.check_event(yaml.AliasEvent):
            self.alias_lines[(id(parent), index)] = self.peek_event().start_mark.line + 1
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one value; a value Python refuses (``2024-13-01``) is a located error."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            message = UNREADABLE_VALUE.format(value=_shown(node.value), tag=_tag(node), reason=exc)
            raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from None

    def construct_integer(self, node: yaml.ScalarNode) -> Any:
        """An integer, or the literal as text when longer than `MAX_INTEGER_CHARS`."""
        if len(node.value) > MAX_INTEGER_CHARS:
            return self.construct_scalar(node)
        return self.construct_yaml_int(node)

    def refuse_tag(self, node: yaml.Node) -> Any:
        """Refuse any tag beyond plain YAML's (``!!python/object``, ``!custom``)."""
        message = REFUSED_TAG.format(tag=_tag(node))
        raise yaml.constructor.ConstructorError(None, None, message, node.start_mark)


_SpecLoader.add_constructor("tag:yaml.org,2002:int", _SpecLoader.construct_integer)
_SpecLoader.add_constructor(None, _SpecLoader.refuse_tag)


def _tag(node: yaml.Node) -> str:
    """A node's tag as written: ``!!python/name:os.system`` rather than its full URI."""
    prefix = "tag:yaml.org,2002:"
    return "!!" + node.tag[len(prefix) :] if node.tag.startswith(prefix) else node.tag


def _one_line(text: str) -> str:
    """``text`` on one line: an error message holds one issue per line."""
    return " ".join(text.split())


def _shown(value: Any) -> str:
    """``repr(value)``, cut to `SHOWN_CHARS`: a message repeats a wrong value, not a file."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _path_text(loc: Iterable[str | int]) -> str:
    """``('probes', 'personas', 2, 'k')`` → ``probes.personas[2].k``.

    A key that is empty or holds a space or a control character is quoted, ``['my key']``:
    a path is one word of a one-line message.
    """
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part) or not str(part).isprintable() or any(c.isspace() for c in str(part)):
            text += f"[{str(part)!r}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass
class _Walk:
    """What `_locate` gathers over a document: lines, issues, and what aliases expand to."""

    file: str
    lines: dict[Loc, int] = field(default_factory=dict)
    issues: list[SpecIssue] = field(default_factory=list)
    # The key path of the node (or key) starting at each offset, to locate a later error.
    paths: dict[int, Loc] = field(default_factory=dict)
    walked: set[int] = field(default_factory=set)
    holding: set[int] = field(default_factory=set)
    aliased: int = 0
    alias_lines: dict[tuple[int, int], int] = field(default_factory=dict)


def _locate(node: yaml.Node, loc: Loc, walk: _Walk, *, alias: Loc | None = None) -> None:
    """Record the 1-based line of every key and item under ``node``; flag duplicate keys.

    An alias brings its node in again: it must not hold itself, nor expand past
    `MAX_ALIASED_VALUES` values in all (a few lines of aliases can stand for billions).
    ``alias`` is where the alias being expanded, if any, is used.
    """
    here = id(node)
    if here in walk.holding:
        walk.issues.append(
            SpecIssue(walk.file, _line_of(loc, walk.lines), _path_text(loc), SELF_ALIAS)
        )
        return
    if alias is None and here in walk.walked:
        alias = loc
    if alias is not None:
        walk.aliased += 1
        if walk.aliased > MAX_ALIASED_VALUES:
            message = ALIAS_BOMB.format(limit=MAX_ALIASED_VALUES)
            line = _line_of(alias, walk.lines)
            raise SpecError([SpecIssue(walk.file, line, _path_text(alias), message)])
    if len(loc) > MAX_DEPTH:  # only aliases nest past the loader's own limit
        message = TOO_DEEP.format(limit=MAX_DEPTH)
        walk.issues.append(
            SpecIssue(walk.file, _line_of(loc, walk.lines), _path_text(loc), message)
        )
        return
    walk.walked.add(here)
    walk.paths.setdefault(node.start_mark.index, loc)
    walk.lines.setdefault(loc, node.start_mark.line + 1)
    walk.holding.add(here)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                message = NOT_A_KEY.format(kind=kind)
                walk.issues.append(SpecIssue(walk.file, line, _path_text(loc), message))
                continue
            key = str(key_node.value)
            if key in seen:
                walk.issues.append(
                    SpecIssue(
                        walk.file,
                        line,
                        _path_text((*loc, key)),
                        DUPLICATE_KEY.format(first=seen[key]),
                    )
                )
                continue
            seen[key] = line
            walk.paths.setdefault(key_node.start_mark.index, (*loc, key))
            walk.lines[(*loc, key)] = line
            _locate(value_node, (*loc, key), walk, alias=alias)
            walk.lines[(*loc, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            line = walk.alias_lines.get((here, index))
            if line is not None:
                walk.lines[(*loc, index)] = line
            _locate(item, (*loc, index), walk, alias=alias)
    walk.holding.discard(here)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of the deepest part of ``loc`` that exists in the file."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated``, ``Optional`` and container types down to a model class if any."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _resolve(
    model: type[BaseModel], loc: Loc
) -> tuple[Loc, FieldInfo | None, type[BaseModel] | None]:
    """Walk a pydantic error location through the models.

    Returns the location as the user wrote it (discriminator tags dropped), the field at its
    end, and the model that holds that field.
    """
    shown: list[str | int] = []
    current: Any = model
    field: FieldInfo | None = None
    owner: type[BaseModel] | None = None
    for part in loc:
        target = _unwrap(current)
        origin = typing.get_origin(target)
        if isinstance(target, type) and issubclass(target, BaseModel):
            owner, field = target, target.model_fields.get(str(part))
            shown.append(part)
            current = field.annotation if field is not None else None
        elif origin in (list, tuple) and isinstance(part, int):
            shown.append(part)
            current = typing.get_args(target)[0]
        elif origin is dict:
            shown.append(part)
            current = typing.get_args(target)[1]
        elif origin in (typing.Union, types.UnionType):
            variants = {
                typing.get_args(v.model_fields["adapter"].annotation)[0]: v
                for v in typing.get_args(target)
                if isinstance(v, type) and issubclass(v, BaseModel) and "adapter" in v.model_fields
            }
            current = variants.get(part)
        else:
            shown.append(part)
            current = None
    return tuple(shown), field, owner


def _bounds(field: FieldInfo | None) -> dict[str, Any]:
    """The field's ``gt``, ``ge``, ``lt`` and ``le``, also from inside ``Optional[...]``."""
    if field is None:
        return {}
    metadata = list(field.metadata)
    for arg in typing.get_args(field.annotation):
        if typing.get_origin(arg) is typing.Annotated:
            for extra in typing.get_args(arg)[1:]:
                metadata += getattr(extra, "metadata", [extra])
    return {
        name: getattr(item, name)
        for item in metadata
        for name in ("gt", "ge", "lt", "le")
        if getattr(item, name, None) is not None
    }


def _integer_rule(bounds: dict[str, Any]) -> str:
    """Say in words which integers a field takes."""
    low = bounds["gt"] + 1 if "gt" in bounds else bounds.get("ge")
    high = bounds["lt"] - 1 if "lt" in bounds else bounds.get("le")
    if low is not None and high is not None:
        return f"an integer from {low} to {high}"
    if low == 1:
        return "a positive integer"
    if low == 0:
        return "a non-negative integer"
    if low is not None:
        return f"an integer of at least {low}"
    if high is not None:
        return f"an integer of at most {high}"
    return "an integer"


def _number_rule(bounds: dict[str, Any], error_type: str) -> str:
    """Say in words which numbers a field takes."""
    low, high = bounds.get("ge", bounds.get("gt")), bounds.get("le", bounds.get("lt"))
    if "ge" in bounds and "le" in bounds:
        return f"a number from {low} to {high}"
    if low is not None and high is not None:
        return f"a number between {low} and {high}"
    if low is not None:
        return f"a number of at least {low}" if "ge" in bounds else f"a number greater than {low}"
    if high is not None:
        return f"a number of at most {high}" if "le" in bounds else f"a number less than {high}"
    return "a finite number" if error_type == "finite_number" else "a number"


def _rule(field: FieldInfo | None, error_type: str, ctx: dict[str, Any]) -> str:
    """Say in words what a value must be."""
    if error_type == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if error_type == "string_pattern_mismatch":
        return (
            "a name of letters, digits, '_', '-' or '.'"
            if "A-Za-z0-9" in str(ctx.get("pattern", ""))
            else f"text matching {ctx.get('pattern')}"
        )
    base = _unwrap(field.annotation) if field is not None else None
    bounds = _bounds(field)
    if base is int or error_type.startswith("int"):
        return _integer_rule(bounds)
    if base is float or error_type.startswith("float") or error_type == "finite_number":
        return _number_rule(bounds, error_type)
    if error_type == "too_short":
        return f"a list of at least {ctx.get('min_length')} item(s)"
    if error_type == "too_long":
        return f"a list of at most {ctx.get('max_length')} item(s)"
    if error_type in ("list_type", "tuple_type"):
        return "a list"
    if error_type in ("dict_type", "model_type", "model_attributes_type"):
        return "a mapping of keys to values"
    if error_type == "bool_type" or error_type == "bool_parsing":
        return "true or false"
    if error_type == "string_type":
        return "text"
    return ""


def _issue_for(error: Any, model: type[BaseModel], lines: dict[Loc, int], file: str) -> SpecIssue:
    """Turn one pydantic error into a located, plain-language `SpecIssue`."""
    loc, field, owner = _resolve(model, tuple(error["loc"]))
    line = _line_of(loc, lines)
    path = _path_text(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        valid = sorted(owner.model_fields) if owner is not None else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return SpecIssue(file, line, path, UNKNOWN_KEY.format(hint=hint, valid=", ".join(valid)))
    if kind == "missing":
        return SpecIssue(file, line, path, REQUIRED)
    if kind == "value_error":
        return SpecIssue(file, line, path, _one_line(str(error["ctx"]["error"])))
    if kind == "union_tag_invalid":
        expected = error.get("ctx", {}).get("expected_tags", "")
        return SpecIssue(
            file,
            _line_of((*loc, "adapter"), lines),
            f"{path}.adapter",
            f"must be one of {expected}; got {_shown(error['input'].get('adapter'))}",
        )
    if kind == "union_tag_not_found":
        return SpecIssue(file, line, f"{path}.adapter", REQUIRED)
    rule = _rule(field, kind, error.get("ctx") or {})
    message = f"must be {rule}; got {_shown(error['input'])}" if rule else _one_line(error["msg"])
    return SpecIssue(file, line, path, message)


def parse_yaml(text: str, *, file: str) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML safely; return the data and the line of every key path.

    Raises `SpecError`, located, for syntax errors, control characters, duplicate keys, tags
    beyond plain YAML's, nesting past `MAX_DEPTH` and aliases expanding past
    `MAX_ALIASED_VALUES` values: whatever the text, in bounded time and memory.
    """
    walk = _Walk(file)
    loader: _SpecLoader | None = None
    try:
        loader = _SpecLoader(text)  # reads the whole text: refuses control characters here
        node = loader.get_single_node()
        walk.alias_lines = loader.alias_lines
        if node is not None:
            _locate(node, (), walk)
        if walk.issues:
            raise SpecError(walk.issues)
        data = None if node is None else loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        escape = repr(chr(exc.character))[1:-1]
        message = BAD_CHARACTER.format(code=f"U+{exc.character:04X}", escape=escape)
        at = text.count("\n", 0, exc.position) + 1
        raise SpecError([SpecIssue(file, at, "", message)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        loc = () if mark is None else walk.paths.get(mark.index, ())
        problem = _one_line(getattr(exc, "problem", None) or str(exc))
        raise SpecError(
            [SpecIssue(file, line, _path_text(loc), f"invalid YAML: {problem}")]
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, walk.lines


def _read_text(path: Path) -> str:
    """The text of the spec file at ``path``: UTF-8, at most `MAX_SPEC_BYTES` bytes.

    Raises `SpecError` naming the file when it cannot be read, is larger, or is not UTF-8
    (located at the line of the first bad byte).
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SpecError([SpecIssue(str(path), None, "", f"cannot read spec ({reason})")]) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([SpecIssue(path.name, None, "", TOO_LARGE.format(limit=MAX_SPEC_BYTES))])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = NOT_UTF8.format(byte=raw[exc.start])
        raise SpecError([SpecIssue(path.name, line, "", message)]) from None


def validate_document(
    data: Any, model: type[ModelT], *, file: str, lines: dict[Loc, int]
) -> ModelT:
    """Validate parsed YAML against ``model``; raise one `SpecError` with every issue."""
    if not isinstance(data, dict):
        raise SpecError([SpecIssue(file, 1, "", NOT_A_MAPPING.format(kind=type(data).__name__))])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = [_issue_for(error, model, lines, file) for error in exc.errors()]
        issues.sort(key=lambda i: (i.line or 0, i.path))
        raise SpecError(issues) from None


DICT_SOURCE = "<dict>"


def load_spec(
    path: str | Path,
    *,
    metric_ids: Iterable[str] | Mapping[str, MetricRule] | None = None,
    obligation_ids: Iterable[str] | None = None,
) -> AuditSpec:
    """Load and validate an audit spec file.

    Parameters
    ----------
    path
        The YAML file. Paths inside it (catalogs) are relative to its folder.
    metric_ids
        When given, metric ids in the spec's ``metrics`` section must be among these. Given
        the registry itself (each id mapped to its `MetricRule`), every threshold the spec
        sets must also lie in its metric's range and keep warn on the better side of fail.
    obligation_ids
        When given, the obligations a ``suite`` names must be among these (the regulatory
        mapping's ids).

    Raises
    ------
    SpecError
        With every problem of the file, each as ``file:line key.path: message``.
    """
    path = Path(path)
    data, lines = parse_yaml(_read_text(path), file=path.name)
    return _checked(
        data,
        lines,
        file=path.name,
        base_dir=path.parent,
        metric_ids=metric_ids,
        obligation_ids=obligation_ids,
    )


def spec_from_data(
    data: Any,
    *,
    metric_ids: Iterable[str] | Mapping[str, MetricRule] | None = None,
    obligation_ids: Iterable[str] | None = None,
    base_dir: str | Path = ".",
) -> AuditSpec:
    """Validate an audit spec given as plain data (a dict, as the YAML file would parse).

    The same checks as `load_spec`; a problem is located by its key path (``<dict>`` stands
    for the file, without a line). Catalog paths are relative to ``base_dir``.
    """
    return _checked(
        data,
        {},
        file=DICT_SOURCE,
        base_dir=Path(base_dir),
        metric_ids=metric_ids,
        obligation_ids=obligation_ids,
    )


def _checked(
    data: Any,
    lines: dict[Loc, int],
    *,
    file: str,
    base_dir: Path,
    metric_ids: Iterable[str] | Mapping[str, MetricRule] | None,
    obligation_ids: Iterable[str] | None,
) -> AuditSpec:
    """`load_spec` once the document is parsed: validated, catalogs found, ids known."""
    spec = validate_document(data, AuditSpec, file=file, lines=lines)
    base_dir = base_dir.resolve()
    issues = [
        SpecIssue(
            file,
            _line_of(("shops", i, "catalog"), lines),
            f"shops[{i}].catalog",
            MISSING_CATALOG.format(value=str(shop.catalog)),
        )
        for i, shop in enumerate(spec.shops or [])
        if not (shop.catalog if shop.catalog.is_absolute() else base_dir / shop.catalog).is_file()
    ]
    if metric_ids is not None and spec.metrics:
        known = sorted(metric_ids)
        rules = metric_ids if isinstance(metric_ids, Mapping) else {}
        for name, override in spec.metrics.items():
            if name in rules:
                issues += _threshold_issues(name, override, rules[name], file, lines)
            elif name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                issues.append(
                    SpecIssue(
                        file,
                        _line_of(("metrics", name), lines),
                        _path_text(("metrics", name)),
                        UNKNOWN_METRIC.format(hint=hint, valid=", ".join(known)),
                    )
                )
    if obligation_ids is not None:
        issues += obligation_issues(spec.with_source(file, lines), obligation_ids)
    if issues:
        raise SpecError(sorted(issues, key=lambda i: (i.line or 0, i.path)))
    return spec.with_base_dir(base_dir).with_source(file, lines)


def _range_rule(low: float, high: float) -> str | None:
    """Say in words which numbers lie in ``[low, high]``; None when every number does."""
    if math.isfinite(low) and math.isfinite(high):
        return f"a number from {low:g} to {high:g}"
    if math.isfinite(low):
        return f"a number of at least {low:g}"
    if math.isfinite(high):
        return f"a number of at most {high:g}"
    return None


def _threshold_issues(
    name: str, override: MetricSpec, rule: MetricRule, file: str, lines: dict[Loc, int]
) -> list[SpecIssue]:
    """The problems of the thresholds a spec sets for metric ``name``.

    Each must lie in the metric's range, and warn must come before fail in the metric's own
    direction (below fail where higher is worse, above it where lower is worse); a threshold
    left out is the metric's default, so setting one alone is checked against the other.
    """
    default = rule.default_threshold
    low, high = rule.value_range
    words = _range_rule(low, high)
    issues = []
    for key in ("warn", "fail"):
        value = getattr(override, key)
        if words is not None and value is not None and not low <= value <= high:
            loc: Loc = ("metrics", name, key)
            message = OUT_OF_RANGE.format(rule=words, value=value)
            issues.append(SpecIssue(file, _line_of(loc, lines), _path_text(loc), message))
    if issues or (override.warn is None and override.fail is None):
        return issues
    warn = default.warn if override.warn is None else override.warn
    fail = default.fail if override.fail is None else override.fail
    higher = default.direction == "higher_is_worse"
    if (warn > fail) if higher else (warn < fail):
        worse = "higher" if higher else "lower"
        if override.warn is not None:
            loc = ("metrics", name, "warn")
            message = WARN_PAST_FAIL.format(
                side="at most" if higher else "at least",
                fail=fail,
                default="" if override.fail is not None else ", the default",
                worse=worse,
                warn=warn,
            )
        else:
            loc = ("metrics", name, "fail")
            message = FAIL_PAST_WARN.format(
                side="at least" if higher else "at most",
                warn=warn,
                default=", the default",
                worse=worse,
                fail=fail,
            )
        issues.append(SpecIssue(file, _line_of(loc, lines), _path_text(loc), message))
    return issues


def spec_issue(spec: AuditSpec, loc: Loc, message: str) -> SpecIssue:
    """A problem with the key at ``loc`` of ``spec``, located in the file it was read from.

    For checks that need more than the file (the catalogs, say); a spec built in Python has
    no file and no lines, so its issues name the key only.
    """
    file, lines = spec.source
    return SpecIssue(file, _line_of(loc, lines), _path_text(loc), message)


def obligation_issues(spec: AuditSpec, known: Iterable[str]) -> list[SpecIssue]:
    """The obligations ``spec``'s suite names that are not among ``known``, each located.

    ``known`` is the regulatory mapping's ids; the spec stage holds no mapping of its own.
    """
    if spec.suite is None:
        return []
    valid = sorted(known)
    issues = []
    for index, name in enumerate(spec.suite.obligations):
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = UNKNOWN_OBLIGATION.format(hint=hint, valid=", ".join(valid))
            issues.append(spec_issue(spec, ("suite", "obligations", index), message))
    return issues


def spec_sha256(spec: AuditSpec) -> str:
    """Hash of the spec's canonical JSON form: same spec, same hash, on any machine."""
    data = spec.model_dump(mode="json")
    # How fast probes go out changes no result: a run may resume at another pace.
    for key in EXECUTION_KEYS:
        data["vendor"].pop(key, None)
        if data.get("reference") is not None:
            data["reference"]["vendor"].pop(key, None)
    # Where the evidence is kept changes no result: a run may resume whatever it names.
    data.pop("evidence", None)
    # A spec without a trending list, a suite or a reference hashes as it did before the key.
    for key in ("trending", "suite", "reference"):
        if data.get(key) is None:
            data.pop(key, None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
