"""What the service says back about bad requests stays short, and junk is logged now and then, not per call."""

from __future__ import annotations

import logging

from rca.service.decoding import RateLimitedLog, request_type_name
from rca.service.servicer import MAX_STATUS_CHARS, bounded


def test_status_messages_are_bounded_saying_how_long_they_were():
    assert bounded("short") == "short"
    long = bounded("x" * 20_000)
    assert len(long) <= MAX_STATUS_CHARS and long.endswith("... (message of 20000 chars cut)")


def test_rate_limited_log_logs_once_per_interval_and_counts_what_it_left_out(caplog, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("rca.service.decoding.time.monotonic", lambda: clock[0])
    limited = RateLimitedLog(logging.getLogger("test.limited"), interval_s=10)
    with caplog.at_level(logging.WARNING, logger="test.limited"):
        logged = [limited.warning("junk from %s", peer) for peer in ("a", "b", "c")]
        clock[0] += 10
        logged.append(limited.warning("junk from %s", "d"))
    assert logged == [True, False, False, True]
    assert [r.getMessage() for r in caplog.records] == [
        "junk from a",
        "junk from d (2 more like it in the last 10 s not logged)",
    ]


def test_request_type_names_come_from_the_descriptors():
    assert request_type_name("/rca.v1.RootCause/Infer") == "rca.v1.InferRequest"
    assert request_type_name("/no.such.Service/Method") == "request message"
