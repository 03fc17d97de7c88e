"""Audits with a reference: the reported metrics judged against what the shop already has."""

import json
import sqlite3

import pytest
import support

import auditkit.api._run
from auditkit import AuditSpec, run_audit
from auditkit.api import load_shops, plan_audit
from auditkit.api._reference import REFERENCE_PREFIX
from auditkit.bundle import verify_bundle, write_bundle
from auditkit.metrics.registry import METRICS
from auditkit.world import Faults, SimulatedVendor, running_server, vendor_app

pytestmark = pytest.mark.slow

WORLD = {"shops": 4, "items_per_shop": 200, "categories": 8}
PROBES = {
    "k": 10,
    "personas": [
        {"id": "fan", "categories": ["cat01", "cat02"], "history_length": 5, "customers": 8},
        {"id": "explorer", "history_length": 6, "customers": 8},
    ],
    "segments": {"age_band": ["18-34", "65+"]},
    "counterfactual": ["age_band"],
}
REPORTED = sorted(m for m, d in METRICS.items() if d.rule == "reported")


def spec(vendor, reference, **sections) -> AuditSpec:
    data = support.spec_data(
        "reference test", vendor, PROBES, seed=11, world=WORLD, n_resamples=300, **sections
    )
    data["reference"] = {"name": "the shop's own list", "vendor": reference}
    return AuditSpec.model_validate(data)


def simulated(**options):
    return {"adapter": "simulated", "options": {"pooling": 0.0, "noise": 0.3, **options}}


def trained(**options):
    return {"adapter": "trained", "options": {"training": "isolated", **options}}


def referenced(result):
    return {m.id: m for m in result.metrics if "reference" in m.details}


def test_a_bestseller_vendor_is_found_worse_than_a_personalised_reference(tmp_path):
    # The same shops' sales, but the vendor ignores each customer's history.
    audit = spec(simulated(personalization=0.0), simulated())
    result = run_audit(audit, out=tmp_path / "run")
    judged = referenced(result)
    assert sorted(judged) == REPORTED
    worse = (
        "popularity.long_tail_share",
        "popularity.coverage",
        "homogenization.within_shop_jaccard",
    )
    for metric_id in worse:
        found = judged[metric_id]
        assert found.verdict in ("warn", "fail"), found.summary
        assert found.details["reference"]["ratio_ci"][0] > 1.0
    tail = judged["popularity.long_tail_share"].summary
    assert "Against the shop's own list:" in tail and "not judged" not in tail


def test_another_model_of_the_same_algorithm_is_not_found_worse(tmp_path):
    vendor, reference = trained(log_seed=101), trained(log_seed=202)
    result = run_audit(spec(vendor, reference), out=tmp_path / "run")
    judged = referenced(result)
    assert sorted(judged) == REPORTED
    flagged = {m.id: m.summary for m in judged.values() if m.verdict in ("warn", "fail")}
    assert not flagged


def test_an_auditor_threshold_wins_over_the_reference(tmp_path):
    metrics = {metric_id: {} for metric_id in METRICS}
    metrics["popularity.lift"] = {"warn": 50.0, "fail": 60.0}  # far above any lift here
    audit = spec(simulated(personalization=0.0), simulated(), metrics=metrics)
    result = run_audit(audit, out=tmp_path / "run")
    lift = next(m for m in result.metrics if m.id == "popularity.lift")
    assert lift.verdict == "pass" and "reference" not in lift.details
    assert "reference" in next(m for m in result.metrics if m.id == "popularity.coverage").details


def test_the_reference_shares_the_evidence_resumes_and_verifies(tmp_path):
    audit = spec(simulated(pooling=0.9), trained())
    out = tmp_path / "run"
    first = run_audit(audit, out=out)
    with sqlite3.connect(out / "evidence.sqlite") as db:
        ids = [row[0] for row in db.execute("SELECT probe_id FROM attempts")]
    theirs = [i for i in ids if i.startswith(REFERENCE_PREFIX)]
    record = first.provenance["reference"]
    assert record["attempts"] == len(theirs) and record["adapter"] == "trained"
    assert record["probes_answered"] == record["probes_planned"] > 0
    # The vendor's data quality counts the vendor's attempts alone.
    assert first.data_quality.attempts == len(ids) - len(theirs)

    results = (out / "results.json").read_bytes()
    (out / "results.json").unlink()
    again = run_audit(audit, out=out, resume=True)  # nothing left to send
    with sqlite3.connect(out / "evidence.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == len(ids)
    assert (out / "results.json").read_bytes() == results
    assert json.loads(results)["audit"]["reference"] == again.provenance["reference"]

    checked = verify_bundle(write_bundle(out, tmp_path / "run.zip").path)
    assert checked.ok, [str(d) for d in checked.discrepancies]


def test_plan_counts_the_reference_requests_and_its_pilots_never_call_it(monkeypatch):
    built = []

    def refuse(audit, *args):
        built.append(audit.reference)
        return original(audit, *args)

    original = auditkit.api._run.build_reference
    monkeypatch.setattr(auditkit.api._run, "build_reference", refuse)
    planned = plan_audit(spec(simulated(), trained()))
    composition = planned.composition
    assert 0 < composition["reference requests"] <= composition["requests"]
    assert planned.metrics and built and all(reference is None for reference in built)


def test_a_remote_reference_keeps_its_key_out_of_the_evidence(tmp_path, monkeypatch):
    secret_env, secret = "AKT_REFERENCE_KEY", "reference-secret-93c1"
    audit = spec(simulated(pooling=0.9), simulated())
    shops = load_shops(audit)
    served = SimulatedVendor(shops.catalogs, seed=audit.seed, signatures=shops.signatures())
    monkeypatch.setenv(secret_env, secret)
    app = vendor_app(served, faults=Faults(seed=1, echo_credentials=True), api_key=secret)
    with running_server(app) as url:
        remote = support.served_vendor(url, secret_env=secret_env)
        result = run_audit(spec(simulated(pooling=0.9), remote), out=tmp_path / "run")
    record = result.provenance["reference"]
    assert record["adapter"] == "http" and record["probes_answered"] == record["probes_planned"]
    for path in (tmp_path / "run").iterdir():
        assert secret.encode() not in path.read_bytes(), path.name
    with sqlite3.connect(tmp_path / "run" / "evidence.sqlite") as db:
        echoed = db.execute(
            "SELECT COUNT(*) FROM attempts WHERE probe_id LIKE 'reference:%'"
            " AND raw LIKE '%Bearer ***%'"
        ).fetchone()[0]
    assert echoed > 0
