"""Send the probe plan to a vendor and keep every answer as evidence."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from auditkit.probes.design import request_context
from auditkit.probes.evidence import Attempt, EvidenceStore
from auditkit.vendors import RecommendRequest, RecommendResponse, Vendor, coerce_response


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands, passed to the progress callback after each attempt."""

    done: int
    total: int
    failures: int


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
        )
        for shop, customer, history, k, context, option in zip(
            plan["shop_id"],
            plan["customer_id"],
            plan["history"],
            plan["k"],
            contexts,
            options,
            strict=True,
        )
    ]


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


def run_probes(
    plan: pd.DataFrame,
    vendor: Vendor,
    store: EvidenceStore,
    catalogs: Mapping[str, pd.DataFrame],
    *,
    on_progress: Callable[[RunProgress], None] | None = None,
) -> None:
    """Send every probe without a usable answer in ``store``; record each attempt.

    A vendor that raises, or answers something unusable, is recorded as a failed attempt
    and the run goes on.
    """
    catalog_items = {shop: frozenset(c["item_id"].astype(str)) for shop, c in catalogs.items()}
    done = store.answered()
    pending = ~plan["probe_id"].isin(done)
    todo = plan[pending]
    requests = build_requests(todo)
    failures = 0
    for count, (probe_id, request) in enumerate(zip(todo["probe_id"], requests, strict=True), 1):
        started = time.perf_counter()
        try:
            answer = vendor.recommend(request)
        except Exception as exc:  # a vendor's failure is evidence, not a crash
            latency = (time.perf_counter() - started) * 1000
            attempt = Attempt(
                str(probe_id),
                request.to_dict(),
                "error",
                latency,
                problem=f"{type(exc).__name__}: {exc}",
            )
        else:
            latency = (time.perf_counter() - started) * 1000
            status, items, problem, response = judge_answer(
                answer, request, catalog_items.get(request.shop_id, frozenset())
            )
            attempt = Attempt(
                str(probe_id),
                request.to_dict(),
                status,
                latency,
                items=items,
                scores=None
                if response is None or response.scores is None
                else list(response.scores),
                explanations=None
                if response is None or response.explanations is None
                else list(response.explanations),
                raw=None if response is None else response.raw,
                problem=problem,
            )
        failures += attempt.status != "ok"
        store.record(attempt)
        if on_progress is not None:
            on_progress(RunProgress(count, len(todo), failures))
