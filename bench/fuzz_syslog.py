"""Fuzz targets of the syslog worker for bench/fuzz.py: the line parser and RFC 6587 framing.

Each target turns raw bytes into an input and checks the same properties as
tests/unit/test_syslog_fuzz.py; an AssertionError is a broken property, any other exception
one that escaped.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from hypothesis import strategies as st

from bench.fuzz_targets import target

MAX_CUTS = 12
# Real shapes to start the coverage-guided search from (RFC 5424 with SD, BSD, Cisco, journald, busybox, ASA).
PARSER_SEEDS = (
    b'<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [exampleSDID@32473 iut="3" a="\\]"] msg',
    b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time",
    b"<13>1 - - - - - -",
    b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    b"<30>Nov 23 14:00:00 systemd[1]: Started foo.service: ok.",
    b"<13>Jan  1 00:00:00 myhost user.notice root: hi there",
    b"<189>123: *Mar  1 18:48:50.483 UTC: %SYS-5-CONFIG_I: Configured from console by vty2",
    b"<166>Jan 05 2024 10:00:00 asa01 : %ASA-6-302013: Built outbound",
    b"<13>2024-01-01T10:00:00.123+01:00 host tag[12]: msg here",
    b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown",
)


def encode_framing_input(points: list[int], stream: bytes) -> bytes:
    """One byte of cut count, two bytes per cut position, then the stream."""
    points = points[:MAX_CUTS]
    return bytes([len(points)]) + b"".join(struct.pack(">H", p % 65536) for p in points) + stream


def decode_framing_input(data: bytes) -> tuple[list[int], bytes]:
    """The inverse of ``encode_framing_input`` for any bytes (a fuzzer's own mutations included)."""
    if not data:
        return [], b""
    count = min(data[0] % (MAX_CUTS + 1), (len(data) - 1) // 2)
    points = [struct.unpack(">H", data[1 + 2 * i : 3 + 2 * i])[0] for i in range(count)]
    return points, data[1 + 2 * count :]


@target(
    "syslog_parser",
    instrument=("ingest.syslog.parser",),
    inputs=lambda: st.one_of(
        st.binary(max_size=512),
        _syslog_like().map(lambda s: s.encode("utf-8", "surrogatepass")),
    ),
    seeds=PARSER_SEEDS,
)
def syslog_parser() -> Callable[[bytes], None]:
    """SyslogParser.parse and parse_bytes: never raise, always a known format, unparsed lines kept whole."""
    from ingest.syslog.parser import FORMATS, UNPARSED, SyslogParser

    parser = SyslogParser()

    def check(data: bytes) -> None:
        line = data.decode("utf-8", errors="surrogateescape")
        record = parser.parse(line)
        assert record.format in FORMATS, record.format
        assert isinstance(record.message, str) and isinstance(record.raw, str)
        if record.format == UNPARSED:
            assert record.raw == line.rstrip("\r\n\x00")
        if record.severity is not None:
            assert 0 <= record.severity <= 7 and record.facility is not None and 0 <= record.facility <= 23
        assert parser.parse_bytes(data).format in FORMATS

    return check


@target(
    "syslog_framing",
    instrument=("ingest.syslog.framing",),
    inputs=lambda: st.builds(encode_framing_input, _cut_points(), _any_stream()),
    seeds=(
        encode_framing_input([5, 40], b"12 <13>1 hellox\n<13>plain line\n5 abcde30 " + b"y" * 30),
        encode_framing_input([301], b"x" * 300 + b"\r\r\n" + b"400 " + b"z" * 400 + b"ok\n"),
    ),
)
def syslog_framing() -> Callable[[bytes], None]:
    """Deframer: no exception, frames within the limit, the same frames however the stream is cut."""
    from ingest.syslog.framing import Oversize
    from tests.support.syslog_fuzz import MAX_FRAME, cut, deframe, normalized

    def check(data: bytes) -> None:
        points, stream = decode_framing_input(data)
        whole = deframe([stream])
        for frame in whole:
            assert isinstance(frame, Oversize) or len(frame) <= MAX_FRAME, len(frame)
        assert normalized(deframe(cut(stream, points))) == normalized(whole), "frames depend on where it was cut"
        # The same bytes as messages, each framed validly, come back exactly.
        messages = [(m[:MAX_FRAME], "octet" if i % 2 else "lf") for i, m in enumerate(stream.split(b"\xff")) if m]
        messages = [(m, how) for m, how in messages if how == "octet" or _lf_ok(m)]
        encoded = b"".join(b"%d %s" % (len(m), m) if how == "octet" else m + b"\n" for m, how in messages)
        assert deframe(cut(encoded, points)) == [m for m, _ in messages], "valid frames not reassembled"

    return check


def _lf_ok(message: bytes) -> bool:
    from tests.support.syslog_fuzz import lf_message_ok

    return lf_message_ok(message)


def _syslog_like():
    from tests.support.syslog_fuzz import syslog_like_lines

    return syslog_like_lines()


def _cut_points():
    from tests.support.syslog_fuzz import cut_points

    return cut_points()


def _any_stream():
    from tests.support.syslog_fuzz import any_stream

    return any_stream()
