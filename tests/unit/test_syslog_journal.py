"""The syslog journal's records, recovery, bound and release; the durable buffer; the RELP framing."""

from __future__ import annotations

import errno
import json
import os
from typing import Any

import pytest

from ingest.syslog.aggregator import merge_batches
from ingest.syslog.buffer import JOURNAL_KEY, WriteBuffer
from ingest.syslog.framing import Oversize
from ingest.syslog.journal import Journal
from ingest.syslog.relp import RelpError, RelpParser, response


def _journal(path, **overrides: Any) -> Journal:
    values: dict[str, Any] = {
        "segment_bytes": 1 << 20,
        "max_bytes": 1 << 22,
        "sync_lines": 100,
        "sync_interval_s": 0.01,
    }
    values.update(overrides)
    return Journal(path, **values)


def test_records_come_back_in_order_after_a_restart(tmp_path):
    journal = _journal(tmp_path)
    assert journal.append("tcp", "tcp:10.0.0.1:5000", [b"one", b"two"], 100.5) == 2
    assert journal.append("udp", "udp:10.0.0.2:514", [Oversize(b"head", 99_999)], 101.0) == 3
    assert journal.append("file", "file:/var/log/a", [b"three"], 102.0, cursor='{"offset": 9}') == 4
    journal.close()
    again = _journal(tmp_path)
    records = again.pending
    assert [(r.transport, r.source, r.frames, r.received_at) for r in records] == [
        ("tcp", "tcp:10.0.0.1:5000", [b"one", b"two"], 100.5),
        ("udp", "udp:10.0.0.2:514", [Oversize(b"head", 99_999)], 101.0),
        ("file", "file:/var/log/a", [b"three"], 102.0),
    ]
    assert [r.end for r in records] == [2, 3, 4]
    assert again.cursors == {"file:/var/log/a": '{"offset": 9}'}
    assert again.append("tcp", "tcp:x:1", [b"four"], 103.0) == 5  # numbering goes on
    again.close()


def test_a_torn_last_record_is_dropped_and_later_appends_are_kept(tmp_path):
    journal = _journal(tmp_path)
    for i in range(3):
        journal.append("tcp", "tcp:a:1", [f"line {i}".encode()], 1.0)
    journal.close()
    (segment,) = tmp_path.glob("*.seg")
    segment.write_bytes(segment.read_bytes()[:-3])  # a crash during the last write
    again = _journal(tmp_path)
    assert [r.frames for r in again.pending] == [[b"line 0"], [b"line 1"]]
    assert again.append("tcp", "tcp:a:1", [b"line 2 resent"], 2.0) == 3
    again.close()
    third = _journal(tmp_path)
    assert [r.frames for r in third.pending][-1] == [b"line 2 resent"]
    third.close()


def test_released_lines_are_not_replayed_and_their_segments_go(tmp_path):
    journal = _journal(tmp_path, segment_bytes=16)
    for i in range(6):
        journal.append("tcp", "tcp:a:1", [f"line {i}".encode()], 1.0, cursor=f"c{i}")
    assert len(list(tmp_path.glob("*.seg"))) == 6  # one record fills a 16-byte segment
    journal.release(4)
    assert len(list(tmp_path.glob("*.seg"))) == 2
    journal.close()
    again = _journal(tmp_path)
    assert [r.frames for r in again.pending] == [[b"line 4"], [b"line 5"]]
    assert again.cursors["tcp:a:1"] == "c5"
    again.release(6)
    assert not list(tmp_path.glob("*.seg"))
    again.close()
    third = _journal(tmp_path)
    assert third.pending == [] and third.position == 6 and third.cursors == {"tcp:a:1": "c5"}
    third.close()


def test_a_full_journal_refuses_until_lines_are_released(tmp_path):
    journal = _journal(tmp_path, max_bytes=300)
    ends = [journal.append("tcp", "tcp:a:1", [b"x" * 60], 1.0) for _ in range(6)]
    assert None in ends and ends[0] == 1
    accepted = max(e for e in ends if e is not None)
    journal.release(accepted)
    assert journal.append("tcp", "tcp:a:1", [b"x" * 60], 1.0) == accepted + 1
    journal.close()


def test_lines_are_synced_in_groups(tmp_path):
    journal = _journal(tmp_path, sync_lines=10, sync_interval_s=60)
    for _ in range(10):
        journal.append("tcp", "tcp:a:1", [b"line"], 1.0)
    assert journal.wait_synced(10, timeout=5)  # the group of 10 is synced without waiting 60 s
    journal.append("tcp", "tcp:a:1", [b"line"], 1.0)
    journal.request_sync()
    assert journal.wait_synced(11, timeout=5)
    journal.close()


def test_a_durable_buffer_keeps_every_batch_on_disk_with_its_journal_line(tmp_path):
    buffer = WriteBuffer(tmp_path, memory_rows=1000, merge=merge_batches, durable=True)
    first = {"events": [{"id": "e1", "count": 1, "first_ts": 1, "last_ts": 1, "severity": 3, "template": "t"}]}
    buffer.put({**first, JOURNAL_KEY: 5})
    second = {"events": [{"id": "e1", "count": 2, "first_ts": 2, "last_ts": 2, "severity": 3, "template": "t"}]}
    buffer.put({**second, JOURNAL_KEY: 9})  # merged into the first: its file is rewritten
    (path,) = tmp_path.glob("*.json")
    on_disk = json.loads(path.read_text())
    assert on_disk[JOURNAL_KEY] == 9 and on_disk["events"][0]["count"] == 3
    assert WriteBuffer(tmp_path, memory_rows=1000, durable=True).journal_covered == 9
    token, _ = buffer.peek(timeout=0)  # type: ignore[misc]
    buffer.ack(token)
    assert not list(tmp_path.glob("*.json"))


def test_relp_frames_come_out_the_same_however_the_stream_is_cut():
    stream = (
        b"1 open 30 relp_version=0\ncommands=syslog\n"
        b"2 syslog 11 <13>hello 1\n"
        b"3 syslog 5000 " + b"y" * 5000 + b"\n"
        b"4 close 0\n"
    )
    whole = RelpParser(1000).feed(stream)
    assert whole == [
        (1, b"open", b"relp_version=0\ncommands=syslog"),
        (2, b"syslog", b"<13>hello 1"),
        (3, b"syslog", Oversize(b"y" * 256, 5000)),
        (4, b"close", b""),
    ]
    for size in (1, 2, 7, 100):
        parser = RelpParser(1000)
        pieces = [parser.feed(stream[i : i + size]) for i in range(0, len(stream), size)]
        assert [c for piece in pieces for c in piece] == whole, size
    assert response(2, b"200 OK") == b"2 rsp 6 200 OK\n" and response(4, b"") == b"4 rsp 0\n"


@pytest.mark.parametrize("bad", [b"x syslog 3 abc\n", b"1 syslog 3 abcX", b"12345678901234 syslog 1 a\n"])
def test_broken_relp_framing_is_refused(bad):
    with pytest.raises(RelpError):
        RelpParser(1000).feed(bad)


def test_a_failed_write_refuses_the_batch_and_leaves_no_torn_record_behind(tmp_path, monkeypatch):
    journal = _journal(tmp_path)
    journal.append("tcp", "tcp:a:1", [b"before"], 1.0)
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ingest.syslog.journal.os.write", half_then_full)
    assert journal.append("tcp", "tcp:a:1", [b"refused"], 1.0) is None
    monkeypatch.setattr("ingest.syslog.journal.os.write", real_write)
    assert journal.append("tcp", "tcp:a:1", [b"after"], 1.0) == 2
    journal.close()
    again = _journal(tmp_path)
    assert [r.frames for r in again.pending] == [[b"before"], [b"after"]]
    again.close()


def test_a_merge_whose_file_cannot_be_written_changes_nothing(tmp_path, monkeypatch):
    buffer = WriteBuffer(tmp_path, memory_rows=1000, merge=merge_batches, durable=True)
    row = {"id": "e1", "count": 1, "first_ts": 1, "last_ts": 1, "severity": 3, "template": "t"}
    buffer.put({"events": [dict(row)], JOURNAL_KEY: 1})
    failing = {"n": 0}

    def full_disk(*args, **kwargs):
        failing["n"] += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ingest.syslog.buffer.write_private", full_disk)
    with pytest.raises(OSError):
        buffer.put({"events": [dict(row, count=5)], JOURNAL_KEY: 2})
    monkeypatch.undo()
    buffer.put({"events": [dict(row, count=2)], JOURNAL_KEY: 3})  # the retry of a flush, as the pipeline does
    _, batch = buffer.peek(timeout=0)  # type: ignore[misc]
    assert failing["n"] == 1 and batch["events"][0]["count"] == 3 and batch[JOURNAL_KEY] == 3
    (path,) = tmp_path.glob("*.json")
    assert json.loads(path.read_text())["events"][0]["count"] == 3
