import textwrap
from pathlib import Path

import pytest

from auditkit.errors import SpecError
from auditkit.spec import AuditSpec, load_spec, spec_json_schema, spec_sha256

GOOD = """\
auditkit: 1
name: test
seed: 1
vendor:
  adapter: simulated
  options: {pooling: 0.5}
world: {shops: 3, items_per_shop: 50}
probes:
  k: 5
  personas:
    - {id: tea, categories: [cat01], history_length: 3}
  segments:
    age: ["young", "old"]
  counterfactual: [age]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_spec_loads_with_defaults(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    assert isinstance(spec, AuditSpec)
    assert spec.vendor.options.pooling == 0.5
    assert spec.vendor.options.noise == 0.3  # default filled in
    assert spec.probes.repetitions == 1
    assert spec.inference.n_resamples == 1000


# (replace this line of GOOD, with this text) -> expected "file:line path: message"
BAD = [
    ("k: 5", "k: ten", "spec.yaml:9 probes.k: must be an integer from 1 to 1000; got 'ten'"),
    ("k: 5", "k: 0", "spec.yaml:9 probes.k: must be an integer from 1 to 1000; got 0"),
    (
        "k: 5",
        "kk: 5",
        "spec.yaml:9 probes.kk: is not a valid key (did you mean 'k'?); valid keys: "
        "counterfactual, k, personas, repetitions, segment_design, segments, trend_planting",
    ),
    (
        "options: {pooling: 0.5}",
        "options: {pooling: 1.5}",
        "spec.yaml:6 vendor.options.pooling: must be a number from 0.0 to 1.0; got 1.5",
    ),
    (
        "adapter: simulated",
        "adapter: magic",
        "spec.yaml:5 vendor.adapter: must be one of 'simulated', 'python', 'http', 'replay', "
        "'trained'; got 'magic'",
    ),
    ("auditkit: 1", "auditkit: 2", "spec.yaml:1 auditkit: must be one of 1; got 2"),
    (
        "name: test",
        "title: test",
        "spec.yaml:1 name: is required\n"
        "spec.yaml:2 title: is not a valid key (did you mean 'suite'?); valid keys: auditkit, "
        "claims, description, evidence, inference, metrics, name, probes, reference, seed, shops, "
        "suite, trending, vendor, world",
    ),
    (
        "history_length: 3}",
        "history_length: -3}",
        "spec.yaml:11 probes.personas[0].history_length: must be an integer from 0 to 1000; "
        "got -3",
    ),
    (
        "{id: tea,",
        "{id: 'tea time',",
        "spec.yaml:11 probes.personas[0].id: must be a name of letters, digits, '_', '-' or '.'; "
        "got 'tea time'",
    ),
    (
        "counterfactual: [age]",
        "counterfactual: [device]",
        "spec.yaml:14 probes.counterfactual: attribute 'device' must be one of the segments "
        "['age']",
    ),
    (
        "world: {shops: 3, items_per_shop: 50}",
        "",
        "spec.yaml:1: give exactly one of 'world' (built-in shops) or 'shops' (catalog files)",
    ),
    (
        "history_length: 3}",
        "history_length: 3, carry: same}",
        "spec.yaml:11 probes.personas[0].carry: must be one of 'substitute' or 'exact'; "
        "got 'same'",
    ),
    (
        "history_length: 3}",
        "history_length: 3, history_from: typical, carry: exact}",
        "spec.yaml:11 probes.personas[0]: carry 'exact' needs history_from 'taste' (got "
        "'typical'): only a taste history is carried from shop to shop",
    ),
    ("seed: 1", "seed: 1\nseed: 2", "spec.yaml:4 seed: appears twice (first at line 3)"),
    ("k: 5", "k: [5", "spec.yaml:10: invalid YAML: expected ',' or ']', but got ':'"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD, ids=[b[1] or "no-world" for b in BAD])
def test_bad_spec_error_is_located(tmp_path, old, new, expected):
    assert old in GOOD
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, GOOD.replace(old, new, 1)))
    assert str(info.value) == expected


def test_every_error_of_a_file_is_reported_at_once(tmp_path):
    text = (
        GOOD.replace("k: 5", "k: ten")
        .replace("pooling: 0.5", "pooling: 2")
        .replace("seed: 1", "seed: one")
    )
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    assert [(i.line, i.path) for i in info.value.issues] == [
        (3, "seed"),
        (6, "vendor.options.pooling"),
        (9, "probes.k"),
    ]


def test_unknown_metric_lists_known_ones(tmp_path):
    text = GOOD + "metrics:\n  popularity.lyft: {warn: 1}\n"
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text), metric_ids=["popularity.lift", "segment.x"])
    assert str(info.value) == (
        "spec.yaml:16 metrics.popularity.lyft: is not a known metric (did you mean "
        "'popularity.lift'?); known metrics: popularity.lift, segment.x"
    )


def test_yaml_is_loaded_safely(tmp_path):
    text = GOOD.replace("name: test", "name: !!python/object/apply:os.system ['true']")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_spec(write(tmp_path, text))


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(
        SpecError, match=r"spec.yaml:1: must be a mapping of keys to values; got list"
    ):
        load_spec(write(tmp_path, "- a\n- b\n"))


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read spec"):
        load_spec(tmp_path / "nope.yaml")


def test_catalog_paths_resolve_against_the_spec_folder(tmp_path):
    text = GOOD.replace(
        "world: {shops: 3, items_per_shop: 50}", "shops:\n  - {id: a, catalog: cats/a.csv}"
    )
    (tmp_path / "sub" / "cats").mkdir(parents=True)
    (tmp_path / "sub" / "cats" / "a.csv").write_text("item_id,category\n1,a\n")
    path = tmp_path / "sub" / "spec.yaml"
    path.write_text(text)
    spec = load_spec(path)
    assert spec.shops is not None
    assert (
        spec.resolve_path(spec.shops[0].catalog) == tmp_path.resolve() / "sub" / "cats" / "a.csv"
    )


def test_hash_ignores_where_the_spec_lives(tmp_path):
    one = load_spec(write(tmp_path, GOOD))
    other_dir = tmp_path / "elsewhere"
    other_dir.mkdir()
    two = load_spec(write(other_dir, GOOD))
    assert spec_sha256(one) == spec_sha256(two)
    changed = load_spec(write(other_dir, GOOD.replace("seed: 1", "seed: 2")))
    assert spec_sha256(changed) != spec_sha256(one)


def test_schema_describes_every_top_level_key():
    schema = spec_json_schema()
    assert set(schema["properties"]) == set(AuditSpec.model_fields)
    assert set(schema["required"]) == {"auditkit", "name", "vendor", "probes"}


def test_missing_catalog_files_are_located_errors(tmp_path):
    (tmp_path / "here.csv").write_text("item_id,category\n1,a\n")
    text = GOOD.replace("world: {shops: 3, items_per_shop: 50}\n", "").replace(
        "seed: 1\n",
        "seed: 1\nshops:\n  - {id: a, catalog: here.csv}\n  - {id: b, catalog: gone.csv}\n",
    )
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    assert str(info.value) == (
        "spec.yaml:6 shops[1].catalog: must be an existing CSV or Parquet file (relative to "
        "the spec); got 'gone.csv'"
    )


def test_negative_seed_is_an_error(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, GOOD.replace("seed: 1", "seed: -1")))
    assert str(info.value) == (
        "spec.yaml:3 seed: must be an integer from 0 to 9223372036854775807; got -1"
    )


def test_a_reference_whose_fail_is_below_its_warn_is_located(tmp_path):
    text = (
        GOOD
        + "reference:\n  name: in-house\n  vendor: {adapter: simulated}\n  warn: 2\n  fail: 1.5\n"
    )
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    assert str(info.value) == "spec.yaml:15 reference: fail (1.5) must be at least warn (2)"


def test_a_reference_vendor_is_checked_as_the_vendor_is(tmp_path):
    text = GOOD + "reference:\n  name: in-house\n  vendor: {adapter: telepathy}\n"
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    assert str(info.value).startswith("spec.yaml:17 reference.vendor.adapter: must be one of")
