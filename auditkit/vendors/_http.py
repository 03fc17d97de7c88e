"""The ``http`` adapter: any vendor's HTTP API, described in the spec, no code needed.

Templates (URL, headers, query, JSON body) are parsed once into literal text, probe
placeholders (``{customer_id}``) and secrets (``${ENV_VAR}``). Secrets are read from the
environment when the adapter is built, so a missing one stops the run before any request goes
out; they are only ever written into the outgoing request, never into a problem text, and the
evidence stores the probe's request, not the HTTP one.

One ``recommend`` call is one HTTP request: the runner decides on retries (each attempt is its
own evidence row). Failures are raised as `RequestFailed` (``retryable`` for timeouts,
connection errors, ``429`` and ``5xx``; it carries the head of the vendor's error page) or
`InvalidAnswer` (unreadable, not UTF-8, too large).

A hostile or broken vendor cannot hold a request or the process's memory: ``timeout_seconds``
bounds the whole request (every connect, read and write on the socket waits at most what is
left of it, so a vendor that drips its headers a byte at a time is cut off too), and a
compressed answer is inflated in steps that never give more than the size cap (a gzip bomb
costs the cap, not its unpacked size).

A spec with an ``events`` section builds an `HttpEventVendor`, which also takes interaction
events (``send_events``, one HTTP request per call) for trend planting; the caller batches
them and decides on retries, as the runner does for probes.
"""

from __future__ import annotations

import codecs
import email.utils
import hashlib
import json
import logging
import math
import os
import re
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote, quote_plus

import httpcore
import httpx
import jmespath

from auditkit.errors import VendorError
from auditkit.spec import HttpVendorSpec
from auditkit.vendors._base import (
    InvalidAnswer,
    RecommendRequest,
    RecommendResponse,
    RequestFailed,
    VendorAdapter,
    VendorCapabilities,
    redacting,
)

MISSING_SECRET = "{where}: {key} must be set in the environment; got {value!r}"
MISSING_TENANT = "{where}: {key} must be mapped to a tenant id; got {value!r}"
TIMED_OUT = "timeout: no complete answer within {seconds:g} s"
TOO_LARGE = "too_large: answer longer than {cap} bytes"
NOT_TEXT = "unparseable: the answer is not {encoding} text (byte 0x{byte:02x} at {offset})"
NOT_JSON = "unparseable: the answer is not JSON"
BAD_ENCODING = "unparseable: the answer's {encoding} encoding is corrupt or cut short"
UNKNOWN_ENCODING = "unparseable: content-encoding {encoding!r} was not asked for"
ERROR_RAW_LIMIT = 4_096
"""Characters kept of an error answer's body: enough to say why, never a whole page."""
REASON_LIMIT = 200
"""Characters kept of a status line's reason or a redirect's target in a problem text."""
ACCEPT_ENCODING = "gzip, deflate"
"""The only encodings asked for: the ones inflated here within the size cap."""

_TOKEN = re.compile(r"\$\{([^{}]*)\}|\{([^{}]*)\}")


@dataclass(frozen=True)
class _Text:
    """A template string: literal text, probe placeholders and resolved secrets, in order."""

    parts: tuple[tuple[str, str], ...]  # ("text", literal) | ("probe", name)
    whole: str | None  # the placeholder's name when the string is exactly one placeholder

    def fill(self, values: Mapping[str, Any], *, quote_values: bool = False) -> Any:
        if self.whole is not None:
            return _lookup(values, self.whole)
        out = []
        for kind, text in self.parts:
            if kind == "text":
                out.append(text)
            else:
                value = _lookup(values, text)
                value = "" if value is None else _as_text(value)
                out.append(quote(value, safe="") if quote_values else value)
        return "".join(out)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _lookup(values: Mapping[str, Any], name: str) -> Any:
    head, _, rest = name.partition(".")
    value = values[head]
    return value.get(rest) if rest else value


def _parse(text: str, where: str, environ: Mapping[str, str], missing: list[str]) -> _Text:
    """Split ``text`` into parts; secrets are looked up now (missing ones noted)."""
    parts: list[tuple[str, str]] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            parts.append(("text", text[position : match.start()]))
        secret, placeholder = match.group(1), match.group(2)
        if secret is not None:
            value = environ.get(secret)
            if value is None:
                missing.append(
                    MISSING_SECRET.format(where=where, key=f"${{{secret}}}", value=None)
                )
                value = ""
            parts.append(("secret", value))
        else:
            parts.append(("probe", placeholder))
        position = match.end()
    if position < len(text):
        parts.append(("text", text[position:]))
    whole = parts[0][1] if len(parts) == 1 and parts[0][0] == "probe" else None
    # Secrets become literal text: nothing that is filled in later is parsed again.
    merged = tuple(("text", p[1]) if p[0] == "secret" else p for p in parts)
    return _Text(merged, whole)


def _compile(value: Any, where: str, environ: Mapping[str, str], missing: list[str]) -> Any:
    """A JSON-like template with every string parsed."""
    if isinstance(value, str):
        return _parse(value, where, environ, missing)
    if isinstance(value, Mapping):
        return {
            _parse(str(k), where, environ, missing): _compile(v, f"{where}.{k}", environ, missing)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_compile(v, f"{where}[{i}]", environ, missing) for i, v in enumerate(value)]
    return value


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, _Text):
        return template.fill(values)
    if isinstance(template, dict):
        return {_as_text(key.fill(values)): _fill(item, values) for key, item in template.items()}
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    return template


def _secrets(spec: HttpVendorSpec, environ: Mapping[str, str]) -> list[str]:
    """Every secret value the spec's templates resolve to (to redact them from problems)."""
    found = []
    texts = [spec.url, *spec.headers.values(), *_strings(spec.query)]
    if spec.events is not None:
        texts += [spec.events.url, *spec.events.headers.values(), *_strings(spec.events.query)]
    for text in texts:
        for match in _TOKEN.finditer(text):
            value = environ.get(match.group(1)) if match.group(1) is not None else None
            if value:
                # as written, and as it appears once encoded into a URL
                found += [value, quote(value, safe=""), quote_plus(value)]
    return sorted(set(found), key=len, reverse=True)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _query_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return _as_text(value)


class _Redact(logging.Filter):
    """Blank out secrets in httpx's own log records (it logs each request's URL)."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        blanked = self.redact(message)
        if blanked != message:
            record.msg, record.args = blanked, None
        return True


LOGGERS = ("httpx", "httpcore")


class _Deadline(threading.local):
    """When the request in flight on this thread must be done (``time.monotonic``), if any.

    The client is called from the runner's threads, one request each, so a thread-local
    deadline follows its request through the connection pool onto whichever socket it gets.
    """

    at: float | None = None

    def left(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """``timeout`` cut to what is left of the deadline; ``expired`` raised when none is."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise expired("the request's deadline has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most what is left of the deadline.

    httpx's timeouts are per operation, so a vendor sending a byte just inside each read
    timeout would hold a request for ever; cut to the deadline, no sequence of reads outlasts
    it.
    """

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read at most ``max_bytes``, by the deadline."""
        return self._stream.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write ``buffer``, by the deadline."""
        self._stream.write(buffer, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the socket."""
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """The TLS stream over this one, by the deadline as well."""
        wait = self._deadline.left(timeout, httpcore.ConnectTimeout)
        secure = self._stream.start_tls(ssl_context, server_hostname, wait)
        return _DeadlineStream(secure, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        """What the socket stream says (the pool asks whether a kept connection is alive)."""
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with connections opened by, and streams bound to, a deadline."""

    def __init__(self, deadline: _Deadline) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """A TCP connection opened by the deadline, its stream bound to it."""
        wait = self._deadline.left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, wait, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """A Unix socket connection opened by the deadline, its stream bound to it."""
        wait = self._deadline.left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_unix_socket(path, wait, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's connect retries)."""
        self._backend.sleep(seconds)


def _bind_deadline(client: httpx.Client, deadline: _Deadline) -> int:
    """Put every connection pool of ``client`` on sockets bound to ``deadline``; how many.

    httpx takes no network backend, so the pools it built (the direct one, and one per proxy
    the environment names, as httpx reads them) are given ours before any connection exists.
    """
    bound = 0
    for transport in [client._transport, *client._mounts.values()]:
        pool = getattr(transport, "_pool", None)
        if isinstance(pool, httpcore.ConnectionPool):  # proxies' pools are ConnectionPools too
            pool._network_backend = _DeadlineBackend(deadline)
            bound += 1
    return bound


class _Undecodable(Exception):
    """The answer's content-encoding cannot be undone (corrupt, or not one asked for)."""


class _Inflater:
    """Undoes an answer's content-encoding in steps that never give more than asked for.

    httpx inflates each chunk it reads whole, so 64 KiB of a gzip bomb become 64 MiB before
    any size cap is checked; here each step stops at the room left under the cap.
    """

    def __init__(self, header: str | None) -> None:
        codings = [c.strip().lower() for c in (header or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise _Undecodable(UNKNOWN_ENCODING.format(encoding=header))
        self._coding = codings[0] if codings else None
        self._inflate = None if self._coding is None else self._new(self._coding)
        self._started = False

    @staticmethod
    def _new(coding: str) -> Any:
        # gzip: a gzip member; deflate: a zlib stream (the raw-deflate fallback is below).
        return zlib.decompressobj(31 if coding != "deflate" else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        """The next bytes of the answer from ``data``, at most ``room`` of them (``room`` > 0)."""
        if self._inflate is None:
            return data
        coding = cast(str, self._coding)
        try:
            try:
                out = self._inflate.decompress(data, room)
            except zlib.error:
                if coding != "deflate" or self._started:
                    raise
                # Some servers send raw deflate, with no zlib header (httpx accepts it too).
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._inflate.decompress(data, room)
        except zlib.error:
            raise _Undecodable(BAD_ENCODING.format(encoding=coding)) from None
        self._started = True
        # A gzip answer may be several members one after another: each is inflated in turn.
        while coding != "deflate" and self._inflate.eof and self._inflate.unused_data:
            if len(out) >= room:
                break
            rest = self._inflate.unused_data
            self._inflate = self._new(coding)
            try:
                out += self._inflate.decompress(rest, room - len(out))
            except zlib.error:
                raise _Undecodable(BAD_ENCODING.format(encoding=coding)) from None
        return out

    def finish(self) -> None:
        """Check that a compressed answer ended where its encoding says it ends."""
        if self._inflate is not None and self._started and not self._inflate.eof:
            raise _Undecodable(BAD_ENCODING.format(encoding=self._coding))


def _raw(response: httpx.Response) -> tuple[Iterable[bytes], _Inflater]:
    """The answer's bytes as they come off the wire, and what inflates them."""
    if response.is_stream_consumed:  # built whole in memory (a mock transport's): inflated
        return [response.content], _Inflater(None)
    return response.iter_raw(), _Inflater(response.headers.get("content-encoding"))


def _read_into(
    buffer: bytearray, chunks: Iterable[bytes], inflater: _Inflater, keep: int, deadline: float
) -> bool:
    """Append the answer to ``buffer`` until it holds more than ``keep`` bytes or ends.

    Returns whether it was cut off. The deadline is checked between chunks too, for a
    transport (a test's mock) that does not go through the deadline-bound sockets.
    """
    for chunk in chunks:
        buffer += inflater.feed(chunk, keep + 1 - len(buffer))
        if len(buffer) > keep:
            return True
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("answer too slow")
    inflater.finish()
    return False


@dataclass(frozen=True)
class _Templates:
    """One kind of request, parsed: URL, headers, query and JSON body."""

    url: _Text
    headers: dict[str, _Text]
    query: Any
    body: Any


class HttpVendor(VendorAdapter):
    """A vendor reached over HTTP as its spec describes.

    Its capabilities are the spec's ``concurrency``, ``rate_per_second`` and ``retries``.

    Parameters
    ----------
    spec : HttpVendorSpec
        URL, method, templates, response paths, timeout and size cap.
    shop_ids : iterable of str
        The audit's shops; each needs a tenant id when ``spec.tenants`` is given.
    environ : mapping of str to str, optional
        Where ``${ENV_VAR}`` secrets are read (default: the process environment).
    transport : httpx.BaseTransport, optional
        For tests that need no server; the real network otherwise.

    Raises
    ------
    VendorError
        When a secret's environment variable is not set, or a shop has no tenant id.
    """

    def __init__(
        self,
        spec: HttpVendorSpec,
        shop_ids: Iterable[str],
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        missing: list[str] = []
        self._templates = _Templates(
            url=_parse(spec.url, "vendor.url", environ, missing),
            headers={
                name: _parse(value, f"vendor.headers.{name}", environ, missing)
                for name, value in spec.headers.items()
            },
            query=_compile(spec.query, "vendor.query", environ, missing),
            body=_compile(spec.body, "vendor.body", environ, missing),
        )
        self._event_templates: _Templates | None = None
        self._event: Any = None
        if spec.events is not None:
            events = spec.events
            own = {name.lower() for name in events.headers}
            headers = {
                name: text
                for name, text in self._templates.headers.items()
                if name.lower() not in own
            }
            for name, value in events.headers.items():
                headers[name] = _parse(value, f"vendor.events.headers.{name}", environ, missing)
            self._event_templates = _Templates(
                url=_parse(events.url, "vendor.events.url", environ, missing),
                headers=headers,
                query=_compile(events.query, "vendor.events.query", environ, missing),
                body=_compile(events.body, "vendor.events.body", environ, missing),
            )
            self._event = _compile(events.event, "vendor.events.event", environ, missing)
        for shop_id in shop_ids:
            if spec.tenants and shop_id not in spec.tenants:
                missing.append(
                    MISSING_TENANT.format(where="vendor.tenants", key=shop_id, value=None)
                )
        if missing:
            raise VendorError("\n".join(missing))
        self._tenants = dict(spec.tenants)
        self._secrets = _secrets(spec, environ)
        self._redact = redacting(self._secrets)
        self._log_filter = _Redact(self._redact)
        for name in LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self._method = spec.method
        self._event_method = None if spec.events is None else spec.events.method
        self._timeout = spec.timeout_seconds
        self._cap = spec.max_response_bytes
        self._paths = {
            name: None if path is None else jmespath.compile(path)
            for name, path in spec.response.model_dump().items()
        }
        self._capabilities = VendorCapabilities(
            concurrency=spec.concurrency,
            rate_per_second=spec.rate_per_second,
            retries=spec.retries,
        )
        self._deadline = _Deadline()
        self._client = httpx.Client(
            timeout=httpx.Timeout(spec.timeout_seconds),
            limits=httpx.Limits(
                max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
            ),
            follow_redirects=False,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
            transport=transport,
        )
        if transport is None:  # a test's own transport has no sockets to bind
            _bind_deadline(self._client, self._deadline)

    def _values(self, request: RecommendRequest) -> dict[str, Any]:
        return {
            "shop_id": request.shop_id,
            "tenant_id": self._tenants.get(request.shop_id, request.shop_id),
            "customer_id": request.customer_id,
            "probe_id": request.probe_id,
            "history": list(request.history),
            "context": dict(sorted(request.context.items())),
            "k": request.k,
            "options": dict(sorted(request.options.items())),
        }

    def secret_values(self) -> tuple[str, ...]:
        """The credential values the spec's templates resolved (never to be stored)."""
        return tuple(self._secrets)

    def _lookahead(self) -> int:
        """Bytes read past a cut so that a secret straddling it is blanked whole."""
        return max((len(s.encode("utf-8")) * 6 for s in self._secrets), default=0)

    def _head(self, content: bytes | bytearray, limit: int, encoding: str) -> str:
        """The first ``limit`` characters of ``content`` as text, secrets blanked first."""
        return self._redact(content.decode(encoding, "replace"))[:limit]

    def recommend(self, request: RecommendRequest) -> RecommendResponse:
        """Send one request for ``request`` and read the answer through the response paths.

        Raises
        ------
        RequestFailed
            On a timeout, a connection error or an HTTP error status (``retryable`` for
            ``429`` and ``5xx``, and for timeouts and connection errors).
        InvalidAnswer
            When the answer is larger than the cap, not JSON, or has no list of items.
        """
        values = self._values(request)
        content, encoding = self._request(self._method, self._templates, values)
        return self._read(content, encoding)

    def _request(
        self, method: str, templates: _Templates, values: Mapping[str, Any], *, read: bool = True
    ) -> tuple[bytes, str]:
        """Fill the templates with ``values``, send the request; the answer's body and encoding."""
        query = {
            key: _query_value(value)
            for key, value in _fill(templates.query, values).items()
            if value is not None
        }
        body = None if templates.body is None else _fill(templates.body, values)
        filled = {name: text.fill(values) for name, text in templates.headers.items()}
        headers = {name: _as_text(value) for name, value in filled.items() if value is not None}
        url = templates.url.fill(values, quote_values=True)
        try:
            return self._send(method, url, query, body, headers, read=read)
        except httpx.TimeoutException:
            raise RequestFailed(TIMED_OUT.format(seconds=self._timeout), retryable=True) from None
        except httpx.TransportError as exc:
            raise RequestFailed(f"connection: {type(exc).__name__}", retryable=True) from None

    def _send(
        self,
        method: str,
        url: str,
        query: dict[str, Any],
        body: Any,
        headers: dict[str, str],
        *,
        read: bool = True,
    ) -> tuple[bytes, str]:
        deadline = time.monotonic() + self._timeout
        # The whole request, connect to last byte, is bound to the deadline (see _Deadline).
        self._deadline.at = deadline
        try:
            with self._client.stream(
                method, url, params=query, json=body, headers=headers
            ) as response:
                if response.status_code >= 300:
                    raise self._refusal(response, deadline)
                if not read:
                    return b"", "utf-8"
                return self._body(response, deadline)
        finally:
            self._deadline.at = None

    def _body(self, response: httpx.Response, deadline: float) -> tuple[bytes, str]:
        """The answer's body, inflated within the cap, and the text encoding it declares."""
        encoding = _encoding(response)
        buffer = bytearray()
        try:
            chunks, inflater = _raw(response)
            # Past the cap a little more is read, so a secret cut in two is still blanked.
            keep = self._cap + self._lookahead()
            cut = _read_into(buffer, chunks, inflater, keep, deadline)
        except _Undecodable as exc:
            raise InvalidAnswer(str(exc), raw=self._head(buffer, self._cap, encoding)) from None
        if cut or len(buffer) > self._cap:
            # Stop reading: what came so far is kept, cut to the cap.
            head = self._head(buffer, self._cap, encoding)
            raise InvalidAnswer(TOO_LARGE.format(cap=self._cap), raw=head)
        return bytes(buffer), encoding

    def _refusal(self, response: httpx.Response, deadline: float) -> RequestFailed:
        """The failure of an answer with a redirect or error status, with its page's head."""
        status = response.status_code
        reason = self._redact(response.reason_phrase or "")[:REASON_LIMIT]
        problem = f"http_{status}: {reason}".rstrip(": ")
        location = response.headers.get("location")
        if status < 400 and location:
            # Not followed (the request would change under the auditor's feet): said where.
            problem += f" (to {self._redact(location)[:REASON_LIMIT]})"
        encoding = _encoding(response)
        buffer = bytearray()
        try:
            chunks, inflater = _raw(response)
            _read_into(buffer, chunks, inflater, ERROR_RAW_LIMIT + self._lookahead(), deadline)
        except (httpx.HTTPError, _Undecodable):
            pass  # the status is the answer; a page cut short is kept as far as it came
        raw = self._head(buffer, ERROR_RAW_LIMIT, encoding) or None
        if status == 429 or status >= 500:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            return RequestFailed(problem, retryable=True, retry_after=wait, raw=raw)
        return RequestFailed(problem, retryable=False, raw=raw)

    def _read(self, content: bytes, encoding: str) -> RecommendResponse:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError as exc:
            # Read with stand-ins, bad bytes would become ids and explanations nobody sent.
            label = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
            problem = NOT_TEXT.format(encoding=label, byte=exc.object[exc.start], offset=exc.start)
            raise InvalidAnswer(problem, raw=content.decode(encoding, "replace")) from None
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
            raise InvalidAnswer(NOT_JSON, raw=text) from None
        paths = self._paths
        items = paths["items"].search(document)  # type: ignore[union-attr]
        if not isinstance(items, list) or any(isinstance(i, dict | list) for i in items):
            found = "nothing" if items is None else type(items).__name__
            raise InvalidAnswer(
                f"unparseable: response.items found {found}, not a list of ids", raw=document
            )
        scores = self._optional(paths["scores"], document, len(items), numbers=True)
        explanations = self._optional(paths["explanations"], document, len(items), numbers=False)
        return RecommendResponse.read(items, scores, explanations, raw=document)

    @staticmethod
    def _optional(
        path: jmespath.parser.ParsedResult | None, document: Any, n: int, *, numbers: bool
    ) -> list[Any] | None:
        """Scores or explanations, one per item; anything else counts as not given."""
        if path is None:
            return None
        found = path.search(document)
        if not isinstance(found, list) or len(found) != n:
            return None
        if numbers and not all(_finite(v) for v in found):
            return None
        return found

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
        for name in LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)


class HttpEventVendor(HttpVendor):
    """An `HttpVendor` whose spec has an ``events`` section: it also takes events.

    Its capabilities say so (``events``), with the most events one ``send_events`` call
    should carry (``event_batch_size``, the spec's ``events.batch_size``); trend planting
    splits its events accordingly.
    """

    def __init__(
        self,
        spec: HttpVendorSpec,
        shop_ids: Iterable[str],
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if spec.events is None:
            raise ValueError("HttpEventVendor needs a spec with an events section")
        super().__init__(spec, shop_ids, environ=environ, transport=transport)
        self._capabilities = replace(
            self._capabilities, events=True, event_batch_size=spec.events.batch_size
        )

    def send_events(self, shop_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Send ``events`` as customers of ``shop_id`` in one request (any 2xx accepts them).

        Raises
        ------
        RequestFailed
            On a timeout, a connection error or an HTTP error status (``retryable`` for
            ``429`` and ``5xx``, and for timeouts and connection errors).
        """
        templates = cast(_Templates, self._event_templates)
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "shop_id": shop_id,
            "tenant_id": self._tenants.get(shop_id, shop_id),
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "timestamp_ms": int(now.timestamp() * 1000),
        }
        fields = [_event_fields(event) for event in events]
        filled = [_fill(self._event, {**values, **field}) for field in fields]
        # The same events give the same id on every attempt and every run: a vendor that
        # honours an idempotency key drops a batch it already has.
        digest = hashlib.sha256(_as_text([shop_id, fields]).encode("utf-8")).hexdigest()
        values.update(events=filled, batch_id=digest[:32])
        self._request(cast(str, self._event_method), templates, values, read=False)


def _finite(value: Any) -> bool:
    """Whether ``value`` is a number that is a finite float (JSON allows 1e999 and huge ints)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _encoding(response: httpx.Response) -> str:
    """The codec of the charset an answer declares; UTF-8 (a BOM allowed) otherwise."""
    try:
        name = codecs.lookup(response.charset_encoding or "utf-8").name
    except LookupError:
        name = "utf-8"
    return "utf-8-sig" if name == "utf-8" else name


def _event_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an event template may name (missing ones are empty)."""
    return {name: event.get(name) for name in ("item_id", "type", "customer_id")}
