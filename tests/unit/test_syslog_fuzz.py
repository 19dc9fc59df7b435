"""Property-based fuzzing of the syslog parser and RFC 6587 framing (issue 20): nothing escapes, nothing is lost.

The longer run over the same properties is ``python -m bench.fuzz``; the strategies live in
``tests/support/syslog_fuzz.py`` so both use the same inputs.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.syslog.framing import Deframer, Oversize
from ingest.syslog.parser import FORMATS, UNPARSED, SyslogParser, SyslogRecord
from ingest.syslog.pipeline import SyslogPipeline
from settings.ingest import SyslogSettings
from tests.support.syslog_fuzz import (
    MAX_FRAME,
    any_stream,
    cut,
    cut_points,
    deframe,
    encode_frames,
    frames_for_pipeline,
    normalized,
    syslog_like_lines,
    valid_messages,
)

PARSER = SyslogParser()


def _check_record(record: SyslogRecord, line: str) -> None:
    assert isinstance(record, SyslogRecord) and record.format in FORMATS
    assert isinstance(record.message, str) and isinstance(record.raw, str)
    if record.format == UNPARSED:  # kept whole, so the caller can count and keep it
        assert record.raw == line.rstrip("\r\n\x00")
    if record.severity is not None:
        assert 0 <= record.severity <= 7 and record.facility is not None and 0 <= record.facility <= 23


@given(st.text())
def test_the_parser_never_raises_on_any_text(line):
    _check_record(PARSER.parse(line), line)


@given(syslog_like_lines())
def test_the_parser_never_raises_on_near_syslog_lines(line):
    _check_record(PARSER.parse(line), line)


@given(st.binary())
def test_the_parser_never_raises_on_any_bytes(data):
    record = PARSER.parse_bytes(data)
    assert record.format in FORMATS


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    class EmptyGraph:
        def read(self, *_args, **_kwargs):
            return []

    state = tmp_path_factory.mktemp("fuzz-state")
    yield SyslogPipeline(SyslogSettings(state_dir=state, max_line_bytes=256), EmptyGraph())


def _counter_total(counter) -> float:
    return sum(
        sample.value for metric in counter.collect() for sample in metric.samples if sample.name.endswith("_total")
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(frames_for_pipeline())
def test_every_frame_is_counted_parsed_or_dead_lettered_with_its_reason(pipeline, frames):
    metrics = pipeline.metrics
    before = (_counter_total(metrics.received), _counter_total(metrics.parsed), _counter_total(metrics.dead_lettered))
    size = pipeline.paths.dead_letters.stat().st_size
    pipeline.process("tcp", "tcp:192.0.2.1:5140", frames)
    received = _counter_total(metrics.received) - before[0]
    parsed = _counter_total(metrics.parsed) - before[1]
    dead = _counter_total(metrics.dead_lettered) - before[2]
    assert received == len(frames) and parsed + dead == len(frames)
    with pipeline.paths.dead_letters.open() as handle:
        handle.seek(size)
        entries = [json.loads(line) for line in handle]
    assert len(entries) == dead
    expected = [f for f in frames if isinstance(f, Oversize) or len(f) > 256 or not _utf8(f)]
    assert len(entries) == len(expected)
    for entry, frame in zip(entries, expected, strict=True):
        assert entry["reason"] in ("oversize", "not valid UTF-8")
        raw = base64.b64decode(entry["raw_b64"])
        if entry["reason"] == "oversize":
            head = frame.head if isinstance(frame, Oversize) else frame[:256]
            assert raw == head and entry["length"] == (frame.length if isinstance(frame, Oversize) else len(frame))
        else:
            assert raw == frame  # the raw bytes are recoverable


def _utf8(frame: bytes) -> bool:
    try:
        frame.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(any_stream(), cut_points())
@example(b"x" * MAX_FRAME + b"\r\r\n", [MAX_FRAME + 1])  # CRs past the limit, then LF: a line that fits
@example(b"x" * MAX_FRAME + b"\r" * 5000 + b"\n", [MAX_FRAME + 2, 2000])
def test_any_byte_stream_deframes_the_same_however_it_is_split(stream, points):
    whole = deframe([stream])
    assert normalized(deframe(cut(stream, points))) == normalized(whole)
    for frame in whole:
        assert isinstance(frame, Oversize) or len(frame) <= MAX_FRAME


@given(valid_messages(), cut_points())
def test_valid_frames_are_reassembled_exactly_from_any_split(messages, points):
    stream = encode_frames(messages)
    assert deframe(cut(stream, points)) == [m for m, _ in messages]


def test_the_deframer_bounds_memory_for_endless_input():
    deframer = Deframer(MAX_FRAME)
    for _ in range(100):
        deframer.feed(b"x" * 1000)
    assert len(deframer._buf) <= MAX_FRAME + 1000
