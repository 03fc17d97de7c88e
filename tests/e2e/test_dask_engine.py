"""The Dask engine on a LocalCluster of 2 workers: the results of one machine, byte for byte."""

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditkit import AuditSpec, ClusterError, run_audit
from auditkit.api import load_shops, plan_probes
from auditkit.api._cluster import (
    NO_DASK,
    SHARDS_DIR,
    connect,
    probe_shard,
    require_dask,
    share_of,
)
from auditkit.cli import main
from auditkit.probes import RunPolicy, open_evidence
from auditkit.probes.shards import SHARD_SUFFIX, shard_plan

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "audit_specs" / "demo.yaml"


def demo_data(**probes):
    data = yaml.safe_load(DEMO.read_text())
    data["inference"] = {"n_resamples": 200}
    data["probes"].update(probes)
    return data


def demo_spec(**probes) -> AuditSpec:
    return AuditSpec.model_validate(demo_data(**probes))


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    run_audit(demo_spec(), out=out)
    return out


def evidence_of(run_dir):
    with open_evidence(run_dir, spec_sha256=spec_hash(run_dir)) as store:
        return store.answers(), store.attempts()


def spec_hash(run_dir):
    return json.loads((run_dir / "results.json").read_text())["audit"]["spec_sha256"]


@pytest.mark.slow
def test_results_json_is_byte_identical_to_the_single_machine_run(cluster, plain, tmp_path):
    run_audit(demo_spec(), out=tmp_path, scheduler=cluster)
    assert (tmp_path / "results.json").read_bytes() == (plain / "results.json").read_bytes()
    answers, attempts = evidence_of(tmp_path)
    plain_answers, plain_attempts = evidence_of(plain)
    assert answers.equals(plain_answers)
    assert len(attempts) == len(plain_attempts)
    assert not (tmp_path / SHARDS_DIR).exists()  # every shard merged, none left behind


@pytest.mark.slow
def test_a_planted_trend_reaches_every_worker_and_the_results_match(cluster, tmp_path):
    planting = {"write_events": True, "customers": 10, "events": 20000}
    spec = demo_spec(trend_planting=planting)
    run_audit(spec, out=tmp_path / "plain")
    run_audit(spec, out=tmp_path / "dask", scheduler=cluster)
    plain_json = (tmp_path / "plain" / "results.json").read_bytes()
    assert (tmp_path / "dask" / "results.json").read_bytes() == plain_json
    leakage = json.loads(plain_json)["metrics"]
    assert any(m["id"] == "popularity.trend_leakage" and m["n"] for m in leakage)


def with_reference(data):
    # The shop's own list: the same world's vendor without pooling across shops.
    simulated = {"adapter": "simulated", "options": {"pooling": 0.0, "noise": 0.3}}
    data["reference"] = {"name": "the shop's own list", "vendor": simulated}
    return AuditSpec.model_validate(data)


@pytest.mark.slow
def test_a_reference_is_probed_on_the_workers_and_the_results_match(cluster, tmp_path):
    spec = with_reference(demo_data())
    run_audit(spec, out=tmp_path / "plain")
    run_audit(spec, out=tmp_path / "dask", scheduler=cluster)
    plain_json = (tmp_path / "plain" / "results.json").read_bytes()
    assert (tmp_path / "dask" / "results.json").read_bytes() == plain_json
    answers, attempts = evidence_of(tmp_path / "dask")
    plain_answers, plain_attempts = evidence_of(tmp_path / "plain")
    assert answers.equals(plain_answers)
    assert len(attempts) == len(plain_attempts)
    assert attempts["probe_id"].str.startswith("reference:").any()
    results = json.loads(plain_json)
    assert results["audit"]["reference"]["probes_answered"] > 0
    assert any("reference" in m["details"] for m in results["metrics"])
    assert not (tmp_path / "dask" / SHARDS_DIR).exists()


@pytest.mark.slow
def test_shards_merge_into_the_columnar_store_with_the_same_results(cluster, plain, tmp_path):
    run_audit(demo_spec(), out=tmp_path, scheduler=cluster, evidence_store="parquet")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["evidence_store"] == "parquet"
    assert (tmp_path / "results.json").read_bytes() == (plain / "results.json").read_bytes()
    answers, attempts = evidence_of(tmp_path)
    plain_answers, plain_attempts = evidence_of(plain)
    assert answers.equals(plain_answers)
    assert len(attempts) == len(plain_attempts)
    assert attempts["id"].tolist() == list(range(1, len(attempts) + 1))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "parquet"])
def test_resume_merges_a_left_over_shard_and_sends_only_the_rest(cluster, plain, tmp_path, kind):
    spec = demo_spec()
    shops = load_shops(spec)
    plan = plan_probes(spec, shops)
    sendable = plan[plan["same_as"].isna()]
    first = shard_plan(sendable, 4)[0]
    # A shard a killed run got back but never merged: its evidence file waits in shards/.
    shard = probe_shard(spec, shops, first, RunPolicy(), None, None, 1)
    (tmp_path / SHARDS_DIR).mkdir(parents=True)
    (tmp_path / SHARDS_DIR / f"shard-00000{SHARD_SUFFIX}").write_bytes(shard.data)
    # The run's evidence as a run killed before merging anything leaves it: empty.
    open_evidence(tmp_path, spec_sha256=spec_hash(plain), store=kind).close()
    run_audit(spec, out=tmp_path, resume=True, scheduler=cluster)
    assert json.loads((tmp_path / "manifest.json").read_text())["evidence_store"] == kind
    _, attempts = evidence_of(tmp_path)
    assert attempts["probe_id"].is_unique and len(attempts) == len(sendable)
    assert set(first["probe_id"]) <= set(attempts["probe_id"])
    assert (tmp_path / "results.json").read_bytes() == (plain / "results.json").read_bytes()


@pytest.mark.slow
def test_the_command_runs_on_a_scheduler_address(cluster, plain, tmp_path):
    spec_file = tmp_path / "demo.yaml"
    spec_file.write_text(yaml.safe_dump(demo_data()))
    out = tmp_path / "run"
    outcome = CliRunner().invoke(
        main, ["run", str(spec_file), "--out", str(out), "--scheduler", cluster, "-q"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert (out / "results.json").read_bytes() == (plain / "results.json").read_bytes()


def test_each_shard_paces_its_share_of_the_vendors_quota():
    policy = RunPolicy(concurrency=8, rate_per_second=100.0, max_attempts=3)
    share = share_of(policy, 4)
    assert (share.concurrency, share.rate_per_second, share.max_attempts) == (2, 25.0, 3)
    assert share_of(dataclasses.replace(policy, rate_per_second=None), 16).concurrency == 1


def test_without_dask_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ClusterError) as caught:
        require_dask()
    assert str(caught.value) == NO_DASK
    outcome = CliRunner().invoke(
        main, ["run", str(DEMO), "--out", str(tmp_path / "run"), "--scheduler", "local"]
    )
    assert outcome.exit_code == 2
    assert outcome.output.strip().endswith(NO_DASK)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_an_unreachable_scheduler_is_a_located_error():
    with pytest.raises(ClusterError) as caught, connect("tcp://127.0.0.1:9", timeout=0.5):
        pass
    message = str(caught.value)
    assert message.startswith("--scheduler: cannot reach a Dask scheduler at tcp://127.0.0.1:9")
    assert "`dask worker tcp://127.0.0.1:9`" in message


def test_a_worker_lost_with_its_data_says_to_resume():
    from auditkit.api._cluster import LOST, _lost_as_error

    with pytest.raises(ClusterError) as caught, _lost_as_error("shard 3 of the probes"):
        raise distributed.CancelledError("auditkit-shard-x cancelled: lost dependencies")
    assert str(caught.value).startswith(LOST.split("{what}")[0] + "shard 3 of the probes (")
    assert str(caught.value).endswith("continue with --resume")


SECRET_ENV = "AKT_DASK_VENDOR_KEY"
SECRET = "dask-planted-secret-41c2"


@pytest.mark.slow
def test_workers_share_a_remote_vendors_quota_and_keep_its_secret(tmp_path, monkeypatch):
    import support

    from auditkit.api import load_shops as shops_of
    from auditkit.world import Faults, SimulatedVendor, running_server, vendor_app

    world = {"shops": 3, "items_per_shop": 80, "categories": 6}
    probes = {
        "k": 6,
        "personas": [{"id": "fan", "categories": ["cat01"], "history_length": 3, "customers": 6}],
    }
    simulated = {"adapter": "simulated", "options": {"pooling": 0.8}}
    reference = AuditSpec.model_validate(
        support.spec_data("quota", simulated, probes, seed=3, world=world)
    )
    shops = shops_of(reference)
    vendor = SimulatedVendor(
        shops.catalogs, seed=reference.seed, signatures=shops.signatures(), pooling=0.8
    )
    # The server refuses (429) beyond 40 requests a second; the spec allows 30 in all. Two
    # workers each sending the whole quota would go over it; their shares stay under it.
    app = vendor_app(vendor, faults=Faults(seed=5, rate_limit=40.0), api_key=SECRET)
    monkeypatch.setenv(SECRET_ENV, SECRET)  # the client's, and the workers' it starts
    with (
        running_server(app) as url,
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
    ):
        served = support.served_vendor(
            url, secret_env=SECRET_ENV, concurrency=4, rate_per_second=30.0, timeout_seconds=5
        )
        spec = AuditSpec.model_validate(
            support.spec_data("quota", served, probes, seed=3, world=world)
        )
        result = run_audit(spec, out=tmp_path, scheduler=local.scheduler_address)
    assert result.data_quality.answer_rate == 1.0
    assert result.data_quality.failures_by_kind == {}  # not one 429
    text = (tmp_path / "evidence.sqlite").read_bytes()
    assert SECRET.encode() not in text


@pytest.mark.slow
def test_a_shard_whose_worker_dies_is_sent_again_and_the_run_finishes(tmp_path):
    import support

    marker = tmp_path / "died"
    vendor = {
        "adapter": "python",
        "target": "dying_vendor:dying_once",
        "options": {"marker": str(marker)},
        "concurrency": 2,
    }
    probes = {"k": 4, "personas": [{"id": "fan", "history_length": 2, "customers": 8}]}
    world = {"shops": 3, "items_per_shop": 40, "categories": 4}
    spec = AuditSpec.model_validate(
        support.spec_data("dying", vendor, probes, seed=5, world=world)
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        result = run_audit(spec, out=tmp_path / "run", scheduler=local.scheduler_address)
    assert marker.exists()  # a worker did die
    assert result.data_quality.answer_rate == 1.0
    _, attempts = evidence_of(tmp_path / "run")
    # The dead worker's attempts never came back; every probe was answered once.
    assert attempts["probe_id"].is_unique
    assert len(attempts) == result.data_quality.probes_planned - result.data_quality.probes_shared
