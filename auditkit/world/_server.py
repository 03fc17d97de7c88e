"""The simulated vendor over HTTP: a real ASGI app with latency, faults and a rate limit.

It answers the way a third-party API does, in its own shape, so the ``http`` adapter is tested
against a real server rather than mocks::

    POST /v1/tenants/{tenant}/recommendations
    {"customer": {"id": ..., "history": [...], "attributes": {...}}, "limit": k,
     "settings": {...}}
    -> 200 {"data": {"recommendations": [{"sku": ..., "score": ..., "reason": ...}]}}

    POST /v1/tenants/{tenant}/events   {"events": [{"item_id": ...}, ...]}  -> 202
    GET  /health                                                         -> 200

Faults are drawn per request from one seeded generator: ``error_rate`` answers 503 (or 5xx
bursts), ``throttle_rate`` answers 429 at random, ``rate_limit`` answers 429 beyond that many
requests per second (a GCRA bucket with a burst of a fifth of a second), ``redirect_rate``
answers a redirect to the same URL (a loop), ``malformed_rate`` answers something the client
must record as invalid or note: not JSON, broken JSON, an HTML error page, wrong types, no or
empty lists, duplicates, unknown items, ``k + 50`` items, non-UTF-8 bytes, a huge answer or
a gzip bomb. A 429 carries ``Retry-After`` unless ``retry_after`` is None. Faults of the
connection itself (hangs, drips, resets) are `auditkit.world.WireFaults`'s, served by
`auditkit.world.running_hostile_server` in front of this app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyrate_limiter import Limiter, Rate, StateBucket
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from auditkit.vendors._base import RecommendRequest
from auditkit.world._generator import _integer, _invalid, _number
from auditkit.world._simulated import SimulatedVendor

MALFORMED_KINDS = (
    "not_json",
    "no_items",
    "duplicates",
    "unknown",
    "empty",
    "huge",
    "bad_json",
    "html",
    "wrong_types",
    "too_many",
    "not_utf8",
    "gzip_bomb",
)
DEFAULT_MALFORMED = ("not_json", "no_items", "duplicates", "unknown", "empty")
HUGE_CHUNK = b'{"pad": "' + b"x" * 65_536
HUGE_BYTES = 1_024 * len(HUGE_CHUNK)  # 64 MiB: far beyond any sane response cap
BOMB_BYTES = 1 << 30  # a gzip bomb's unpacked size: 1 GiB from about 1 MiB on the wire
BOMB_BLOCK = b" " * (1 << 20)  # JSON whitespace, repeated
BOMB_BLOCKS_PER_CHUNK = 16
EXTRA_ITEMS = 50  # a "too_many" answer has k + this many items
RATE_LIMIT_BURST_SECONDS = 0.2
UNKNOWN_ITEM = "ghost-item"
NOT_UTF8_REASON = "caf\xe9"  # sent in Latin-1: the byte 0xe9 is not UTF-8


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
    retry_after : int or None, default 1
        Seconds sent in ``Retry-After``; None sends 429s without one.
    echo_credentials : bool, default False
        A careless vendor: its every answer (each reason, an error's body, a ``not_json`` or
        ``html`` page) repeats the caller's ``Authorization`` header.
    error_burst : int, default 1
        Each error drawn opens a burst: it and the next ``error_burst - 1`` requests fail.
    error_statuses : tuple of int, default (503,)
        The 5xx statuses of errors, in turn.
    redirect_rate : float, default 0
        Share of requests answered ``307`` to their own URL: a redirect loop.
    huge_bytes : int
        Length of a ``huge`` answer (default 64 MiB).
    bomb_bytes : int
        Unpacked length of a ``gzip_bomb`` answer (default 1 GiB).
    seed : int, default 0
        Seeds the fault draws.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    rate_limit: float | None = None
    malformed_rate: float = 0.0
    malformed: tuple[str, ...] = DEFAULT_MALFORMED
    retry_after: int | None = 1
    echo_credentials: bool = False
    error_burst: int = 1
    error_statuses: tuple[int, ...] = (503,)
    redirect_rate: float = 0.0
    huge_bytes: int = HUGE_BYTES
    bomb_bytes: int = BOMB_BYTES
    seed: int = 0

    def __post_init__(self) -> None:
        where = "Faults"
        _number(where, "latency_ms", self.latency_ms, low=0.0)
        rates = ("redirect_rate", "error_rate", "throttle_rate", "malformed_rate")
        for key in rates:
            _number(where, key, getattr(self, key), low=0.0, high=1.0)
        total = sum(getattr(self, key) for key in rates)
        if total > 1.0:
            raise _invalid(where, " + ".join(rates), "at most 1", total)
        if self.rate_limit is not None:
            _number(where, "rate_limit", self.rate_limit, low=1e-3)
        if self.retry_after is not None:
            _integer(where, "retry_after", self.retry_after, low=0)
        _integer(where, "error_burst", self.error_burst, low=1)
        _integer(where, "huge_bytes", self.huge_bytes, low=1)
        _integer(where, "bomb_bytes", self.bomb_bytes, low=1)
        if not self.error_statuses or any(
            isinstance(s, bool) or not isinstance(s, int) or not 500 <= s <= 599
            for s in self.error_statuses
        ):
            raise _invalid(
                where, "error_statuses", "a non-empty list of 5xx statuses", self.error_statuses
            )
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


JSON = "application/json"


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _echoed(text: str, echoed: str) -> str:
    """``text`` with the echoed credentials after it, when a careless vendor echoes them."""
    return f"{text} {echoed}" if echoed else text


def _error_page(echoed: str) -> str:
    """A proxy's HTML error page, as some vendors answer with status 200."""
    return (
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
        f"<h1>Bad Gateway</h1><p>The upstream server failed. {echoed}</p></body></html>"
    )


def vendor_app(
    vendor: SimulatedVendor,
    *,
    faults: Faults | None = None,
    api_key: str | None = None,
    tenants: Mapping[str, str] | None = None,
    committed: Counter[str] | None = None,
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
    committed : Counter, optional
        Counts each fault committed, by name (``error``, ``throttle``, ``rate_limit``,
        ``redirect``, or the malformed kind), so a test can hold the client to account for
        every one.

    Returns
    -------
    Starlette
        Run it with any ASGI server (`serve_forever`, `running_server`).
    """
    faults = faults or Faults()
    shop_of = dict(tenants) if tenants is not None else {s: s for s in vendor.shop_ids}
    rng = np.random.default_rng(faults.seed)
    limiter = None if faults.rate_limit is None else _limiter(faults.rate_limit)
    throttled = {} if faults.retry_after is None else {"Retry-After": str(faults.retry_after)}
    errors = {"burst": 0, "sent": 0}  # requests left in the current 5xx burst; 5xx sent
    tally: Counter[str] = Counter() if committed is None else committed

    def echo(request: Request) -> str:
        """What a careless vendor repeats of the caller's credentials."""
        return request.headers.get("authorization", "") if faults.echo_credentials else ""

    def refuse(request: Request) -> Response | None:
        """The fault or refusal this request gets, if any (drawn before any work)."""
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return _error(401, _echoed("missing or wrong API key", echo(request)))
        if limiter is not None and not limiter.try_acquire("api", blocking=False):
            tally["rate_limit"] += 1
            return _error(429, _echoed("rate limit exceeded", echo(request)), **throttled)
        return None

    def server_error(request: Request) -> Response:
        """The next 5xx of a burst."""
        status = faults.error_statuses[errors["sent"] % len(faults.error_statuses)]
        errors["sent"] += 1
        tally["error"] += 1
        return _error(status, _echoed("service temporarily unavailable", echo(request)))

    async def recommend(request: Request) -> Response:
        refused = refuse(request)
        if refused is not None:
            return refused
        draw = float(rng.random())
        kind = str(rng.choice(faults.malformed)) if faults.malformed else ""
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if errors["burst"] > 0:
            errors["burst"] -= 1
            return server_error(request)
        if draw < faults.error_rate:
            errors["burst"] = faults.error_burst - 1
            return server_error(request)
        draw -= faults.error_rate
        if draw < faults.throttle_rate:
            tally["throttle"] += 1
            return _error(429, _echoed("slow down", echo(request)), **throttled)
        draw -= faults.throttle_rate
        if draw < faults.redirect_rate:
            tally["redirect"] += 1
            return RedirectResponse(str(request.url), status_code=307)
        draw -= faults.redirect_rate
        malformed = draw < faults.malformed_rate
        if malformed:
            tally[kind] += 1
        echoed = echo(request)
        if malformed and kind == "not_json":
            return PlainTextResponse(f"<html>upstream error {echoed}</html>", status_code=200)
        if malformed and kind == "bad_json":
            return Response(b'{"data": {"recommendations": [{"sku": ', media_type=JSON)
        if malformed and kind == "html":
            return HTMLResponse(_error_page(echoed), status_code=200)
        if malformed and kind == "huge":
            return StreamingResponse(_huge(faults.huge_bytes), media_type=JSON)
        if malformed and kind == "gzip_bomb":
            bomb = _gzip_bomb(faults.bomb_bytes)
            return StreamingResponse(bomb, media_type=JSON, headers={"Content-Encoding": "gzip"})
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
                k=int(body["limit"]) + (EXTRA_ITEMS if malformed and kind == "too_many" else 0),
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
        if malformed and kind == "not_utf8":
            for row in rows:
                row["reason"] = f"{row['reason']} {NOT_UTF8_REASON}"
            document = json.dumps({"data": {"recommendations": rows}}, ensure_ascii=False)
            return Response(document.encode("latin-1", "replace"), media_type=JSON)
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
    if kind == "wrong_types":
        return [{**row, "sku": {"id": row["sku"]}, "score": str(row["score"])} for row in rows]
    return rows


async def _huge(size: int) -> AsyncIterator[bytes]:
    for _ in range(-(-size // len(HUGE_CHUNK))):
        yield HUGE_CHUNK
        await asyncio.sleep(0)


def gzip_bomb(size: int) -> Iterator[bytes]:
    """A gzip stream that unpacks to ``size`` bytes (rounded up to MiB) of JSON whitespace.

    Each MiB is deflated once after a full flush, which makes its compressed form (about
    1 KiB) the same wherever it stands: the stream is that block repeated, made in no time.
    """
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(BOMB_BLOCK) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush(zlib.Z_FINISH)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip header: deflate, no name
    blocks = -(-size // len(BOMB_BLOCK))
    crc = 0
    for start in range(0, blocks, BOMB_BLOCKS_PER_CHUNK):
        count = min(BOMB_BLOCKS_PER_CHUNK, blocks - start)
        for _ in range(count):
            crc = zlib.crc32(BOMB_BLOCK, crc)
        yield block * count
    yield end + struct.pack("<II", crc, (blocks * len(BOMB_BLOCK)) & 0xFFFFFFFF)


async def _gzip_bomb(size: int) -> AsyncIterator[bytes]:
    for chunk in gzip_bomb(size):
        yield chunk
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
