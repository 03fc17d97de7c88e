"""The http adapter against a real server (serve-vendor's app), and its spec."""

import logging
import socket
import textwrap
from datetime import UTC, datetime

import httpx
import pytest

from auditkit.errors import SpecError, VendorError
from auditkit.spec import HttpVendorSpec, load_spec, spec_sha256
from auditkit.vendors import InvalidAnswer, RecommendRequest, RequestFailed
from auditkit.vendors._http import HttpVendor, retry_after_seconds

BODY = {
    "customer": {"id": "{customer_id}", "history": "{history}", "attributes": "{context}"},
    "limit": "{k}",
    "settings": "{options}",
}
RESPONSE = {
    "items": "data.recommendations[].sku",
    "scores": "data.recommendations[].score",
    "explanations": "data.recommendations[].reason",
}


def http_spec(url, **changes) -> HttpVendorSpec:
    data = {
        "adapter": "http",
        "url": f"{url}/v1/tenants/{{tenant_id}}/recommendations",
        "headers": {"Authorization": "Bearer ${AKT_TEST_KEY}"},
        "body": BODY,
        "response": RESPONSE,
        "timeout_seconds": 2,
        **changes,
    }
    return HttpVendorSpec.model_validate(data)


def probe(world, **changes):
    shop = sorted(world.catalogs())[0]
    items = world.catalogs()[shop]["item_id"].tolist()
    fields = {
        "shop_id": shop,
        "customer_id": "c-1",
        "history": tuple(items[:3]),
        "context": {"age_band": "65+"},
        "k": 5,
        **changes,
    }
    return RecommendRequest(**fields)


ENV = {"AKT_TEST_KEY": "s3cr3t-planted"}
ODD_SECRET = "s3cr3t/with space&=+"


@pytest.fixture
def connect():
    """``connect(spec, shops, **kwargs)``: an HttpVendor closed after the test."""
    opened = []

    def make(spec, shops, **kwargs):
        vendor = HttpVendor(spec, shops, **kwargs)
        opened.append(vendor)
        return vendor

    yield make
    for vendor in opened:
        vendor.close()


def test_answers_match_the_vendor_behind_the_api(serve, world, simulated, connect):
    url = serve(api_key="s3cr3t-planted")
    vendor = connect(http_spec(url), world.catalogs(), environ=ENV)
    request = probe(world, options={"diversity": 0.9})
    answer = vendor.recommend(request)
    expected = simulated.recommend(request)
    assert answer.items == expected.items
    assert answer.scores == pytest.approx(expected.scores)
    assert answer.explanations == expected.explanations


def test_tenant_ids_query_and_probe_placeholders(serve, world, simulated, connect):
    shops = sorted(world.catalogs())
    tenants = {shop: f"t-{i}" for i, shop in enumerate(shops)}
    url = serve(tenants={t: s for s, t in tenants.items()})
    spec = http_spec(url, headers={}, tenants=tenants)
    vendor = connect(spec, shops, environ={})
    request = probe(world)
    assert vendor.recommend(request).items == simulated.recommend(request).items
    with pytest.raises(VendorError) as info:
        HttpVendor(http_spec(url, headers={}, tenants={shops[0]: "t-0"}), shops, environ={})
    assert str(info.value).splitlines()[0] == (
        f"vendor.tenants: {shops[1]} must be mapped to a tenant id; got None"
    )


def test_query_templates_and_get_reach_the_server_as_written(connect):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"recs": [{"id": "a"}, {"id": "b"}]})

    spec = HttpVendorSpec.model_validate(
        {
            "adapter": "http",
            "url": "https://api.example/{shop_id}/recs",
            "method": "GET",
            "headers": {"X-Key": "${AKT_TEST_KEY}", "X-Probe": "{probe_id}", "X-K": "{k}"},
            "query": {
                "user": "{customer_id}",
                "n": "{k}",
                "seen": "{history}",
                "dev": "{context.device}",
            },
            "response": {"items": "recs[].id"},
        }
    )
    transport = httpx.MockTransport(handler)
    vendor = connect(spec, ["s 1"], environ=ENV, transport=transport)
    request = RecommendRequest("s 1", "c&1", ("x", "y"), {"device": "mobile"}, 2, probe_id="p9")
    assert vendor.recommend(request).items == ("a", "b")
    sent = seen[0]
    assert sent.method == "GET" and sent.url.raw_path.startswith(b"/s%201/recs?")
    assert sent.url.params.multi_items() == [
        ("user", "c&1"),
        ("n", "2"),
        ("seen", "x"),
        ("seen", "y"),
        ("dev", "mobile"),
    ]
    assert sent.headers["x-key"] == "s3cr3t-planted" and sent.headers["x-probe"] == "p9"
    assert sent.headers["x-k"] == "2"


def test_missing_secret_is_an_error_before_any_request():
    calls = []
    transport = httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200))
    with pytest.raises(VendorError) as info:
        HttpVendor(http_spec("http://127.0.0.1:9"), ["a"], environ={}, transport=transport)
    assert str(info.value) == (
        "vendor.headers.Authorization: ${AKT_TEST_KEY} must be set in the environment; got None"
    )
    assert calls == []


@pytest.mark.parametrize(
    ("faults", "problem", "retryable", "retry_after"),
    [
        ({"error_rate": 1.0}, "http_503: Service Unavailable", True, None),
        ({"throttle_rate": 1.0, "retry_after": 3}, "http_429: Too Many Requests", True, 3.0),
    ],
)
def test_server_errors_are_retryable(
    serve, world, faults, problem, retryable, retry_after, connect
):
    url = serve(**faults)
    vendor = connect(http_spec(url, headers={}), world.catalogs(), environ={})
    with pytest.raises(RequestFailed) as info:
        vendor.recommend(probe(world))
    assert (info.value.problem, info.value.retryable) == (problem, retryable)
    assert info.value.retry_after == retry_after


def test_rate_limit_answers_429_with_retry_after(serve, world, connect):
    url = serve(rate_limit=5, retry_after=2)
    vendor = connect(http_spec(url, headers={}), world.catalogs(), environ={})
    outcomes = []
    for _ in range(4):  # burst of one at 5/s: the quick second request is refused
        try:
            vendor.recommend(probe(world))
            outcomes.append("ok")
        except RequestFailed as exc:
            outcomes.append((exc.problem, exc.retry_after))
    assert outcomes[0] == "ok"
    assert ("http_429: Too Many Requests", 2.0) in outcomes


def test_other_client_errors_are_not_retried_and_never_show_the_secret(serve, world, connect):
    url = serve(api_key="the-right-key")
    vendor = connect(http_spec(url), world.catalogs(), environ=ENV)
    with pytest.raises(RequestFailed) as info:
        vendor.recommend(probe(world))
    assert (info.value.problem, info.value.retryable) == ("http_401: Unauthorized", False)
    unknown = connect(http_spec(url, tenants={}), ["nowhere"], environ=ENV)
    with pytest.raises(RequestFailed, match="http_401"):
        unknown.recommend(probe(world, shop_id="nowhere"))
    assert "s3cr3t" not in repr(info.value)


def test_timeouts_and_refused_connections_are_retryable(serve, world, connect):
    url = serve(latency_ms=600)
    slow = connect(http_spec(url, headers={}, timeout_seconds=0.1), ["a"], environ={})
    with pytest.raises(RequestFailed) as info:
        slow.recommend(probe(world))
    assert info.value.problem == "timeout: no complete answer within 0.1 s"
    assert info.value.retryable
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gone = connect(http_spec(f"http://127.0.0.1:{port}", headers={}), ["a"], environ={})
    with pytest.raises(RequestFailed) as info:
        gone.recommend(probe(world))
    assert info.value.problem == "connection: ConnectError" and info.value.retryable


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("not_json", "unparseable: the answer is not JSON"),
        ("no_items", "unparseable: response.items found nothing, not a list of ids"),
        ("huge", "too_large: answer longer than 100000 bytes"),
    ],
)
def test_unreadable_answers_are_invalid(serve, world, kind, problem, connect):
    url = serve(malformed_rate=1.0, malformed=(kind,))
    spec = http_spec(url, headers={}, max_response_bytes=100_000)
    vendor = connect(spec, world.catalogs(), environ={})
    with pytest.raises(InvalidAnswer) as info:
        vendor.recommend(probe(world))
    assert info.value.problem == problem
    if kind == "huge":
        assert len(info.value.raw) == 100_000  # kept, cut at the cap; the rest never read


def test_scores_that_do_not_line_up_are_dropped(serve, world, connect):
    url = serve(malformed_rate=1.0, malformed=("unknown",))
    vendor = connect(http_spec(url, headers={}), world.catalogs(), environ={})
    answer = vendor.recommend(probe(world))
    assert answer.items[-1] == "ghost-item"
    assert answer.scores is not None and len(answer.scores) == 5
    assert answer.explanations is None  # the ghost has no reason: one fewer than items


def test_retry_after_reads_seconds_and_dates():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


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
probes:
  personas: [{id: p}]
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'response: {items: "items"}',
            'response: {items: "items[", score: "s"}',
            [
                "spec.yaml:9 vendor.response.items: must be a JMESPath expression; got 'items['",
                "spec.yaml:9 vendor.response.score: is not a valid key (did you mean 'scores'?); "
                "valid keys: explanations, items, scores",
            ],
        ),
        (
            'body: {user: "{customer_id}"}',
            'body: {user: "{custmer_id}"}',
            ["spec.yaml:8 vendor.body: placeholder {custmer_id} must be one of {shop_id}, "],
        ),
        (
            'body: {user: "{customer_id}"}',
            'body: {user: "${KEY}"}',
            ["spec.yaml:8 vendor.body: ${KEY}: secrets (${ENV_VAR}) belong in headers or query"],
        ),
        (
            'url: "http://127.0.0.1:1/{tenant_id}"',
            'url: "http://127.0.0.1:1/{tenant_id}/${KEY}"',
            [
                "spec.yaml:6 vendor.url: ${KEY}: in the URL an environment variable may name the "
                "scheme, host, port or base path, before any {placeholder} and the query"
            ],
        ),
        (
            'url: "http://127.0.0.1:1/{tenant_id}"',
            'url: "http://${HOST}/{tenant_id}?key=${KEY}"',
            ["spec.yaml:6 vendor.url: ${KEY}: in the URL an environment variable may name"],
        ),
        (
            "adapter: http",
            "adapter: http\n  timeout: 3",
            ["spec.yaml:6 vendor.timeout: is not a valid key (did you mean 'timeout_seconds'?);"],
        ),
    ],
)
def test_http_spec_errors_are_located(tmp_path, old, new, expected):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(SPEC).replace(old, new))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    lines = str(info.value).splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line


def test_secrets_in_the_query_never_reach_the_logs(serve, world, connect, caplog):
    url = serve()
    spec = http_spec(url, headers={"X-Key": "${AKT_TEST_KEY}"}, query={"key": "${AKT_TEST_KEY}"})
    vendor = connect(spec, world.catalogs(), environ=ENV)
    with caplog.at_level(logging.DEBUG):
        vendor.recommend(probe(world))
    assert "HTTP Request: POST" in caplog.text  # httpx did log the request ...
    assert "s3cr3t-planted" not in caplog.text  # ... with the secret blanked out
    assert "key=***" in caplog.text


def test_secrets_are_blanked_however_the_url_encodes_them(serve, world, connect, caplog):
    url = serve()
    spec = http_spec(url, headers={}, query={"key": "${AKT_TEST_KEY}"})
    vendor = connect(spec, world.catalogs(), environ={"AKT_TEST_KEY": ODD_SECRET})
    with caplog.at_level(logging.DEBUG):
        vendor.recommend(probe(world))
    assert "HTTP Request: POST" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_the_url_takes_its_host_port_and_base_path_from_the_environment(
    serve, world, connect, caplog
):
    host, port = serve().removeprefix("http://").split(":")
    spec = http_spec(
        "http://${AKT_TEST_HOST}:${AKT_TEST_PORT}${AKT_TEST_BASE}",
        headers={},
    )
    environ = {"AKT_TEST_HOST": host, "AKT_TEST_PORT": port, "AKT_TEST_BASE": ""}
    vendor = connect(spec, world.catalogs(), environ=environ)
    with caplog.at_level(logging.DEBUG):
        answer = vendor.recommend(probe(world))
    assert len(answer.items) == 5
    assert set(vendor.secret_values()) >= {host, port}  # kept out of evidence like any secret
    assert f"{host}:{port}" not in caplog.text
    with pytest.raises(VendorError, match=r"vendor.url: \$\{AKT_TEST_PORT\} must be set"):
        connect(spec, world.catalogs(), environ={"AKT_TEST_HOST": host, "AKT_TEST_BASE": ""})


def test_pace_is_not_part_of_the_spec_hash(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(SPEC))
    base = spec_sha256(load_spec(path))
    paced = SPEC.replace("adapter: http", "adapter: http\n  concurrency: 32\n  rate_per_second: 5")
    path.write_text(paced)
    assert spec_sha256(load_spec(path)) == base
    path.write_text(SPEC.replace('items: "items"', 'items: "data.items"'))
    assert spec_sha256(load_spec(path)) != base
