import sqlite3

import pytest

from auditkit.errors import EvidenceError
from auditkit.probes.evidence import RAW_LIMIT, Attempt, EvidenceStore, answers_sha256


def test_attempts_are_kept_and_first_ok_answer_wins(tmp_path):
    path = tmp_path / "e.sqlite"
    with EvidenceStore(path, spec_sha256="abc") as store:
        store.record(Attempt("p1", {"k": 1}, "error", 5.0, problem="TimeoutError: slow"))
        store.record(Attempt("p1", {"k": 1}, "ok", 4.0, items=["a", "b"]))
        store.record(Attempt("p2", {"k": 1}, "invalid", 1.0, items=[], problem="empty"))
        assert store.answered() == {"p1"}
        answers = store.answers()
        assert answers.to_dict("records") == [
            {"probe_id": "p1", "items": ["a", "b"], "scores": None, "explanations": None}
        ]
        assert len(store.attempts()) == 3
    # committed as it goes: another connection sees every row
    rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM attempts").fetchone()
    assert rows == (3,)


def test_evidence_of_another_spec_is_refused(tmp_path):
    path = tmp_path / "e.sqlite"
    EvidenceStore(path, spec_sha256="abc").close()
    with pytest.raises(EvidenceError, match="evidence was recorded for another spec"):
        EvidenceStore(path, spec_sha256="def")


def test_huge_raw_payload_is_capped(tmp_path):
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="abc") as store:
        store.record(Attempt("p1", {}, "ok", 1.0, items=["a"], raw="x" * (RAW_LIMIT * 3)))
        row = store.attempts().iloc[0]
    assert len(row["raw"]) == RAW_LIMIT and row["raw_truncated"] == 1


def test_answers_hash_depends_on_answers_only(tmp_path):
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="abc") as store:
        store.record(Attempt("p1", {}, "ok", 1.0, items=["a"]))
        first = answers_sha256(store.answers())
        store.record(Attempt("p2", {}, "error", 1.0, problem="x"))
        assert answers_sha256(store.answers()) == first
        store.record(Attempt("p2", {}, "ok", 1.0, items=["b"]))
        assert answers_sha256(store.answers()) != first


def test_secrets_are_redacted_from_every_text_stored(tmp_path):
    path = tmp_path / "e.sqlite"
    plain, quoted = "tok-41f9", 'k"ey\\7'  # the second is escaped when written inside JSON
    with EvidenceStore(path, spec_sha256="abc", secrets=(plain, quoted, "")) as store:
        store.record(
            Attempt(
                "p1",
                {"header": f"Bearer {plain}"},
                "ok",
                1.0,
                items=["a"],
                explanations=[f"because {quoted}"],
                raw={"echo": f"{plain} {quoted}"},
            )
        )
        store.record(Attempt("p2", {}, "invalid", 1.0, problem=f"unparseable: <p>{plain}</p>"))
        rows = store.attempts()
    data = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("e.sqlite-*"))
    for secret in (plain, quoted):
        assert secret.encode() not in data
    assert b'k\\"ey' not in data  # nor its JSON-escaped form
    assert rows.loc[0, "request"] == '{"header":"Bearer ***"}'
    assert rows.loc[1, "problem"] == "unparseable: <p>***</p>"


def test_a_store_without_secrets_keeps_text_as_it_came(tmp_path):
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="abc") as store:
        store.record(Attempt("p1", {}, "invalid", 1.0, problem="*** literally ***"))
        assert store.attempts().loc[0, "problem"] == "*** literally ***"
