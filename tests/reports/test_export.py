"""auditkit export: a run's metric and by-group tables, as CSV or Parquet."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.cli import main
from auditkit.errors import ResultsError
from auditkit.reports import export_tables

DEMO = Path(__file__).parent / "golden" / "demo" / "results.json"


@pytest.fixture
def run_dir(tmp_path):
    shutil.copy(DEMO, tmp_path / "results.json")
    return tmp_path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_hold_every_metric_and_group_level(run_dir, fmt):
    paths = export_tables(run_dir, format=fmt)
    assert [p.name for p in paths] == [f"metrics.{fmt}", f"by_group.{fmt}"]
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    metrics, groups = (read(p) for p in paths)
    assert len(metrics) == 19
    row = metrics.set_index("id").loc["homogenization.cross_shop_jaccard"]
    assert row["value"] == pytest.approx(0.4983782369)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.4731565765, 0.522990627))
    assert (row["verdict"], row["warn"], row["fail"]) == ("pass", 0.55, 0.7)
    assert row["title"] == "Same products for the same customer across shops"
    shops = groups[groups["metric_id"] == "homogenization.signature_retention"]
    assert list(shops["level"]) == [f"shop0{i}" for i in range(1, 7)]
    assert shops["value"].iloc[3] == pytest.approx(0.1583750895)


def test_cli_export_and_a_bad_format(run_dir, tmp_path):
    runner = CliRunner()
    done = runner.invoke(main, ["export", str(run_dir), "--out", str(tmp_path / "t")])
    assert done.exit_code == 0, done.output
    assert "metrics.csv" in done.output and (tmp_path / "t" / "by_group.csv").is_file()
    with pytest.raises(ResultsError) as info:
        export_tables(run_dir, format="xlsx")
    assert str(info.value) == "export: format must be one of ['csv', 'parquet']; got 'xlsx'"
