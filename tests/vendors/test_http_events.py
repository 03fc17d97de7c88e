"""Trend planting over HTTP: the ``events`` section against a real serve-vendor server."""

import contextlib
import json
import logging
import sqlite3
import textwrap
from pathlib import Path

import httpx
import pandas as pd
import pytest
import support

from auditkit import AuditSpec, run_audit
from auditkit.api import build_vendor, load_shops
from auditkit.catalogs import stack_catalogs
from auditkit.errors import SpecError, VendorError
from auditkit.probes.planting import NO_EVENT_API
from auditkit.spec import HttpVendorSpec, load_spec
from auditkit.vendors._http import HttpEventVendor
from auditkit.world import running_server, vendor_app

SECRET = "s3cr3t-events-token"
API_KEY = "s3cr3t-api-key"
ENV = {"AKT_EVENTS_TOKEN": SECRET, "AKT_API_KEY": API_KEY}
TENANTS = {"shop01": "t-101", "shop02": "t-102", "shop03": "t-103", "shop04": "t-104"}
EVENTS = 20000
BATCH = 8000  # three batches: 8000, 8000, 4000


def spec_data(vendor: dict, *, events: int = EVENTS) -> dict:
    return support.spec_data(
        "planting over http",
        vendor,
        {
            "k": 10,
            "repetitions": 0,
            "personas": [{"id": "p", "history_length": 2, "customers": 2}],
            "trend_planting": {"write_events": True, "customers": 12, "events": events},
        },
        seed=3,
        world={"shops": 4, "items_per_shop": 150},
        metrics={"homogenization.cross_shop_jaccard": {}},
    )


def simulated_vendor(pooling: float) -> dict:
    return {"adapter": "simulated", "options": {"pooling": pooling}}


def http_vendor(url: str, **changes) -> dict:
    return {
        "adapter": "http",
        "url": f"{url}/v1/tenants/{{tenant_id}}/recommendations",
        "headers": {"Authorization": "Bearer ${AKT_API_KEY}"},
        "body": {
            "customer": {"id": "{customer_id}", "history": "{history}", "attributes": "{context}"},
            "limit": "{k}",
            "settings": "{options}",
        },
        "response": {"items": "data.recommendations[].sku"},
        "tenants": TENANTS,
        "timeout_seconds": 5,
        "concurrency": 4,
        "retries": {"max_attempts": 3, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05},
        "events": {
            "url": f"{url}/v1/tenants/{{tenant_id}}/events",
            "headers": {"X-Events-Token": "${AKT_EVENTS_TOKEN}"},
            "body": {"events": "{events}"},
            "event": {"item_id": "{item_id}", "type": "{type}", "customer_id": "{customer_id}"},
            "batch_size": BATCH,
        },
        **changes,
    }


class Recorder:
    """ASGI middleware: notes every request, and answers chosen event requests with 503."""

    def __init__(self, app, *, refuse=lambda index: False):
        self.app = app
        self.refuse = refuse
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.event_requests = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.requests.append((scope["path"], headers))
            if scope["path"].endswith("/events"):
                index = self.event_requests
                self.event_requests += 1
                if self.refuse(index):
                    await send({"type": "http.response.start", "status": 503, "headers": []})
                    await send({"type": "http.response.body", "body": b"{}"})
                    return
        await self.app(scope, receive, send)

    def paths(self, suffix: str) -> list[str]:
        return [path for path, _ in self.requests if path.endswith(suffix)]


@pytest.fixture
def serve():
    """``serve(pooling, refuse=...)`` -> (base URL, recorder) of a fresh simulated vendor.

    The vendor is the one the in-process audit builds (same shops, seed and knobs), so the
    HTTP audit can be compared with it answer for answer.
    """
    with contextlib.ExitStack() as stack:

        def start(pooling: float, **kwargs):
            spec = AuditSpec.model_validate(spec_data(simulated_vendor(pooling)))
            shops = load_shops(spec)
            vendor = build_vendor(spec, shops.catalogs, shops.signatures())
            app = vendor_app(vendor, api_key=API_KEY, tenants={t: s for s, t in TENANTS.items()})
            recorder = Recorder(app, **kwargs)
            return stack.enter_context(running_server(recorder)), recorder

        yield start


@pytest.fixture
def environ(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def answers(out: Path) -> pd.DataFrame:
    db = sqlite3.connect(out / "evidence.sqlite")
    found = pd.read_sql_query("SELECT probe_id, items FROM attempts WHERE status='ok'", db)
    db.close()
    return found.set_index("probe_id")["items"].sort_index()


def planted_exposure(out: Path) -> pd.Series:
    """Share of lists showing the planted product, by shop role and phase."""
    plan = pd.read_parquet(out / "plan.parquet")
    found = answers(out).rename("items").reset_index()
    stacked = stack_catalogs(
        load_shops(AuditSpec.model_validate(spec_data(simulated_vendor(0.0)))).catalogs
    )
    trend = plan[plan["phase"].notna()].merge(found, on="probe_id")
    planted = set(stacked.loc[stacked["item_key"] == trend["planted_key"].iloc[0], "item_id"])
    trend["shown"] = [bool(planted & set(json.loads(i))) for i in trend["items"]]
    return trend.groupby(["shop_role", "phase"])["shown"].mean()


def recorded_events(out: Path) -> list[tuple[str, int]]:
    db = sqlite3.connect(out / "evidence.sqlite")
    rows = db.execute("SELECT shop_id, count FROM events ORDER BY id").fetchall()
    db.close()
    return rows


@pytest.mark.slow
def test_trend_planted_over_http_leaks_as_it_does_in_process(serve, environ, tmp_path):
    url, server = serve(1.0)
    run_audit(AuditSpec.model_validate(spec_data(http_vendor(url))), out=tmp_path / "http")
    run_audit(AuditSpec.model_validate(spec_data(simulated_vendor(1.0))), out=tmp_path / "local")
    # the same answers to every probe, before and after: the same plant reached the vendor
    assert answers(tmp_path / "http").equals(answers(tmp_path / "local"))
    exposure = planted_exposure(tmp_path / "http")
    assert exposure["other", "before"] < 0.1
    assert exposure["other", "after"] > exposure["other", "before"] + 0.5
    assert recorded_events(tmp_path / "http") == [
        ("shop01", 8000),
        ("shop01", 8000),
        ("shop01", 4000),
    ]
    assert server.paths("/events") == ["/v1/tenants/t-101/events"] * 3


@pytest.mark.slow
def test_isolated_vendor_keeps_the_planted_trend_in_its_shop(serve, environ, tmp_path):
    url, _ = serve(0.0)
    run_audit(AuditSpec.model_validate(spec_data(http_vendor(url))), out=tmp_path / "run")
    exposure = planted_exposure(tmp_path / "run")
    assert exposure["source", "after"] > exposure["source", "before"] + 0.5
    assert abs(exposure["other", "after"] - exposure["other", "before"]) < 0.1


def test_http_vendor_without_events_is_refused_before_any_request(serve, environ, tmp_path):
    url, server = serve(1.0)
    vendor = http_vendor(url)
    del vendor["events"]
    with pytest.raises(VendorError) as info:
        run_audit(AuditSpec.model_validate(spec_data(vendor)), out=tmp_path / "run")
    assert str(info.value) == NO_EVENT_API.format(vendor="http vendor")
    assert server.requests == []


@pytest.mark.slow
def test_event_secrets_reach_the_vendor_and_nothing_else(serve, environ, tmp_path, caplog):
    url, server = serve(1.0)
    with caplog.at_level(logging.DEBUG):
        run_audit(AuditSpec.model_validate(spec_data(http_vendor(url))), out=tmp_path / "run")
    sent = [headers for path, headers in server.requests if path.endswith("/events")]
    assert [h["x-events-token"] for h in sent] == [SECRET] * 3
    # the vendor's own headers go along, and recommendation requests do not get the token
    assert all(h["authorization"] == f"Bearer {API_KEY}" for h in sent)
    assert not any("x-events-token" in h for p, h in server.requests if "recommend" in p)
    assert "/events" in caplog.text  # httpx logged the event requests ...
    for path in (tmp_path / "run").iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name
        assert API_KEY.encode() not in path.read_bytes(), path.name
    assert SECRET not in caplog.text and API_KEY not in caplog.text  # ... without secrets


@pytest.mark.slow
def test_refused_batch_stops_the_audit_and_resume_sends_only_the_rest(serve, environ, tmp_path):
    refusing = True
    url, server = serve(1.0, refuse=lambda index: refusing and index >= 1)
    spec = AuditSpec.model_validate(spec_data(http_vendor(url)))
    out = tmp_path / "run"
    with pytest.raises(VendorError) as info:
        run_audit(spec, out=out)
    assert str(info.value).startswith(
        "trend_planting: the vendor refused a batch of 8000 events for shop 'shop01' after "
        "3 attempt(s) (http_503: Service Unavailable); trend leakage cannot be measured"
    )
    assert SECRET not in str(info.value)
    assert recorded_events(out) == [("shop01", 8000)]  # the refused batch is not evidence
    assert server.event_requests == 1 + 3
    recommended = len(server.paths("/recommendations"))

    refusing = False
    result = run_audit(spec, out=out, resume=True)
    assert recorded_events(out) == [("shop01", 8000), ("shop01", 8000), ("shop01", 4000)]
    assert server.event_requests == 1 + 3 + 2  # the accepted batch was not sent again
    after = pd.read_parquet(out / "plan.parquet")["phase"].eq("after").sum()
    assert len(server.paths("/recommendations")) == recommended + after
    assert result.data_quality.probes_answered == result.data_quality.probes_planned


def test_retried_batches_are_recorded_once(serve, environ, tmp_path):
    url, server = serve(1.0, refuse=lambda index: index in (0, 1, 3))
    run_audit(AuditSpec.model_validate(spec_data(http_vendor(url))), out=tmp_path / "run")
    assert server.event_requests == 3 + 3
    assert recorded_events(tmp_path / "run") == [
        ("shop01", 8000),
        ("shop01", 8000),
        ("shop01", 4000),
    ]


@pytest.mark.slow
def test_resume_after_the_plant_sends_no_events_and_no_before_probes(serve, environ, tmp_path):
    url, server = serve(1.0)
    spec = AuditSpec.model_validate(spec_data(http_vendor(url)))
    out = tmp_path / "run"
    run_audit(spec, out=out)
    expected = answers(out)
    plan = pd.read_parquet(out / "plan.parquet")
    after = plan.loc[plan["phase"] == "after", "probe_id"].tolist()
    before = plan.loc[plan["phase"] == "before", "probe_id"].tolist()[:2]
    with sqlite3.connect(out / "evidence.sqlite") as db:  # as if killed before these answers
        gone = after + before
        db.execute(f"DELETE FROM attempts WHERE probe_id IN ({','.join('?' * len(gone))})", gone)
    server.requests.clear()
    run_audit(spec, out=out, resume=True)
    assert server.paths("/events") == []
    # the vendor kept the trend: the after probes get the same answers as the first time;
    # the before probes would now see the trend, so they are not sent again
    assert len(server.paths("/recommendations")) == len(after)
    assert answers(out).equals(expected.drop(before))
    assert recorded_events(out) == [("shop01", 8000), ("shop01", 8000), ("shop01", 4000)]


def test_event_templates_fill_each_batch(tmp_path):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    spec = HttpVendorSpec.model_validate(
        http_vendor(
            "http://vendor.test",
            events={
                "url": "http://vendor.test/track/{tenant_id}",
                "method": "PUT",
                "headers": {"Idempotency-Key": "{batch_id}"},
                "query": {"key": "${AKT_EVENTS_TOKEN}"},
                "body": {"store": "{shop_id}", "sent_at": "{timestamp_ms}", "data": "{events}"},
                "event": {"sku": "{item_id}", "user": "u-{customer_id}", "kind": "{type}"},
                "batch_size": 2,
            },
        )
    )
    vendor = HttpEventVendor(spec, TENANTS, environ=ENV, transport=httpx.MockTransport(handler))
    events = [
        {"type": "purchase", "item_id": "i-1", "customer_id": "c-1"},
        {"type": "purchase", "item_id": "i-2", "customer_id": "c-2"},
    ]
    vendor.send_events("shop02", events)
    vendor.send_events("shop02", events)
    vendor.send_events("shop02", events[:1])
    vendor.close()
    assert vendor.capabilities.event_batch_size == 2
    first = seen[0]
    assert (first.method, first.url.path, first.url.params["key"]) == (
        "PUT",
        "/track/t-102",
        SECRET,
    )
    body = json.loads(first.content)
    assert body["store"] == "shop02" and isinstance(body["sent_at"], int)
    assert body["data"] == [
        {"sku": "i-1", "user": "u-c-1", "kind": "purchase"},
        {"sku": "i-2", "user": "u-c-2", "kind": "purchase"},
    ]
    # the same batch has the same key on every attempt; another batch has another
    keys = [request.headers["idempotency-key"] for request in seen]
    assert keys[0] == keys[1] != keys[2] and len(keys[0]) == 32
    assert first.headers["authorization"] == f"Bearer {API_KEY}"


def test_missing_event_secret_is_an_error_before_any_request():
    spec = HttpVendorSpec.model_validate(http_vendor("http://127.0.0.1:1"))
    with pytest.raises(VendorError) as info:
        HttpEventVendor(spec, TENANTS, environ={"AKT_API_KEY": API_KEY})
    assert str(info.value) == (
        "vendor.events.headers.X-Events-Token: ${AKT_EVENTS_TOKEN} must be set in the "
        "environment; got None"
    )


SPEC = """\
auditkit: 1
name: http
world: {shops: 2, items_per_shop: 30}
vendor:
  adapter: http
  url: "http://127.0.0.1:1/{tenant_id}"
  headers: {Authorization: "Bearer ${KEY}"}
  body: {user: "{customer_id}"}
  response: {items: "items"}
  events:
    url: "http://127.0.0.1:1/{tenant_id}/events"
    event: {sku: "{item_id}"}
probes:
  personas: [{id: p}]
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'event: {sku: "{item_id}"}',
            'event: {sku: "{item_id}"}\n    batchsize: 10',
            [
                "spec.yaml:13 vendor.events.batchsize: is not a valid key (did you mean "
                "'batch_size'?); valid keys: batch_size, body, event, headers, method, query, url"
            ],
        ),
        (
            'event: {sku: "{item_id}"}',
            'event: {sku: "{sku}"}',
            ["spec.yaml:12 vendor.events.event: placeholder {sku} must be one of {item_id}, "],
        ),
        (
            'event: {sku: "{item_id}"}',
            'event: {sku: "{item_id}"}\n    body: {batch: "{customer_id}"}',
            [
                "spec.yaml:13 vendor.events.body: placeholder {customer_id} must be one of "
                "{shop_id}"
            ],
        ),
        (
            'event: {sku: "{item_id}"}',
            'event: {sku: "{item_id}"}\n    body: {token: "${KEY}", events: "{events}"}',
            [
                "spec.yaml:13 vendor.events.body: ${KEY}: secrets (${ENV_VAR}) belong in "
                "headers or query"
            ],
        ),
        (
            'event: {sku: "{item_id}"}',
            'event: {sku: "{item_id}"}\n    body: {list: []}',
            ['spec.yaml:13 vendor.events.body: must send the batch: one value must be "{events}"'],
        ),
        (
            'headers: {Authorization: "Bearer ${KEY}"}',
            'headers: {Authorization: "Bearer ${KEY}", X-User: "{customer_id}"}',
            [
                "spec.yaml:4 vendor: headers.X-User names {customer_id}, which an event request "
                "does not have; give events.headers.X-User for event requests"
            ],
        ),
    ],
)
def test_events_spec_errors_are_located(tmp_path, old, new, expected):
    path = tmp_path / "spec.yaml"
    assert old in SPEC
    path.write_text(textwrap.dedent(SPEC).replace(old, new))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    lines = str(info.value).splitlines()
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line


def test_events_section_defaults_and_override_of_vendor_headers(tmp_path):
    path = tmp_path / "spec.yaml"
    text = SPEC.replace(
        'headers: {Authorization: "Bearer ${KEY}"}',
        'headers: {Authorization: "Bearer ${KEY}", X-User: "{customer_id}"}',
    ).replace('event: {sku: "{item_id}"}', 'headers: {x-user: "planting"}')
    path.write_text(text)
    events = load_spec(path).vendor.events
    assert events is not None
    assert (events.method, events.batch_size, events.body) == ("POST", 500, {"events": "{events}"})
    assert events.event == {
        "item_id": "{item_id}",
        "type": "{type}",
        "customer_id": "{customer_id}",
    }
    assert events.headers == {"x-user": "planting"}
