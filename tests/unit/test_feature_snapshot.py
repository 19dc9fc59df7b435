"""The stored feature snapshot: sparse JSON that reads back as the engine's features, old nested form still read."""

from __future__ import annotations

import json

import numpy as np
import pytest

from graph_schema import packed_json
from rca.rank import feature_snapshot
from rca.rank.combined import default_engine
from rca.simulator import simulate


def test_a_real_incidents_snapshot_reads_back_as_its_non_zero_features_rounded():
    incident = simulate(3, 120, "datastore_outage", id_prefix="snap-")
    table = default_engine().rank(incident.to_subgraph(max_hops=3), 5).feature_table
    decoded = feature_snapshot.decode(table.snapshot_json())
    assert list(decoded) == table.node_ids  # every entity, in the table's order
    for i, entity in enumerate(table.node_ids):
        expected = {name: round(float(v), 6) for name, v in zip(table.names, table.matrix[i]) if v != 0}
        assert decoded[entity] == pytest.approx(expected, abs=1e-12)
        assert set(decoded[entity]) == set(expected)


def test_the_nested_form_of_older_incidents_is_read_unchanged():
    nested = {"db": {"evidence": 0.9, "rule_datastore_unreachable_callers_timeout": 1.0}, "svc": {}}
    assert feature_snapshot.decode(json.dumps(nested)) == nested
    assert feature_snapshot.decode(feature_snapshot.encode_dict(nested)) == nested
    assert feature_snapshot.decode(None) == {}


def test_a_small_matrix_round_trips_and_an_unknown_format_is_refused():
    matrix = np.zeros((3, 4))
    matrix[1, 2], matrix[2, 0] = 0.1234567, -2.0
    text = feature_snapshot.encode_table(["a", "b", "c"], ["w", "x", "y", "z"], matrix)
    assert feature_snapshot.decode(text) == {"a": {}, "b": {"y": 0.123457}, "c": {"w": -2.0}}
    with pytest.raises(ValueError, match="unknown format 'sparse-9'"):
        feature_snapshot.decode(json.dumps({"format": "sparse-9"}))


def test_a_stored_incident_row_gives_its_snapshot_packed_plain_or_none():
    nested = {"db": {"evidence": 0.9}, "svc": {}}
    text = feature_snapshot.encode_dict(nested)
    assert feature_snapshot.decode_stored({"features_packed": packed_json.pack(text)}) == nested
    assert feature_snapshot.decode_stored({"features_json": text}) == nested  # stored before packing
    assert feature_snapshot.decode_stored({"id": "inc-1"}) == {}
