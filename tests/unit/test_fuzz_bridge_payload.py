"""Fuzzed webhook bodies: the bridge's reader either returns a notification or refuses naming what is wrong."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from rca.bridge.mapping import load_mapping
from rca.bridge.payload import PayloadError, parse

MAPPING = load_mapping()
JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
ALERT = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["firing", "resolved", "x"]),
        "labels": st.dictionaries(st.text(max_size=8), st.text(max_size=8) | JSON, max_size=4),
        "startsAt": st.sampled_from(["2026-12-06T10:00:00Z", "0001-01-01T00:00:00Z", "soon", 5]),
    },
    optional={"fingerprint": st.text(max_size=10) | JSON, "endsAt": JSON},
)
NOTIFICATION = st.fixed_dictionaries(
    {
        "version": st.sampled_from(["4", "3", 4]),
        "groupKey": st.text(max_size=30) | JSON,
        "status": st.sampled_from(["firing", "resolved", ""]),
        "alerts": st.lists(ALERT, max_size=4) | JSON,
    },
    optional={"groupLabels": JSON, "truncatedAlerts": JSON},
)


def _check(body: bytes) -> None:
    try:
        notification = parse(body)
    except PayloadError as exc:
        assert str(exc)  # every refusal says what is wrong
        return
    for alert in notification.alerts:  # a readable notification maps without raising
        MAPPING.symptom(alert)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_read_or_refused(body):
    _check(body)


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_any_json_is_read_or_refused(value):
    _check(json.dumps(value).encode())


@settings(max_examples=100, deadline=None)
@given(NOTIFICATION)
def test_notification_shaped_json_is_read_or_refused_naming_a_field(value):
    _check(json.dumps(value).encode())
