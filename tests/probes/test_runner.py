import pandas as pd

from auditkit.probes import EvidenceStore, design_probes, judge_answer, run_probes
from auditkit.spec import PersonaSpec, ProbesSpec
from auditkit.vendors import RecommendRequest, RecommendResponse


class FlakyVendor:
    """Fails every third call, answers garbage every fifth, else the first k items."""

    def __init__(self, catalogs: dict[str, pd.DataFrame]) -> None:
        self.catalogs = catalogs
        self.calls = 0

    def recommend(self, request: RecommendRequest):
        self.calls += 1
        if self.calls % 3 == 0:
            raise TimeoutError("vendor too slow")
        if self.calls % 5 == 0:
            return {"oops": True}
        return list(self.catalogs[request.shop_id]["item_id"][: request.k])


def plan_for(catalogs):
    spec = ProbesSpec(k=4, personas=[PersonaSpec(id="p", history_length=2, customers=3)])
    return design_probes(spec, catalogs, seed=0)


def test_failures_are_recorded_and_resume_sends_only_unanswered(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs)
    vendor = FlakyVendor(small_catalogs)
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        run_probes(plan, vendor, store, small_catalogs)
        attempts = store.attempts()
        assert len(attempts) == len(plan)
        assert set(attempts["status"]) == {"ok", "error", "invalid"}
        first_round_ok = store.answered()
        calls_before = vendor.calls
        run_probes(plan, vendor, store, small_catalogs)
        resent = store.attempts().iloc[len(attempts) :]
        assert set(resent["probe_id"]).isdisjoint(first_round_ok)
        assert vendor.calls - calls_before == len(plan) - len(first_round_ok)


def test_judge_answer_names_what_is_wrong():
    request = RecommendRequest("a", "c", (), {}, k=2)
    catalog = frozenset({"x", "y"})
    assert judge_answer(["x", "y"], request, catalog)[:3] == ("ok", ["x", "y"], None)
    assert (
        judge_answer(["x", "x", "z"], request, catalog)[2] == "duplicates;unknown_items:1;too_many"
    )
    assert judge_answer([], request, catalog)[0:3:2] == ("invalid", "empty")
    assert judge_answer("nonsense", request, catalog)[0] == "invalid"
    response = RecommendResponse(items=("y",), scores=(0.5,), explanations=("because",))
    assert judge_answer(response, request, catalog)[3] is response
