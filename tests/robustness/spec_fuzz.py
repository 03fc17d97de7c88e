"""Spec and catalog fuzzing: broken, hostile and random inputs, and what must hold for each.

Shared by tests/robustness/test_spec_fuzz.py, test_catalog_fuzz.py and
benchmarks/robustness_fuzz.py. A `Case` is the bytes of a spec file and of the catalog files
beside it, made by one named mutation (`SPEC_MUTATIONS`, `CATALOG_MUTATIONS`) from a seeded
`random.Random`: the shipped specs with keys deleted, values of the wrong type, control
characters, odd numbers, duplicated keys, truncated or random bytes, random YAML, alias
bombs, deep nesting and ``!!python`` tags; a catalog spec whose CSV or Parquet files break the
catalog schema or name what they lack. `run_case` writes the case to a folder, runs
``auditkit validate`` on it through click's `CliRunner` and, for a spec with catalogs that
validates, loads its shops (`auditkit.api.load_shops`, what ``auditkit run`` does first). Its
`Outcome` is ``ok``, ``located`` (exit 2, and every line of the message ``file:line
key.path: message``), ``unlocated`` (an error without a location), ``crash`` (a traceback)
or ``hang`` (over the time limit).
"""

from __future__ import annotations

import contextlib
import copy
import io
import random
import re
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from click.testing import CliRunner

from auditkit.api import load_shops, read_spec
from auditkit.cli import main
from auditkit.errors import SpecError
from auditkit.suites import suite_ids, suite_path
from auditkit.world import generate_world

ROOT = Path(__file__).resolve().parents[2]
# The example specs and the standard suites installed with the package.
SHIPPED_PATHS = {
    path.name: path
    for path in [
        *sorted(ROOT.glob("audit_specs/*.yaml")),
        *(suite_path(suite_id) for suite_id in suite_ids()),
    ]
}
SHIPPED = {name: path.read_text(encoding="utf-8") for name, path in SHIPPED_PATHS.items()}
SPEC_NAME = "spec.yaml"
CASE_SECONDS = 10.0
"""Longest a case may take; validation must end well inside it whatever the input."""

Kind = Literal["ok", "located", "unlocated", "crash", "hang"]
KINDS: tuple[Kind, ...] = ("ok", "located", "unlocated", "crash", "hang")
# file, then :line, then a key path, then ': message' (the file alone for a file-level error).
LOCATED = re.compile(r"^(?P<file>[^\s:]+)(?::(?P<line>\d+))?(?: (?P<path>.+?))?: \S")


@dataclass(frozen=True)
class Case:
    """One fuzz input: the spec's bytes and the catalog files beside it, by file name."""

    mutation: str
    spec: bytes
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What validating a case gave, how long it took, and what was printed or raised."""

    kind: Kind
    seconds: float
    detail: str = ""


class CaseTimeout(BaseException):
    """A case ran past its time limit (a BaseException: no ``except Exception`` eats it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `CaseTimeout` in the main thread if the block runs longer than ``seconds``."""

    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def located(text: str, file: str = SPEC_NAME) -> bool:
    """Whether every line of an error message is ``file:line key.path: message``."""
    lines = text.strip().splitlines()
    return bool(lines) and all(
        (match := LOCATED.match(line)) is not None and Path(match["file"]).name == file
        for line in lines
    )


def run_case(case: Case, folder: Path, *, seconds: float = CASE_SECONDS) -> Outcome:
    """Write ``case`` into ``folder`` and validate it as `auditkit validate` does, timed.

    A spec with catalog files that validates also has its shops loaded, as a run would.
    """
    folder.mkdir(parents=True, exist_ok=True)
    spec_path = folder / SPEC_NAME
    spec_path.write_bytes(case.spec)
    for name, content in case.files.items():
        (folder / name).write_bytes(content)
    start = time.perf_counter()
    try:
        with time_limit(seconds):
            result = CliRunner().invoke(main, ["validate", str(spec_path)])
            if result.exit_code == 0 and case.files:
                return _loaded(spec_path, start)
    except CaseTimeout as timeout:
        return Outcome("hang", time.perf_counter() - start, str(timeout))
    elapsed = time.perf_counter() - start
    if result.exit_code == 0 and result.stdout == "ok\n":
        return Outcome("ok", elapsed)
    if isinstance(result.exception, SystemExit) and result.exit_code == 2:
        kind: Kind = "located" if located(result.stderr) else "unlocated"
        return Outcome(kind, elapsed, result.stderr)
    trace = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
    return Outcome("crash", elapsed, trace or result.output)


def _loaded(spec_path: Path, start: float) -> Outcome:
    """The outcome of loading the shops of a spec that validated."""
    try:
        load_shops(read_spec(spec_path))
    except SpecError as error:
        kind: Kind = "located" if located(str(error)) else "unlocated"
        return Outcome(kind, time.perf_counter() - start, str(error))
    except Exception as error:  # anything else is a crash, the very thing to find
        trace = "".join(traceback.format_exception(error))
        return Outcome("crash", time.perf_counter() - start, trace)
    return Outcome("ok", time.perf_counter() - start)


# ---- building blocks -----------------------------------------------------------------------

NUMBER = "@@NUMBER@@"
ODD_NUMBERS: tuple[Callable[[random.Random], str], ...] = (
    lambda rng: "9" * rng.choice([19, 20, 40, 101, 4301, 5000, 20000]),
    lambda rng: "-" + "9" * rng.choice([1, 19, 4400]),
    lambda rng: rng.choice([".nan", ".NaN", ".inf", "-.inf", "+.inf", "1e309", "-1e309"]),
    lambda rng: rng.choice(["-1", "0", "-0", "0.0", "1.5", "-0.5", "1e9", "1.0e9", "1e-300"]),
    lambda rng: rng.choice(["1_000_000", "0x7fffffffffffffff", "0o777", "0b101", "+12"]),
    lambda rng: "1" + ":00" * rng.choice([1, 5, 50, 3000]),  # YAML 1.1 base 60
    lambda rng: str(rng.choice([2**63 - 1, 2**63, 2**64, 10**6, 10**7, 10**9, 10**12])),
    lambda rng: "0x" + "f" * rng.choice([16, 200, 5000]),
    lambda rng: rng.choice(
        ["2024-13-01", "2024-02-30", "0000-01-01", "2001-12-14t21:59:43.10-99:99"]
    ),
)
WRONG_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    "",
    "text",
    "ten",
    0,
    -1,
    1.5,
    [],
    {},
    [1, 2],
    {"a": 1},
    [[[]]],
    {"adapter": "simulated"},
    "x" * 5000,
    ["cat01", None],
)
CONTROL = [chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 0x7F, 0x85, 0x9B)]
CONTROL += ["\u2028", "\ufeff", "\ufffe", "\uffff", "\ud800"]


def _data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SHIPPED[name])
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a parsed YAML tree, the root excluded."""
    found = []
    if isinstance(data, dict):
        items: Any = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return []
    for key, value in items:
        found.append((*prefix, key))
        found += _paths(value, (*prefix, key))
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _delete(data: Any, path: tuple[Any, ...]) -> None:
    del _get(data, path[:-1])[path[-1]]


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _random_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def _random_scalar(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            rng.random() < 0.5,
            rng.randint(-(10**6), 10**6),
            rng.uniform(-1e6, 1e6),
            rng.choice(["", "a", "cat01", "simulated", "http", "x" * rng.randint(1, 300)]),
            "".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(0, 20))),
        ]
    )


def random_tree(rng: random.Random, depth: int = 0) -> Any:
    """A random YAML tree whose keys are often the spec's own."""
    keys = [
        "auditkit",
        "name",
        "seed",
        "vendor",
        "adapter",
        "world",
        "shops",
        "probes",
        "personas",
        "id",
        "k",
        "customers",
        "segments",
        "metrics",
        "warn",
        "fail",
        "options",
        "claims",
        "trending",
        "inference",
        "x",
        "",
        "0",
    ]
    roll = rng.random()
    if depth > 5 or roll < 0.4:
        return _random_scalar(rng)
    if roll < 0.7:
        return [random_tree(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(keys): random_tree(rng, depth + 1) for _ in range(rng.randint(0, 5))}


# ---- spec mutations ------------------------------------------------------------------------


def _shipped(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(sorted(SHIPPED))
    return name, SHIPPED[name]


def delete_key(rng: random.Random) -> bytes:
    """A shipped spec with one key (or list item) removed."""
    data = _data(_shipped(rng)[0])
    _delete(data, rng.choice(_paths(data)))
    return _encode(_dump(data))


def swap_type(rng: random.Random) -> bytes:
    """A shipped spec with one value replaced by a value of another type."""
    data = _data(_shipped(rng)[0])
    _set(data, rng.choice(_paths(data)), copy.deepcopy(rng.choice(WRONG_VALUES)))
    return _encode(_dump(data))


def odd_number(rng: random.Random) -> bytes:
    """A shipped spec with one value (a number, mostly) written as an odd number literal."""
    data = _data(_shipped(rng)[0])
    paths = _paths(data)
    numbers = [p for p in paths if isinstance(_get(data, p), (int, float))]
    _set(data, rng.choice(numbers if numbers and rng.random() < 0.8 else paths), NUMBER)
    literal = rng.choice(ODD_NUMBERS)(rng)
    return _encode(_dump(data).replace(f"'{NUMBER}'", literal).replace(NUMBER, literal))


def control_characters(rng: random.Random) -> bytes:
    """A shipped spec with control characters (NUL, ESC, a lone surrogate...) put in."""
    text = _shipped(rng)[1]
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(text))
        text = text[:at] + rng.choice(CONTROL) + text[at:]
    return _encode(text)


def duplicate_line(rng: random.Random) -> bytes:
    """A shipped spec with one line repeated (mostly a duplicated key)."""
    lines = _shipped(rng)[1].splitlines(keepends=True)
    at = rng.randrange(len(lines))
    return _encode("".join(lines[: at + 1] + lines[at:]))


def rename_key(rng: random.Random) -> bytes:
    """A shipped spec with one key misspelt."""
    data = _data(_shipped(rng)[0])
    keyed = [p for p in _paths(data) if isinstance(p[-1], str)]
    path = rng.choice(keyed)
    parent = _get(data, path[:-1])
    key = path[-1]
    at = rng.randrange(len(key) + 1)
    parent[key[:at] + rng.choice("abcxyz_.") + key[at + 1 :]] = parent.pop(key)
    return _encode(_dump(data))


def truncate(rng: random.Random) -> bytes:
    """A shipped spec cut at a random byte."""
    raw = _shipped(rng)[1].encode("utf-8")
    return raw[: rng.randrange(len(raw))]


def random_bytes(rng: random.Random) -> bytes:
    """Random bytes, or a shipped spec with a random run of bytes spliced in."""
    if rng.random() < 0.5:
        return _random_bytes(rng, rng.randint(0, 2000))
    raw = _shipped(rng)[1].encode("utf-8")
    at = rng.randrange(len(raw))
    return raw[:at] + _random_bytes(rng, rng.randint(1, 40)) + raw[at + rng.randint(0, 40) :]


def random_document(rng: random.Random) -> bytes:
    """A random YAML document, or a shipped spec with one subtree replaced by one."""
    if rng.random() < 0.4:
        return _encode(_dump(random_tree(rng)))
    data = _data(_shipped(rng)[0])
    _set(data, rng.choice(_paths(data)), random_tree(rng))
    return _encode(_dump(data))


def bomb(rng: random.Random) -> bytes:
    """An input built to exhaust: alias bombs, deep nesting, self-aliases, huge values."""
    spec = _shipped(rng)[1]
    width, depth = rng.randint(2, 12), rng.randint(3, 12)
    laughs = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth)]
    n = rng.choice([33, 100, 1000, 5000, 50_000])
    choices = [
        "\n".join(laughs) + "\n",
        spec + "\n".join(laughs) + "\n",
        spec.replace("name:", "name: &n\n  - *n\n  - x\nold_name:", 1),
        "a: " + "[" * n + "]" * n + "\n",
        "a: " + "{b: " * n + "1" + "}" * n + "\n",
        "".join(f"{'  ' * i}k{i}:\n" for i in range(min(n, 2000))) + "  " * min(n, 2000) + "v\n",
        spec.replace("name:", "name: !!python/object/apply:os.system ['true']\nold:", 1),
        spec.replace("name:", "name: !!python/name:os.system\nold:", 1),
        spec.replace("seed:", "seed: !!python/tuple [1, 2]\nold_seed:", 1),
        spec.replace("name:", "name: !custom x\nold:", 1),
        spec.replace("seed:", "seed: " + "7" * 4400 + "\nold_seed:", 1),
        spec.replace("name:", "name: " + "x" * rng.choice([10_000, 900_000]) + "\nold:", 1),
        spec
        + "trending: ["
        + ", ".join(f"P{i % 40_000}" for i in range(rng.choice([9, 45_000])))
        + "]\n",
        spec + "x: &x [1, 2]\ny: [*x, *x, *x]\n",
        "? [a, b]\n: 1\n" + spec,
        spec + "---\n" + spec,
        "",
        "# only a comment\n",
        "\ufeff" + spec,
        spec.replace("\n", "\r\n"),
        spec.replace("  ", "\t", 1),
        "x" * (1_048_577 if rng.random() < 0.2 else 1000),
    ]
    return _encode(rng.choice(choices))


def encoding(rng: random.Random) -> bytes:
    """A shipped spec in another encoding (UTF-16, Latin-1) or with invalid UTF-8 bytes."""
    text = _shipped(rng)[1].replace("name: ", "name: caf\u00e9 ", 1)
    return rng.choice(
        [
            text.encode("utf-16"),
            text.encode("utf-16-le"),
            text.encode("latin-1", "replace"),
            text.encode("utf-8")[:-1] + b"\xff\xfe",
            b"\xc3" + text.encode("utf-8"),
        ]
    )


def odd_thresholds(rng: random.Random) -> bytes:
    """A shipped spec with thresholds for known metrics: in range or not, in order or not."""
    from auditkit.metrics import METRICS

    data = _data(_shipped(rng)[0])
    names = rng.sample(sorted(METRICS), rng.randint(1, 4))
    values = [-2.0, -1.0, 0.0, 0.1, 0.3, 0.5, 0.9, 1.0, 1.5, 10.0, 1e6]
    data["metrics"] = {
        name: {key: rng.choice(values) for key in rng.sample(["warn", "fail", "min_units"], 2)}
        for name in names
    }
    return _encode(_dump(data))


def big_design(rng: random.Random) -> bytes:
    """A shipped spec with sizes set past or near their bounds (world, customers, segments)."""
    data = _data(_shipped(rng)[0])
    big = [1, 2, 999, 1000, 1001, 10**5, 10**6, 10**7, 10**9]
    roll = rng.randrange(4)
    if roll == 0 and "world" in data:
        # Past the bounds, or a world generated in a second or two (a shipped spec has 4 to
        # 6 shops of 300 or 400 items): a legal world of a thousand shops or millions of
        # products takes seconds to generate, and validation generates it.
        sizes = {
            "shops": [0, 1, 2, 50, 1001, 10**5, 10**9],
            "items_per_shop": [0, 1, 2, 999, 10**5, 10**7, 10**9],
            "categories": [0, 1, 2, 1000, 10**4, 10**4 + 1, 10**6],
        }
        key = rng.choice(sorted(sizes))
        data["world"][key] = rng.choice(sizes[key])
    elif roll == 1:
        persona = rng.choice(data["probes"]["personas"])
        persona[rng.choice(["customers", "history_length"])] = rng.choice(big)
    elif roll == 2:
        levels = rng.choice([2, 10, 30])
        data["probes"]["segments"] = {
            f"s{i}": [f"l{j}" for j in range(levels)] for i in range(rng.randint(1, 6))
        }
        data["probes"]["segment_design"] = rng.choice(["cross", "sample"])
        data["probes"]["counterfactual"] = []
    else:
        data["probes"][rng.choice(["k", "repetitions"])] = rng.choice(big)
    return _encode(_dump(data))


SPEC_MUTATIONS: dict[str, Callable[[random.Random], bytes]] = {
    fn.__name__: fn
    for fn in (
        delete_key,
        swap_type,
        odd_number,
        control_characters,
        duplicate_line,
        rename_key,
        truncate,
        random_bytes,
        random_document,
        bomb,
        encoding,
        odd_thresholds,
        big_design,
    )
}


def spec_case(rng: random.Random, mutation: str | None = None) -> Case:
    """A spec case made by ``mutation`` (default: one drawn by ``rng``)."""
    name = mutation or rng.choice(sorted(SPEC_MUTATIONS))
    return Case(name, SPEC_MUTATIONS[name](rng))


# ---- catalog mutations ---------------------------------------------------------------------

CATALOG_SPEC = """\
auditkit: 1
name: catalog fuzz
seed: 1
vendor: {adapter: simulated}
shops:
  - {id: a, catalog: a.csv, signature: {categories: [cat01]}}
  - {id: b, catalog: b.csv}
probes:
  k: 5
  personas:
    - {id: tea, categories: [cat01, cat02], history_length: 3}
    - {id: any, history_length: 2}
"""
_CATALOGS: dict[str, pd.DataFrame] = {}


def base_catalogs() -> dict[str, pd.DataFrame]:
    """Two small catalogs of the built-in world, as shops ``a`` and ``b`` (made once)."""
    if not _CATALOGS:
        world = generate_world(seed=3, n_shops=2, items_per_shop=30, n_categories=4)
        for name, frame in zip("ab", world.catalogs().values(), strict=True):
            _CATALOGS[name] = frame
    return _CATALOGS


def _csv(frame: pd.DataFrame, **options: Any) -> bytes:
    return frame.to_csv(index=False, **options).encode("utf-8")


def _cell(rng: random.Random, frame: pd.DataFrame, column: str, value: Any) -> pd.DataFrame:
    out = frame.astype(object).copy()
    out.loc[rng.randrange(len(out)), column] = value
    return out


def bad_catalog(rng: random.Random) -> tuple[str, dict[str, bytes]]:
    """The catalog spec with files of which one breaks the schema, or cannot be read."""
    frames = {name: frame.copy() for name, frame in base_catalogs().items()}
    files = {f"{name}.csv": _csv(frame) for name, frame in frames.items()}
    target = rng.choice(sorted(frames))
    frame = frames[target]
    text = _csv(frame).decode("utf-8")
    rows = text.splitlines(keepends=True)
    odd = rng.choice(["abc", "", "inf", "-inf", "nan", "1e309", "-1", "1,5", "NULL", "\x00"])
    choices: list[Callable[[], bytes]] = [
        lambda: _csv(frame.drop(columns=[rng.choice(list(frame.columns))])),
        lambda: _csv(frame, sep=rng.choice([";", "\t", "|"])),
        lambda: _csv(frame.iloc[:0]),
        lambda: _csv(frame.iloc[: rng.choice([1, 2])]),
        lambda: b"",
        lambda: _csv(_cell(rng, frame, rng.choice(["price", "popularity"]), odd)),
        lambda: _csv(
            _cell(rng, frame, rng.choice(["item_id", "category"]), rng.choice(["", " ", None]))
        ),
        lambda: _csv(pd.concat([frame, frame.iloc[[rng.randrange(len(frame))]]])),
        lambda: _csv(frame.assign(category="cat01")),
        lambda: "".join(r + ("\n" * rng.randint(0, 2)) for r in rows).encode("utf-8"),
        lambda: text.encode("utf-8")[: rng.randrange(len(text))],
        lambda: _random_bytes(rng, rng.randint(1, 500)),
        lambda: text.encode("utf-16"),
        lambda: text.encode("utf-8").replace(b",", b"\xff", 1),
        lambda: _encode(text.replace(",", rng.choice(CONTROL), rng.randint(1, 3))),
        lambda: (text + '"unbalanced,quote\n').encode("utf-8"),
        lambda: (text + "x,y,z,1,2,3,4,5,6,7\n").encode("utf-8"),
        lambda: text.replace("\n", "\r\n").encode("utf-8"),
        lambda: (rows[0] + "".join(rng.sample(rows[1:], len(rows) - 1)) * 2).encode("utf-8"),
        lambda: _csv(frame.rename(columns={"item_id": rng.choice(["id", "ITEM_ID", " item_id"])})),
    ]
    files[f"{target}.csv"] = rng.choice(choices)()
    return CATALOG_SPEC, files


def bad_parquet(rng: random.Random) -> tuple[str, dict[str, bytes]]:
    """The catalog spec with a Parquet catalog of odd types, or a file misnamed ``.csv``."""
    frame = base_catalogs()["a"].copy()
    files = {"b.csv": _csv(base_catalogs()["b"])}
    roll = rng.randrange(6)
    if roll == 0:
        frame["category"] = [[c] for c in frame["category"]]
    elif roll == 1:
        frame["item_id"] = range(len(frame))
    elif roll == 2:
        frame["price"] = [{"value": 1.0}] * len(frame)
    elif roll == 3:
        frame["popularity"] = float("inf")
    elif roll == 4:
        frame = frame.drop(columns=["item_id"])
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    if roll == 5:
        files["a.csv"] = buffer.getvalue()  # Parquet bytes named .csv
        return CATALOG_SPEC, files
    files["a.parquet"] = buffer.getvalue()
    return CATALOG_SPEC.replace("a.csv", "a.parquet"), files


def named_things(rng: random.Random) -> tuple[str, dict[str, bytes]]:
    """Good catalogs and a spec naming categories, items or products they lack, or no file."""
    files = {f"{name}.csv": _csv(frame) for name, frame in base_catalogs().items()}
    spec = CATALOG_SPEC
    choices = [
        lambda: spec.replace(
            "[cat01, cat02]", rng.choice(["[cat1]", "[CAT01]", "[cat99, cat01]"])
        ),
        lambda: spec.replace(
            "signature: {categories: [cat01]}", "signature: {categories: [nope]}"
        ),
        lambda: spec.replace("signature: {categories: [cat01]}", "signature: {items: [nope]}"),
        lambda: spec + "trending: [P99999]\n",
        lambda: spec.replace(
            "a.csv", rng.choice(["missing.csv", ".", "a.xlsx", "/dev/null", "a.csv/"])
        ),
        lambda: spec.replace("b.csv", "a.csv"),
    ]
    return rng.choice(choices)(), files


CATALOG_MUTATIONS: dict[str, Callable[[random.Random], tuple[str, dict[str, bytes]]]] = {
    fn.__name__: fn for fn in (bad_catalog, bad_parquet, named_things)
}


def catalog_case(rng: random.Random, mutation: str | None = None) -> Case:
    """A catalog-spec case made by ``mutation`` (default: one drawn by ``rng``)."""
    name = mutation or rng.choice(sorted(CATALOG_MUTATIONS))
    spec, files = CATALOG_MUTATIONS[name](rng)
    return Case(name, spec.encode("utf-8"), files)


def any_case(rng: random.Random) -> Case:
    """A spec case four times in five, else a catalog case."""
    return spec_case(rng) if rng.random() < 0.8 else catalog_case(rng)


def case_of(seed: int, index: int) -> Case:
    """The ``index``-th case of a seeded run: the same on any machine, in any order."""
    return any_case(random.Random(seed * 1_000_003 + index))
