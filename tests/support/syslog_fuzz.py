"""Inputs and helpers for fuzzing the syslog parser and framing, shared by tests/unit and bench/fuzz.py."""

from __future__ import annotations

import itertools
import re

from hypothesis import strategies as st

from ingest.syslog.framing import Deframer, Oversize

MAX_FRAME = 300  # small, so that oversize frames (head 256 bytes) are common in short inputs
_COUNT_PREFIX = re.compile(rb"[1-9][0-9]{0,9} ")
_WORD = st.text(st.characters(codec="utf-8", exclude_characters=" "), max_size=12)

_PRI = st.one_of(
    st.just(""),
    st.integers(-3, 400).map(lambda n: f"<{n}>"),
    st.sampled_from(["<", "<>", "<013>", "<1", "<<13>>", "<13> "]),
)
_VERSION = st.sampled_from(["1 ", "", "2 ", "1", "10 "])
_TIMESTAMP = st.one_of(
    st.just("-"),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.builds(
        "{} {:>2} {:02}:{:02}:{:02}".format,
        st.sampled_from(["Jan", "Feb", "Mar", "Apr", "Jun", "Sep", "Dec", "Foo"]),
        st.integers(0, 40),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
    ),
    st.from_regex(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)?\Z"),
    _WORD,
)
_SD_VALUE = st.text(st.sampled_from('ab"\\] =['), max_size=8)
_SD = st.one_of(
    st.just("-"),
    st.lists(
        st.builds(
            lambda sd_id, params: "[" + sd_id + "".join(f' {k}="{v}"' for k, v in params) + "]",
            st.text(st.sampled_from("abc@1= ]"), max_size=6),
            st.lists(st.tuples(st.text(st.sampled_from("xy="), max_size=3), _SD_VALUE), max_size=3),
        ),
        max_size=3,
    ).map("".join),
    st.text(st.sampled_from('[]" =\\ab'), max_size=12),
)
_TAG = st.one_of(st.just(""), st.builds("{}[{}]: ".format, _WORD, _WORD), st.builds("{}: ".format, _WORD))
_SEP = st.sampled_from([" ", "", "  ", ": ", " : "])


@st.composite
def syslog_like_lines(draw) -> str:
    """Lines built from the pieces of RFC 5424 and BSD headers, each piece valid or a little wrong."""
    pieces = [
        draw(_PRI) + draw(_VERSION),
        draw(_TIMESTAMP),
        draw(st.one_of(st.just("-"), _WORD)),  # host
        draw(st.one_of(st.just("-"), _WORD)),  # app
        draw(st.one_of(st.just("-"), _WORD)),  # procid
        draw(st.one_of(st.just("-"), _WORD)),  # msgid
        draw(_SD),
        draw(_TAG) + draw(st.text(max_size=40)),
    ]
    keep = draw(st.lists(st.booleans(), min_size=len(pieces), max_size=len(pieces)))
    out = pieces[0]
    for piece, kept in zip(pieces[1:], keep[1:], strict=True):
        if kept:
            out += draw(_SEP) + piece
    return out


def frames_for_pipeline() -> st.SearchStrategy[list]:
    """What listeners hand the pipeline: raw frames (any bytes, near-syslog, too long) and oversize markers."""
    return st.lists(
        st.one_of(
            st.binary(max_size=300),
            syslog_like_lines().map(lambda s: s.encode("utf-8", "surrogatepass")),
            st.builds(Oversize, st.binary(max_size=256), st.integers(257, 10**9)),
        ),
        max_size=8,
    )


def lf_message_ok(message: bytes) -> bool:
    """Whether ``message`` can travel LF-framed: no LF, no trailing CR (stripped), not read as an octet count."""
    return b"\n" not in message and not message.endswith(b"\r") and not _COUNT_PREFIX.match(message)


def framing_streams() -> st.SearchStrategy[bytes]:
    """Byte streams made of what framing decides on: counts, spaces, CR, LF, long runs, any bytes."""
    token = st.one_of(
        st.integers(0, 2 * MAX_FRAME).map(lambda n: b"%d " % n),
        st.sampled_from([b"\n", b"\r", b"\r\n", b" ", b"0", b"1", b"12345678901 "]),
        st.builds(lambda byte, n: byte * n, st.sampled_from([b"x", b"\r", b"7"]), st.integers(0, 2 * MAX_FRAME)),
        st.binary(max_size=20),
    )
    return st.lists(token, max_size=30).map(b"".join)


def any_stream() -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or bytes shaped like framing."""
    return st.one_of(st.binary(max_size=2000), framing_streams())


def valid_messages() -> st.SearchStrategy[list[tuple[bytes, str]]]:
    """Messages of at most MAX_FRAME bytes, each with the framing it is sent in ('octet' or 'lf')."""
    octet = st.tuples(st.binary(min_size=1, max_size=MAX_FRAME), st.just("octet"))
    lf = st.tuples(st.binary(min_size=1, max_size=MAX_FRAME).filter(lf_message_ok), st.just("lf"))
    return st.lists(st.one_of(octet, lf), max_size=12)


def encode_frames(messages: list[tuple[bytes, str]]) -> bytes:
    """The byte stream a sender writes for ``messages`` (RFC 6587 octet counting or LF)."""
    return b"".join(b"%d %s" % (len(m), m) if how == "octet" else m + b"\n" for m, how in messages)


def cut_points() -> st.SearchStrategy[list[int]]:
    """Where to cut a stream into pieces (positions past its end are ignored)."""
    return st.lists(st.integers(1, 20_000), max_size=12)


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    """``stream`` cut at ``points``: the pieces, in order, joining back to it."""
    bounds = [0, *sorted({p for p in points if 0 < p < len(stream)}), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def deframe(pieces: list[bytes], max_frame: int = MAX_FRAME) -> list:
    """Frames from feeding ``pieces`` in turn, then closing the stream."""
    deframer = Deframer(max_frame)
    out: list = []
    for piece in pieces:
        out += deframer.feed(piece)
    out += deframer.finish()
    return out


def normalized(frames: list) -> list:
    """Frames with each oversize marker reduced to a placeholder.

    Which frames are too long must not depend on how the stream was cut; how much of a too-long
    frame had arrived when it was noticed (the marker's head and length) may.
    """
    return ["<oversize>" if isinstance(f, Oversize) else f for f in frames]
