import textwrap

import pytest

from auditkit.errors import VendorError
from auditkit.vendors import (
    RecommendRequest,
    coerce_response,
    load_python_vendor,
    secret_values,
)

MODULE = """
class Echo:
    def __init__(self, prefix="item"):
        self.prefix = prefix

    def recommend(self, request):
        return {"items": [f"{self.prefix}{i}" for i in range(request.k)],
                "scores": [1.0 / (i + 1) for i in range(request.k)]}

def make(prefix="item"):
    return Echo(prefix)

class Keyed(Echo):
    def secret_values(self):
        return ["key-from-env"]

def keyed():
    return Keyed()

def broken():
    raise RuntimeError("no licence key")

not_a_vendor = object
"""


@pytest.fixture
def vendor_module(tmp_path, monkeypatch):
    (tmp_path / "akt_vendor_mod.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "akt_vendor_mod"


def test_factory_gets_the_options(vendor_module):
    vendor = load_python_vendor(f"{vendor_module}:make", {"prefix": "sku"})
    answer = coerce_response(vendor.recommend(RecommendRequest("s", "c", (), {}, k=2)))
    assert answer.items == ("sku0", "sku1") and answer.scores == (1.0, 0.5)


def test_a_python_vendor_names_its_own_secrets_to_keep_out_of_evidence(vendor_module):
    assert secret_values(load_python_vendor(f"{vendor_module}:keyed", {})) == ("key-from-env",)
    assert secret_values(load_python_vendor(f"{vendor_module}:make", {})) == ()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("akt_no_such_module:make", "vendor.target 'akt_no_such_module:make': cannot import"),
        (
            "akt_vendor_mod:missing",
            "vendor.target 'akt_vendor_mod:missing': no callable 'missing'",
        ),
        (
            "akt_vendor_mod:broken",
            "vendor.target 'akt_vendor_mod:broken': factory failed: RuntimeError: no licence key",
        ),
        (
            "akt_vendor_mod:not_a_vendor",
            "vendor.target 'akt_vendor_mod:not_a_vendor': the factory's result has no recommend()",
        ),
    ],
)
def test_bad_targets_are_vendor_errors(vendor_module, target, message):
    with pytest.raises(VendorError) as info:
        load_python_vendor(target, {})
    assert str(info.value).startswith(message)


def test_coerce_accepts_lists_mappings_and_objects():
    class Answer:
        items = ("a", "b")
        scores = None
        explanations = ("why a", None)

    assert coerce_response(["a", 2]).items == ("a", "2")
    assert coerce_response({"items": ["a"]}).items == ("a",)
    assert coerce_response(Answer()).explanations == ("why a", None)
    with pytest.raises(ValueError, match="got int"):
        coerce_response(42)
    with pytest.raises(ValueError, match="got str"):
        coerce_response({"items": "abc"})
