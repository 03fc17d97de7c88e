"""Fuzzed specs: whatever the file holds, ``auditkit validate`` says ok or a located error.

Mutations of the shipped specs (tests/robustness/spec_fuzz.py), random bytes, random text and
random YAML documents; each must end ``ok`` or in exit 2 with every line of the message
``file:line key.path: message``, inside `spec_fuzz.CASE_SECONDS`. The long soak is
benchmarks/robustness_fuzz.py.
"""

import random
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_fuzz import SHIPPED, SPEC_MUTATIONS, Case, Outcome, located, run_case, spec_case

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def outcome(case: Case) -> Outcome:
    with tempfile.TemporaryDirectory() as folder:
        return run_case(case, Path(folder))


def assert_ok_or_located(case: Case) -> None:
    found = outcome(case)
    assert found.kind in ("ok", "located"), f"{case.mutation}: {found.kind}\n{found.detail}"


@pytest.mark.parametrize("mutation", sorted(SPEC_MUTATIONS))
@pytest.mark.parametrize("seed", range(4))
def test_each_mutation_of_the_shipped_specs_is_ok_or_located(mutation, seed):
    assert_ok_or_located(spec_case(random.Random(seed), mutation))


@FUZZ
@given(st.integers(0, 2**32 - 1), st.sampled_from(sorted(SPEC_MUTATIONS)))
def test_a_mutated_shipped_spec_is_ok_or_located(seed, mutation):
    assert_ok_or_located(spec_case(random.Random(seed), mutation))


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_are_ok_or_located(content):
    assert_ok_or_located(Case("bytes", content))


@FUZZ
@given(st.sampled_from(sorted(SHIPPED)), st.data())
def test_a_shipped_spec_with_random_text_put_in_is_ok_or_located(name, data):
    text = SHIPPED[name]
    at = data.draw(st.integers(0, len(text)))
    inserted = data.draw(st.text(max_size=40))
    assert_ok_or_located(Case("insert", (text[:at] + inserted + text[at:]).encode("utf-8")))


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["simulated", "http", "cat01", "warn", "fail", "1", "auditkit"])
)
SPEC_KEYS = "auditkit name seed vendor adapter world shops probes personas id k customers"
KEYS = st.sampled_from([*SPEC_KEYS.split(), "segments", "metrics", "trending", "options"]) | (
    st.text(max_size=10)
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


@FUZZ
@given(TREES)
def test_a_random_yaml_document_is_ok_or_located(tree):
    text = yaml.safe_dump(tree, allow_unicode=True)
    assert_ok_or_located(Case("document", text.encode("utf-8")))


@FUZZ
@given(st.sampled_from(sorted(SHIPPED)), st.dictionaries(KEYS, TREES, max_size=3))
def test_a_shipped_spec_with_random_sections_is_ok_or_located(name, sections):
    data = yaml.safe_load(SHIPPED[name])
    data.update(sections)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    assert_ok_or_located(Case("sections", text.encode("utf-8")))


def test_located_reads_the_message_shape():
    assert located("spec.yaml:3 probes.k: must be an integer; got 'x'")
    assert located("spec.yaml:1: invalid YAML: ...\nspec.yaml:2 name: is required")
    assert located("/tmp/x/spec.yaml: must be at most 1,048,576 bytes; got more")
    assert not located("error: persona 'tea': no product matches its taste")
    assert not located("Traceback (most recent call last):")
    assert not located("")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_a_thousand_mutated_specs_are_ok_or_located(seed):
    rng = random.Random(seed)
    kinds = {kind: 0 for kind in ("ok", "located")}
    for _ in range(1000):
        case = spec_case(rng)
        found = outcome(case)
        assert found.kind in kinds, f"{case.mutation}: {found.kind}\n{found.detail}"
        kinds[found.kind] += 1
    assert kinds["ok"] and kinds["located"]
