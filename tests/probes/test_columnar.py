"""The columnar evidence store: the SQLite store's guarantees, with attempts in Parquet."""

import sqlite3

import pandas as pd
import pytest
from test_runner import FlakyVendor, plan_for

from auditkit.errors import EvidenceError
from auditkit.probes import Attempt, EvidenceStore, run_probes
from auditkit.probes.columnar import PARTS_DIR, ColumnarEvidenceStore
from auditkit.probes.stores import (
    COLUMNAR_FROM_PROBES,
    OTHER_STORE,
    choose_store,
    existing_store,
    open_evidence,
)

ATTEMPTS = [
    Attempt("p2", {"k": 1, "shop_id": "a"}, "error", 5.0, problem="TimeoutError: slow"),
    Attempt("p2", {"k": 1, "shop_id": "a"}, "ok", 4.0, items=["x", "y"], scores=[0.5, 0.25]),
    Attempt("p1", {"k": 1}, "ok", 1.5, items=["z"], explanations=["because", None]),
    Attempt("p1", {"k": 1}, "ok", 1.0, items=["later"]),  # not the first usable answer
    Attempt("p3", {"k": 1}, "invalid", 1.0, items=[], problem="empty", raw={"r": [1, 2]}),
]


def recorded(store: EvidenceStore) -> EvidenceStore:
    for attempt in ATTEMPTS:
        store.record(attempt)
    return store


@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_both_stores_give_the_same_answers_and_attempts(tmp_path, batch_rows):
    with (
        recorded(EvidenceStore(tmp_path / "s" / "evidence.sqlite", spec_sha256="h")) as plain,
        recorded(
            ColumnarEvidenceStore(
                tmp_path / "c" / "evidence.sqlite", spec_sha256="h", batch_rows=batch_rows
            )
        ) as columnar,
    ):
        assert columnar.answered() == plain.answered() == {"p1", "p2"}
        pd.testing.assert_frame_equal(columnar.answers(), plain.answers())
        assert columnar.answers()["items"].tolist() == [["z"], ["x", "y"]]
        # recorded_at is the clock's: every other column agrees, cell for cell
        drop = ["recorded_at"]
        pd.testing.assert_frame_equal(
            columnar.attempts().drop(columns=drop), plain.attempts().drop(columns=drop)
        )
        status = ("probe_id", "status", "problem")
        pd.testing.assert_frame_equal(columnar.attempts(status), plain.attempts(status))
    assert len(list((tmp_path / "c" / PARTS_DIR).glob("part-*.parquet"))) == -(-5 // batch_rows)


def test_a_batch_is_written_whole_and_ids_go_on_across_openings(tmp_path):
    path = tmp_path / "evidence.sqlite"
    with ColumnarEvidenceStore(path, spec_sha256="h", batch_rows=2) as store:
        for attempt in ATTEMPTS[:3]:
            store.record(attempt)
        # two rows make a part at once; the third waits for its batch
        assert len(list((tmp_path / PARTS_DIR).glob("part-*.parquet"))) == 1
    # a batch a killed run was writing never became a part: it is ignored and cleared
    (tmp_path / PARTS_DIR / ".part-000009.parquet.tmp").write_bytes(b"half a file")
    with ColumnarEvidenceStore(path, spec_sha256="h", batch_rows=2) as store:
        store.record(ATTEMPTS[3])
        assert store.attempts()["id"].tolist() == [1, 2, 3, 4]
    assert not list((tmp_path / PARTS_DIR).glob(".*.tmp"))


def test_the_store_is_chosen_by_plan_size_and_kept_on_resume(tmp_path):
    assert choose_store("auto", probes=COLUMNAR_FROM_PROBES - 1) == "sqlite"
    assert choose_store("auto", probes=COLUMNAR_FROM_PROBES) == "parquet"
    assert choose_store("sqlite", probes=10**7) == "sqlite"
    with pytest.raises(ValueError, match="evidence store must be one of"):
        choose_store("csv", probes=1)
    assert existing_store(tmp_path) is None
    with open_evidence(tmp_path, spec_sha256="h", probes=COLUMNAR_FROM_PROBES) as store:
        assert isinstance(store, ColumnarEvidenceStore)
    # resumed: the store the run started with, whatever the size says now
    with open_evidence(tmp_path, spec_sha256="h", probes=1) as store:
        assert store.kind == existing_store(tmp_path) == "parquet"
    with pytest.raises(EvidenceError) as info:
        open_evidence(tmp_path, spec_sha256="h", store="sqlite")
    path = tmp_path / "evidence.sqlite"
    assert str(info.value) == OTHER_STORE.format(path=path, found="parquet", asked="sqlite")
    # and the plain SQLite store does not read it as a run without attempts
    with pytest.raises(EvidenceError, match="keeps its attempts in parquet files"):
        EvidenceStore(path, spec_sha256="h")


def test_secrets_never_reach_the_part_files(tmp_path):
    secret = "tok-9f1e"
    attempt = Attempt(
        "p1",
        {"header": f"Bearer {secret}"},
        "ok",
        1.0,
        items=[f"item-{secret}"],
        explanations=[f"because {secret}"],
        raw={"echo": secret},
    )
    with ColumnarEvidenceStore(
        tmp_path / "evidence.sqlite", spec_sha256="h", secrets=(secret,)
    ) as store:
        store.record(attempt)
        row = store.attempts().iloc[0]
    data = b"".join(p.read_bytes() for p in (tmp_path / PARTS_DIR).iterdir())
    assert secret.encode() not in data
    assert row["request"] == '{"header":"Bearer ***"}'
    assert row["items"] == '["item-***"]' and row["explanations"] == '["because ***"]'


@pytest.mark.parametrize("kind", ["sqlite", "parquet"])
def test_an_interrupted_run_resumed_sends_nothing_twice(small_catalogs, tmp_path, kind):
    plan = plan_for(small_catalogs)
    vendor = FlakyVendor(small_catalogs)

    class Interrupted(FlakyVendor):
        def recommend(self, request):
            if self.calls == 7:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the run
            return super().recommend(request)

    interrupted = Interrupted(small_catalogs)
    with (
        pytest.raises(KeyboardInterrupt),
        open_evidence(tmp_path, spec_sha256="s", store=kind) as store,
    ):
        run_probes(plan, interrupted, store, small_catalogs)
    with open_evidence(tmp_path, spec_sha256="s") as store:
        before = store.attempts()
        assert len(before) == 7  # every attempt that came back was kept
        answered = store.answered()
        calls = vendor.calls
        run_probes(plan, vendor, store, small_catalogs)
        after = store.attempts()
    resent = after.iloc[len(before) :]
    assert set(resent["probe_id"]).isdisjoint(answered)
    assert vendor.calls == calls + len(plan) - len(answered)
    ok = after[after["status"] == "ok"]
    assert not ok["probe_id"].duplicated().any()


def test_a_sqlite_run_still_reads_with_plain_sqlite(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs)
    with open_evidence(tmp_path, spec_sha256="s", store="sqlite") as store:
        run_probes(plan, FlakyVendor(small_catalogs), store, small_catalogs)
    with sqlite3.connect(tmp_path / "evidence.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM attempts").fetchone() == (len(plan),)
