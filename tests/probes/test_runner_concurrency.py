"""The runner under concurrency, a rate limit and retries."""

import re
import threading
import time
from collections import Counter, defaultdict

import pandas as pd
import pytest

from auditkit.probes import EvidenceStore, RunPolicy, design_probes, run_probes
from auditkit.probes.design import with_shared_answers
from auditkit.spec import HttpVendorSpec, PersonaSpec, ProbesSpec
from auditkit.vendors import RecommendRequest, RequestFailed
from auditkit.vendors._http import HttpVendor
from auditkit.world import SimulatedVendor

FAST = {"backoff_seconds": 0.01, "max_backoff_seconds": 0.05}


def plan_for(catalogs, customers=4, *, shared=False):
    """A plan with counterfactual twins; every probe sent unless ``shared`` keeps ``same_as``."""
    spec = ProbesSpec(
        k=4,
        personas=[PersonaSpec(id="p", history_length=2, customers=customers)],
        segments={"age": ["young", "old"]},
        counterfactual=["age"],
    )
    plan = design_probes(spec, catalogs, seed=0)
    return plan if shared else plan.assign(same_as=pd.array([None] * len(plan), dtype="string"))


def test_a_twin_asking_its_original_request_is_not_sent_and_shares_its_answer(
    small_catalogs, tmp_path
):
    plan = plan_for(small_catalogs, shared=True)
    twins = plan[plan["same_as"].notna()]
    # One twin per customer and shop: the one at the customer's own age.
    assert len(twins) == plan["pair_id"].notna().sum() / 2
    originals = plan.set_index("probe_id").loc[twins["same_as"]]
    for column in ("shop_id", "customer", "k", "segment.age"):
        assert (originals[column].to_numpy() == twins[column].to_numpy()).all()
    assert (
        originals["history"].map(tuple).to_numpy() == twins["history"].map(tuple).to_numpy()
    ).all()
    vendor = Recording(small_catalogs)
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        run_probes(plan, vendor, store, small_catalogs)
        assert store.answered() == set(plan["probe_id"]) - set(twins["probe_id"])
        answers = with_shared_answers(plan, store.answers())
    assert list(answers["probe_id"]) == sorted(plan["probe_id"])
    by_probe = answers.set_index("probe_id")["items"]
    for twin, original in zip(twins["probe_id"], twins["same_as"], strict=True):
        assert by_probe[twin] == by_probe[original]


class Recording:
    """Answers the first k items after ``failures(request, n)`` says how the nth call fails."""

    def __init__(self, catalogs, fail=None):
        self.catalogs = catalogs
        self.fail = fail or (lambda request, n: None)
        self.calls = defaultdict(list)
        self.lock = threading.Lock()

    def recommend(self, request: RecommendRequest):
        with self.lock:
            self.calls[request.probe_id].append(time.perf_counter())
            n = len(self.calls[request.probe_id])
        error = self.fail(request, n)
        if error is not None:
            raise error
        return list(self.catalogs[request.shop_id]["item_id"][: request.k])


def test_answers_and_evidence_do_not_depend_on_concurrency(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs)
    vendor = SimulatedVendor(small_catalogs, seed=1, noise=0.5)
    frames = []
    for concurrency in (1, 8):
        with EvidenceStore(tmp_path / f"{concurrency}.sqlite", spec_sha256="s") as store:
            run_probes(plan, vendor, store, small_catalogs, policy=RunPolicy(concurrency))
            frames.append((store.answers(), store.attempts()))
    (one, one_attempts), (many, many_attempts) = frames
    assert one.equals(many) and len(one) == len(plan)
    columns = ["probe_id", "request_sha256", "request", "status", "items", "scores"]

    def by_probe(attempts):
        return attempts.sort_values("probe_id")[columns].reset_index(drop=True)

    assert by_probe(one_attempts).equals(by_probe(many_attempts))


def test_each_retry_is_a_row_and_only_retryable_failures_are_retried(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs)
    shop_c = set(plan.loc[plan["shop_id"] == "c", "probe_id"])

    def fail(request, n):
        if request.shop_id == "c":
            return RequestFailed("http_404: Not Found", retryable=False)
        if n <= 2:
            return RequestFailed("http_503: Service Unavailable", retryable=True)
        return None

    vendor = Recording(small_catalogs, fail)
    policy = RunPolicy(concurrency=6, max_attempts=4, **FAST)
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        run_probes(plan, vendor, store, small_catalogs, policy=policy)
        attempts = store.attempts()
        assert store.answered() == set(plan["probe_id"]) - shop_c
    per_probe = attempts.groupby("probe_id")["status"].agg(list)
    for probe_id, statuses in per_probe.items():
        expected = ["error"] if probe_id in shop_c else ["error", "error", "ok"]
        assert statuses == expected, probe_id
    assert Counter(attempts["problem"].dropna()) == {
        "http_503: Service Unavailable": 2 * (len(plan) - len(shop_c)),
        "http_404: Not Found": len(shop_c),
    }


def test_retries_stop_at_max_attempts(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs, customers=1).head(6)  # fewer than FIRST_PROBES
    busy = RequestFailed("http_503: Service Unavailable", retryable=True)
    vendor = Recording(small_catalogs, lambda request, n: busy)
    policy = RunPolicy(concurrency=4, max_attempts=3, **FAST)
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        run_probes(plan, vendor, store, small_catalogs, policy=policy)
        attempts = store.attempts()
        assert store.answered() == set()
    assert attempts.groupby("probe_id").size().eq(3).all()  # the preflight's attempt included
    assert set(attempts["problem"]) == {"http_503: Service Unavailable"}


def test_a_dead_vendor_stops_after_the_preflight_probes(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs)
    vendor = Recording(small_catalogs, lambda r, n: ConnectionRefusedError("refused"))
    policy = RunPolicy(concurrency=4, max_attempts=8, backoff_seconds=5.0)
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        started = time.perf_counter()
        stopped = run_probes(plan, vendor, store, small_catalogs, policy=policy)
        assert time.perf_counter() - started < 1.0  # no backoff was waited
        assert len(store.attempts()) == 3 and store.stopped() == stopped
    assert stopped == (
        "the vendor did not answer the first 3 probes (error: ConnectionRefusedError x3); "
        "check its address and credentials, then continue with --resume"
    )


def test_a_vendor_that_dies_mid_run_stops_the_run_and_resume_finishes_it(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs, customers=8)
    calls = Counter()
    lock = threading.Lock()

    def fail(request, n):
        with lock:
            calls["all"] += 1
            return ConnectionResetError("reset") if calls["all"] > 12 else None

    policy = RunPolicy(concurrency=4, max_attempts=1000, outage_seconds=0.3, **FAST)
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        stopped = run_probes(
            plan, Recording(small_catalogs, fail), store, small_catalogs, policy=policy
        )
        found = re.match(r"the vendor stopped answering: (\d+) attempts in a row failed", stopped)
        assert found and int(found[1]) >= 20, stopped
        assert f"(error: ConnectionResetError x{found[1]})" in stopped
        assert len(store.answered()) == 12 and store.stopped() == stopped
        assert run_probes(plan, Recording(small_catalogs), store, small_catalogs) is None
        assert store.stopped() is None and store.answered() == set(plan["probe_id"])


def test_a_stall_that_times_out_every_request_in_flight_is_retried_not_a_stop(
    small_catalogs, tmp_path
):
    plan = plan_for(small_catalogs, customers=8)
    calls = Counter()
    lock = threading.Lock()

    def fail(request, n):
        with lock:
            calls["all"] += 1
            stalled = 12 < calls["all"] <= 12 + 3 * 16  # three waves of 16 in flight
        return TimeoutError("stalled") if stalled else None

    policy = RunPolicy(concurrency=16, max_attempts=8, **FAST)
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        assert (
            run_probes(plan, Recording(small_catalogs, fail), store, small_catalogs, policy=policy)
            is None
        )
        assert store.answered() == set(plan["probe_id"])


def test_a_vendor_that_never_answers_usably_stops_after_the_first_probes(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs)

    class Empty:
        def recommend(self, request):
            time.sleep(0.01)  # a remote vendor's round trip
            return {"recs": []}  # the spec's response path finds nothing

    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        stopped = run_probes(plan, Empty(), store, small_catalogs, policy=RunPolicy(4))
        assert 10 <= len(store.attempts()) <= 10 + 2 * 4  # and those in flight
    assert stopped.startswith("none of the first 10 probes got a usable answer (invalid: ")


def test_retry_after_is_honoured(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs, customers=1).head(3)

    def fail(request, n):
        return RequestFailed("http_429", retryable=True, retry_after=0.3) if n == 1 else None

    vendor = Recording(small_catalogs, fail)
    policy = RunPolicy(concurrency=3, max_attempts=2, backoff_seconds=0.01)
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        run_probes(plan, vendor, store, small_catalogs, policy=policy)
        assert len(store.answered()) == 3
    for first, second in vendor.calls.values():
        assert second - first >= 0.3


def test_rate_limit_paces_every_attempt(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs)
    assert len(plan) >= 40
    vendor = Recording(small_catalogs)
    rate = 50.0
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        started = time.perf_counter()
        run_probes(plan, vendor, store, small_catalogs, policy=RunPolicy(16, rate_per_second=rate))
        elapsed = time.perf_counter() - started
    calls = sorted(t for times in vendor.calls.values() for t in times)
    burst = 5  # a tenth of a second at 50/s
    assert elapsed >= (len(calls) - burst) / rate * 0.95
    # no window of one second holds more than rate + burst calls
    window = [sum(1 for t in calls if start <= t < start + 1.0) for start in calls]
    assert max(window) <= rate + burst
    assert elapsed < len(calls) / rate + 1.0


def test_progress_counts_probes_failures_and_attempts(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs, customers=1)
    vendor = Recording(
        small_catalogs, lambda r, n: RequestFailed("x", retryable=True) if n == 1 else None
    )
    seen = []
    with EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store:
        run_probes(
            plan,
            vendor,
            store,
            small_catalogs,
            policy=RunPolicy(4, max_attempts=2, **FAST),
            on_progress=seen.append,
        )
    last = seen[-1]
    assert (last.done, last.total, last.failures, last.attempts) == (
        len(plan),
        len(plan),
        len(plan),
        2 * len(plan),
    )
    assert [s.attempts for s in seen[:-1]] == list(range(1, 2 * len(plan) + 1))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_crash_outside_the_vendor_call_is_raised(small_catalogs, tmp_path, concurrency):
    plan = plan_for(small_catalogs, customers=1)

    class Broken:
        def recommend(self, request):
            raise KeyboardInterrupt  # not an Exception: not the vendor's failure to record

    with (
        EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store,
        pytest.raises(KeyboardInterrupt),
    ):
        run_probes(plan, Broken(), store, small_catalogs, policy=RunPolicy(concurrency))


def test_a_stopping_run_does_not_wait_out_its_backoff(small_catalogs, tmp_path):
    plan = plan_for(small_catalogs, customers=1)
    calls = []

    def fail(request, n):
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user stops the run while others back off
        return RequestFailed("http_503", retryable=True, retry_after=30.0)

    vendor = Recording(small_catalogs, fail)
    policy = RunPolicy(concurrency=4, max_attempts=5, backoff_seconds=30, max_backoff_seconds=30)
    started = time.perf_counter()
    with (
        EvidenceStore(tmp_path / "e.sqlite", spec_sha256="s") as store,
        pytest.raises(KeyboardInterrupt),
    ):
        run_probes(plan, vendor, store, small_catalogs, policy=policy)
    assert time.perf_counter() - started < 5


def test_policy_comes_from_the_vendor_capabilities(small_catalogs):
    http = HttpVendorSpec.model_validate(
        {
            "adapter": "http",
            "url": "http://127.0.0.1:1/x",
            "response": {"items": "items"},
            "concurrency": 12,
            "rate_per_second": 40,
            "retries": {"max_attempts": 6, "backoff_seconds": 0.1, "max_backoff_seconds": 3},
        }
    )
    with HttpVendor(http, ()) as vendor:
        assert RunPolicy.for_vendor(vendor) == RunPolicy(12, 40.0, 6, 0.1, 3.0)
    assert RunPolicy.for_vendor(SimulatedVendor(small_catalogs)) == RunPolicy()
