"""Fixtures of the bundle tests: one small finished run, and its bundle."""

import pytest
from bundles import small_spec

from auditkit import run_audit
from auditkit.bundle import write_bundle


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "small"
    run_audit(small_spec(), out=out)
    return out


@pytest.fixture(scope="module")
def bundle(run_dir, tmp_path_factory):
    return write_bundle(run_dir, tmp_path_factory.mktemp("bundle") / "small.bundle.zip").path
