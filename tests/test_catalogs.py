import pandas as pd
import pytest

from auditkit.catalogs import load_catalog, validate_catalog
from auditkit.errors import CatalogError


def test_csv_catalog_is_normalized(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("item_id,category,price,gtin\n1,tea,3.5,x\n2,cups,,\n")
    catalog = load_catalog(path)
    assert list(catalog.columns[:7]) == [
        "item_id",
        "category",
        "canonical_id",
        "title",
        "brand",
        "price",
        "popularity",
    ]
    assert catalog["item_id"].tolist() == ["1", "2"]
    assert catalog["price"].isna().tolist() == [False, True]
    assert catalog["canonical_id"].isna().all()
    assert "gtin" in catalog.columns  # extra attributes are kept


def test_parquet_round_trip(tmp_path):
    frame = pd.DataFrame({"item_id": ["a", "b"], "category": ["x", "y"], "popularity": [3, 1]})
    frame.to_parquet(tmp_path / "c.parquet")
    assert load_catalog(tmp_path / "c.parquet")["popularity"].tolist() == [3.0, 1.0]


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        (
            "item_id,price\n1,2\n",
            "shop.csv: catalog must have columns ['category']; found ['item_id', 'price']",
        ),
        (
            "item_id,category\n1,a\n1,b\n2,c\n2,d\n",
            "shop.csv:3: item_id must be unique; duplicated: '1', '2'",
        ),
        (
            "item_id,category\n1,\n",
            "shop.csv:2: column 'category' must have no empty values; 1 rows are empty",
        ),
        (
            "item_id,category,price\n1,a,cheap\n",
            "shop.csv:2: column 'price' must be numeric; got 'cheap'",
        ),
        (
            "item_id,category,popularity\n1,a,-1\n",
            "shop.csv:2: column 'popularity' must be non-negative; 1 rows are negative",
        ),
    ],
)
def test_bad_catalog_is_a_clear_error(tmp_path, csv, message):
    path = tmp_path / "shop.csv"
    path.write_text(csv)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(info.value) == f"{tmp_path}/{message}"


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(CatalogError, match=r"must be a \.csv or \.parquet file"):
        load_catalog(tmp_path / "shop.xlsx")
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(tmp_path / "missing.csv")


def test_validate_does_not_mutate_its_input():
    frame = pd.DataFrame({"item_id": [1, 2], "category": ["a", "b"]})
    validate_catalog(frame, source="mem")
    assert frame["item_id"].tolist() == [1, 2]
