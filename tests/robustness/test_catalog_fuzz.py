"""Fuzzed catalogs: whatever the files hold, loading the shops is ok or a located error.

The catalog spec of tests/robustness/spec_fuzz.py with CSV and Parquet files that break the
schema, cannot be read, or lack what the spec names; and random bytes as a catalog. Each
case is validated, then its shops are loaded as ``auditkit run`` does first: ``ok`` or a
`SpecError` whose every line is ``file:line key.path: message``, never a traceback.
"""

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_fuzz import CATALOG_MUTATIONS, CATALOG_SPEC, Case, base_catalogs, catalog_case, run_case

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_ok_or_located(case: Case) -> None:
    with tempfile.TemporaryDirectory() as folder:
        found = run_case(case, Path(folder))
    assert found.kind in ("ok", "located"), f"{case.mutation}: {found.kind}\n{found.detail}"


@pytest.mark.parametrize("mutation", sorted(CATALOG_MUTATIONS))
@pytest.mark.parametrize("seed", range(6))
def test_each_catalog_mutation_is_ok_or_located(mutation, seed):
    assert_ok_or_located(catalog_case(random.Random(seed), mutation))


@FUZZ
@given(st.integers(0, 2**32 - 1), st.sampled_from(sorted(CATALOG_MUTATIONS)))
def test_a_mutated_catalog_is_ok_or_located(seed, mutation):
    assert_ok_or_located(catalog_case(random.Random(seed), mutation))


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_as_a_catalog_are_ok_or_located(content):
    good = base_catalogs()["b"].to_csv(index=False).encode("utf-8")
    assert_ok_or_located(Case("bytes", CATALOG_SPEC.encode(), {"a.csv": content, "b.csv": good}))


@FUZZ
@given(st.data())
def test_a_catalog_with_random_text_put_in_is_ok_or_located(data):
    text = base_catalogs()["a"].to_csv(index=False)
    at = data.draw(st.integers(0, len(text)))
    inserted = data.draw(st.text(max_size=20))
    files = {
        "a.csv": (text[:at] + inserted + text[at:]).encode("utf-8"),
        "b.csv": base_catalogs()["b"].to_csv(index=False).encode("utf-8"),
    }
    assert_ok_or_located(Case("insert", CATALOG_SPEC.encode(), files))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_five_hundred_mutated_catalogs_are_ok_or_located(seed):
    rng = random.Random(seed)
    for _ in range(500):
        assert_ok_or_located(catalog_case(rng))
