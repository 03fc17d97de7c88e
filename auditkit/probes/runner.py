"""Send the probe plan to a vendor and keep every answer as evidence."""

from __future__ import annotations

import itertools
import json
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyrate_limiter import Limiter, Rate, StateBucket
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    wait_exponential_jitter,
)

from auditkit.errors import VendorError
from auditkit.probes.design import request_context
from auditkit.probes.evidence import Attempt, EvidenceStore
from auditkit.probes.planting import EVENTS_REFUSED
from auditkit.vendors import (
    EventSink,
    InvalidAnswer,
    RecommendRequest,
    RecommendResponse,
    RequestFailed,
    Vendor,
    coerce_response,
)

RETRYABLE = (TimeoutError, ConnectionError)
"""What an in-process vendor may raise that is worth retrying (the http adapter says itself)."""
LIMITER_BUFFER_MS = 1
# When the vendor is down, stop instead of retrying every probe (a resumed run sends the
# rest): failure kinds that say so, and how many in a row tell an outage from bad luck.
OUTAGE_KINDS = frozenset(
    {
        "connection",
        "timeout",
        "http_401",
        "http_403",
        "http_407",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "BrokenPipeError",
        "TimeoutError",
    }
)
PREFLIGHT_PROBES = 3
OUTAGE_ATTEMPTS = 20
FIRST_PROBES = 10
VENDOR_DOWN = (
    "the vendor did not answer the first {count} probes ({kinds}); check its address and "
    "credentials, then continue with --resume"
)
OUTAGE = (
    "the vendor stopped answering: {count} attempts in a row failed over {seconds:.0f} s "
    "({kinds}); "
    "continue with --resume when it is back"
)
NOTHING_ANSWERED = (
    "none of the first {count} probes got a usable answer ({kinds}); check the vendor's "
    "response paths, then continue with --resume"
)
# Plan rows turned into requests at a time: a million probes are never all requests at once.
REQUEST_CHUNK = 10_000
# Probes handed to the worker threads ahead of those settled, per thread: enough to keep
# every thread busy, few enough that a large plan holds no future per probe.
QUEUED_PER_THREAD = 8
# Attempts that may go out at once after a stall (a tenth of a second of quota): a thread
# woken late catches up instead of losing its slot.
LIMITER_BURST_SECONDS = 0.1


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands, passed to the progress callback after each attempt.

    ``done`` counts probes settled (answered, or given up on), ``failures`` failed attempts
    (a retried probe may fail several times and still be answered).
    """

    done: int
    total: int
    failures: int
    attempts: int = 0


@dataclass(frozen=True)
class RunPolicy:
    """How probes go out: in parallel, paced, and retried.

    Parameters
    ----------
    concurrency : int, default 1
        Requests in flight at once (one thread each).
    rate_per_second : float or None, default None
        Most attempts started per second over the whole run (a GCRA limiter).
    max_attempts : int, default 1
        Attempts per probe; only retryable failures are sent again.
    backoff_seconds, max_backoff_seconds : float
        Exponential backoff with jitter between attempts: ``backoff_seconds * 2**n`` plus up
        to ``backoff_seconds`` of jitter, at least the vendor's ``Retry-After``, at most
        ``max_backoff_seconds``.
    outage_seconds : float, default 30
        How long a run of `OUTAGE_ATTEMPTS` or more outage failures in a row must last
        before probing stops: a stall that times out every request in flight at once is
        retried, a vendor still down after this long is not.
    """

    concurrency: int = 1
    rate_per_second: float | None = None
    max_attempts: int = 1
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    outage_seconds: float = 30.0

    @classmethod
    def for_vendor(cls, vendor: Vendor) -> RunPolicy:
        """The policy a vendor's capabilities ask for (concurrency, rate and retries)."""
        capabilities = vendor.capabilities
        retries = capabilities.retries
        return cls(
            concurrency=capabilities.concurrency,
            rate_per_second=capabilities.rate_per_second,
            max_attempts=1 if retries is None else retries.max_attempts,
            backoff_seconds=0.5 if retries is None else retries.backoff_seconds,
            max_backoff_seconds=30.0 if retries is None else retries.max_backoff_seconds,
        )


def build_requests(plan: pd.DataFrame) -> list[RecommendRequest]:
    """One vendor request per row of the plan, in plan order."""
    contexts = request_context(plan)
    # A plain comprehension: Series.map over a string column mangles dict results.
    texts = plan["options"].tolist() if "options" in plan.columns else [None] * len(plan)
    options = [{} if text is None or pd.isna(text) else json.loads(text) for text in texts]
    return [
        RecommendRequest(
            shop_id=str(shop),
            customer_id=str(customer),
            history=tuple(str(i) for i in history),
            context=context,
            k=int(k),
            options=option,
            probe_id=None if probe_id is None else str(probe_id),
        )
        for shop, customer, history, k, context, option, probe_id in zip(
            plan["shop_id"],
            plan["customer_id"],
            plan["history"],
            plan["k"],
            contexts,
            options,
            plan["probe_id"] if "probe_id" in plan.columns else [None] * len(plan),
            strict=True,
        )
    ]


def _requests(plan: pd.DataFrame) -> Iterator[tuple[str, RecommendRequest]]:
    """``(probe_id, request)`` per plan row, in plan order, built `REQUEST_CHUNK` at a time."""
    for start in range(0, len(plan), REQUEST_CHUNK):
        chunk = plan.iloc[start : start + REQUEST_CHUNK]
        yield from zip(chunk["probe_id"].astype(str), build_requests(chunk), strict=True)


def judge_answer(
    answer: object, request: RecommendRequest, catalog_items: frozenset[str]
) -> tuple[str, list[str] | None, str | None, RecommendResponse | None]:
    """Classify a vendor's answer: ``ok`` (maybe with problems noted) or ``invalid``.

    Returns ``(status, items, problem, response)``. Duplicates and items the shop does not
    sell are kept and noted; an empty or unparseable answer is invalid.
    """
    try:
        response = coerce_response(answer)
    except (ValueError, TypeError) as exc:
        return "invalid", None, f"unparseable: {exc}", None
    items = list(response.items)
    if not items:
        return "invalid", items, "empty", response
    problems = []
    if len(set(items)) < len(items):
        problems.append("duplicates")
    unknown = sum(item not in catalog_items for item in items)
    if unknown:
        problems.append(f"unknown_items:{unknown}")
    if len(items) > request.k:
        problems.append("too_many")
    return "ok", items, ";".join(problems) or None, response


@dataclass(frozen=True)
class _Tried:
    """One attempt's evidence, and whether it is worth another."""

    attempt: Attempt
    retryable: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class _Settled:
    """A probe is done with: answered or given up on."""

    probe_id: str


@dataclass(frozen=True)
class _Crashed:
    """A worker failed outside the vendor call (a bug, not a vendor failure)."""

    error: BaseException


def _try_once(
    vendor: Vendor, probe_id: str, request: RecommendRequest, catalog_items: frozenset[str]
) -> _Tried:
    """Send one request and turn whatever happens into an attempt."""
    started = time.perf_counter()
    try:
        answer = vendor.recommend(request)
    except RequestFailed as exc:
        latency = (time.perf_counter() - started) * 1000
        # What the vendor said with its refusal is evidence of why it refused.
        attempt = Attempt(
            probe_id, request.to_dict(), "error", latency, raw=exc.raw, problem=exc.problem
        )
        return _Tried(attempt, exc.retryable, exc.retry_after)
    except InvalidAnswer as exc:
        latency = (time.perf_counter() - started) * 1000
        attempt = Attempt(
            probe_id, request.to_dict(), "invalid", latency, raw=exc.raw, problem=exc.problem
        )
        return _Tried(attempt)
    except Exception as exc:  # a vendor's failure is evidence, not a crash
        latency = (time.perf_counter() - started) * 1000
        attempt = Attempt(
            probe_id,
            request.to_dict(),
            "error",
            latency,
            problem=f"{type(exc).__name__}: {exc}",
        )
        return _Tried(attempt, isinstance(exc, RETRYABLE))
    latency = (time.perf_counter() - started) * 1000
    status, items, problem, response = judge_answer(answer, request, catalog_items)
    return _Tried(
        Attempt(
            probe_id,
            request.to_dict(),
            status,
            latency,
            items=items,
            scores=None if response is None or response.scores is None else list(response.scores),
            explanations=None
            if response is None or response.explanations is None
            else list(response.explanations),
            raw=None if response is None else response.raw,
            problem=problem,
        )
    )


def _limiter(rate_per_second: float | None) -> Limiter | None:
    """A blocking GCRA limiter: ``rate_per_second`` sustained, bursts of a tenth of a second."""
    if rate_per_second is None:
        return None
    burst = max(1, math.floor(rate_per_second * LIMITER_BURST_SECONDS))
    rate = Rate(max(1, round(rate_per_second * 1000)), 1_000_000, burst=burst)
    return Limiter(StateBucket([rate]), buffer_ms=LIMITER_BUFFER_MS)


def _retrying(
    policy: RunPolicy, sleep: Callable[[float], Any], *, attempts: int | None = None
) -> Retrying:
    """The retry loop: retryable attempts again, with backoff, jitter and Retry-After.

    ``attempts`` caps the attempts (default the policy's ``max_attempts``).
    """
    backoff = wait_exponential_jitter(
        multiplier=policy.backoff_seconds,
        max=policy.max_backoff_seconds,
        jitter=policy.backoff_seconds,
    )

    def wait(state: RetryCallState) -> float:
        tried = state.outcome.result() if state.outcome is not None else None
        seconds = backoff(state)
        if tried is not None and tried.retry_after is not None:
            seconds = max(seconds, tried.retry_after)
        return min(seconds, policy.max_backoff_seconds)

    return Retrying(
        stop=stop_after_attempt(policy.max_attempts if attempts is None else attempts),
        wait=wait,
        retry=retry_if_result(lambda tried: tried.retryable),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        sleep=sleep,
    )


def _kind(attempt: Attempt) -> str:
    """The failure kind of an attempt: its problem text up to the first colon."""
    return (attempt.problem or "").split(":", 1)[0].strip()


def _outage(attempt: Attempt) -> bool:
    """Whether a failed attempt says the vendor is unreachable or refuses the credentials."""
    return attempt.status == "error" and _kind(attempt) in OUTAGE_KINDS


def _tally(attempts: Counter[str] | Sequence[Attempt]) -> str:
    """``kind xN`` for each failure kind, most frequent first (ties by name)."""
    if not isinstance(attempts, Counter):
        attempts = Counter(f"{a.status}: {_kind(a)}" for a in attempts)
    ranked = sorted(attempts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{kind} x{count}" for kind, count in ranked)


def run_probes(
    plan: pd.DataFrame,
    vendor: Vendor,
    store: EvidenceStore,
    catalogs: Mapping[str, pd.DataFrame],
    *,
    policy: RunPolicy | None = None,
    on_progress: Callable[[RunProgress], None] | None = None,
) -> str | None:
    """Send every probe without a usable answer in ``store``; record each attempt.

    Parameters
    ----------
    plan
        The probes (one row each); those already answered in ``store`` are skipped, and so
        are those that share another probe's request (``same_as``).
    vendor
        Called from ``policy.concurrency`` threads at once.
    store
        Receives every attempt, retries included, as it arrives (written from this thread
        only, each row its own commit).
    catalogs
        Each shop's catalog, to note items the shop does not sell.
    policy
        Concurrency, rate and retries (default: one at a time, no retries).
    on_progress
        Called after each attempt.

    Returns
    -------
    str or None
        Why probing stopped before every probe was settled, or None when it did not. It
        stops when the vendor is down: the first `PREFLIGHT_PROBES` probes, sent one at a
        time before any other, all fail as an outage (no connection, timeout, credentials
        refused); or `OUTAGE_ATTEMPTS` attempts in a row do later, over at least
        ``policy.outage_seconds``; or none of the first
        `FIRST_PROBES` probes settled got a usable answer (a wrong response path, say).
        The reason is also kept in ``store`` (`EvidenceStore.stopped`); a resumed run
        sends the rest.

    Notes
    -----
    A vendor that raises, or answers something unusable, is recorded as a failed attempt and
    the run goes on. Which answer counts does not depend on timing: each probe has at most
    one ``ok`` attempt, since retries stop at the first usable answer.
    """
    policy = policy or RunPolicy()
    catalog_items = {shop: frozenset(c["item_id"].astype(str)) for shop, c in catalogs.items()}
    todo = plan[~plan["probe_id"].isin(store.answered())]
    if "same_as" in todo.columns:  # a repeat of another probe's request shares its answer
        todo = todo[todo["same_as"].isna().to_numpy(dtype=bool)]
    probes = _requests(todo)
    store.note_stop(None)
    if todo.empty:
        return None
    limiter = _limiter(policy.rate_per_second)
    # One thread waits on the limiter at a time, the rest queue behind it: woken together,
    # they would race for each slot, and the losers' extra sleeps would waste slots.
    pacing = threading.Lock()
    outbox: queue.SimpleQueue[_Tried | _Settled | _Crashed] = queue.SimpleQueue()
    stopping = threading.Event()
    # A stopping run wakes its sleeping retries at once (the next attempt then stops).
    retrying = _retrying(policy, sleep=stopping.wait)
    # A probe tried once by the preflight has one attempt fewer left.
    retrying_rest = _retrying(policy, sleep=stopping.wait, attempts=policy.max_attempts - 1)
    total = len(todo)
    done = failures = attempts = 0
    outages: list[Attempt] = []  # the current run of consecutive outage failures
    outage_since = 0.0  # when that run began (time.monotonic)
    failed_kinds: Counter[str] = Counter()
    answered_any = False

    def paced_try(probe_id: str, request: RecommendRequest) -> _Tried:
        if limiter is not None:
            with pacing:
                limiter.try_acquire("vendor")
        return _try_once(vendor, probe_id, request, catalog_items.get(request.shop_id, _NONE))

    def keep(attempt: Attempt) -> None:
        nonlocal attempts, failures, answered_any, outage_since
        store.record(attempt)
        attempts += 1
        failures += attempt.status != "ok"
        answered_any |= attempt.status == "ok"
        if attempt.status != "ok":
            failed_kinds[f"{attempt.status}: {_kind(attempt)}"] += 1
        if _outage(attempt):
            if not outages:
                outage_since = time.monotonic()
            outages.append(attempt)
        else:
            outages.clear()
        if on_progress is not None:
            on_progress(RunProgress(done, total, failures, attempts))

    def attempt(probe_id: str, request: RecommendRequest) -> _Tried:
        if stopping.is_set():
            raise _Stopped
        tried = paced_try(probe_id, request)
        outbox.put(tried)
        return tried

    def probe(probe_id: str, request: RecommendRequest, earlier: _Tried | None = None) -> None:
        try:
            if earlier is None and policy.max_attempts < 2:
                attempt(probe_id, request)  # no retries: the retry loop's cost is not paid
            elif earlier is None:
                retrying.copy()(attempt, probe_id, request)
            else:  # waits as a retry of the preflight's attempt would
                wait = max(policy.backoff_seconds, earlier.retry_after or 0.0)
                if stopping.wait(min(wait, policy.max_backoff_seconds)):
                    return
                retrying_rest.copy()(attempt, probe_id, request)
        except _Stopped:
            return
        except BaseException as exc:
            outbox.put(_Crashed(exc))
            return
        outbox.put(_Settled(probe_id))

    def stop(reason: str) -> str:
        store.note_stop(reason)
        return reason

    try:
        # Preflight: a few probes alone, once each, to see that the vendor answers at all.
        # A probe answered, or refused for good, there is settled; the rest go on below.
        checked: list[Attempt] = []
        earlier: dict[str, _Tried] = {}
        first: list[tuple[str, RecommendRequest]] = []
        for probe_id, request in itertools.islice(probes, PREFLIGHT_PROBES):
            tried = paced_try(probe_id, request)
            keep(tried.attempt)
            earlier[probe_id] = tried
            first.append((probe_id, request))
            if not _outage(tried.attempt):
                break
            checked.append(tried.attempt)
        if len(checked) == min(PREFLIGHT_PROBES, total):
            return stop(VENDOR_DOWN.format(count=len(checked), kinds=_tally(checked)))
        settled = {
            p for p, tried in earlier.items() if not tried.retryable or policy.max_attempts < 2
        }
        rest = itertools.chain(((p, r) for p, r in first if p not in settled), probes)
        done = len(settled)
        with ThreadPoolExecutor(policy.concurrency, thread_name_prefix="auditkit-probe") as pool:
            if policy.concurrency == 1:
                outcomes = _settle_serially(rest, probe, earlier, outbox)
            else:
                window = QUEUED_PER_THREAD * policy.concurrency
                outcomes = _settle_in_threads(pool, window, rest, probe, earlier, outbox)
            try:
                while done < total:
                    item = next(outcomes)
                    if isinstance(item, _Crashed):
                        raise item.error
                    if isinstance(item, _Settled):
                        done += 1
                        if not answered_any and done >= FIRST_PROBES:
                            reason = NOTHING_ANSWERED.format(
                                count=done, kinds=_tally(failed_kinds)
                            )
                            return stop(reason)
                        continue
                    keep(item.attempt)
                    lasted = time.monotonic() - outage_since
                    if len(outages) >= OUTAGE_ATTEMPTS and lasted >= policy.outage_seconds:
                        reason = OUTAGE.format(
                            count=len(outages), seconds=lasted, kinds=_tally(outages)
                        )
                        return stop(reason)
            finally:
                stopping.set()
                pool.shutdown(wait=True, cancel_futures=True)
                # Answers that arrived while stopping are evidence too.
                while not outbox.empty():
                    late = outbox.get()
                    if isinstance(late, _Tried):
                        keep(late.attempt)
    finally:
        if limiter is not None:
            limiter.close()
    if on_progress is not None:
        on_progress(RunProgress(done, total, failures, attempts))
    return None


class _Stopped(Exception):
    """The run is stopping: send nothing more."""


_Outcome = _Tried | _Settled | _Crashed
_Probe = Callable[[str, RecommendRequest, "_Tried | None"], None]


def _settle_serially(
    probes: Iterable[tuple[str, RecommendRequest]],
    probe: _Probe,
    earlier: Mapping[str, _Tried],
    outbox: queue.SimpleQueue[_Outcome],
) -> Iterator[_Outcome]:
    """One probe at a time from the calling thread (a vendor that takes one call at a time).

    Yields each probe's attempts and its settling as `_settle_in_threads` does, without a
    thread hand-off per probe: for an in-process vendor, that hand-off cost more than the
    vendor's own answer.
    """
    for probe_id, request in probes:
        probe(probe_id, request, earlier.get(probe_id))
        while not outbox.empty():
            yield outbox.get()


def _settle_in_threads(
    pool: ThreadPoolExecutor,
    window: int,
    probes: Iterable[tuple[str, RecommendRequest]],
    probe: _Probe,
    earlier: Mapping[str, _Tried],
    outbox: queue.SimpleQueue[_Outcome],
) -> Iterator[_Outcome]:
    """The pool's threads send the probes; at most ``window`` are handed to them ahead.

    Yields attempts and settlings as they arrive; each settling hands the pool the next probe.
    """
    pending = iter(probes)
    for probe_id, request in itertools.islice(pending, window):
        pool.submit(probe, probe_id, request, earlier.get(probe_id))
    while True:
        item = outbox.get()
        if isinstance(item, _Settled):
            following = next(pending, None)
            if following is not None:
                pool.submit(probe, following[0], following[1], earlier.get(following[0]))
        yield item


@dataclass(frozen=True)
class _Delivery:
    """One attempt at sending a batch of events: refused (with why) or accepted."""

    problem: str | None = None
    retryable: bool = False
    retry_after: float | None = None


def _deliver_once(
    vendor: EventSink, shop_id: str, batch: Sequence[Mapping[str, Any]]
) -> _Delivery:
    """Send one batch and turn whatever happens into a delivery."""
    try:
        vendor.send_events(shop_id, batch)
    except RequestFailed as exc:
        return _Delivery(exc.problem, exc.retryable, exc.retry_after)
    except InvalidAnswer as exc:
        return _Delivery(exc.problem)
    except Exception as exc:  # the vendor's failure, reported as the plant's
        return _Delivery(f"{type(exc).__name__}: {exc}", isinstance(exc, RETRYABLE))
    return _Delivery()


def send_event_batches(
    vendor: EventSink,
    shop_id: str,
    events: Sequence[Mapping[str, Any]],
    *,
    batch_size: int | None = None,
    policy: RunPolicy | None = None,
    on_sent: Callable[[Sequence[Mapping[str, Any]]], None] | None = None,
) -> None:
    """Send ``events`` to ``shop_id`` in batches, in order, paced and retried as probes are.

    Parameters
    ----------
    vendor
        Takes each batch with ``send_events(shop_id, batch)``.
    shop_id
        The shop the events happened at.
    events
        All the events to send.
    batch_size
        Most events per call (default: all in one).
    policy
        Rate and retries (concurrency does not apply: batches go one after another, so the
        accepted ones are always a prefix of ``events``).
    on_sent
        Called with each batch once the vendor accepts it (to record it as evidence).

    Raises
    ------
    VendorError
        When the vendor still refuses a batch after the policy's attempts; the batches
        before it were sent, and passed to ``on_sent``.
    """
    policy = policy or RunPolicy()
    size = batch_size or max(1, len(events))
    limiter = _limiter(policy.rate_per_second)
    retrying = _retrying(policy, sleep=time.sleep)
    try:
        for start in range(0, len(events), size):
            batch = events[start : start + size]
            attempts = 0

            def attempt(batch: Sequence[Mapping[str, Any]] = batch) -> _Delivery:
                nonlocal attempts
                attempts += 1
                if limiter is not None:
                    limiter.try_acquire("vendor")
                return _deliver_once(vendor, shop_id, batch)

            delivery = retrying.copy()(attempt)
            if delivery.problem is not None:
                raise VendorError(
                    EVENTS_REFUSED.format(
                        count=len(batch),
                        shop=shop_id,
                        attempts=attempts,
                        problem=delivery.problem,
                    )
                )
            if on_sent is not None:
                on_sent(batch)
    finally:
        if limiter is not None:
            limiter.close()


_NONE: frozenset[str] = frozenset()
