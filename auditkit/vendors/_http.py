"""The ``http`` adapter: any vendor's HTTP API, described in the spec, no code needed.

Templates (URL, headers, query, JSON body) are parsed once into literal text, probe
placeholders (``{customer_id}``) and secrets (``${ENV_VAR}``). Secrets are read from the
environment when the adapter is built, so a missing one stops the run before any request goes
out; they are only ever written into the outgoing request, never into a problem text, and the
evidence stores the probe's request, not the HTTP one.

One ``recommend`` call is one HTTP request: the runner decides on retries (each attempt is its
own evidence row). Failures are raised as `RequestFailed` (``retryable`` for timeouts,
connection errors, ``429`` and ``5xx``) or `InvalidAnswer` (unreadable, too large).

A spec with an ``events`` section builds an `HttpEventVendor`, which also takes interaction
events (``send_events``, one HTTP request per call) for trend planting; the caller batches
them and decides on retries, as the runner does for probes.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote, quote_plus

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
)

MISSING_SECRET = "{where}: {key} must be set in the environment; got {value!r}"
MISSING_TENANT = "{where}: {key} must be mapped to a tenant id; got {value!r}"
REDACTED = "***"

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
    texts = [*spec.headers.values(), *_strings(spec.query)]
    if spec.events is not None:
        texts += [*spec.events.headers.values(), *_strings(spec.events.query)]
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
        return max(0.0, float(value))
    except ValueError:
        pass
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

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, REDACTED)
            record.msg, record.args = message, None
        return True


LOGGERS = ("httpx", "httpcore")


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
        self._log_filter = _Redact(self._secrets)
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
        self._client = httpx.Client(
            timeout=httpx.Timeout(spec.timeout_seconds),
            limits=httpx.Limits(
                max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
            ),
            follow_redirects=False,
            transport=transport,
        )

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

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

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
        return self._read(self._request(self._method, self._templates, values))

    def _request(
        self, method: str, templates: _Templates, values: Mapping[str, Any], *, read: bool = True
    ) -> bytes:
        """Fill the templates with ``values``, send the request, return the answer's body."""
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
            raise RequestFailed(
                f"timeout: no answer within {self._timeout:g} s", retryable=True
            ) from None
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
    ) -> bytes:
        deadline = time.monotonic() + self._timeout
        with self._client.stream(
            method, url, params=query, json=body, headers=headers
        ) as response:
            status = response.status_code
            if status >= 300:
                reason = self._redact(response.reason_phrase or "")
                problem = f"http_{status}: {reason}".rstrip(": ")
                if status == 429 or status >= 500:
                    wait = retry_after_seconds(response.headers.get("retry-after"))
                    raise RequestFailed(problem, retryable=True, retry_after=wait)
                raise RequestFailed(problem, retryable=False)
            if not read:
                return b""
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > self._cap:
                    # Stop reading: what came so far is kept, cut to the cap.
                    head = b"".join(chunks)[: self._cap].decode("utf-8", "replace")
                    raise InvalidAnswer(
                        f"too_large: answer longer than {self._cap} bytes", raw=head
                    )
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("answer too slow")
            return b"".join(chunks)

    def _read(self, content: bytes) -> RecommendResponse:
        text = content.decode("utf-8", "replace")
        try:
            document = json.loads(text)
        except ValueError:
            raise InvalidAnswer("unparseable: the answer is not JSON", raw=text) from None
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
        if numbers and not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in found
        ):
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


def _event_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an event template may name (missing ones are empty)."""
    return {name: event.get(name) for name in ("item_id", "type", "customer_id")}
