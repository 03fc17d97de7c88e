"""The simulated vendor over HTTP: a real ASGI app with latency, faults and a rate limit.

It answers the way a third-party API does, in its own shape, so the ``http`` adapter is tested
against a real server rather than mocks::

    POST /v1/tenants/{tenant}/recommendations
    {"customer": {"id": ..., "history": [...], "attributes": {...}}, "limit": k,
     "settings": {...}}
    -> 200 {"data": {"recommendations": [{"sku": ..., "score": ..., "reason": ...}]}}

    POST /v1/tenants/{tenant}/events   {"events": [{"item_id": ...}, ...]}  -> 202
    GET  /health                                                         -> 200

Faults are drawn per request from one seeded generator: ``error_rate`` answers 503,
``throttle_rate`` answers 429 at random, ``rate_limit`` answers 429 beyond that many requests
per second (a GCRA bucket with a burst of a fifth of a second), ``malformed_rate`` answers
something the client must record as invalid. Every 429 carries ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyrate_limiter import Limiter, Rate, StateBucket
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from auditkit.vendors._base import RecommendRequest
from auditkit.world._generator import _invalid, _number
from auditkit.world._simulated import SimulatedVendor

MALFORMED_KINDS = ("not_json", "no_items", "duplicates", "unknown", "empty", "huge")
DEFAULT_MALFORMED = ("not_json", "no_items", "duplicates", "unknown", "empty")
HUGE_CHUNK = b'{"pad": "' + b"x" * 65_536
HUGE_CHUNKS = 1_024  # 64 MiB: far beyond any sane response cap
RATE_LIMIT_BURST_SECONDS = 0.2
UNKNOWN_ITEM = "ghost-item"


@dataclass(frozen=True)
class Faults:
    """How badly the served vendor behaves.

    Parameters
    ----------
    latency_ms : float, default 0
        Delay before every answer.
    error_rate : float, default 0
        Share of requests answered ``503``.
    throttle_rate : float, default 0
        Share of requests answered ``429`` at random (besides ``rate_limit``).
    rate_limit : float or None, default None
        Requests per second admitted; beyond it, ``429`` with ``Retry-After``.
    malformed_rate : float, default 0
        Share of requests answered with something unusable, drawn among ``malformed``.
    malformed : tuple of str
        Kinds of malformed answer, among `MALFORMED_KINDS`.
    retry_after : int, default 1
        Seconds sent in ``Retry-After``.
    echo_credentials : bool, default False
        A careless vendor: its every answer (each reason, and a ``not_json`` page) repeats the
        caller's ``Authorization`` header.
    seed : int, default 0
        Seeds the fault draws.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    rate_limit: float | None = None
    malformed_rate: float = 0.0
    malformed: tuple[str, ...] = DEFAULT_MALFORMED
    retry_after: int = 1
    echo_credentials: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        where = "Faults"
        _number(where, "latency_ms", self.latency_ms, low=0.0)
        for key in ("error_rate", "throttle_rate", "malformed_rate"):
            _number(where, key, getattr(self, key), low=0.0, high=1.0)
        if self.error_rate + self.throttle_rate + self.malformed_rate > 1.0:
            raise _invalid(
                where,
                "error_rate + throttle_rate + malformed_rate",
                "at most 1",
                self.error_rate + self.throttle_rate + self.malformed_rate,
            )
        if self.rate_limit is not None:
            _number(where, "rate_limit", self.rate_limit, low=1e-3)
        for kind in self.malformed:
            if kind not in MALFORMED_KINDS:
                raise _invalid(where, "malformed", f"among {list(MALFORMED_KINDS)}", kind)
        if self.malformed_rate > 0 and not self.malformed:
            raise _invalid(where, "malformed", "a non-empty list of kinds", self.malformed)


def _limiter(rate: float) -> Limiter:
    """A non-blocking GCRA limiter admitting ``rate`` per second with a short burst."""
    burst = max(1, math.ceil(rate * RATE_LIMIT_BURST_SECONDS))
    per_million = max(1, round(rate * 1000))
    return Limiter(StateBucket([Rate(per_million, 1_000_000, burst=burst)]))


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def vendor_app(
    vendor: SimulatedVendor,
    *,
    faults: Faults | None = None,
    api_key: str | None = None,
    tenants: Mapping[str, str] | None = None,
) -> Starlette:
    """The ASGI app serving ``vendor`` over HTTP.

    Parameters
    ----------
    vendor : SimulatedVendor
        The recommender behind the API.
    faults : Faults, optional
        Latency, errors, throttling and malformed answers (default: none).
    api_key : str, optional
        When set, requests must send ``Authorization: Bearer <api_key>`` (else ``401``).
    tenants : mapping of str to str, optional
        Tenant id -> shop id (default: each shop is its own tenant).

    Returns
    -------
    Starlette
        Run it with any ASGI server (`serve_forever`, `running_server`).
    """
    faults = faults or Faults()
    shop_of = dict(tenants) if tenants is not None else {s: s for s in vendor.shop_ids}
    rng = np.random.default_rng(faults.seed)
    limiter = None if faults.rate_limit is None else _limiter(faults.rate_limit)
    retry_after = str(faults.retry_after)

    def refuse(request: Request) -> Response | None:
        """The fault or refusal this request gets, if any (drawn before any work)."""
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return _error(401, "missing or wrong API key")
        if limiter is not None and not limiter.try_acquire("api", blocking=False):
            return _error(429, "rate limit exceeded", **{"Retry-After": retry_after})
        return None

    async def recommend(request: Request) -> Response:
        refused = refuse(request)
        if refused is not None:
            return refused
        draw = float(rng.random())
        kind = str(rng.choice(faults.malformed)) if faults.malformed else ""
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if draw < faults.error_rate:
            return _error(503, "service temporarily unavailable")
        draw -= faults.error_rate
        if draw < faults.throttle_rate:
            return _error(429, "slow down", **{"Retry-After": retry_after})
        draw -= faults.throttle_rate
        malformed = draw < faults.malformed_rate
        echoed = request.headers.get("authorization", "") if faults.echo_credentials else ""
        if malformed and kind == "not_json":
            return PlainTextResponse(f"<html>upstream error {echoed}</html>", status_code=200)
        if malformed and kind == "huge":
            return StreamingResponse(_huge(), media_type="application/json")
        shop_id = shop_of.get(request.path_params["tenant"])
        if shop_id is None:
            return _error(404, "unknown tenant")
        try:
            body = await request.json()
            customer = body["customer"]
            probe = RecommendRequest(
                shop_id=shop_id,
                customer_id=str(customer["id"]),
                history=tuple(str(i) for i in customer.get("history", ())),
                context={str(k): str(v) for k, v in customer.get("attributes", {}).items()},
                k=int(body["limit"]),
                options=dict(body.get("settings") or {}),
            )
            answer = vendor.recommend(probe)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _error(422, f"bad request: {type(exc).__name__}")
        rows: list[dict[str, Any]] | None = [
            {"sku": item, "score": score, "reason": f"{reason} {echoed}" if echoed else reason}
            for item, score, reason in zip(
                answer.items, answer.scores or (), answer.explanations or (), strict=True
            )
        ]
        if malformed:
            rows = _spoil(kind, rows or [])
        if rows is None:
            return JSONResponse({"data": {}})
        return JSONResponse({"data": {"recommendations": rows}})

    async def events(request: Request) -> Response:
        refused = refuse(request)
        if refused is not None:
            return refused
        shop_id = shop_of.get(request.path_params["tenant"])
        if shop_id is None:
            return _error(404, "unknown tenant")
        try:
            body = await request.json()
            vendor.send_events(shop_id, [{"item_id": str(e["item_id"])} for e in body["events"]])
        except (ValueError, KeyError, TypeError) as exc:
            return _error(422, f"bad request: {type(exc).__name__}")
        return JSONResponse({"accepted": len(body["events"])}, status_code=202)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "shops": list(vendor.shop_ids)})

    return Starlette(
        routes=[
            Route("/v1/tenants/{tenant}/recommendations", recommend, methods=["POST"]),
            Route("/v1/tenants/{tenant}/events", events, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def _spoil(kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """A damaged list of recommendations (``None``: no list at all)."""
    if kind == "no_items":
        return None
    if kind == "empty":
        return []
    if kind == "duplicates" and rows:
        return [rows[0], *rows[:-1]]
    if kind == "unknown" and rows:
        return [*rows[:-1], {"sku": UNKNOWN_ITEM, "score": 0.0, "reason": None}]
    return rows


async def _huge() -> AsyncIterator[bytes]:
    for _ in range(HUGE_CHUNKS):
        yield HUGE_CHUNK
        await asyncio.sleep(0)


def serve_forever(app: Starlette, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve ``app`` on ``host:port`` until interrupted (Ctrl-C)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")


@contextlib.contextmanager
def running_server(app: Starlette, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on a free port of ``host`` in a background thread; yield its base URL.

    The server is stopped, and its thread joined, when the block exits.
    """
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=0, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(1000):
            if server.started or not thread.is_alive():
                break
            time.sleep(0.01)
        if not server.started:
            raise RuntimeError(f"the vendor server on {host} did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
