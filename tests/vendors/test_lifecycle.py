"""The vendor seam's lifecycle: what each adapter can do, and that it is closed once."""

import sys
import textwrap

import pytest
import support

import auditkit.vendors
from auditkit import AuditSpec, run_audit
from auditkit.api import build_vendor, load_shops
from auditkit.errors import VendorError
from auditkit.spec import PythonVendorSpec, RetrySpec
from auditkit.vendors import (
    EventSink,
    RecommendRequest,
    Vendor,
    VendorAdapter,
    VendorCapabilities,
    load_python_vendor,
)

MODULE_NAME = "akt_lifecycle_vendor"
MODULE = """
import pathlib


class Stop(BaseException):
    '''Not a vendor failure: it stops the whole run.'''


class Logged:
    '''Answers k made-up items; writes each close (and event batch) to ``log``.'''

    def __init__(self, log, stop=False, **attributes):
        self.log = pathlib.Path(log)
        self.stop = stop
        for name, value in attributes.items():
            setattr(self, name, value)

    def recommend(self, request):
        if self.stop:
            raise Stop("stop the run")
        return [f"x{i}" for i in range(request.k)]

    def close(self):
        with self.log.open("a") as out:
            out.write("close\\n")


class Sink(Logged):
    def send_events(self, shop_id, events):
        with self.log.open("a") as out:
            out.write(f"events {shop_id} {len(events)}\\n")


class Bare:
    def recommend(self, request):
        return ["x0"]


def make(log, **options):
    return Logged(log, **options)


def sink(log, **options):
    return Sink(log, **options)


def bare():
    return Bare()
"""


@pytest.fixture
def target(tmp_path, monkeypatch):
    """``target(factory)`` -> the ``module:factory`` of the lifecycle test vendors."""
    (tmp_path / f"{MODULE_NAME}.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, MODULE_NAME, raising=False)
    return lambda factory: f"{MODULE_NAME}:{factory}"


@pytest.fixture
def log(tmp_path):
    return tmp_path / "calls.log"


def calls(log) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def spec_data(vendor: dict, **probes) -> dict:
    return support.spec_data(
        "lifecycle",
        vendor,
        {
            "k": 4,
            "repetitions": 0,
            "personas": [{"id": "p", "history_length": 2, "customers": 2}],
            **probes,
        },
        seed=2,
        metrics={"homogenization.cross_shop_jaccard": {}},
    )


HTTP = {
    "adapter": "http",
    "url": "http://127.0.0.1:1/recommend",
    "response": {"items": "items"},
    "concurrency": 12,
    "rate_per_second": 40,
    "retries": {"max_attempts": 6, "backoff_seconds": 0.1, "max_backoff_seconds": 3},
}
RETRIES = RetrySpec(max_attempts=6, backoff_seconds=0.1, max_backoff_seconds=3)


def built(vendor: dict) -> Vendor:
    spec = AuditSpec.model_validate(spec_data(vendor))
    shops = load_shops(spec)
    return build_vendor(spec, shops.catalogs, shops.signatures())


@pytest.mark.parametrize(
    ("vendor", "expected"),
    [
        ({"adapter": "simulated"}, VendorCapabilities(events=True, keeps_events=False)),
        (HTTP, VendorCapabilities(concurrency=12, rate_per_second=40.0, retries=RETRIES)),
        (
            {**HTTP, "events": {"url": "http://127.0.0.1:1/events", "batch_size": 7}},
            VendorCapabilities(
                concurrency=12,
                rate_per_second=40.0,
                retries=RETRIES,
                events=True,
                event_batch_size=7,
            ),
        ),
        (
            {"adapter": "python", "target": "bare", "concurrency": 3, "retries": HTTP["retries"]},
            VendorCapabilities(concurrency=3, retries=RETRIES),
        ),
        (
            {"adapter": "python", "target": "bare"},
            VendorCapabilities(retries=RetrySpec(max_attempts=1)),
        ),
    ],
    ids=["simulated", "http", "http-events", "python-settings", "python-defaults"],
)
def test_each_adapter_reads_its_capabilities_from_the_spec(target, vendor, expected):
    if vendor["adapter"] == "python":
        vendor = {**vendor, "target": target(vendor["target"])}
    with built(vendor) as opened:
        assert isinstance(opened, Vendor)
        assert opened.capabilities == expected
        # the events capability and the EventSink shape say the same thing
        assert isinstance(opened, EventSink) is expected.events


def test_a_replayed_vendor_has_the_default_capabilities(tmp_path):
    recording = tmp_path / "recording.csv"
    recording.write_text("shop_id,customer_id,rank,item_id\nshop01,c1,1,x0\n")
    with built({"adapter": "replay", "path": str(recording)}) as opened:
        assert opened.capabilities == VendorCapabilities()


def test_a_python_object_declares_its_capabilities_as_attributes(target, log):
    attributes = {"concurrency": 4, "rate_per_second": 2, "retries": 3, "event_batch_size": 9}
    vendor = load_python_vendor(target("sink"), {"log": str(log), **attributes})
    assert vendor.capabilities == VendorCapabilities(
        concurrency=4,
        rate_per_second=2.0,
        retries=RetrySpec(max_attempts=3),
        events=True,
        event_batch_size=9,
    )
    vendor.send_events("shop01", [{"item_id": "x0"}, {"item_id": "x1"}])
    assert calls(log) == ["events shop01 2"]
    answer = vendor.recommend(RecommendRequest("shop01", "c", (), {}, k=2))
    assert answer == ["x0", "x1"]


def test_an_object_with_only_recommend_can_do_the_defaults(target):
    vendor = load_python_vendor(target("bare"), {})
    assert vendor.capabilities == VendorCapabilities()
    assert not isinstance(vendor, EventSink)
    vendor.close()  # it has no close of its own: nothing to do, nothing raised


def test_the_spec_wins_where_it_is_written_and_the_object_elsewhere(target, log):
    settings = PythonVendorSpec.model_validate(
        {"adapter": "python", "target": target("make"), "concurrency": 2}
    )
    options = {"log": str(log), "concurrency": 8, "rate_per_second": 5, "retries": 3}
    vendor = load_python_vendor(target("make"), options, settings=settings)
    assert vendor.capabilities == VendorCapabilities(
        concurrency=2, rate_per_second=5.0, retries=RetrySpec(max_attempts=3)
    )


def test_the_attributes_are_read_once_when_the_vendor_is_loaded(target, log):
    vendor = load_python_vendor(target("make"), {"log": str(log), "concurrency": 2})
    vendor.target.concurrency = 50
    assert vendor.capabilities.concurrency == 2


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            {"concurrency": 0},
            "vendor.target 'akt_lifecycle_vendor:make': "
            "concurrency must be a positive integer; got 0",
        ),
        (
            {"rate_per_second": "fast"},
            "vendor.target 'akt_lifecycle_vendor:make': "
            "rate_per_second must be a positive number; got 'fast'",
        ),
        (
            {"retries": True},
            "vendor.target 'akt_lifecycle_vendor:make': retries must be a positive integer "
            "(attempts, the first included) or a RetrySpec; got True",
        ),
    ],
)
def test_a_bad_capability_attribute_is_a_vendor_error(target, log, attributes, message):
    with pytest.raises(VendorError) as info:
        load_python_vendor(target("make"), {"log": str(log), **attributes})
    assert str(info.value) == message


def test_with_closes_the_vendor(target, log):
    with load_python_vendor(target("make"), {"log": str(log)}) as vendor:
        assert calls(log) == []
        vendor.recommend(RecommendRequest("shop01", "c", (), {}, k=1))
    assert calls(log) == ["close"]


def test_with_closes_an_http_vendor(tmp_path):
    with built(HTTP) as vendor:
        client = vendor._client
        assert not client.is_closed
    assert client.is_closed


def test_with_closes_on_an_error_and_lets_it_through():
    closed = []

    class Held(VendorAdapter):
        def close(self) -> None:
            closed.append(True)

    with pytest.raises(RuntimeError, match="inside"), Held():
        raise RuntimeError("inside")
    assert closed == [True]
    assert Held().capabilities == VendorCapabilities()


def python_vendor(target, factory: str, log, **options) -> dict:
    return {
        "adapter": "python",
        "target": target(factory),
        "options": {"log": str(log), **options},
    }


def test_a_run_closes_the_vendor_once_at_the_end(target, log, tmp_path):
    spec = AuditSpec.model_validate(spec_data(python_vendor(target, "make", log)))
    result = run_audit(spec, out=tmp_path / "run")
    assert result.data_quality.probes_answered == result.data_quality.probes_planned
    assert calls(log) == ["close"]


def test_a_run_that_crashes_still_closes_the_vendor_once(target, log, tmp_path):
    spec = AuditSpec.model_validate(spec_data(python_vendor(target, "make", log, stop=True)))
    with pytest.raises(BaseException, match="stop the run") as info:
        run_audit(spec, out=tmp_path / "run")
    assert type(info.value).__name__ == "Stop"
    assert calls(log) == ["close"]


def test_a_refused_planting_still_closes_the_vendor_once(target, log, tmp_path):
    planting = {"write_events": True, "customers": 2, "events": 50}
    data = spec_data(python_vendor(target, "make", log), trend_planting=planting)
    with pytest.raises(VendorError, match="trend_planting needs a vendor with an event API"):
        run_audit(AuditSpec.model_validate(data), out=tmp_path / "run")
    assert calls(log) == ["close"]


def test_a_planting_vendor_gets_its_events_in_batches_then_is_closed(target, log, tmp_path):
    planting = {"write_events": True, "customers": 2, "events": 50}
    vendor = python_vendor(target, "sink", log, event_batch_size=20)
    spec = AuditSpec.model_validate(spec_data(vendor, trend_planting=planting))
    run_audit(spec, out=tmp_path / "run")
    assert [line.split()[-1] for line in calls(log)] == ["20", "20", "10", "close"]


def test_the_vendor_surface_is_pinned():
    assert sorted(auditkit.vendors.__all__) == [
        "ADAPTERS",
        "AdapterBuilder",
        "EventSink",
        "InvalidAnswer",
        "RecommendRequest",
        "RecommendResponse",
        "RequestFailed",
        "Vendor",
        "VendorAdapter",
        "VendorCapabilities",
        "coerce_response",
        "load_python_vendor",
        "secret_values",
    ]
