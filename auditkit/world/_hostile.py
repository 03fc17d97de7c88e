"""The served vendor behind a hostile connection: hangs, drips, resets and early closes.

`vendor_app`'s faults are answers (statuses and bodies). The ones here belong to the
connection, which an ASGI server such as uvicorn never lets an app commit: a vendor that takes
the request and never answers, sends its headers or its body a byte at a time, resets the
connection, or closes it halfway through an answer. `running_hostile_server` serves an ASGI
app (normally `vendor_app`, with its own `Faults`) on 127.0.0.1 through a small HTTP/1.1
responder on asyncio. For each request it draws one of these faults from a seeded generator,
and otherwise hands the request to the app as it came.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import numpy as np

from auditkit.world._generator import _invalid, _number

WIRE_FAULTS = ("hang", "header_drip", "body_drip", "reset", "early_close")
HOST = "127.0.0.1"
MAX_HEAD_BYTES = 65_536
MAX_BODY_BYTES = 16 << 20
STOP_SECONDS = 10.0

Message = MutableMapping[str, Any]
App = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


@dataclass(frozen=True)
class WireFaults:
    """How badly the connection to the served vendor behaves, per request.

    Parameters
    ----------
    hang_rate : float, default 0
        Share of requests read and never answered (the connection stays open).
    header_drip_rate : float, default 0
        Share answered with the status line and headers a byte at a time.
    body_drip_rate : float, default 0
        Share answered with the body a byte at a time.
    reset_rate : float, default 0
        Share whose connection is reset (TCP RST) once the request is read.
    early_close_rate : float, default 0
        Share whose connection is closed halfway through the answer's body.
    drip_interval_ms : float, default 20
        Wait between two dripped bytes.
    drip_seconds : float, default 5
        How long a drip lasts; the rest of the answer then comes at once (a drip is slow,
        not broken: a client without a total deadline gets the answer in the end).
    seed : int, default 0
        Seeds the fault draws.
    """

    hang_rate: float = 0.0
    header_drip_rate: float = 0.0
    body_drip_rate: float = 0.0
    reset_rate: float = 0.0
    early_close_rate: float = 0.0
    drip_interval_ms: float = 20.0
    drip_seconds: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        where = "WireFaults"
        rates = [f"{fault}_rate" for fault in WIRE_FAULTS]
        for key in rates:
            _number(where, key, getattr(self, key), low=0.0, high=1.0)
        total = sum(getattr(self, key) for key in rates)
        if total > 1.0:
            raise _invalid(where, " + ".join(rates), "at most 1", total)
        _number(where, "drip_interval_ms", self.drip_interval_ms, low=1e-3)
        _number(where, "drip_seconds", self.drip_seconds, low=0.0)

    def draw(self, rng: np.random.Generator) -> str | None:
        """The fault of the next request (one draw of ``rng``), or None."""
        draw = float(rng.random())
        for fault in WIRE_FAULTS:
            rate = float(getattr(self, f"{fault}_rate"))
            if draw < rate:
                return fault
            draw -= rate
        return None


class _BadRequest(Exception):
    """A request this responder does not take (malformed, chunked, too long)."""


class _Gone(ConnectionAbortedError):
    """The connection was cut on purpose (an early close): the app stops sending."""


@dataclass(frozen=True)
class _Request:
    """One HTTP/1.1 request as read off the connection."""

    method: str
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """The next request on the connection; None when the client closed it between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequest("incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise _BadRequest("request head too long") from None
    lines = head[:-4].split(b"\r\n")
    try:
        method, target, version = lines[0].split(b" ")
    except ValueError:
        raise _BadRequest("malformed request line") from None
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise _BadRequest("malformed header line")
        headers.append((name.strip().lower(), value.strip()))
    fields = dict(headers)
    if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
        raise _BadRequest("chunked request bodies are not taken")
    try:
        length = int(fields.get(b"content-length", b"0"))
    except ValueError:
        raise _BadRequest("malformed content-length") from None
    if not 0 <= length <= MAX_BODY_BYTES:
        raise _BadRequest("request body too long")
    body = await reader.readexactly(length)
    keep_alive = version == b"HTTP/1.1" and fields.get(b"connection", b"").lower() != b"close"
    if target.startswith((b"http://", b"https://")):
        # The absolute form a client sends to a proxy: this server stands in for any host.
        target = b"/" + target.split(b"/", 3)[3] if target.count(b"/") >= 3 else b"/"
    return _Request(method.decode("ascii"), target, headers, body, keep_alive)


class _Answer:
    """Writes the app's answer to one request onto the connection, committing its fault."""

    def __init__(self, writer: asyncio.StreamWriter, fault: str | None, wire: WireFaults) -> None:
        self._writer = writer
        self._fault = fault
        self._interval = wire.drip_interval_ms / 1000
        self._drip_seconds = wire.drip_seconds
        self._drip_until: float | None = None
        self._chunked = False
        self.started = False
        self.complete = False

    async def send(self, message: Message) -> None:
        """The ASGI ``send``: the response's start, then its body in one or more parts."""
        if message["type"] == "http.response.start":
            await self._start(int(message["status"]), list(message.get("headers", [])))
        elif message["type"] == "http.response.body":
            await self._body(bytes(message.get("body", b"")), bool(message.get("more_body")))

    async def _start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started = True
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        names = {bytes(name).lower() for name, _ in headers}
        self._chunked = b"content-length" not in names
        lines = [f"HTTP/1.1 {status} {phrase}".encode("ascii")]
        lines += [bytes(name) + b": " + bytes(value) for name, value in headers]
        if self._chunked:
            lines.append(b"transfer-encoding: chunked")
        if self._fault == "header_drip":
            # Enough header to drip for the whole drip time, a byte at a time.
            lines.append(b"x-drip: " + b"." * math.ceil(self._drip_seconds / self._interval))
        await self._write(b"\r\n".join(lines) + b"\r\n\r\n", drip=self._fault == "header_drip")

    async def _body(self, body: bytes, more: bool) -> None:
        data = body
        if self._chunked:
            data = (f"{len(body):x}\r\n".encode("ascii") + body + b"\r\n") if body else b""
            data += b"" if more else b"0\r\n\r\n"
        if self._fault == "early_close":
            await self._write(data[: len(data) // 2], drip=False)
            raise _Gone("closed halfway through the answer")
        await self._write(data, drip=self._fault == "body_drip")
        self.complete = not more

    async def _write(self, data: bytes, *, drip: bool) -> None:
        if drip:
            if self._drip_until is None:
                self._drip_until = time.monotonic() + self._drip_seconds
            while data and time.monotonic() < self._drip_until:
                self._writer.write(data[:1])
                await self._writer.drain()
                data = data[1:]
                await asyncio.sleep(self._interval)
        if data:
            self._writer.write(data)
            await self._writer.drain()


class _Responder:
    """The connection handler: reads requests, draws faults, hands the rest to the app."""

    def __init__(self, app: App, wire: WireFaults, committed: Counter[str]) -> None:
        self._app = app
        self._wire = wire
        self._rng = np.random.default_rng(wire.seed)
        self._committed = committed
        self.connections: set[asyncio.Task[None]] = set()

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until either side closes it."""
        task = asyncio.current_task()
        if task is not None:
            self.connections.add(task)
        gone = asyncio.Event()
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except _BadRequest:
                    writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    break
                if request is None:
                    break
                if not await self._answer(request, reader, writer, gone):
                    break
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            pass  # the server is stopping: this connection ends here, quietly
        finally:
            gone.set()
            writer.close()
            if task is not None:
                self.connections.discard(task)

    async def _answer(
        self,
        request: _Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        gone: asyncio.Event,
    ) -> bool:
        """Answer one request, or commit its fault; whether the connection may go on."""
        fault = self._wire.draw(self._rng)
        if fault is not None:
            self._committed[fault] += 1
        if fault == "hang":
            while await reader.read(65_536):
                pass  # hold the request until the client gives up and closes
            return False
        if fault == "reset":
            sock = writer.get_extra_info("socket")
            # Linger 0: closing sends a reset, not an orderly end.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        answer = _Answer(writer, fault, self._wire)
        body_sent = False

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        path, _, query = request.target.partition(b"?")
        host, port = writer.get_extra_info("sockname")[:2]
        scope: Message = {
            "type": "http",
            # 2.4: a send to a closed connection raises, so a streaming app stops by itself.
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": unquote(path.decode("latin-1")),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": request.headers,
            "client": writer.get_extra_info("peername")[:2],
            "server": (host, port),
        }
        try:
            await self._app(scope, receive, answer.send)
        except Exception:
            if not answer.started:  # the app failed before answering: say so, like a server
                writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
            return False
        return request.keep_alive and answer.complete


@contextlib.contextmanager
def running_hostile_server(
    app: App, *, wire: WireFaults | None = None, committed: Counter[str] | None = None
) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 behind ``wire``'s faults; yield its base URL.

    Like `running_server`, for tests: the server runs in a background thread, and is
    stopped (every connection closed, hanging ones included) when the block exits.

    Parameters
    ----------
    app : ASGI app
        What answers the requests no wire fault takes (normally `vendor_app`).
    wire : WireFaults, optional
        The connection's faults (default: none, a plain HTTP/1.1 server).
    committed : Counter, optional
        Counts each fault committed, by name (``hang``, ``reset``, ...).
    """
    responder = _Responder(
        app, wire or WireFaults(), Counter() if committed is None else committed
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True, name="auditkit-hostile")
    thread.start()
    try:
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(responder.connection, HOST, 0, limit=MAX_HEAD_BYTES), loop
        )
        server = started.result(timeout=STOP_SECONDS)
        port = server.sockets[0].getsockname()[1]
        try:
            yield f"http://{HOST}:{port}"
        finally:
            asyncio.run_coroutine_threadsafe(_stop(server, responder), loop).result(STOP_SECONDS)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=STOP_SECONDS)
        loop.close()


async def _stop(server: asyncio.Server, responder: _Responder) -> None:
    """Stop accepting, then end every connection still open (a hang never ends by itself)."""
    server.close()
    tasks = list(responder.connections)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.wait_closed()
