"""The spec's trending list: validated against the catalogs, carried to the trend share."""

import textwrap

import pytest

from auditkit import run_audit
from auditkit.api import load_shops
from auditkit.errors import SpecError
from auditkit.spec import load_spec, spec_sha256

SPEC = """\
auditkit: 1
name: trending list
seed: 1
vendor:
  adapter: simulated
world: {shops: 3, items_per_shop: 50}
probes:
  k: 5
  personas:
    - {id: tea, history_length: 3, customers: 4}
  repetitions: 0
inference: {n_resamples: 100}
metrics:
  popularity.trend_share: {}
"""
LISTED = SPEC.replace("world:", "trending: [P00020, P00081]\nworld:")


def write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_listed_product_every_catalog_lacks_is_a_located_error(tmp_path):
    spec = load_spec(write(tmp_path, SPEC.replace("world:", "trending: [P00020, nope]\nworld:")))
    with pytest.raises(SpecError) as info:
        load_shops(spec)
    assert str(info.value) == (
        "spec.yaml:6 trending[1]: must be a canonical_id in some shop's catalog; got 'nope'"
    )


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        ("[]", "spec.yaml:6 trending: must be a list of at least 1 item(s); got []"),
        ("[P1, P1]", "spec.yaml:6 trending: must name each product once; repeated: ['P1']"),
        ("P1", "spec.yaml:6 trending: must be a list; got 'P1'"),
    ],
)
def test_a_malformed_list_is_a_located_error(tmp_path, listed, expected):
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, SPEC.replace("world:", f"trending: {listed}\nworld:")))
    assert str(info.value) == expected


def test_a_spec_without_the_list_hashes_as_before_and_with_it_differently(tmp_path):
    plain = load_spec(write(tmp_path, SPEC))
    assert "trending" not in plain.model_dump(exclude_none=True)
    listed = load_spec(write(tmp_path, LISTED))
    assert spec_sha256(listed) != spec_sha256(plain)
    assert load_shops(plain).trending is None
    assert load_shops(listed).trending == ("P00020", "P00081")


def test_the_audit_measures_trend_share_on_the_listed_products(tmp_path):
    listed = run_audit(load_spec(write(tmp_path, LISTED)), out=tmp_path / "listed")
    derived = run_audit(load_spec(write(tmp_path, SPEC)), out=tmp_path / "derived")
    (mine,) = listed.metrics
    (theirs,) = derived.metrics
    assert mine.details["trending_rule"] == "spec" and mine.details["trending_products"] == 2
    assert theirs.details["trending_rule"] == "top_popularity"
    assert theirs.details["trending_products"] == 20
    # Two products of 90 are a smaller set than the top 20: the same lists share less of it.
    assert 0.0 <= mine.value < theirs.value
