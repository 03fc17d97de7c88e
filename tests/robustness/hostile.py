"""Whole audits against a hostile vendor, and what must hold after each whatever it did.

Shared by tests/robustness/test_hostile_*.py and benchmarks/robustness_faults.py. A `Fault` is
one misbehaviour of the served vendor: in its answers (`auditkit.world.Faults`) or on the
connection (`auditkit.world.WireFaults`), with the failure kinds data quality must count for
it. `audit_under` runs a small audit of the simulated vendor over HTTP, served on 127.0.0.1
behind the fault, and `problems` lists every rule the run broke: the audit completed, the
fault was counted, every planned probe is answered or failed (none lost), no file of the run
holds the secret, and memory stayed bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sqlite3
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import support

from auditkit import AuditResult, AuditSpec, run_audit
from auditkit.api import load_shops
from auditkit.world import Faults, SimulatedVendor, WireFaults, running_hostile_server, vendor_app

SECRET_ENV = "AKT_HOSTILE_VENDOR_KEY"
SECRET = "hostile-secret-3b8e51d0"
KNOBS = {"pooling": 0.8, "trend_weight": 0.5}
TIMEOUT_SECONDS = 0.5
MAX_ATTEMPTS = 3
CONCURRENCY = 4
MEMORY_LIMIT = 48 << 20
"""Most bytes an audit may hold at once (tracemalloc's peak), bombs and 50 MB answers included:
with the 1 MiB answer cap and 4 requests in flight the client needs a few MiB; inflating one
64 KiB chunk of a gzip bomb whole takes 64 MiB."""
RSS_GROWTH_LIMIT = 256 << 20
"""Most the process's peak resident size may grow in an audit not traced (a cheaper bound)."""
TRACED = ("huge", "gzip_bomb")
"""Faults whose audits are traced byte by byte by default (tracemalloc slows an audit 3x)."""
DEADLINE_SLACK_SECONDS = 1.0
"""How far past ``timeout_seconds`` an attempt may end (a loaded machine's scheduling)."""
RETRYABLE_KINDS = ("error: timeout", "error: connection", "error: http_429", "error: http_5")


@dataclass(frozen=True)
class Fault:
    """One way the served vendor misbehaves, and the failure kinds it must be counted under.

    ``faults`` are `Faults` arguments (its answers), ``wire`` are `WireFaults` arguments (its
    connection); ``kinds`` are keys of ``data_quality.failures_by_kind``, one of which must be
    counted; ``vendor`` changes the http spec's vendor section (a longer timeout, say).
    """

    name: str
    kinds: tuple[str, ...]
    faults: dict[str, Any] = field(default_factory=dict)
    wire: dict[str, Any] = field(default_factory=dict)
    vendor: dict[str, Any] = field(default_factory=dict)

    def at(self, rate: float, seed: int) -> Fault:
        """The same fault at another rate, drawn from another seed."""
        faults = {k: rate if k.endswith("_rate") else v for k, v in self.faults.items()}
        wire = {k: rate if k.endswith("_rate") else v for k, v in self.wire.items()}
        faults["seed"] = wire["seed"] = seed
        return replace(self, name=f"{self.name}@{rate:g}", faults=faults, wire=wire)


def _malformed(kind: str, counted: str, rate: float = 0.3, **faults: Any) -> Fault:
    return Fault(kind, (counted,), {"malformed_rate": rate, "malformed": (kind,), **faults})


# A drip lasts five timeouts: a client without a total deadline waits it out.
DRIP = {"drip_interval_ms": 20, "drip_seconds": 5 * TIMEOUT_SECONDS}
FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault("hang", ("error: timeout",), wire={"hang_rate": 0.2}),
        Fault("header_drip", ("error: timeout",), wire={"header_drip_rate": 0.25, **DRIP}),
        Fault("body_drip", ("error: timeout",), wire={"body_drip_rate": 0.25, **DRIP}),
        Fault("reset", ("error: connection",), wire={"reset_rate": 0.25}),
        Fault("early_close", ("error: connection",), wire={"early_close_rate": 0.25}),
        Fault("throttle", ("error: http_429",), {"throttle_rate": 0.3, "retry_after": 1}),
        Fault(
            "throttle_no_retry_after",
            ("error: http_429",),
            {"throttle_rate": 0.3, "retry_after": None},
        ),
        Fault(
            "error_burst",
            ("error: http_500", "error: http_502", "error: http_503", "error: http_504"),
            {"error_rate": 0.08, "error_burst": 4, "error_statuses": (500, 502, 503, 504)},
        ),
        Fault("redirect_loop", ("error: http_307",), {"redirect_rate": 0.2}),
        _malformed("bad_json", "invalid: unparseable"),
        _malformed("not_json", "invalid: unparseable"),
        _malformed("html", "invalid: unparseable"),
        _malformed("wrong_types", "invalid: unparseable"),
        _malformed("no_items", "invalid: unparseable"),
        _malformed("empty", "invalid: empty"),
        _malformed("duplicates", "answered with duplicates"),
        _malformed("unknown", "answered with unknown_items"),
        _malformed("too_many", "answered with too_many"),
        _malformed("not_utf8", "invalid: unparseable"),
        _malformed("huge", "invalid: too_large", huge_bytes=50_000_000),
        # Refusing a bomb is what is tested, not the deadline: traced (3x slower) on a loaded
        # machine, reading to the size cap once outlasted 0.5 s and was counted a timeout.
        replace(
            _malformed("gzip_bomb", "invalid: too_large", bomb_bytes=1 << 30),
            vendor={"timeout_seconds": 6 * TIMEOUT_SECONDS},
        ),
        Fault(
            "echo_credentials",
            ("invalid: unparseable", "error: http_503"),
            {
                "echo_credentials": True,
                "error_rate": 0.15,
                "malformed_rate": 0.2,
                "malformed": ("not_json", "html"),
            },
        ),
    )
}
WIRE_FAULT_NAMES = ("hang", "header_drip", "body_drip", "reset", "early_close")


def spec_data(url: str, **vendor: Any) -> dict[str, Any]:
    """The small audit of the simulated vendor over HTTP at ``url``: 3 shops, 36 probes."""
    return support.spec_data(
        "against a hostile vendor",
        support.served_vendor(
            url,
            secret_env=SECRET_ENV,
            **{
                "name": "Hostile Co",
                "timeout_seconds": TIMEOUT_SECONDS,
                "concurrency": CONCURRENCY,
                "retries": {
                    "max_attempts": MAX_ATTEMPTS,
                    "backoff_seconds": 0.01,
                    "max_backoff_seconds": 0.05,
                },
                **vendor,
            },
        ),
        {
            "k": 5,
            "personas": [
                {"id": "fan", "categories": ["cat01"], "history_length": 3, "customers": 4},
                {"id": "newcomer", "history_length": 0, "customers": 2},
            ],
            "segments": {"age_band": ["18-34", "65+"]},
            "counterfactual": ["age_band"],
        },
        seed=13,
    )


def simulated_vendor() -> SimulatedVendor:
    """The simulated vendor of the small audit's shops, the one every hostile server serves."""
    reference = AuditSpec.model_validate(spec_data("http://127.0.0.1:9"))
    shops = load_shops(reference)
    return SimulatedVendor(
        shops.catalogs, seed=reference.seed, signatures=shops.signatures(), **KNOBS
    )


@contextlib.contextmanager
def serving(vendor: SimulatedVendor, fault: Fault, committed: Counter[str]) -> Iterator[str]:
    """``vendor`` served on 127.0.0.1 behind ``fault`` (the secret as its API key).

    ``committed`` counts each fault the server commits, by name.
    """
    app = vendor_app(vendor, faults=Faults(**fault.faults), api_key=SECRET, committed=committed)
    with running_hostile_server(app, wire=WireFaults(**fault.wire), committed=committed) as url:
        yield url


@dataclass(frozen=True)
class Outcome:
    """What one audit under a fault gave, read back from its run directory."""

    fault: Fault
    out: Path
    result: AuditResult | None
    error: BaseException | None
    seconds: float
    peak_bytes: int | None
    rss_growth: int
    plan: pd.DataFrame
    attempts: pd.DataFrame
    committed: Counter[str]
    """Faults the server committed, by name (``hang``, ``error``, ``gzip_bomb``, ...)."""

    def counted(self) -> int:
        """Failures of the fault's kinds that data quality counted."""
        if self.result is None:
            return 0
        kinds = self.result.data_quality.failures_by_kind
        return sum(kinds.get(kind, 0) for kind in self.fault.kinds)

    @property
    def planned(self) -> int:
        """Probes in the plan."""
        return len(self.plan)

    def failed(self) -> int:
        """Planned probes whose every attempt failed (or whose original's did), per evidence."""
        ok = set(self.attempts.loc[self.attempts["status"] == "ok", "probe_id"])
        tried = set(self.attempts["probe_id"])
        own = self.plan["probe_id"].where(self.plan["same_as"].isna(), self.plan["same_as"])
        return int((own.isin(tried) & ~own.isin(ok)).sum())

    def leaks(self) -> list[str]:
        """Files of the run directory that hold the secret."""
        return sorted(
            str(path.relative_to(self.out))
            for path in self.out.rglob("*")
            if path.is_file() and SECRET.encode() in path.read_bytes()
        )


def _max_rss() -> int:
    """The process's peak resident size so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def audit_under(
    vendor: SimulatedVendor, fault: Fault, out: Path, *, trace: bool | None = None
) -> Outcome:
    """Run the small audit against ``vendor`` served behind ``fault``; read back what it left.

    The secret is put in the environment for the run only. A run that raises is an outcome
    too (``error``): `problems` reports it. ``trace`` measures the peak of memory allocated
    with tracemalloc (default: for the faults in `TRACED`, whose point is memory).
    """
    measure_memory = fault.name.split("@")[0] in TRACED if trace is None else trace
    rss_before = _max_rss()
    before = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = SECRET
    result: AuditResult | None = None
    error: BaseException | None = None
    peak: int | None = None
    committed: Counter[str] = Counter()
    started = time.perf_counter()
    try:
        with serving(vendor, fault, committed) as url:
            spec = AuditSpec.model_validate(spec_data(url, **fault.vendor))
            if measure_memory:
                tracemalloc.start()
            try:
                result = run_audit(spec, out=out)
            except Exception as exc:  # a crash is what the checks are for
                error = exc
            finally:
                if measure_memory:
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
    finally:
        if before is None:
            del os.environ[SECRET_ENV]
        else:
            os.environ[SECRET_ENV] = before
    seconds = time.perf_counter() - started
    rss_growth = _max_rss() - rss_before
    plan = pd.read_parquet(out / "plan.parquet") if (out / "plan.parquet").exists() else None
    return Outcome(
        fault,
        out,
        result,
        error,
        seconds,
        peak,
        rss_growth,
        plan if plan is not None else pd.DataFrame(columns=["probe_id", "same_as"]),
        read_attempts(out / "evidence.sqlite"),
        committed,
    )


def read_attempts(path: Path) -> pd.DataFrame:
    """Every attempt in an evidence file, read as a plain database (no spec needed)."""
    columns = ["probe_id", "status", "problem", "latency_ms", "raw"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return pd.read_sql_query(f"SELECT {', '.join(columns)} FROM attempts ORDER BY id", db)


def _kind(status: str, problem: Any) -> str:
    """The failure kind data quality counts an attempt under (``problem`` may be NaN)."""
    text = problem if isinstance(problem, str) else ""
    return f"{status}: {text.split(':')[0]}"


def problems(outcome: Outcome, *, memory_limit: int = MEMORY_LIMIT) -> list[str]:
    """Every rule the run under ``outcome.fault`` broke; empty when it stood the fault."""
    fault, result = outcome.fault, outcome.result
    if result is None:
        return [f"{fault.name}: the audit did not complete: {outcome.error!r}"]
    found = []
    quality = result.data_quality
    committed = sum(outcome.committed.values())
    if outcome.counted() < committed:  # every fault committed is a failure (or note) counted
        found.append(
            f"{fault.name}: {committed} faults committed, {outcome.counted()} of {fault.kinds}"
            f" counted in data quality: {quality.failures_by_kind}"
        )
    if quality.stopped is not None:  # a hostile vendor is not a dead one: the run goes on
        found.append(f"{fault.name}: probing stopped early: {quality.stopped}")
    attempts, plan = outcome.attempts, outcome.plan
    sent = plan.loc[plan["same_as"].isna(), "probe_id"]
    lost = sorted(set(sent) - set(attempts["probe_id"]))
    if lost:
        found.append(f"{fault.name}: {len(lost)} probes never sent: {lost[:5]}")
    answered, failed = quality.probes_answered, outcome.failed()
    if answered + failed != outcome.planned:
        found.append(
            f"{fault.name}: {answered} answered + {failed} failed != {outcome.planned} planned"
        )
    ok = attempts[attempts["status"] == "ok"]
    if ok["probe_id"].duplicated().any():
        found.append(f"{fault.name}: a probe was answered twice")
    for probe_id, tried in attempts.groupby("probe_id", sort=True):
        if (tried["status"] == "ok").any():
            continue
        last = _kind(tried["status"].iloc[-1], tried["problem"].iloc[-1])
        if len(tried) < MAX_ATTEMPTS and last.startswith(RETRYABLE_KINDS):
            found.append(f"{fault.name}: {probe_id} given up after {len(tried)} ({last})")
            break
    longest = attempts["latency_ms"].max() / 1000 if len(attempts) else 0.0
    deadline = fault.vendor.get("timeout_seconds", TIMEOUT_SECONDS)
    if longest > deadline + DEADLINE_SLACK_SECONDS:
        found.append(f"{fault.name}: an attempt took {longest:.1f} s, past its deadline")
    if quality.attempts != len(attempts):
        found.append(f"{fault.name}: {quality.attempts} attempts counted, {len(attempts)} kept")
    leaks = outcome.leaks()
    if leaks:
        found.append(f"{fault.name}: the secret is in {leaks}")
    if outcome.peak_bytes is not None and outcome.peak_bytes > memory_limit:
        found.append(
            f"{fault.name}: peak memory {outcome.peak_bytes / 2**20:.0f} MiB"
            f" > {memory_limit / 2**20:.0f} MiB"
        )
    if outcome.rss_growth > RSS_GROWTH_LIMIT:
        found.append(f"{fault.name}: peak RSS grew {outcome.rss_growth / 2**20:.0f} MiB")
    return found


def raw_texts(outcome: Outcome, kind: str) -> list[str]:
    """The raw evidence of the attempts of failure ``kind`` (``error: http_503``, say)."""
    attempts = outcome.attempts
    chosen = [
        _kind(status, problem) == kind
        for status, problem in zip(attempts["status"], attempts["problem"], strict=True)
    ]
    return [json.loads(raw) for raw in attempts.loc[chosen, "raw"].dropna()]
