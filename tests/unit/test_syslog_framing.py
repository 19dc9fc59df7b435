"""RFC 6587 framing, the write buffer's memory/disk bound, and aggregation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from graph_schema.model import Label
from ingest.syslog.aggregator import EventAggregator, merge_batches
from ingest.syslog.buffer import WriteBuffer
from ingest.syslog.entities import EntityRef
from ingest.syslog.framing import Deframer, Oversize


def test_octet_counting_and_lf_mixed_across_chunks():
    d = Deframer(100)
    assert d.feed(b"12 <13>1 hello") == []
    assert d.feed(b"x\n<13>plain line\n5 ab") == [b"<13>1 hellox", b"<13>plain line"]
    assert d.feed(b"cde3") == [b"abcde"]
    assert d.feed(b"0 ") == []
    assert d.feed(b"y" * 30) == [b"y" * 30]
    assert d.feed(b"last without newline") == []
    assert d.finish() == [b"last without newline"]


def test_oversize_frames_are_reported_and_skipped():
    d = Deframer(10)
    out = d.feed(b"500 " + b"y" * 20)
    assert len(out) == 1 and isinstance(out[0], Oversize) and out[0].length == 500
    assert d.feed(b"y" * 480 + b"ok line\n") == [b"ok line"]
    out = d.feed(b"a" * 30)
    assert isinstance(out[0], Oversize)
    assert d.feed(b"bb\nfine\n") == [b"fine"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b), max_size=20), st.integers(1, 50))
def test_octet_counted_frames_survive_any_chunking(frames, chunk):
    stream = b"".join(b"%d %s" % (len(f), f) for f in frames)
    d = Deframer(1000)
    out = []
    for i in range(0, len(stream), chunk):
        out += d.feed(stream[i : i + chunk])
    assert out == frames


def test_buffer_spills_beyond_its_memory_bound_and_survives_restart(tmp_path):
    buf = WriteBuffer(tmp_path, memory_rows=2)
    for i in range(4):
        buf.put({"events": [{"i": i}]})
    assert buf.sizes() == (2, 2)
    token, batch = buf.peek()
    assert batch == {"events": [{"i": 0}]}
    buf.ack(token)
    buf.spill_all()
    again = WriteBuffer(tmp_path, memory_rows=2)
    seen = []
    while (item := again.peek(timeout=0)) is not None:
        seen.append(item[1]["events"][0]["i"])
        again.ack(item[0])
    assert sorted(seen) == [1, 2, 3]


def test_aggregation_counts_per_entity_template_bucket():
    agg = EventAggregator(60)
    host = EntityRef(Label.HOST, "h1", "h1")
    for t in (0.5, 10, 59.9, 61):
        agg.add(host, "tpl-1", 1_000_020 + t, 6, "timeout", f"line {t}")
    agg.add(host, "tpl-1", 1_000_030, 3, "timeout", "worse")
    agg.add(host, "tpl-2", 1_000_030, 5, "change", "deployed v2", change_type="deploy", message="deployed v2")
    batch = agg.drain(lambda tid: f"text of {tid}")
    events = {(e["template_id"], e["bucket"]): e for e in batch["events"]}
    first = events[("tpl-1", 1_000_020.0)]
    assert (first["count"], first["severity"], first["first_ts"], first["last_ts"]) == (4, 3, 1_000_020.5, 1_000_079.9)
    assert first["sample"] == "line 0.5" and first["template"] == "text of tpl-1"
    assert events[("tpl-1", 1_000_080.0)]["count"] == 1
    assert [c["change_type"] for c in batch["changes"]] == ["deploy"]
    assert len(agg) == 0 and agg.drain(str) == {"events": [], "changes": []}


def test_each_drain_stamps_its_event_rows_with_one_fresh_write_token_that_merging_keeps():
    agg = EventAggregator(60)
    host = EntityRef(Label.HOST, "h1", "h1")
    for t in (0, 70):
        agg.add(host, "tpl-1", 1_000_000 + t, 6, "timeout", "x")
    first = agg.drain(str)
    agg.add(host, "tpl-1", 1_000_010, 6, "timeout", "x")
    agg.add(host, "tpl-9", 1_000_010, 6, "timeout", "y")
    second = agg.drain(str)
    assert len({row["batch"] for row in first["events"]}) == 1  # the graph adds each row once per token
    assert {row["batch"] for row in first["events"]}.isdisjoint(row["batch"] for row in second["events"])
    expected = {row["id"]: row["batch"] for row in second["events"]}
    expected.update({row["id"]: row["batch"] for row in first["events"]})  # rows already there keep their token
    merge_batches(first, second)  # a batch no write has started on takes the next one in
    assert {row["id"]: row["batch"] for row in first["events"]} == expected
    assert len(set(expected.values())) == 2


def test_batches_waiting_for_the_writer_are_merged_like_the_graph_merges_them(tmp_path):
    buf = WriteBuffer(tmp_path, memory_rows=100, merge=merge_batches)
    row = {"id": "e1", "count": 2, "first_ts": 10.0, "last_ts": 20.0, "severity": 6, "template": "a"}
    buf.put({"events": [dict(row)], "changes": []})
    token, head = buf.peek()  # the writer holds the head: a new batch must not change it
    buf.put({"events": [dict(row, count=3, first_ts=5.0, severity=3, template="b")], "changes": []})
    buf.put({"events": [dict(row, count=4, last_ts=30.0), dict(row, id="e2")], "changes": [{"id": "c1"}]})
    assert head["events"] == [row]
    buf.ack(token)
    _, merged = buf.peek()
    by_id = {r["id"]: r for r in merged["events"]}
    assert (by_id["e1"]["count"], by_id["e1"]["first_ts"], by_id["e1"]["last_ts"], by_id["e1"]["severity"]) == (
        7,
        5.0,
        30.0,
        3,
    )
    assert by_id["e2"]["count"] == 2 and merged["changes"] == [{"id": "c1"}]
    assert buf.sizes() == (3, 0)
