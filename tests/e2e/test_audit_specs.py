"""Every example spec in audit_specs/ validates, so the examples a user copies are sound.

The standard suites live in the package (auditkit/suites/); tests/suites covers them.
"""

from pathlib import Path

import pytest

from auditkit import read_spec

SPECS = sorted((Path(__file__).parents[2] / "audit_specs").glob("*.yaml"))


def test_the_examples_are_shipped():
    assert {path.stem for path in SPECS} == {"demo", "http_vendor"}


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_shipped_spec_validates(path):
    spec = read_spec(path)
    assert spec.name.strip()
    assert spec.suite is None  # an example, not a standard suite
