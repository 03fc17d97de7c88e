"""The vendor seam: what auditkit sends to a recommender and what it accepts back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

if TYPE_CHECKING:
    from auditkit.spec import RetrySpec

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

    @classmethod
    def read(
        cls, items: Iterable[Any], scores: Any, explanations: Any, *, raw: Any
    ) -> RecommendResponse:
        """The response of a vendor's parsed fields: ids and texts as ``str``, scores as floats."""
        return cls(
            items=tuple(str(item) for item in items),
            scores=None if scores is None else tuple(float(s) for s in scores),
            explanations=None
            if explanations is None
            else tuple(None if e is None else str(e) for e in explanations),
            raw=raw,
        )


class RequestFailed(Exception):
    """A request that got no readable answer; recorded as an ``error`` attempt.

    ``problem`` reads ``kind: detail`` (``http_503: ...``, ``timeout: ...``); ``retryable``
    says whether sending it again may help; ``retry_after`` is the vendor's own wait, in
    seconds, when it gave one; ``raw`` is what the vendor said with its refusal (the head of
    an error page, secrets already blanked), kept as evidence of why it refused.
    """

    def __init__(
        self,
        problem: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        raw: Any = None,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retryable = retryable
        self.retry_after = retry_after
        self.raw = raw


class InvalidAnswer(Exception):
    """The vendor answered, but not with anything usable; recorded as an ``invalid`` attempt.

    ``raw`` keeps what came back (possibly cut off) as evidence.
    """

    def __init__(self, problem: str, *, raw: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.raw = raw


@dataclass(frozen=True)
class VendorCapabilities:
    """What a vendor lets the runner do: how hard to call it, and whether it takes events."""

    concurrency: int = 1
    """Calls the runner may have in flight at once (one thread each)."""
    rate_per_second: float | None = None
    """Most calls the runner starts per second, retries included (None: no cap)."""
    retries: RetrySpec | None = None
    """How the runner sends a retryable failure again (None: one attempt, no retries)."""
    events: bool = False
    """Whether the vendor takes interaction events (``send_events``), so a trend can be planted."""
    event_batch_size: int | None = None
    """Most events the runner puts in one ``send_events`` call (None: all in one)."""
    keeps_events: bool = True
    """Whether events sent by an earlier run are still held on resume (False: sent again)."""


REDACTED = "***"
"""What a secret value is replaced with wherever auditkit writes text: evidence, logs, reports."""


def redacting(secrets: Sequence[str]) -> Callable[[str], str]:
    """A function that replaces every secret value in a text by `REDACTED`.

    Each secret is caught as written and as escaped inside JSON text (a quote or backslash in
    a key is escaped in a JSON answer that echoes it); longer forms go first, so a secret that
    contains another is blanked whole.
    """
    forms = sorted(
        {form for s in secrets if s for form in (s, json.dumps(s)[1:-1]) if form},
        key=len,
        reverse=True,
    )

    def redact(text: str) -> str:
        for form in forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    return redact


def secret_values(vendor: object) -> tuple[str, ...]:
    """The credential values a vendor holds, to keep out of evidence, logs and reports.

    A vendor (an ``http`` adapter, or any Python vendor object) names them with a
    ``secret_values()`` method; a vendor without one holds none that auditkit knows of.
    """
    found = getattr(vendor, "secret_values", None)
    return tuple(str(s) for s in found()) if callable(found) else ()


@runtime_checkable
class Vendor(Protocol):
    """A recommender behind the seam: its capabilities, ``recommend(request)`` and ``close()``.

    Adapters wrap real vendors in this shape (most by subclassing `VendorAdapter`).
    """

    @property
    def capabilities(self) -> VendorCapabilities:
        """What the runner may do with this vendor."""
        ...

    def recommend(self, request: RecommendRequest) -> RecommendResponse | Sequence[str]:
        """Return ranked item ids for the request, best first."""
        ...

    def close(self) -> None:
        """Release what the vendor holds (connections, files); called once, after the run."""
        ...


class VendorAdapter:
    """Base of the adapters: default capabilities, a ``close()`` that does nothing, ``with``.

    A subclass implements ``recommend`` and sets ``_capabilities`` when it can do more than
    the defaults (one call at a time, no retries, no events); ``with vendor:`` closes it.
    """

    _capabilities: VendorCapabilities = VendorCapabilities()

    @property
    def capabilities(self) -> VendorCapabilities:
        """What the runner may do with this vendor."""
        return self._capabilities

    def recommend(self, request: RecommendRequest) -> RecommendResponse | Sequence[str]:
        """Return ranked item ids for the request, best first."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the vendor holds; nothing, unless a subclass holds something."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@runtime_checkable
class EventSink(Protocol):
    """A vendor that accepts interaction events (purchases, views) for a shop.

    It says so, and how many events one call should carry, in its capabilities (``events``,
    ``event_batch_size``).
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
    return RecommendResponse.read(items, get("scores"), get("explanations"), raw=answer)
