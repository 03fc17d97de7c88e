"""results.json against its published JSON Schema (``auditkit schema --results``)."""

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from test_reports import make_result, referenced_result

from auditkit.cli import main
from auditkit.reports import results_document, results_json_schema

DEMO = Path(__file__).parent / "golden" / "demo" / "results.json"


def problems(document):
    """Every way ``document`` breaks the results schema, as messages (none when it is valid)."""
    validator = jsonschema.Draft202012Validator(results_json_schema())
    return [error.message for error in validator.iter_errors(document)]


def test_the_schema_is_itself_valid():
    jsonschema.Draft202012Validator.check_schema(results_json_schema())


def test_demo_cooperative_and_hand_made_results_validate():
    documents = [
        json.loads(DEMO.read_text()),
        json.loads((DEMO.parents[1] / "cooperative" / "results.json").read_text()),
        json.loads(json.dumps(results_document(make_result()))),
        json.loads(json.dumps(results_document(referenced_result()))),
    ]
    assert [problems(document) for document in documents] == [[], [], [], []]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("metrics", 0, "verdict"), "bad"),
        (("metrics", 0, "ci"), [0.1]),
        (("data_quality", "answer_rate"), 1.5),
        (("schema",), "auditkit.results/2"),
        (("claims", 0, "verdict"), "maybe"),
    ],
)
def test_a_broken_document_is_rejected(path, value):
    document = copy.deepcopy(json.loads(DEMO.read_text()))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert problems(document)


def test_cli_prints_the_results_schema():
    printed = CliRunner().invoke(main, ["schema", "--results"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == results_json_schema()
