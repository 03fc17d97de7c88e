"""Every spec shipped in audit_specs/ validates, so the suites a user copies are sound."""

from pathlib import Path

import pytest

from auditkit import read_spec

SPECS = sorted((Path(__file__).parents[2] / "audit_specs").glob("*.yaml"))


def test_the_standard_suites_are_shipped():
    names = {path.stem for path in SPECS}
    assert {"demo", "http_vendor", "smb_vetting", "cooperative", "regulator"} <= names


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_shipped_spec_validates(path):
    spec = read_spec(path)
    assert spec.name.strip()
