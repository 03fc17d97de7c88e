"""The standard suites: installed with the package, listed, initialised, validated, hashed."""

import hashlib
import json

import pytest
import yaml
from click.testing import CliRunner

from auditkit.api import plan_probes, read_spec
from auditkit.api._shops import load_shops
from auditkit.cli import EXIT_INPUT, main
from auditkit.errors import SpecError
from auditkit.spec import load_spec
from auditkit.suites import (
    PROTECTED_KEYS,
    SUITE_FILES,
    load_suite,
    modified_keys,
    obligation_ids,
    protected_form,
    suite_ids,
    suite_path,
    suite_record,
    suite_sha256,
    suite_text,
)

# Pinned: a shipped suite's protected keys change only with a new version. When a change is
# meant, bump the suite's version and pin its new hash here.
PINNED = {
    "smb_vetting": (1, "590769025fb79e06fd44e318237083cce51958a4baec9e3edcdb18bc64209e45"),
    "cooperative": (1, "8f3cbda6d49c1f33189bdc6dc91bbd1293288190f10765f7737454e6a783db02"),
    "regulator": (1, "31413f32fb5d44c5ba10a42083bffbdcc64b375e851dd3a6a8a7ef014c16ebd1"),
}
# The requests each plan sends as shipped, counted by `auditkit plan` (its "requests" line).
BUDGETS = {"smb_vetting": 796, "cooperative": 1472, "regulator": 2196}
REGULATOR_FORM = protected_form(load_suite("regulator"))


def test_the_three_suites_are_installed_with_the_package():
    assert suite_ids() == ("smb_vetting", "cooperative", "regulator")
    for suite_id in suite_ids():
        path = suite_path(suite_id)
        assert (
            path.is_file()
            and path.parent.name == "suites"
            and path.parent.parent.name == ("auditkit")
        )


@pytest.mark.parametrize("suite_id", sorted(SUITE_FILES))
def test_each_suite_names_itself_and_is_pinned(suite_id):
    spec = load_suite(suite_id)
    assert spec.suite is not None and spec.suite.id == suite_id
    assert (spec.suite.version, suite_sha256(spec)) == PINNED[suite_id]
    assert set(spec.suite.obligations) <= set(obligation_ids())
    assert modified_keys(spec) == []


def test_the_hash_is_sha256_of_the_canonical_protected_form():
    spec = load_suite("regulator")
    form = protected_form(spec)
    text = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert suite_sha256(spec) == hashlib.sha256(text.encode()).hexdigest()
    # Every key of the form is one of the documented protected keys.
    prefixes = [k.removesuffix("*") for k in PROTECTED_KEYS]
    for key in form:
        assert key in PROTECTED_KEYS or any(
            p.endswith(".") and key.startswith(p) for p in prefixes
        )
    assert form["thresholds.segment.price_gap"]["warn"] == 0.1
    assert form["thresholds.popularity.gini"] is None  # reported: no threshold of the suite's


def _edited(tmp_path, suite_id, edit):
    data = yaml.safe_load(suite_text(suite_id))
    edit(data)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return read_spec(path)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["probes"].update(k=10), ["probes.k"]),
        (lambda d: d.update(seed=7), ["seed"]),
        (lambda d: d["inference"].update(n_resamples=500), ["inference.n_resamples"]),
        (
            lambda d: d.update(metrics={"segment.price_gap": {"warn": 0.2}}),
            # Picking one metric drops the others: the selection and every threshold differ.
            ["metrics", *(k for k in REGULATOR_FORM if k.startswith("thresholds."))],
        ),
        (lambda d: d["suite"].update(obligations=["dsa_art27"]), ["suite.obligations"]),
        (lambda d: d["suite"].update(version=2), ["suite.version"]),
        (lambda d: d["suite"].update(id="my_suite"), ["suite.id"]),
    ],
    ids=["k", "seed", "resamples", "thresholds", "obligations", "version", "id"],
)
def test_an_edited_protected_key_is_recorded_as_modified(tmp_path, edit, expected):
    spec = _edited(tmp_path, "regulator", edit)
    record = suite_record(spec)
    assert record is not None
    assert record["modified"] == sorted(expected)
    assert record["unmodified"] is False


def test_a_threshold_override_alone_is_named(tmp_path):
    every = {m: {} for m in REGULATOR_FORM["metrics"]}
    every["segment.price_gap"] = {"warn": 0.2}
    spec = _edited(tmp_path, "regulator", lambda d: d.update(metrics=every))
    assert suite_record(spec)["modified"] == ["thresholds.segment.price_gap"]


def test_the_vendor_shops_claims_and_names_are_not_protected(tmp_path):
    def edit(data):
        data["vendor"] = {"adapter": "simulated", "name": "another", "options": {"pooling": 0}}
        data["world"] = {"shops": 3, "items_per_shop": 200, "categories": 16}
        data["claims"] = {"explanations": False}
        data["name"] = "Regulator suite for vendor X"

    spec = _edited(tmp_path, "regulator", edit)
    record = suite_record(spec)
    assert record == {
        "id": "regulator",
        "version": 1,
        "hash": PINNED["regulator"][1],
        "unmodified": True,
        "modified": [],
    }


def test_a_spec_without_a_suite_records_none_and_keeps_its_hash():
    spec = read_spec("audit_specs/demo.yaml")
    assert spec.suite is None and suite_record(spec) is None


@pytest.mark.parametrize(
    ("suite_block", "message"),
    [
        (
            "{id: regulator, version: 0, purpose: p}",
            "suite.version: must be an integer from 1 to 10000; got 0",
        ),
        (
            "{id: regulator, version: 1, purpose: '  '}",
            "suite.purpose: must be a sentence saying what the suite is for; got only spaces",
        ),
        ("{id: regulator, version: 1}", "suite.purpose: is required"),
        (
            "{id: 'a b', version: 1, purpose: p}",
            "suite.id: must be a name of letters, digits, '_', '-' or '.'; got 'a b'",
        ),
        (
            "{id: r, version: 1, purpose: p, obligations: [dsa_art27, dsa_art27]}",
            "suite.obligations: must name each obligation once; repeated: ['dsa_art27']",
        ),
        (
            "{id: r, version: 1, purpose: p, obligation: []}",
            "suite.obligation: is not a valid key (did you mean 'obligations'?); valid keys: "
            "id, obligations, purpose, version",
        ),
    ],
)
def test_a_bad_suite_block_is_a_located_error(tmp_path, suite_block, message):
    text = suite_text("smb_vetting")
    start = text.index("suite:\n")
    end = text.index("seed:")
    path = tmp_path / "bad.yaml"
    path.write_text(text[:start] + f"suite: {suite_block}\n" + text[end:])
    line = text[:start].count("\n") + 1
    with pytest.raises(SpecError) as info:
        read_spec(path)
    assert str(info.value) == f"bad.yaml:{line} {message}"


def test_an_unknown_obligation_is_located_with_a_hint(tmp_path):
    text = suite_text("smb_vetting").replace("nyc_ll144", "nyc_ll14", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = text[: text.index("nyc_ll14")].count("\n") + 1
    index = load_suite("smb_vetting").suite.obligations.index("nyc_ll144")
    with pytest.raises(SpecError) as info:
        read_spec(path)
    assert str(info.value) == (
        f"bad.yaml:{line} suite.obligations[{index}]: is not a known obligation (did you mean "
        f"'nyc_ll144'?); known obligations: {', '.join(sorted(obligation_ids()))}"
    )
    assert load_spec(path).suite is not None  # the spec stage alone knows no mapping


def test_suites_lists_each_suite_with_its_budget():
    result = CliRunner().invoke(main, ["suites"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for suite_id in suite_ids():
        spec = load_suite(suite_id)
        row = next(line for line in lines if line.startswith(suite_id + " "))
        version, probes, digest = row.split()[1:4]
        assert int(version) == spec.suite.version
        assert int(probes) == BUDGETS[suite_id]
        assert digest == PINNED[suite_id][1][:12]
        assert spec.suite.purpose in row


@pytest.mark.parametrize("suite_id", sorted(SUITE_FILES))
def test_the_budget_is_what_the_plan_sends(suite_id):
    spec = load_suite(suite_id)
    plan = plan_probes(spec, load_shops(spec))
    assert int(plan["same_as"].isna().sum()) == BUDGETS[suite_id]


@pytest.mark.parametrize("suite_id", sorted(SUITE_FILES))
def test_init_writes_a_commented_spec_that_validates_unmodified(tmp_path, suite_id):
    runner = CliRunner()
    out = tmp_path / "spec.yaml"
    result = runner.invoke(main, ["init", suite_id, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text == suite_text(suite_id)
    # The comments tell where the vendor's connection and the shops' catalogs go.
    assert "`vendor:` below" in text and "replace it with `shops:`" in text
    assert "catalog: catalogs/" in text and "adapter: http" in text
    assert runner.invoke(main, ["validate", str(out)]).output == "ok\n"
    assert suite_record(read_spec(out))["unmodified"] is True


def test_init_refuses_to_overwrite_and_an_unknown_suite(tmp_path):
    runner = CliRunner()
    out = tmp_path / "spec.yaml"
    out.write_text("mine")
    again = runner.invoke(main, ["init", "regulator", "--out", str(out)])
    assert again.exit_code == EXIT_INPUT and out.read_text() == "mine"
    assert f"--out: {out} exists; choose another path, or pass --force" in again.output
    forced = runner.invoke(main, ["init", "regulator", "--out", str(out), "--force"])
    assert forced.exit_code == 0 and out.read_text() == suite_text("regulator")
    unknown = runner.invoke(main, ["init", "regulater"])
    assert unknown.exit_code == EXIT_INPUT
    assert (
        "'regulater' is not a standard suite; the suites are: smb_vetting, cooperative, regulator"
        in unknown.output
    )
    printed = runner.invoke(main, ["init", "cooperative", "--out", "-"])
    assert printed.exit_code == 0 and printed.output == suite_text("cooperative")


def test_running_a_suite_id_says_to_init_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "regulator", "--out", "runs/r"])
    assert result.exit_code == EXIT_INPUT
    assert result.output == (
        "regulator: no such file; 'regulator' is a standard suite: `auditkit init regulator "
        "--out regulator.yaml` writes it as a spec to fill in, then run that file\n"
    )
    assert not (tmp_path / "runs").exists()


def test_the_suites_and_the_mapping_are_declared_package_data():
    # A wheel cannot be built offline here (setuptools>=77 is a build requirement), so the
    # declaration itself is checked: every data file of auditkit/suites matches a glob of it.
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["auditkit"]
    data = sorted(
        p.relative_to(root / "auditkit").as_posix()
        for p in suite_path("regulator").parent.glob("*.yaml")
    )
    assert data == [
        "suites/cooperative.yaml",
        "suites/obligations.yaml",
        "suites/regulator.yaml",
        "suites/smb_vetting.yaml",
    ]
    templates = ["reports/templates/opinion.html.j2", "reports/templates/opinion.md.j2"]
    for name in [*data, *templates]:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in declared), name


def test_a_spec_object_naming_an_unknown_obligation_is_refused_before_probing(tmp_path):
    from auditkit import run_audit
    from auditkit.spec import AuditSpec

    data = yaml.safe_load(suite_text("smb_vetting"))
    data["suite"]["obligations"] = ["dsa_art27", "dsa_art99"]
    spec = AuditSpec.model_validate(data)
    with pytest.raises(SpecError) as info:
        run_audit(spec, out=tmp_path / "run")
    assert str(info.value).startswith(
        "spec suite.obligations[1]: is not a known obligation (did you mean 'dsa_art38'?)"
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_run_names_the_opinion_and_a_modified_suite(tmp_path):
    data = yaml.safe_load(suite_text("smb_vetting"))
    data["probes"]["k"] = 8
    data["world"] = {"shops": 3, "items_per_shop": 120}
    spec = tmp_path / "edited.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(spec), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    opinion = json.loads((out / "results.json").read_text())["opinion"]["opinion"]
    assert f"audit opinion: {opinion} ({out / 'opinion.html'})" in result.output
    assert "note: suite smb_vetting v1 did not run as shipped; modified: probes.k" in (
        result.output
    )
    assert opinion != "positive"  # an edited suite's opinion is qualified at least
