"""The Python surface of a finished run: load_run, the scorecard in Jupyter, dict specs."""

import shutil
from pathlib import Path

import pytest
import support
from test_reports import EVIL, make_result

import auditkit
from auditkit.errors import ResultsError, SpecError
from auditkit.reports import dumps_results, read_results, results_document, write_results
from auditkit.spec import spec_from_data

DEMO = Path(__file__).parent / "golden" / "demo" / "results.json"


def test_load_run_reads_back_exactly_what_was_written(tmp_path):
    shutil.copy(DEMO, tmp_path / "results.json")
    result = auditkit.load_run(tmp_path)
    assert result.run_dir == str(tmp_path)
    assert result.metric("homogenization.index").verdict == "fail"
    assert [s.letter for s in result.scores] == ["F", "A"]
    assert dumps_results(results_document(result)) == dumps_results(read_results(tmp_path))


def test_load_run_of_a_directory_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(ResultsError, match="no such file"):
        auditkit.load_run(tmp_path)


def test_a_result_shows_its_scorecard_in_jupyter(tmp_path):
    write_results(make_result(name=EVIL), tmp_path)
    html = auditkit.load_run(tmp_path)._repr_html_()
    assert html is not None and 'class="auditkit-scorecard"' in html
    assert "Convergence across shops" in html and "Worth a look" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<style>" in html and "body {" not in html  # scoped: the notebook keeps its style


def test_a_dict_spec_is_checked_as_a_file_would_be():
    data = support.spec_data("d", {"adapter": "simulated"}, {"k": "ten"}, seed=1)
    with pytest.raises(SpecError) as info:
        spec_from_data(data)
    assert str(info.value) == (
        "<dict> probes.k: must be an integer from 1 to 1000; got 'ten'\n"
        "<dict> probes.personas: is required"
    )


@pytest.mark.slow
def test_run_audit_accepts_a_dict_spec(tmp_path):
    data = support.spec_data(
        "dict spec",
        {"adapter": "simulated"},
        {"k": 4, "personas": [{"id": "p", "history_length": 2, "customers": 3}]},
        seed=3,
    )
    result = auditkit.run_audit(data, out=tmp_path)
    assert result.name == "dict spec" and (tmp_path / "report.html").is_file()
    # What was written is what is read: the same document (floats rounded as written).
    assert results_document(auditkit.load_run(tmp_path)) == read_results(tmp_path)
    assert [m.id for m in auditkit.load_run(tmp_path).metrics] == [m.id for m in result.metrics]
