"""Shards keep customers whole and merge back in plan order, once, whatever finished first."""

import pandas as pd
import pytest

from auditkit.errors import EvidenceError
from auditkit.probes import merge_shard_evidence, open_evidence, shard_plan, shard_units
from auditkit.probes.evidence import Attempt, EvidenceStore
from auditkit.probes.shards import SHARD_OTHER_SPEC, merge_shard_into


def plan_of(customers, matches=None):
    n = len(customers)
    return pd.DataFrame(
        {
            "probe_id": [f"p{i:03d}" for i in range(n)],
            "customer": pd.array(customers, dtype="string"),
            "match_id": pd.array(matches or [None] * n, dtype="string"),
        }
    )


def test_a_customer_never_spans_two_shards_and_shards_cover_the_plan_in_order():
    customers = ["c3", "c1", "c3", "c2", "c1", "c4", "c2", "c5", "c3", "c6", "c5", "c6"]
    plan = plan_of(customers)
    shards = shard_plan(plan, 3)
    assert 1 < len(shards) <= 3
    assert sorted(pd.concat(shards)["probe_id"]) == list(plan["probe_id"])
    owners = {}
    for number, shard in enumerate(shards):
        assert shard.index.is_monotonic_increasing  # plan order inside a shard
        for customer in shard["customer"]:
            assert owners.setdefault(customer, number) == number
    # Units in order of their first probe: earlier customers in earlier shards.
    firsts = [plan.index[plan["customer"] == s["customer"].iloc[0]][0] for s in shards]
    assert firsts == sorted(firsts)


def test_the_same_plan_gives_the_same_shards():
    plan = plan_of([f"c{i % 7}" for i in range(50)])
    first = [list(s["probe_id"]) for s in shard_plan(plan, 4)]
    assert first == [list(s["probe_id"]) for s in shard_plan(plan.copy(), 4)]


def test_probes_without_a_customer_keep_their_match_group_or_go_alone():
    plan = plan_of([None, None, "c1", None, None], matches=["m1", "m2", "x", "m1", None])
    units = shard_units(plan)
    assert units[0] == units[3]  # one match group
    assert len(set(units.tolist())) == 4  # m1, m2, c1, the lone probe
    for shard in shard_plan(plan, 5):
        ids = set(shard["probe_id"])
        assert {"p000", "p003"} <= ids or not ({"p000", "p003"} & ids)


def test_more_shards_than_units_gives_one_shard_per_unit_at_most():
    plan = plan_of(["a", "a", "b", "b"])
    assert [len(s) for s in shard_plan(plan, 10)] == [2, 2]
    assert shard_plan(plan.iloc[:0], 3) == []


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "2"])
def test_a_bad_shard_count_is_refused_with_the_one_message(bad):
    with pytest.raises(ValueError) as caught:
        shard_plan(plan_of(["a"]), bad)
    assert str(caught.value) == f"shard_plan: n_shards must be a positive integer; got {bad!r}"


def record(path, attempts, spec="abc"):
    with EvidenceStore(path, spec_sha256=spec) as store:
        for attempt in attempts:
            store.record(attempt)


def test_a_shard_merges_in_plan_order_and_only_once(tmp_path):
    run = tmp_path / "evidence.sqlite"
    record(run, [Attempt("p000", {"k": 0}, "ok", 1.0, items=["x"])])
    shard = tmp_path / "one.shard.sqlite"
    # As a shard's threads finished: p002 first, then p001 failed once and was answered.
    record(
        shard,
        [
            Attempt("p002", {"k": 2}, "ok", 1.0, items=["b"]),
            Attempt("p001", {"k": 1}, "error", 1.0, problem="TimeoutError: slow"),
            Attempt("p001", {"k": 1}, "ok", 1.0, items=["a"]),
        ],
    )
    positions = pd.Series([1, 2], index=["p001", "p002"])
    assert merge_shard_evidence(run, shard, positions, spec_sha256="abc") == 3
    assert merge_shard_evidence(run, shard, positions, spec_sha256="abc") == 0
    with EvidenceStore(run, spec_sha256="abc") as store:
        attempts = store.attempts()
        answers = store.answers()
    assert list(zip(attempts["probe_id"], attempts["status"], strict=True)) == [
        ("p000", "ok"),
        ("p001", "error"),
        ("p001", "ok"),
        ("p002", "ok"),
    ]
    assert answers["items"].tolist() == [["x"], ["a"], ["b"]]


def test_a_shard_of_another_spec_is_refused(tmp_path):
    run, shard = tmp_path / "evidence.sqlite", tmp_path / "s.shard.sqlite"
    record(run, [])
    record(shard, [Attempt("p1", {}, "ok", 1.0, items=["a"])], spec="other")
    with pytest.raises(EvidenceError) as caught:
        merge_shard_evidence(run, shard, pd.Series([0], index=["p1"]), spec_sha256="abc")
    assert str(caught.value) == SHARD_OTHER_SPEC.format(path=shard, found="other", expected="abc")


@pytest.mark.parametrize("kind", ["sqlite", "parquet"])
def test_a_shard_merges_into_either_store_alike(tmp_path, kind):
    run = tmp_path / kind
    with open_evidence(run, spec_sha256="abc", store=kind) as store:
        store.record(Attempt("p000", {"k": 0}, "ok", 1.0, items=["x"]))
    shard = tmp_path / "one.shard.sqlite"
    record(
        shard,
        [
            Attempt("p002", {"k": 2}, "ok", 1.0, items=["b"], explanations=["why"]),
            Attempt("p001", {"k": 1}, "error", 1.0, problem="TimeoutError: slow"),
            Attempt("p001", {"k": 1}, "ok", 1.0, items=["a"]),
        ],
    )
    positions = pd.Series([1, 2], index=["p001", "p002"])
    with open_evidence(run, spec_sha256="abc") as store:
        assert store.kind == kind
        assert merge_shard_into(store, shard, positions, spec_sha256="abc") == 3
        # Merged already (a run killed before removing the shard file): not appended again.
        assert merge_shard_into(store, shard, positions, spec_sha256="abc") == 0
        attempts = store.attempts()
        answers = store.answers()
    assert attempts["id"].tolist() == [1, 2, 3, 4]
    assert list(zip(attempts["probe_id"], attempts["status"], strict=True)) == [
        ("p000", "ok"),
        ("p001", "error"),
        ("p001", "ok"),
        ("p002", "ok"),
    ]
    assert answers["items"].tolist() == [["x"], ["a"], ["b"]]
    assert answers["explanations"].tolist() == [None, None, ["why"]]
    with EvidenceStore(shard, spec_sha256="abc") as merged:
        sent = merged.attempts().drop(columns="id").sort_values(["probe_id", "status"])
    kept = attempts[attempts["probe_id"] != "p000"].drop(columns="id")
    pd.testing.assert_frame_equal(
        kept.sort_values(["probe_id", "status"]).reset_index(drop=True),
        sent.reset_index(drop=True),
    )


def test_a_shard_of_another_spec_is_refused_by_the_columnar_store(tmp_path):
    shard = tmp_path / "s.shard.sqlite"
    record(shard, [Attempt("p1", {}, "ok", 1.0, items=["a"])], spec="other")
    with (
        open_evidence(tmp_path / "run", spec_sha256="abc", store="parquet") as store,
        pytest.raises(EvidenceError) as caught,
    ):
        merge_shard_into(store, shard, pd.Series([0], index=["p1"]), spec_sha256="abc")
    assert str(caught.value) == SHARD_OTHER_SPEC.format(path=shard, found="other", expected="abc")
