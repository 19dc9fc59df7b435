"""Hop times into entities from log lines that carry trace ids (ingest.syslog.trace_hops)."""

from __future__ import annotations

import pytest

import ingest.syslog.trace_hops as trace_hops
from ingest.syslog.trace_hops import MAX_HOP_S, TraceHops, trace_id_of

T0 = 1_700_000_040.0  # on a minute


@pytest.mark.parametrize(
    "message",
    [
        "18:11:08.823 INFO t.s.TravelServiceImpl#486 TraceID: 22EBFC7F2F5D6B4C3C81E89F450383D2 SpanID: 37ac [query]",
        "level=info trace_id=22ebfc7f2f5d6b4c3c81e89f450383d2 span_id=37ac753b1fd26d49 msg=query",
        '{"msg": "query", "traceId": "22ebfc7f2f5d6b4c3c81e89f450383d2"}',
        "X-B3-TraceId: 22ebfc7f2f5d6b4c3c81e89f450383d2 handled",
        "traceparent: 00-22ebfc7f2f5d6b4c3c81e89f450383d2-37ac753b1fd26d49-01 handled",
        "TRACEPARENT=00-22EBFC7F2F5D6B4C3C81E89F450383D2-37ac753b1fd26d49-01",
    ],
)
def test_a_trace_id_is_read_however_the_line_names_it(message):
    assert trace_id_of(message) == "22ebfc7f2f5d6b4c3c81e89f450383d2"


@pytest.mark.parametrize(
    "message",
    [
        "cache refresh took 399ms",
        "order 22ebfc7f2f5d6b4c3c81e89f450383d2 paid",  # a hex id that is not named a trace
        "trace_id=none",
        "race condition in 22ebfc7f2f5d6b4c3c81e89f450383d2",
    ],
)
def test_a_line_without_a_named_trace_id_has_none(message):
    assert trace_id_of(message) is None


def _line(trace: str) -> str:
    return f"INFO TraceID: {trace} SpanID: 0123456789abcdef handled"


def test_the_first_line_of_an_entity_in_a_trace_is_a_hop_into_it_timed_from_the_trace_line_before():
    hops = TraceHops(60.0, keep_series=True)
    trace = "a" * 32
    hops.add("gateway", T0 + 1.000, _line(trace))
    hops.add("gateway", T0 + 1.002, _line(trace))  # the same entity again: no hop
    hops.add("orders", T0 + 1.010, _line(trace))  # gateway -> orders: 8 ms
    hops.add("pricing", T0 + 1.510, _line(trace))  # orders -> pricing: 500 ms
    hops.add("orders", T0 + 1.600, _line(trace))  # back in orders: pricing's answer, not a hop into orders
    series = hops.series()
    assert set(series) == {"orders", "pricing"}
    assert series["orders"][0] == [T0] and series["orders"][1] == pytest.approx([0.008], abs=1e-6)
    assert series["pricing"][1] == pytest.approx([0.5], abs=1e-6)


def test_each_step_holds_the_median_of_its_hops():
    hops = TraceHops(60.0, keep_series=True)
    gaps = [0.004, 0.005, 0.9, 0.006, 0.005]  # one slow request does not move a median
    for k, gap in enumerate(gaps):
        trace = f"{k:032x}"
        hops.add("gateway", T0 + k, _line(trace))
        hops.add("orders", T0 + k + gap, _line(trace))
    late = "f" * 32
    hops.add("gateway", T0 + 60, _line(late))
    hops.add("orders", T0 + 61.0, _line(late))
    starts, medians = hops.series()["orders"]
    assert starts == [T0, T0 + 60] and medians == pytest.approx([0.005, 1.0], abs=1e-6)


def test_lines_out_of_order_or_too_far_apart_are_no_hops_and_each_hop_is_returned_as_recorded():
    hops = TraceHops(60.0, keep_series=True)
    assert hops.add("gateway", T0 + 10, _line("1" * 32)) is None  # a trace's first line
    assert hops.add("orders", T0 + 9, _line("1" * 32)) is None  # delivered out of order
    hops.add("gateway", T0, _line("2" * 32))
    assert hops.add("orders", T0 + MAX_HOP_S + 1, _line("2" * 32)) is None  # not one request's hop
    hops.add("gateway", T0, _line("3" * 32))
    assert hops.add("orders", T0 + 0.25, _line("3" * 32)) == pytest.approx(0.25)
    assert hops.series()["orders"][1] == pytest.approx([0.25])


def test_only_the_most_recent_traces_are_kept(monkeypatch):
    monkeypatch.setattr(trace_hops, "MAX_TRACES", 2)
    hops = TraceHops(60.0, keep_series=True)
    for trace in ("1" * 32, "2" * 32, "3" * 32):
        hops.add("gateway", T0, _line(trace))
    hops.add("orders", T0 + 0.1, _line("1" * 32))  # its first line was forgotten: no hop to time
    hops.add("orders", T0 + 0.1, _line("3" * 32))
    assert hops.series()["orders"][1] == pytest.approx([0.1])
    assert len(hops._last) == 2


def test_a_live_worker_keeps_no_series_only_hands_each_hop_on():
    hops = TraceHops(60.0)  # as the syslog worker makes it: its histogram gets the hops
    hops.add("gateway", T0, _line("1" * 32))
    assert hops.add("orders", T0 + 0.25, _line("1" * 32)) == pytest.approx(0.25)
    assert hops.series() == {}
