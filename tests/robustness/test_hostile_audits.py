"""Whole audits against a hostile vendor: every fault is survived, counted, and leaks nothing.

One audit per fault, shared by the tests that look at it (each takes a second or so).
"""

import pytest
from hostile import (
    FAULTS,
    SECRET,
    TIMEOUT_SECONDS,
    audit_under,
    problems,
    raw_texts,
    simulated_vendor,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    """``outcome(name)``: the small audit under fault ``name`` (run once per module)."""
    vendor = simulated_vendor()
    done = {}

    def run(name):
        if name not in done:
            done[name] = audit_under(vendor, FAULTS[name], tmp_path_factory.mktemp(name))
        return done[name]

    return run


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_an_audit_stands_the_fault(outcome, name):
    stood = outcome(name)
    assert sum(stood.committed.values()) > 0  # the fault did happen
    assert problems(stood) == []


def test_a_vendor_dripping_its_headers_is_cut_off_at_the_deadline(outcome):
    attempts = outcome("header_drip").attempts
    timed_out = attempts[attempts["problem"].fillna("").str.startswith("timeout")]
    assert len(timed_out) > 0
    # A drip lasts five timeouts; each attempt ends at its own deadline, not the drip's.
    assert timed_out["latency_ms"].max() < (TIMEOUT_SECONDS + 0.4) * 1000
    assert set(timed_out["problem"]) == {"timeout: no complete answer within 0.5 s"}


def test_error_answers_keep_why_the_vendor_refused_with_the_key_blanked(outcome):
    echoed = outcome("echo_credentials")
    refusals = raw_texts(echoed, "error: http_503")
    assert refusals and all("service temporarily unavailable" in text for text in refusals)
    assert all("Bearer ***" in text and SECRET not in text for text in refusals)
    pages = raw_texts(echoed, "invalid: unparseable")
    assert pages and all("Bearer ***" in text for text in pages)
    assert echoed.leaks() == []


def test_a_throttle_without_retry_after_is_retried_with_backoff(outcome):
    attempts = outcome("throttle_no_retry_after").attempts
    throttled = attempts.loc[attempts["problem"].fillna("").str.startswith("http_429"), "probe_id"]
    answered = attempts.loc[attempts["status"] == "ok", "probe_id"]
    assert throttled.isin(answered).any()  # refused once, answered on a later attempt


def test_non_utf8_answers_are_refused_not_read_with_stand_ins(outcome):
    attempts = outcome("not_utf8").attempts
    refused = (
        attempts["problem"]
        .fillna("")
        .str.startswith("unparseable: the answer is not UTF-8 text (byte 0xe9 at ")
    )
    assert refused.any()
    answered = " ".join(attempts.loc[attempts["status"] == "ok", "raw"].dropna())
    assert "\\ufffd" not in answered  # no answer was taken with the byte read as a stand-in


def test_a_redirect_loop_is_recorded_once_with_its_target(outcome):
    attempts = outcome("redirect_loop").attempts
    redirected = attempts[attempts["problem"].fillna("").str.startswith("http_307")]
    assert len(redirected) > 0
    assert redirected["problem"].str.contains(r"\(to http://127\.0\.0\.1:\d+/v1/tenants/").all()
    # Not retried: the same request would go round the same loop.
    assert not redirected["probe_id"].duplicated().any()


@pytest.mark.parametrize("name", ["gzip_bomb", "huge"])
def test_bombs_and_huge_answers_cost_the_cap_not_their_size(outcome, name):
    bombed = outcome(name)
    assert bombed.peak_bytes is not None and bombed.peak_bytes < 16 << 20
    attempts = bombed.attempts
    cut = attempts.loc[attempts["problem"].fillna("").str.startswith("too_large"), "raw"]
    assert len(cut) > 0 and cut.str.len().max() < 70_000  # the evidence keeps 64 KiB of it
