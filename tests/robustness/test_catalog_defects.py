"""Catalogs and names a spec's shops lack, which ``auditkit run`` crashed on or ran past.

`load_shops` (what a run does first, before any probe) checks every catalog the spec names
and every category, item and product the spec names in them: each problem is a `SpecError`
located at the spec's key, naming the catalog's line (CSV) or row (Parquet), all at once.
"""

import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.api import load_shops, read_spec
from auditkit.catalogs import load_catalog, validate_catalog
from auditkit.cli import EXIT_INPUT, main
from auditkit.errors import CatalogError, SpecError

SPEC = """\
auditkit: 1
name: catalogs
seed: 1
vendor: {adapter: simulated}
shops:
  - {id: a, catalog: a.csv, signature: {categories: [tea]}}
  - {id: b, catalog: b.csv}
probes:
  k: 3
  personas:
    - {id: fan, categories: [tea, cups], history_length: 2}
"""
HEADER = "item_id,category,canonical_id,price,popularity\n"
ROWS = "1,tea,P1,3.5,10\n2,cups,P2,8,4\n3,tea,P3,2,1\n"
GOOD = HEADER + ROWS


def shops_error(tmp_path, a: str | bytes = GOOD, b: str | bytes = GOOD, spec: str = SPEC) -> str:
    """The message `load_shops` raises for these files; the run command prints the same."""
    for name, content in (("a.csv", a), ("b.csv", b)):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)
    (tmp_path / "spec.yaml").write_text(spec)
    with pytest.raises(SpecError) as info:
        load_shops(read_spec(tmp_path / "spec.yaml"))
    return str(info.value)


def test_good_catalogs_load(tmp_path):
    (tmp_path / "a.csv").write_text(GOOD)
    (tmp_path / "b.csv").write_text(GOOD)
    (tmp_path / "spec.yaml").write_text(SPEC)
    shops = load_shops(read_spec(tmp_path / "spec.yaml"))
    assert sorted(shops.catalogs) == ["a", "b"]


# (catalog a.csv, the whole message)
BAD_CATALOGS = [
    (
        "item_id,price\n1,2\n2,3\n",
        "spec.yaml:6 shops[0].catalog: a.csv: catalog must have columns ['category']; found "
        "['item_id', 'price']",
    ),
    (
        HEADER + ROWS.replace("8,4", "abc,4"),
        "spec.yaml:6 shops[0].catalog: a.csv:3: column 'price' must be numeric; got 'abc'",
    ),
    (
        GOOD + "2,tea,P9,1,1\n",
        "spec.yaml:6 shops[0].catalog: a.csv:5: item_id must be unique; duplicated: '2'",
    ),
    (
        GOOD.replace(",", ";"),
        "spec.yaml:6 shops[0].catalog: a.csv: catalog must have columns ['item_id', "
        "'category']; found ['item_id;category;canonical_id;price;popularity'] (columns are "
        "separated by ',', this header by ';')",
    ),
    (HEADER, "spec.yaml:6 shops[0].catalog: a.csv: catalog must have at least 2 items; got 0"),
    (
        HEADER + "1,tea,P1,3.5,10\n",
        "spec.yaml:6 shops[0].catalog: a.csv: catalog must have at least 2 items; got 1",
    ),
    (
        GOOD.replace("2,1\n", "2,inf\n"),
        "spec.yaml:6 shops[0].catalog: a.csv:4: column 'popularity' must be finite; 1 rows "
        "are infinite",
    ),
    (
        HEADER + "\n1,tea,P1,3.5,10\n\n\n2,,P2,8,4\n",
        "spec.yaml:6 shops[0].catalog: a.csv:6: column 'category' must have no empty values; "
        "1 rows are empty",
    ),
    (
        GOOD + "4,tea,P4,1,1,extra,fields\n",
        "spec.yaml:6 shops[0].catalog: a.csv: cannot read catalog (Error tokenizing data. C "
        "error: Expected 5 fields in line 5, saw 7)",
    ),
    (
        GOOD.encode("utf-8").replace(b"cups", b"caf\xe9"),
        "spec.yaml:6 shops[0].catalog: a.csv:3: catalog must be UTF-8 text; byte 0xe9 is not",
    ),
]


@pytest.mark.parametrize(("a", "expected"), BAD_CATALOGS)
def test_a_bad_catalog_is_a_located_error_naming_its_line(tmp_path, a, expected):
    assert shops_error(tmp_path, a=a) == expected


def test_every_catalog_s_problem_is_reported_at_once(tmp_path):
    assert shops_error(tmp_path, a=HEADER, b="item_id\n1\n2\n") == (
        "spec.yaml:6 shops[0].catalog: a.csv: catalog must have at least 2 items; got 0\n"
        "spec.yaml:7 shops[1].catalog: b.csv: catalog must have columns ['category']; found "
        "['item_id']"
    )


# (what changes in SPEC, into what) -> the whole message
BAD_NAMES = [
    (
        "categories: [tea, cups]",
        "categories: [tea, cup]",
        "spec.yaml:11 probes.personas[0].categories[1]: must be a category of some shop's "
        "catalog (cups, tea); got 'cup' (did you mean 'cups'?)",
    ),
    (
        "signature: {categories: [tea]}",
        "signature: {categories: [Tea]}",
        "spec.yaml:6 shops[0].signature.categories[0]: must be a category of shop 'a''s "
        "catalog (cups, tea); got 'Tea' (did you mean 'tea'?)",
    ),
    (
        "signature: {categories: [tea]}",
        "signature: {items: ['1', '7']}",
        "spec.yaml:6 shops[0].signature.items[1]: must be an item_id of shop 'a''s catalog; "
        "got '7'",
    ),
    (
        "seed: 1",
        "seed: 1\ntrending: [P1, P10]",
        "spec.yaml:4 trending[1]: must be a canonical_id in some shop's catalog; got 'P10'",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD_NAMES, ids=[n[1] for n in BAD_NAMES])
def test_a_name_no_catalog_has_is_a_located_error(tmp_path, old, new, expected):
    assert old in SPEC
    assert shops_error(tmp_path, spec=SPEC.replace(old, new)) == expected


def test_a_world_persona_s_category_typo_is_a_located_error(tmp_path):
    spec = SPEC.replace(
        "shops:\n  - {id: a, catalog: a.csv, signature: {categories: [tea]}}\n"
        "  - {id: b, catalog: b.csv}\n",
        "world: {shops: 2, items_per_shop: 40, categories: 3}\n",
    )
    assert shops_error(tmp_path, spec=spec.replace("[tea, cups]", "[cat01, cat4]")) == (
        "spec.yaml:9 probes.personas[0].categories[1]: must be a category of some shop's "
        "catalog (cat01, cat02, cat03); got 'cat4' (did you mean 'cat03'?)"
    )


def test_the_run_command_refuses_a_bad_catalog_before_probing(tmp_path):
    expected = shops_error(tmp_path, a=HEADER)
    result = CliRunner().invoke(
        main, ["run", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "run"), "--quiet"]
    )
    assert result.exit_code == EXIT_INPUT
    assert result.stderr == expected + "\n"
    assert not (tmp_path / "run").exists()


def test_a_parquet_catalog_names_its_row(tmp_path):
    frame = pd.DataFrame(
        {"item_id": ["1", "2", "3"], "category": ["tea", "tea", "cups"], "price": ["1", "-", "2"]}
    )
    frame.to_parquet(tmp_path / "shop.parquet")
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "shop.parquet", source="shop.parquet")
    assert str(info.value) == "shop.parquet row 2: column 'price' must be numeric; got '-'"


def test_a_frame_s_problem_names_its_row():
    frame = pd.DataFrame({"item_id": ["1", "2", "1"], "category": ["a", "b", "c"]})
    with pytest.raises(CatalogError) as info:
        validate_catalog(frame, source="mem")
    assert str(info.value) == "mem row 3: item_id must be unique; duplicated: '1'"


def test_a_long_value_is_shown_cut(tmp_path):
    (tmp_path / "shop.csv").write_text(HEADER + ROWS.replace("8,4", "x" * 500 + ",4"))
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "shop.csv", source="shop.csv")
    assert str(info.value) == f"shop.csv:3: column 'price' must be numeric; got '{'x' * 40}'"


def test_validate_checks_the_catalogs_as_run_does(tmp_path):
    expected = shops_error(tmp_path, a=HEADER)
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "spec.yaml")])
    assert (result.exit_code, result.stderr) == (EXIT_INPUT, expected + "\n")
