"""Inputs and the property for fuzzing the Infer request parser, shared by tests/unit and bench/fuzz.py.

The property: ``parse_infer`` either returns a sane query or raises InvalidArgument whose message
starts with the field at fault and stays short; no other exception escapes.
"""

from __future__ import annotations

import math
import re

from google.protobuf.message import DecodeError
from hypothesis import strategies as st

from graph_schema.cypher.subgraph import MAX_HOPS
from graph_schema.model import COVERAGE_FAMILIES, SIGNAL_FAMILIES
from rca.service.requests import (
    EARLIEST_TIME,
    EDGE_TYPES,
    ENTITY_LABEL_NAMES,
    LATEST_TIME,
    InferQuery,
    InvalidArgument,
    parse_infer,
)
from rca.service.stubs import pb
from settings.service import ServiceSettings

SETTINGS = ServiceSettings()
NOW = 1_800_000_000.0
# the field the message starts with: symptoms[0].observed_at, window.start, subgraph.nodes[2].features['x'], ...
FIELD = re.compile(
    r"^(symptoms|window|top_k|max_hops|subgraph|unresolved_symptoms)(\.[a-z_]+|\[\d+\])*(\[.+\])?: \S", re.DOTALL
)
MAX_MESSAGE_CHARS = 1000  # what the servicer lets through (servicer.MAX_STATUS_CHARS); the parser stays well under

# Values kept apart as lists so that bench/fuzz_service.py's byte-driven builder draws from the same ones.
HOSTILE_TEXTS = ("", " ", "\x00", "a" * 512, "a" * 513, "é" * 600, "n" * 17_000)
CONTROL = (0, 0x1F)  # control characters
UNPRINTABLE = (0xE0000, 0xE007F)  # unprintable tag characters, long reprs
HOSTILE_NUMBERS = (0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 5e-324)
BAD_TIMES = (-1.0, 5e-324, 1e300, NOW * 1000, EARLIEST_TIME - 1e-6, LATEST_TIME, float("nan"), float("inf"))
GOOD_TIMES = (NOW, NOW - 600.0)
IDS = ("a", "b", "c")  # a small pool, so references often resolve

_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(min_codepoint=CONTROL[0], max_codepoint=CONTROL[1]), max_size=6),
    st.text(st.characters(min_codepoint=UNPRINTABLE[0], max_codepoint=UNPRINTABLE[1]), max_size=4),
    st.sampled_from(HOSTILE_TEXTS),
)
_NUMBER = st.one_of(st.floats(), st.sampled_from(HOSTILE_NUMBERS))
_BAD_TIME = st.one_of(st.floats(), st.sampled_from(BAD_TIMES))
_GOOD_TIME = st.one_of(st.floats(EARLIEST_TIME, LATEST_TIME, exclude_max=True), st.sampled_from(GOOD_TIMES))
_UINT32 = st.one_of(st.integers(0, 10), st.integers(0, 2**32 - 1))
_INT32 = st.one_of(st.integers(-1, 8), st.integers(-(2**31), 2**31 - 1))
_INT64 = st.one_of(st.integers(-1, 100), st.integers(-(2**63), 2**63 - 1))


def _mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a valid value, one time in eight a hostile one: so that hostile values reach every field's check."""
    return st.integers(0, 7).flatmap(lambda i: bad if i == 7 else good)


_ID = _mostly(st.sampled_from(IDS), _TEXT)
_TIME = _mostly(_GOOD_TIME, _BAD_TIME)
_OPTIONAL_TIME = _mostly(st.one_of(st.just(0.0), _GOOD_TIME), _BAD_TIME)
_FAMILY = _mostly(st.sampled_from(SIGNAL_FAMILIES), _TEXT)
_FINITE = _mostly(st.floats(-1e6, 1e6), _NUMBER)


@st.composite
def _symptom(draw):
    fields = {"family": draw(_FAMILY), "observed_at": draw(_OPTIONAL_TIME)}
    which = draw(_mostly(st.sampled_from(["entity_id", "entity_name"]), st.none()))
    if which is not None:
        fields[which] = draw(_ID)
    return pb.Symptom(**fields)


_NODE = st.builds(
    pb.Node,
    id=_ID,
    label=_mostly(st.sampled_from(ENTITY_LABEL_NAMES), _TEXT),
    name=_mostly(st.sampled_from(["", "alpha"]), _TEXT),
    technology=_mostly(st.sampled_from(["", "postgres"]), _TEXT),
    observed_families=_mostly(
        st.lists(st.sampled_from(COVERAGE_FAMILIES), max_size=3, unique=True), st.lists(_TEXT, max_size=2)
    ),
    features=_mostly(
        st.dictionaries(st.sampled_from(["x", "rule_max"]), _FINITE, max_size=2),
        st.dictionaries(_TEXT, _NUMBER, max_size=2),
    ),
)
_EDGE = st.builds(pb.Edge, source=_ID, target=_ID, type=_mostly(st.sampled_from(EDGE_TYPES), _TEXT))
_ANOMALY = st.builds(
    pb.AnomalySignal,
    entity_id=_ID,
    signal=_mostly(st.just("error_ratio"), _TEXT),
    family=_FAMILY,
    onset=_TIME,
    end=_OPTIONAL_TIME,
    direction=_mostly(st.sampled_from(["up", "down", ""]), _TEXT),
    score=_FINITE,
    value=_FINITE,
    baseline=_FINITE,
)
_EVENT = st.builds(
    pb.LogEventSignal,
    entity_id=_ID,
    template=_TEXT,
    signature_class=_mostly(st.sampled_from(["timeout", ""]), _TEXT),
    severity=_mostly(st.integers(0, 7), _INT32),
    count=_mostly(st.integers(0, 1000), _INT64),
    first_ts=_TIME,
    last_ts=_OPTIONAL_TIME,
    sample=_TEXT,
)
_CHANGE = st.builds(
    pb.ChangeSignal, entity_id=_ID, at=_TIME, change_type=_mostly(st.just("deploy"), _TEXT), description=_TEXT
)
_DEVIATION = st.builds(
    pb.DeviationSignal, entity_id=_ID, family=_FAMILY, at=_TIME, peak=_mostly(st.floats(0, 50), _NUMBER)
)
_SUBGRAPH = st.builds(
    pb.Subgraph,
    nodes=st.lists(_NODE, max_size=4),
    edges=st.lists(_EDGE, max_size=3),
    anomalies=st.lists(_ANOMALY, max_size=2),
    events=st.lists(_EVENT, max_size=2),
    changes=st.lists(_CHANGE, max_size=2),
    deviations=st.lists(_DEVIATION, max_size=2),
)


@st.composite
def infer_requests(draw) -> pb.InferRequest:
    """InferRequests over every field, mostly valid, each field sometimes hostile: NaN/inf/huge/negative
    numbers, times out of range, long strings and strings of control or unprintable characters."""
    request = pb.InferRequest(
        symptoms=draw(
            _mostly(
                st.lists(_symptom(), min_size=1, max_size=3), st.sampled_from([[], [pb.Symptom(entity_id="a")] * 101])
            )
        ),
        top_k=draw(_mostly(st.integers(0, 50), _UINT32)),
        max_hops=draw(_mostly(st.integers(0, 6), _UINT32)),
        unresolved_symptoms=draw(
            _mostly(st.lists(st.just("checkout: 5xx above 5%"), max_size=2), st.lists(_TEXT, max_size=3))
        ),
    )
    if draw(st.booleans()):
        start = draw(_TIME)
        end = draw(_mostly(st.floats(1.0, 86400.0).map(lambda d: start + d), _TIME))
        request.window.CopyFrom(pb.TimeWindow(start=start, end=end))
    if draw(st.booleans()):
        request.subgraph.CopyFrom(draw(_SUBGRAPH))
    return request


def request_bytes() -> st.SearchStrategy[bytes]:
    """Bytes as a client might send them: any bytes, or a request's encoding cut or with a byte changed."""

    def damaged(data: bytes, cut: int, at: int, byte: int) -> bytes:
        data = data[: cut % (len(data) + 1)]
        if data:
            data = data[: at % len(data)] + bytes([byte]) + data[at % len(data) + 1 :]
        return data

    encoded = infer_requests().map(lambda r: r.SerializeToString())
    return st.one_of(
        st.binary(max_size=300),
        st.builds(damaged, encoded, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 255)),
    )


def check_infer_request(request) -> str:
    """The property for one request: 'accepted' or 'rejected'; AssertionError when it does not hold."""
    try:
        query = parse_infer(request, SETTINGS, now=NOW)
    except InvalidArgument as exc:
        message = str(exc)
        assert FIELD.match(message), f"the rejection does not start with a field: {message[:300]!r}"
        assert len(message) <= MAX_MESSAGE_CHARS, f"a {len(message)}-character message: {message[:300]!r}"
        return "rejected"
    _check_query(query)
    return "accepted"


def check_request_bytes(data: bytes) -> str:
    """Decode like the server does, then the request property; 'undecodable', 'accepted' or 'rejected'."""
    try:
        request = pb.InferRequest.FromString(data)
    except DecodeError:
        return "undecodable"
    return check_infer_request(request)


def _in_range(t: float) -> bool:
    return math.isfinite(t) and EARLIEST_TIME <= t < LATEST_TIME


def _check_query(query: InferQuery) -> None:
    assert 1 <= len(query.symptoms) <= 100
    for symptom in query.symptoms:
        assert symptom.key and symptom.key == symptom.key.strip() and len(symptom.key) <= 512, symptom
        assert symptom.family in SIGNAL_FAMILIES and _in_range(symptom.observed_at), symptom
    assert math.isfinite(query.window_start) and math.isfinite(query.window_end)
    assert query.window_start < query.window_end <= query.window_start + SETTINGS.max_window_s
    assert 1 <= query.top_k <= SETTINGS.max_top_k and 1 <= query.max_hops <= MAX_HOPS
    assert query.max_hops <= query.grown_max_hops <= MAX_HOPS
    assert len(query.unresolved) <= 100 and all(0 < len(text) <= 512 for text in query.unresolved)
    sub = query.subgraph
    if sub is None:
        return
    assert all(len(node_id) <= 512 for node_id in sub.nodes)
    assert all(e.source in sub.nodes and e.target in sub.nodes for e in sub.edges)
    for a in sub.anomalies:
        assert a.entity_id in sub.nodes and _in_range(a.onset) and (a.end is None or _in_range(a.end))
        assert all(math.isfinite(x) for x in (a.score, a.value, a.baseline))
    for e in sub.events:
        assert e.entity_id in sub.nodes and _in_range(e.first_ts) and _in_range(e.last_ts)
        assert 0 <= e.severity <= 7 and e.count >= 0
    for c in sub.changes:
        assert c.entity_id in sub.nodes and _in_range(c.at)
    for families in sub.observed.values():
        assert families <= set(COVERAGE_FAMILIES), families
    for values in sub.features.values():
        assert all(math.isfinite(v) for v in values.values())
