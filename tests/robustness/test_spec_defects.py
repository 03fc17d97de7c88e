"""Spec files that crashed or hung ``auditkit validate``: each is now a located error, exit 2.

Every case goes through both doors: `load_spec` raises `SpecError` with the message, and
``auditkit validate`` prints it on stderr and exits 2, well inside the time limit.
"""

import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from spec_fuzz import SHIPPED, SHIPPED_PATHS, time_limit

from auditkit.cli import EXIT_INPUT, main
from auditkit.errors import SpecError
from auditkit.spec import AuditSpec, load_spec, validate_document
from auditkit.spec._loader import MAX_ALIASED_VALUES, MAX_SPEC_BYTES, MAX_VALUES

GOOD = """\
auditkit: 1
name: test
seed: 1
vendor:
  adapter: simulated
world: {shops: 3, items_per_shop: 50}
probes:
  k: 5
  personas:
    - {id: tea, categories: [cat01], history_length: 3}
"""
# A hang is unbounded: this bound catches one with room for a loaded CI machine (the time a
# case takes is measured by benchmarks/robustness_fuzz.py, not here).
SECONDS = 30.0


def laughs(depth: int) -> str:
    """The billion laughs: each level a list of nine aliases of the level below."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth)]
    return "\n".join(lines) + "\n"


def both_doors(path: Path) -> str:
    """The message of `load_spec` and of ``auditkit validate``, checked to be the same."""
    with time_limit(SECONDS):
        start = time.perf_counter()
        with pytest.raises(SpecError) as info:
            load_spec(path)
        result = CliRunner().invoke(main, ["validate", str(path)])
    assert time.perf_counter() - start < SECONDS
    assert result.exit_code == EXIT_INPUT, result.output
    assert result.stderr == f"{info.value}\n"
    return str(info.value)


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "spec.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    path.write_bytes(content)
    return path


# (name, file content, the whole message)
DEFECTS = [
    (
        "not utf-8",
        GOOD.encode().replace(b"name: test", b"name: caf\xe9"),
        "spec.yaml:2: must be UTF-8 text; byte 0xe9 is not",
    ),
    (
        "utf-16",
        GOOD.encode("utf-16"),
        "spec.yaml:1: must be UTF-8 text; byte 0xff is not",
    ),
    (
        "NUL",
        GOOD.replace("name: test", "name: te\x00st"),
        'spec.yaml:2: invalid YAML: character U+0000 is not allowed; write it as "\\x00" '
        "inside double quotes",
    ),
    (
        "ESC",
        GOOD.replace("k: 5", "k: 5\x1b[31m"),
        'spec.yaml:8: invalid YAML: character U+001B is not allowed; write it as "\\x1b" '
        "inside double quotes",
    ),
    (
        "lone surrogate",
        GOOD.replace("test", "te\ud800st"),
        "spec.yaml:2: must be UTF-8 text; byte 0xed is not",
    ),
    (
        "deep lists",
        GOOD + "description: " + "[" * 5000 + "]" * 5000 + "\n",
        "spec.yaml:11: invalid YAML: nested more than 32 levels deep",
    ),
    (
        "deep mappings",
        GOOD + "description: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
        "spec.yaml:11: invalid YAML: nested more than 32 levels deep",
    ),
    (
        "seed of 4400 digits",
        GOOD.replace("seed: 1", "seed: " + "9" * 4400),
        "spec.yaml:3 seed: must be an integer from 0 to 9223372036854775807; got "
        "'" + "9" * 76 + "...",
    ),
    (
        "seed past 2**63 - 1",
        GOOD.replace("seed: 1", f"seed: {2**63}"),
        "spec.yaml:3 seed: must be an integer from 0 to 9223372036854775807; got "
        "9223372036854775808",
    ),
    (
        "seed in base 60",
        GOOD.replace("seed: 1", "seed: 1" + ":00" * 3000),
        "spec.yaml:3 seed: must be an integer from 0 to 9223372036854775807; got "
        "'1:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00...",
    ),
    (
        "billion laughs",
        laughs(10) + GOOD,
        f"spec.yaml:5 a4[0]: aliases expand to more than {MAX_ALIASED_VALUES:,} values; "
        "write the values out, or alias less",
    ),
    (
        "an alias inside itself",
        GOOD.replace("name: test", "name: &loop [x, *loop]"),
        "spec.yaml:2 name[1]: is an alias of a mapping or list that holds it",
    ),
    (
        "python object tag",
        GOOD.replace("name: test", "name: !!python/object/apply:os.system ['touch pwned']"),
        "spec.yaml:2 name: invalid YAML: tag '!!python/object/apply:os.system' is not "
        "allowed: a spec holds plain values only",
    ),
    (
        "python name tag",
        GOOD.replace("seed: 1", "seed: !!python/name:os.system"),
        "spec.yaml:3 seed: invalid YAML: tag '!!python/name:os.system' is not allowed: a "
        "spec holds plain values only",
    ),
    (
        "a date Python refuses",
        GOOD.replace("name: test", "name: 2024-13-01"),
        "spec.yaml:2 name: invalid YAML: cannot read '2024-13-01' as !!timestamp: month "
        "must be in 1..12",
    ),
    (
        "a list as a key",
        GOOD.replace("probes:", "? [a, b]\n: 1\nprobes:"),
        "spec.yaml:7: keys must be plain values; got a list as a key",
    ),
    (
        "too many values",
        GOOD + "description: [" + ", ".join(["x"] * MAX_VALUES) + "]\n",
        f"spec.yaml:11: invalid YAML: holds more than {MAX_VALUES:,} values (a spec holds "
        "settings, catalogs hold data)",
    ),
    (
        "too large",
        GOOD + "description: " + "x" * MAX_SPEC_BYTES + "\n",
        f"spec.yaml: must be at most {MAX_SPEC_BYTES:,} bytes (a spec holds settings, "
        "catalogs hold data); got more",
    ),
    (
        "a response path that overflows jmespath",
        GOOD.replace(
            "  adapter: simulated",
            "  adapter: http\n  url: http://127.0.0.1:9/x\n  response: {items: '"
            + "[" * 2000
            + "]" * 2000
            + "'}",
        ),
        "spec.yaml:7 vendor.response.items: must be a JMESPath expression; got "
        "'" + "[" * 57 + "...'",
    ),
]


# Parsing fifty thousand values takes pyyaml seconds: the inner loop skips it.
SLOW = {"too many values"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(*d[1:], id=d[0], marks=[pytest.mark.slow] if d[0] in SLOW else [])
        for d in DEFECTS
    ],
)
def test_a_broken_or_hostile_file_is_a_located_error(tmp_path, monkeypatch, content, expected):
    monkeypatch.chdir(tmp_path)  # where a `touch` would land
    assert both_doors(write(tmp_path, content)) == expected
    assert not (tmp_path / "pwned").exists()


# (what changes in GOOD, into what) -> the whole message
BOUNDS = [
    (
        "world: {shops: 3, items_per_shop: 50}",
        "world: {shops: 1000000, items_per_shop: 50}",
        "spec.yaml:6 world.shops: must be an integer from 1 to 1000; got 1000000",
    ),
    (
        "world: {shops: 3, items_per_shop: 50}",
        "world: {shops: 3, items_per_shop: 1e9}",
        "spec.yaml:6 world.items_per_shop: must be an integer from 2 to 1000000; got '1e9'",
    ),
    (
        "world: {shops: 3, items_per_shop: 50}",
        "world: {shops: 3, items_per_shop: 1000000000}",
        "spec.yaml:6 world.items_per_shop: must be an integer from 2 to 1000000; got 1000000000",
    ),
    (
        "world: {shops: 3, items_per_shop: 50}",
        "world: {shops: 10, items_per_shop: 1000000}",
        "spec.yaml:6 world: shops × items_per_shop must be at most 5,000,000 products; "
        "got 10 × 1000000 = 10,000,000",
    ),
    (
        "world: {shops: 3, items_per_shop: 50}",
        "world: {shops: 3, items_per_shop: 50, categories: 1}",
        "spec.yaml:6 world.categories: must be an integer from 2 to 10000; got 1",
    ),
    (
        "world: {shops: 3, items_per_shop: 50}",
        "world: {shops: 3, items_per_shop: 1}",
        "spec.yaml:6 world.items_per_shop: must be an integer from 2 to 1000000; got 1",
    ),
    (
        "world: {shops: 3, items_per_shop: 50}",
        "world: {shops: 3, items_per_shop: 50, shared_fraction: .nan}",
        "spec.yaml:6 world.shared_fraction: must be a number from 0.0 to 1.0; got nan",
    ),
    (
        "k: 5",
        "k: 100000",
        "spec.yaml:8 probes.k: must be an integer from 1 to 1000; got 100000",
    ),
    (
        "history_length: 3}",
        "history_length: 3, customers: 100000}"
        + "".join(f"\n    - {{id: p{i}, customers: 100000}}" for i in range(29)),
        "spec.yaml:7 probes: the personas' probes must number at most 10,000,000; got "
        "18,000,000 (3 shops × 3,000,000 customer profiles × 2 probes each)",
    ),
    (
        "history_length: 3}",
        "history_length: 3, customers: 1000000}",
        "spec.yaml:10 probes.personas[0].customers: must be an integer from 1 to 100000; "
        "got 1000000",
    ),
    (
        "k: 5",
        "k: 5\n  repetitions: 1000",
        "spec.yaml:9 probes.repetitions: must be an integer from 0 to 100; got 1000",
    ),
    (
        "k: 5",
        "k: 5\n  segments: {"
        + ", ".join(f"s{i}: [a, b, c, d, e, f, g, h, i, j]" for i in range(5))
        + "}",
        "spec.yaml:7 probes: the segments' levels must combine into at most 10,000 profiles; "
        "got 100,000",
    ),
    (
        "  adapter: simulated",
        "  adapter: simulated\n  options: {trend_weight: .inf}",
        "spec.yaml:6 vendor.options.trend_weight: must be a number of at least 0.0; got inf",
    ),
    (
        "seed: 1",
        "seed: 1\ninference: {n_resamples: 1000000000}",
        "spec.yaml:4 inference.n_resamples: must be an integer from 100 to 100000; got 1000000000",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BOUNDS, ids=[b[1][:40] for b in BOUNDS])
def test_a_design_that_cannot_finish_is_a_located_error(tmp_path, old, new, expected):
    assert old in GOOD
    assert both_doors(write(tmp_path, GOOD.replace(old, new, 1))) == expected


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_spec_stays_within_the_bounds(name):
    assert load_spec(SHIPPED_PATHS[name]).name


def test_a_long_trending_list_is_checked_in_linear_time():
    data = yaml.safe_load(GOOD)
    data["trending"] = [f"P{i}" for i in range(20_000)] + ["P7"]  # took seven seconds
    with time_limit(2.0), pytest.raises(SpecError) as info:
        validate_document(data, AuditSpec, file="spec.yaml", lines={("trending",): 11})
    assert (
        str(info.value) == "spec.yaml:11 trending: must name each product once; repeated: ['P7']"
    )


def test_many_repeated_products_are_named_ten_at_a_time():
    data = yaml.safe_load(GOOD)
    data["trending"] = [f"P{i % 15}" for i in range(30)]
    with pytest.raises(SpecError) as info:
        validate_document(data, AuditSpec, file="spec.yaml", lines={("trending",): 11})
    assert str(info.value) == (
        "spec.yaml:11 trending: must name each product once; repeated: ['P0', 'P1', 'P10', "
        "'P11', 'P12', 'P13', 'P14', 'P2', 'P3', 'P4'] and 5 more"
    )
