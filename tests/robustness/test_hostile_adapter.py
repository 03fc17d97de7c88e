"""The http adapter against one hostile answer at a time: deadlines, bombs, encodings, refusals."""

import contextlib
import gzip
import json
import time
import tracemalloc
import zlib

import httpx
import pytest
from hostile import simulated_vendor

from auditkit.spec import HttpVendorSpec
from auditkit.vendors import InvalidAnswer, RecommendRequest, RequestFailed
from auditkit.vendors._http import ERROR_RAW_LIMIT, HttpVendor, retry_after_seconds
from auditkit.world import Faults, WireFaults, running_hostile_server, vendor_app
from auditkit.world._server import gzip_bomb

KEY = "adapter-key-9d2f"
CAP = 100_000
CORRUPT = "unparseable: the answer's gzip encoding is corrupt or cut short"
BODY = {"customer": {"id": "{customer_id}", "history": "{history}"}, "limit": "{k}"}
RESPONSE = {
    "items": "data.recommendations[].sku",
    "scores": "data.recommendations[].score",
    "explanations": "data.recommendations[].reason",
}


def http_spec(url: str, **changes) -> HttpVendorSpec:
    return HttpVendorSpec.model_validate(
        {
            "adapter": "http",
            "url": url + "/v1/tenants/{tenant_id}/recommendations",
            "headers": {"Authorization": "Bearer ${AKT_ADAPTER_KEY}"},
            "body": BODY,
            "response": RESPONSE,
            "timeout_seconds": 0.3,
            "max_response_bytes": CAP,
            **changes,
        }
    )


@pytest.fixture(scope="module")
def simulated():
    return simulated_vendor()


@pytest.fixture
def probe(simulated):
    shop = sorted(simulated.shop_ids)[0]
    return RecommendRequest(shop, "c-1", (), {}, 5)


@pytest.fixture
def hostile(simulated):
    """``hostile(faults, wire)``: an HttpVendor of the simulated vendor behind those faults."""
    with contextlib.ExitStack() as stack:

        def connect(faults=None, wire=None, **spec):
            app = vendor_app(simulated, faults=faults or Faults(), api_key=KEY)
            url = stack.enter_context(running_hostile_server(app, wire=wire))
            vendor = HttpVendor(
                http_spec(url, **spec), simulated.shop_ids, environ={"AKT_ADAPTER_KEY": KEY}
            )
            stack.callback(vendor.close)
            return vendor

        yield connect


@pytest.fixture
def mocked():
    """``mocked(handler)``: an HttpVendor whose every request ``handler`` answers (no server)."""
    with contextlib.ExitStack() as stack:

        def connect(handler, **spec):
            vendor = HttpVendor(
                http_spec("http://vendor.test", **spec),
                ["shop01"],
                environ={"AKT_ADAPTER_KEY": KEY},
                transport=httpx.MockTransport(handler),
            )
            stack.callback(vendor.close)
            return vendor

        yield connect


class Chunks(httpx.SyncByteStream):
    """A response body that arrives in pieces, as from a socket (not read ahead by httpx)."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    def __iter__(self):
        yield from self.chunks


def answer(items=("a", "b"), **extra) -> bytes:
    rows = [{"sku": item, "score": 1.0, "reason": f"because {item}"} for item in items]
    return json.dumps({"data": {"recommendations": rows}, **extra}).encode()


@pytest.mark.parametrize("fault", ["hang", "header_drip", "body_drip"])
def test_no_wire_fault_holds_a_request_past_its_deadline(hostile, probe, fault):
    # Each dripped byte comes well inside any per-read timeout; the drip lasts 30 s.
    wire = WireFaults(**{f"{fault}_rate": 1.0}, drip_interval_ms=10, drip_seconds=30)
    vendor = hostile(wire=wire)
    started = time.monotonic()
    with pytest.raises(RequestFailed) as info:
        vendor.recommend(probe)
    assert time.monotonic() - started < 0.3 + 0.5
    assert info.value.problem == "timeout: no complete answer within 0.3 s"
    assert info.value.retryable


@pytest.mark.parametrize(
    ("fault", "problem"),
    [("reset", "connection: ReadError"), ("early_close", "connection: RemoteProtocolError")],
)
def test_a_connection_cut_is_a_retryable_connection_failure(hostile, probe, fault, problem):
    vendor = hostile(wire=WireFaults(**{f"{fault}_rate": 1.0}))
    with pytest.raises(RequestFailed) as info:
        vendor.recommend(probe)
    assert (info.value.problem, info.value.retryable) == (problem, True)


def test_a_proxy_from_the_environment_is_used_and_held_to_the_deadline(
    simulated, probe, monkeypatch
):
    app = vendor_app(simulated, api_key=KEY)
    wire = WireFaults(header_drip_rate=1.0, drip_interval_ms=10, drip_seconds=30)
    with running_hostile_server(app, wire=wire) as proxy:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        spec = http_spec("http://vendor.invalid")  # reachable only through the proxy
        vendor = HttpVendor(spec, simulated.shop_ids, environ={"AKT_ADAPTER_KEY": KEY})
        try:
            started = time.monotonic()
            with pytest.raises(RequestFailed) as info:
                vendor.recommend(probe)
            assert time.monotonic() - started < 0.3 + 0.5
        finally:
            vendor.close()
    assert info.value.problem == "timeout: no complete answer within 0.3 s"


def test_the_hostile_server_without_faults_serves_the_vendor_as_it_is(hostile, simulated, probe):
    vendor = hostile()
    for _ in range(3):  # over one kept-alive connection
        assert vendor.recommend(probe).items == simulated.recommend(probe).items


def test_a_gzip_bomb_is_inflated_no_further_than_the_cap(hostile, probe):
    faults = Faults(malformed_rate=1.0, malformed=("gzip_bomb",), bomb_bytes=1 << 30)
    vendor = hostile(faults=faults, timeout_seconds=5)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidAnswer) as info:
            vendor.recommend(probe)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.problem == f"too_large: answer longer than {CAP} bytes"
    assert info.value.raw == " " * CAP
    assert peak < 8 * CAP + (1 << 20)  # one 64 KiB chunk inflated whole would be 64 MiB


def test_the_bomb_is_a_valid_gzip_stream():
    assert gzip.decompress(b"".join(gzip_bomb(3 << 20))) == b" " * (3 << 20)


def test_only_encodings_inflated_within_the_cap_are_asked_for(mocked):
    seen = []

    def handler(request):
        seen.append(request.headers["accept-encoding"])
        return httpx.Response(200, content=answer())

    mocked(handler).recommend(RecommendRequest("shop01", "c", (), {}, 2))
    assert seen == ["gzip, deflate"]


def _gzip_members(body: bytes) -> bytes:
    half = len(body) // 2
    return gzip.compress(body[:half]) + gzip.compress(body[half:])


def _raw_deflate(body: bytes) -> bytes:
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return deflate.compress(body) + deflate.flush()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("gzip", _gzip_members),
        ("identity", lambda body: body),
    ],
)
def test_compressed_answers_are_read_in_pieces(mocked, encoding, encode):
    wire = encode(answer(("x", "y", "z")))
    pieces = [wire[i : i + 7] for i in range(0, len(wire), 7)]

    def handler(request):
        return httpx.Response(200, headers={"content-encoding": encoding}, stream=Chunks(*pieces))

    got = mocked(handler).recommend(RecommendRequest("shop01", "c", (), {}, 3))
    assert got.items == ("x", "y", "z")


@pytest.mark.parametrize(
    ("encoding", "content", "problem"),
    [
        ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\xff\xff\xff", CORRUPT),
        ("gzip", gzip.compress(answer())[:-12], CORRUPT),
        (
            "deflate",
            b"\xff\xff\xff",
            "unparseable: the answer's deflate encoding is corrupt or cut short",
        ),
        ("br", b"\x0b", "unparseable: content-encoding 'br' was not asked for"),
        ("gzip, gzip", b"", "unparseable: content-encoding 'gzip, gzip' was not asked for"),
    ],
)
def test_corrupt_or_unasked_encodings_are_invalid(mocked, encoding, content, problem):
    def handler(request):
        return httpx.Response(200, headers={"content-encoding": encoding}, stream=Chunks(content))

    with pytest.raises(InvalidAnswer) as info:
        mocked(handler).recommend(RecommendRequest("shop01", "c", (), {}, 2))
    assert info.value.problem == problem


def test_error_bodies_are_kept_capped_with_every_secret_blanked(mocked):
    # The key stands across the cut and once escaped as JSON; the reason phrase quotes it too.
    page = b"x" * (ERROR_RAW_LIMIT - 4) + KEY.encode() + b" and more " * 1000

    def handler(request):
        return httpx.Response(
            503,
            headers={"retry-after": "nan"},
            extensions={"reason_phrase": f"down, key {KEY}".encode()},
            stream=Chunks(page[:3000], page[3000:]),
        )

    with pytest.raises(RequestFailed) as info:
        mocked(handler).recommend(RecommendRequest("shop01", "c", (), {}, 2))
    failed = info.value
    assert failed.problem == "http_503: down, key ***"
    assert failed.retryable and failed.retry_after is None
    assert len(failed.raw) == ERROR_RAW_LIMIT and KEY[:4] not in failed.raw
    assert failed.raw == "x" * (ERROR_RAW_LIMIT - 4) + "*** "  # blanked whole, then cut


def test_a_refusal_with_a_json_page_keeps_it_as_text(mocked):
    def handler(request):
        return httpx.Response(422, json={"error": "limit must be at most 3"})

    with pytest.raises(RequestFailed) as info:
        mocked(handler).recommend(RecommendRequest("shop01", "c", (), {}, 5))
    assert (info.value.problem, info.value.retryable) == ("http_422: Unprocessable Entity", False)
    assert json.loads(info.value.raw) == {"error": "limit must be at most 3"}


def test_a_declared_charset_is_honoured_and_bytes_that_are_not_utf8_refused(mocked):
    latin = json.dumps(
        {"data": {"recommendations": [{"sku": "a", "score": 1, "reason": "café"}]}},
        ensure_ascii=False,
    ).encode("latin-1")

    def declared(request):
        return httpx.Response(
            200, headers={"content-type": "application/json; charset=latin-1"}, content=latin
        )

    got = mocked(declared).recommend(RecommendRequest("shop01", "c", (), {}, 1))
    assert got.explanations == ("café",)

    def undeclared(request):
        return httpx.Response(200, headers={"content-type": "application/json"}, content=latin)

    with pytest.raises(InvalidAnswer) as info:
        mocked(undeclared).recommend(RecommendRequest("shop01", "c", (), {}, 1))
    offset = latin.index(b"\xe9")
    assert info.value.problem == (
        f"unparseable: the answer is not UTF-8 text (byte 0xe9 at {offset})"
    )


def test_a_utf8_answer_may_start_with_a_byte_order_mark(mocked):
    def handler(request):
        return httpx.Response(200, content=b"\xef\xbb\xbf" + answer(("a",)))

    assert mocked(handler).recommend(RecommendRequest("shop01", "c", (), {}, 1)).items == ("a",)


@pytest.mark.parametrize("score", ["1e999", "-Infinity", "NaN", "1" + "0" * 400])
def test_scores_that_are_no_finite_number_are_dropped(mocked, score):
    body = b'{"data": {"recommendations": [{"sku": "a", "score": ' + score.encode() + b"}]}}"

    def handler(request):
        return httpx.Response(200, content=body)

    got = mocked(handler).recommend(RecommendRequest("shop01", "c", (), {}, 1))
    assert got.items == ("a",) and got.scores is None


def test_an_answer_nested_deeper_than_python_goes_is_unparseable(mocked):
    def handler(request):
        return httpx.Response(200, content=b"[" * 50_000 + b"]" * 50_000)

    with pytest.raises(InvalidAnswer) as info:
        mocked(handler).recommend(RecommendRequest("shop01", "c", (), {}, 1))
    assert info.value.problem == "unparseable: the answer is not JSON"


def test_retry_after_that_is_not_a_number_of_seconds_is_ignored():
    assert retry_after_seconds("nan") is None
    assert retry_after_seconds("inf") == float("inf")  # the runner caps every wait
    assert retry_after_seconds("-3") == 0.0


def test_wire_faults_are_checked():
    with pytest.raises(ValueError) as info:
        WireFaults(hang_rate=0.6, reset_rate=0.6)
    assert str(info.value).startswith(
        "WireFaults: hang_rate + header_drip_rate + body_drip_rate + reset_rate + "
        "early_close_rate must be at most 1; got 1.2"
    )
