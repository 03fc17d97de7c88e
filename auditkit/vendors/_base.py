"""The vendor seam: what auditkit sends to a recommender and what it accepts back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

INVALID_RESPONSE = (
    "vendor response must be a list of item ids or an object with 'items'; got {kind}"
)


@dataclass(frozen=True)
class RecommendRequest:
    """One probe as the vendor sees it: a customer at a shop asking for ``k`` items."""

    shop_id: str
    customer_id: str
    history: tuple[str, ...]
    context: Mapping[str, str]
    k: int
    options: Mapping[str, Any] = field(default_factory=dict)
    """Vendor settings the shop can set per request (the knobs a vendor claims), if any."""
    probe_id: str | None = field(default=None, compare=False)
    """The audit's own id of the probe; not part of the request as recorded or hashed."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (history as a list, context as a sorted dict)."""
        data: dict[str, Any] = {
            "shop_id": self.shop_id,
            "customer_id": self.customer_id,
            "history": list(self.history),
            "context": dict(sorted(self.context.items())),
            "k": self.k,
        }
        if self.options:
            data["options"] = dict(sorted(self.options.items()))
        return data


@dataclass(frozen=True)
class RecommendResponse:
    """A vendor's ranked answer; scores and explanations are optional and per item."""

    items: tuple[str, ...]
    scores: tuple[float, ...] | None = None
    explanations: tuple[str | None, ...] | None = None
    raw: Any = field(default=None, compare=False)


class RequestFailed(Exception):
    """A request that got no readable answer; recorded as an ``error`` attempt.

    ``problem`` reads ``kind: detail`` (``http_503: ...``, ``timeout: ...``); ``retryable``
    says whether sending it again may help; ``retry_after`` is the vendor's own wait, in
    seconds, when it gave one.
    """

    def __init__(self, problem: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retryable = retryable
        self.retry_after = retry_after


class InvalidAnswer(Exception):
    """The vendor answered, but not with anything usable; recorded as an ``invalid`` attempt.

    ``raw`` keeps what came back (possibly cut off) as evidence.
    """

    def __init__(self, problem: str, *, raw: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.raw = raw


@runtime_checkable
class Vendor(Protocol):
    """Anything with ``recommend(request)``; adapters wrap real vendors in this shape."""

    def recommend(self, request: RecommendRequest) -> RecommendResponse | Sequence[str]:
        """Return ranked item ids for the request, best first."""
        ...


@runtime_checkable
class EventSink(Protocol):
    """A vendor that accepts interaction events (purchases, views) for a shop.

    A vendor may also say how many events one call should carry, as an ``event_batch_size``
    attribute; without it, all the planting's events go in one call.
    """

    def send_events(self, shop_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Record the events as if customers of ``shop_id`` had made them."""
        ...


def coerce_response(answer: Any) -> RecommendResponse:
    """Normalize what a vendor returned into a `RecommendResponse`.

    Accepts a `RecommendResponse`, a list/tuple of item ids, or a mapping or object with
    ``items`` (and optional ``scores`` and ``explanations``). Raises ``ValueError`` otherwise,
    which the runner records as an invalid answer.
    """
    if isinstance(answer, RecommendResponse):
        return answer
    if isinstance(answer, list | tuple):
        return RecommendResponse(items=tuple(str(item) for item in answer), raw=answer)
    if isinstance(answer, Mapping):
        get = answer.get
    elif hasattr(answer, "items") and not callable(answer.items):

        def get(name: str, default: Any = None) -> Any:
            return getattr(answer, name, default)
    else:
        raise ValueError(INVALID_RESPONSE.format(kind=type(answer).__name__))
    items = get("items")
    if not isinstance(items, list | tuple):
        raise ValueError(INVALID_RESPONSE.format(kind=type(items).__name__))
    scores = get("scores")
    explanations = get("explanations")
    return RecommendResponse(
        items=tuple(str(item) for item in items),
        scores=None if scores is None else tuple(float(s) for s in scores),
        explanations=None
        if explanations is None
        else tuple(None if e is None else str(e) for e in explanations),
        raw=answer,
    )
