"""Load a YAML spec safely and report every problem with its file, line and key path."""

from __future__ import annotations

import difflib
import hashlib
import json
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import annotated_types
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from auditkit.errors import SpecError, SpecIssue
from auditkit.spec._models import EXECUTION_KEYS, AuditSpec

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)

UNKNOWN_KEY = "is not a valid key{hint}; valid keys: {valid}"
DUPLICATE_KEY = "appears twice (first at line {first})"
REQUIRED = "is required"
NOT_A_MAPPING = "must be a mapping of keys to values; got {kind}"
UNKNOWN_METRIC = "is not a known metric{hint}; known metrics: {valid}"
MISSING_CATALOG = "must be an existing CSV or Parquet file (relative to the spec); got {value!r}"


def _path_text(loc: Iterable[str | int]) -> str:
    """``('probes', 'personas', 2, 'k')`` → ``probes.personas[2].k``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _locate(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], issues: list[SpecIssue], file: str
) -> None:
    """Record the 1-based line of every key and item under ``node``; flag duplicate keys."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                issues.append(
                    SpecIssue(
                        file, line, _path_text((*loc, key)), DUPLICATE_KEY.format(first=seen[key])
                    )
                )
                continue
            seen[key] = line
            lines[(*loc, key)] = line
            _locate(value_node, (*loc, key), lines, issues, file)
            lines[(*loc, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _locate(item, (*loc, index), lines, issues, file)


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
    bounds = {type(m).__name__: m for m in (field.metadata if field is not None else [])}
    if base is int or error_type.startswith("int"):
        if "Gt" in bounds and bounds["Gt"].gt == 0:
            return "a positive integer"
        if "Ge" in bounds and bounds["Ge"].ge == 0:
            return "a non-negative integer"
        if "Ge" in bounds:
            return f"an integer of at least {bounds['Ge'].ge}"
        return "an integer"
    if base is float or error_type.startswith("float"):
        ge, le = bounds.get("Ge"), bounds.get("Le")
        if isinstance(ge, annotated_types.Ge) and isinstance(le, annotated_types.Le):
            return f"a number from {ge.ge} to {le.le}"
        if isinstance(ge, annotated_types.Ge):
            return f"a number of at least {ge.ge}"
        if "Gt" in bounds and "Lt" in bounds:
            return f"a number between {bounds['Gt'].gt} and {bounds['Lt'].lt}"
        return "a number"
    if error_type == "too_short":
        return f"a list of at least {ctx.get('min_length')} item(s)"
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
        return SpecIssue(file, line, path, str(error["ctx"]["error"]))
    if kind == "union_tag_invalid":
        expected = error.get("ctx", {}).get("expected_tags", "")
        return SpecIssue(
            file,
            _line_of((*loc, "adapter"), lines),
            f"{path}.adapter",
            f"must be one of {expected}; got {error['input'].get('adapter')!r}",
        )
    if kind == "union_tag_not_found":
        return SpecIssue(file, line, f"{path}.adapter", REQUIRED)
    rule = _rule(field, kind, error.get("ctx") or {})
    message = f"must be {rule}; got {error['input']!r}" if rule else error["msg"]
    return SpecIssue(file, line, path, message)


def parse_yaml(text: str, *, file: str) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML safely; return the data and the line of every key path.

    Raises `SpecError` for syntax errors and duplicate keys, located.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        issues: list[SpecIssue] = []
        if node is not None:
            _locate(node, (), lines, issues, file)
        if issues:
            raise SpecError(issues)
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecIssue(file, line, "", f"invalid YAML: {problem}")]) from None
    finally:
        loader.dispose()
    return data, lines


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


def load_spec(path: str | Path, *, metric_ids: Iterable[str] | None = None) -> AuditSpec:
    """Load and validate an audit spec file.

    Parameters
    ----------
    path
        The YAML file. Paths inside it (catalogs) are relative to its folder.
    metric_ids
        When given, metric ids in the spec's ``metrics`` section must be among these.

    Raises
    ------
    SpecError
        With every problem of the file, each as ``file:line key.path: message``.
    """
    path = Path(path)
    file = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(
            [SpecIssue(str(path), None, "", f"cannot read spec ({exc.strerror})")]
        ) from None
    data, lines = parse_yaml(text, file=file)
    spec = validate_document(data, AuditSpec, file=file, lines=lines)
    base_dir = path.parent.resolve()
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
        for name in spec.metrics:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                issues.append(
                    SpecIssue(
                        file,
                        _line_of(("metrics", name), lines),
                        f"metrics.{name}",
                        UNKNOWN_METRIC.format(hint=hint, valid=", ".join(known)),
                    )
                )
    if issues:
        raise SpecError(sorted(issues, key=lambda i: (i.line or 0, i.path)))
    return spec.with_base_dir(base_dir).with_source(file, lines)


def spec_issue(spec: AuditSpec, loc: Loc, message: str) -> SpecIssue:
    """A problem with the key at ``loc`` of ``spec``, located in the file it was read from.

    For checks that need more than the file (the catalogs, say); a spec built in Python has
    no file and no lines, so its issues name the key only.
    """
    file, lines = spec.source
    return SpecIssue(file, _line_of(loc, lines), _path_text(loc), message)


def spec_sha256(spec: AuditSpec) -> str:
    """Hash of the spec's canonical JSON form: same spec, same hash, on any machine."""
    data = spec.model_dump(mode="json")
    # How fast probes go out changes no result: a run may resume at another pace.
    for key in EXECUTION_KEYS:
        data["vendor"].pop(key, None)
    # A spec without a trending list hashes as it did before the key existed.
    if data.get("trending") is None:
        data.pop("trending", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
