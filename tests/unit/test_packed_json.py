"""Packed JSON properties: round trip, smaller than the text, and the plain property of older rows still read."""

from __future__ import annotations

import json

from graph_schema import packed_json


def test_pack_round_trips_and_shrinks_a_snapshot():
    snapshot = json.dumps(
        {f"svc-{i}": {"evidence": i / 300, "in_degree": 1.0986, "is_symptom": 0.0} for i in range(300)}
    )
    packed = packed_json.pack(snapshot)
    assert packed_json.unpack(packed) == snapshot
    assert len(packed) < len(snapshot) / 3
    assert packed.isascii()


def test_json_text_prefers_the_packed_property_and_falls_back_to_plain_json():
    assert (
        packed_json.json_text({"features_packed": packed_json.pack('{"a": 1}'), "features_json": "old"}, "features")
        == '{"a": 1}'
    )
    assert packed_json.json_text({"features_json": '{"b": 2}'}, "features") == '{"b": 2}'
    assert packed_json.json_text({"features_packed": None}, "features") is None
