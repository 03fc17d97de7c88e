"""The replay adapter: recorded outputs audited with no live calls."""

import json

import pandas as pd
import pytest
import support

from auditkit import AuditSpec, run_audit
from auditkit.errors import VendorError
from auditkit.probes import EvidenceStore
from auditkit.vendors import RecommendRequest, RequestFailed
from auditkit.vendors._replay import NOT_RECORDED, ReplayVendor


def spec_data(vendor: dict) -> dict:
    return support.spec_data(
        "replayed",
        vendor,
        {
            "k": 5,
            "personas": [{"id": "p", "history_length": 3, "customers": 5}],
            "segments": {"age_band": ["18-34", "65+"]},
            "counterfactual": ["age_band"],
        },
        seed=2,
        n_resamples=200,
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A live (simulated) run, and its answers as a long table: one row per item."""
    out = tmp_path_factory.mktemp("live")
    spec = spec_data({"adapter": "simulated", "options": {"pooling": 0.8, "trend_weight": 0.5}})
    run_audit(AuditSpec.model_validate(spec), out=out)
    with EvidenceStore(out / "evidence.sqlite", spec_sha256=_spec_hash(out)) as store:
        answers = store.answers()
    plan = pd.read_parquet(out / "plan.parquet")[["probe_id", "shop_id", "customer_id"]]
    rows = answers.explode(["items", "scores", "explanations"]).rename(
        columns={"items": "item_id", "scores": "score", "explanations": "explanation"}
    )
    rows["rank"] = rows.groupby("probe_id").cumcount() + 1
    return out, rows.merge(plan, on="probe_id")


def _spec_hash(out) -> str:
    return json.loads((out / "results.json").read_text())["audit"]["spec_sha256"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_replayed_recording_gives_the_live_results(recorded, tmp_path, suffix):
    live, rows = recorded
    path = tmp_path / f"recording{suffix}"
    shuffled = rows.sample(frac=1.0, random_state=0)  # rank, not row order, decides
    if suffix == ".csv":
        shuffled.to_csv(path, index=False)
    elif suffix == ".jsonl":
        shuffled.to_json(path, orient="records", lines=True)
    else:
        shuffled.to_parquet(path, index=False)
    result = run_audit(
        AuditSpec.model_validate(spec_data({"adapter": "replay", "path": str(path)})),
        out=tmp_path / "run",
    )
    assert result.data_quality.answer_rate == 1.0
    got = json.loads((tmp_path / "run" / "results.json").read_text())
    want = json.loads((live / "results.json").read_text())
    assert got["metrics"] == want["metrics"]
    assert got["audit"]["evidence_sha256"] == want["audit"]["evidence_sha256"]


def test_a_probe_missing_from_the_recording_is_a_failure_not_a_crash(recorded, tmp_path):
    _, rows = recorded
    dropped = sorted(rows["probe_id"].unique())[:3]
    path = tmp_path / "partial.parquet"
    rows[~rows["probe_id"].isin(dropped)].to_parquet(path, index=False)
    result = run_audit(
        AuditSpec.model_validate(spec_data({"adapter": "replay", "path": str(path)})),
        out=tmp_path / "run",
    )
    quality = result.data_quality
    assert quality.probes_planned - quality.probes_answered == 3
    assert quality.failures_by_kind == {"error: not_recorded": 3}


def test_recordings_by_customer_are_found_by_shop_and_customer(tmp_path):
    path = tmp_path / "by_customer.csv"
    pd.DataFrame(
        {
            "shop_id": ["s1", "s1", "s2"],
            "customer_id": ["c1", "c1", "c1"],
            "rank": [2, 1, 1],
            "item_id": ["b", "a", "z"],
        }
    ).to_csv(path, index=False)
    vendor = ReplayVendor(path)
    assert vendor.recommend(RecommendRequest("s1", "c1", (), {}, 5)).items == ("a", "b")
    assert vendor.recommend(RecommendRequest("s2", "c1", (), {}, 5)).items == ("z",)
    with pytest.raises(RequestFailed) as info:
        vendor.recommend(RecommendRequest("s2", "c9", (), {}, 5))
    assert info.value.problem == NOT_RECORDED and not info.value.retryable


def test_bad_recordings_are_vendor_errors(tmp_path):
    no_rank = tmp_path / "no_rank.csv"
    pd.DataFrame({"probe_id": ["p"], "item_id": ["a"]}).to_csv(no_rank, index=False)
    with pytest.raises(VendorError) as info:
        ReplayVendor(no_rank)
    assert str(info.value) == (
        "no_rank.csv: the columns must be a superset of ['probe_id', 'rank', 'item_id']; "
        "got ['item_id', 'probe_id']"
    )
    bad_rank = tmp_path / "bad_rank.csv"
    pd.DataFrame({"probe_id": ["p"], "rank": ["first"], "item_id": ["a"]}).to_csv(bad_rank)
    with pytest.raises(VendorError) as info:
        ReplayVendor(bad_rank)
    assert str(info.value) == "bad_rank.csv: rank must be a number; got 'first'"
    with pytest.raises(VendorError, match="the file type must be one of"):
        ReplayVendor(tmp_path / "recording.xlsx")
