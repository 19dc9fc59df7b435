"""Incident snapshots: the one stored form (packed, sparse) read back, and earlier forms rewritten into it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from graph_schema import incident_snapshots as snapshots
from rca.rank.features import FeatureTable, build_features
from rca.simulator import simulate

NESTED = {"db": {"evidence": 0.9, "rule_datastore_unreachable_callers_timeout": 1.0}, "svc": {}, "h": {"evidence": 0.5}}
EDGES = [["svc", "db", "CALLS"], ["db", "h", "RUNS_ON"]]


def test_pack_round_trips_and_shrinks_a_snapshot():
    text = json.dumps({f"svc-{i}": {"evidence": i / 300, "in_degree": 1.0986, "is_symptom": 0.0} for i in range(300)})
    packed = snapshots.pack(text)
    assert snapshots.unpack(packed) == text
    assert len(packed) < len(text) / 3
    assert packed.isascii()


def test_a_feature_tables_snapshot_reads_back_as_its_non_zero_features_rounded():
    table = build_features(simulate(3, 120, "datastore_outage", id_prefix="snap-").to_subgraph(max_hops=3))
    decoded = snapshots.decode(table.snapshot_json())
    assert list(decoded) == table.node_ids  # every entity, in the table's order
    assert any(decoded.values())
    for i, entity in enumerate(table.node_ids):
        expected = {name: round(float(v), 6) for name, v in zip(table.names, table.matrix[i]) if v != 0}
        assert decoded[entity] == pytest.approx(expected, abs=1e-12)
        assert set(decoded[entity]) == set(expected)
    assert table.as_dict() == decoded


def test_a_small_table_keeps_its_non_zero_cells_rounded():
    matrix = np.zeros((3, 4))
    matrix[1, 2], matrix[2, 0] = 0.1234567, -2.0
    table = FeatureTable(["a", "b", "c"], ["w", "x", "y", "z"], matrix)
    assert snapshots.decode(table.snapshot_json()) == {"a": {}, "b": {"y": 0.123457}, "c": {"w": -2.0}}


def test_a_nested_snapshot_is_encoded_sparse_and_reads_back_as_it_was():
    text = snapshots.encode_dict(NESTED)
    document = json.loads(text)
    assert document["format"] == snapshots.SPARSE_FORMAT and document["entities"] == ["db", "svc", "h"]
    decoded = snapshots.decode(text)
    assert decoded == NESTED and list(decoded) == list(NESTED)
    assert snapshots.decode(snapshots.encode_dict({"a": {"x": 0.0}})) == {"a": {"x": 0.0}}  # every cell it holds
    assert snapshots.decode(snapshots.encode_dict({})) == {}


def test_the_reader_refuses_the_forms_of_earlier_versions_and_unknown_ones():
    with pytest.raises(ValueError, match="rca graph migrate"):
        snapshots.decode(json.dumps(NESTED))
    with pytest.raises(ValueError, match="rca graph migrate"):
        snapshots.decode("{}")
    with pytest.raises(ValueError, match="'sparse-9'"):
        snapshots.decode(json.dumps({"format": "sparse-9"}))
    assert snapshots.decode(None) == {}


def test_a_stored_incident_gives_its_snapshots_or_none():
    stored = {
        "features_packed": snapshots.pack(snapshots.encode_dict(NESTED)),
        "edges_packed": snapshots.pack(json.dumps(EDGES)),
    }
    assert snapshots.features_of(stored) == NESTED
    assert snapshots.edges_of(stored) == EDGES
    without_model = {"id": "inc-1", "features_packed": stored["features_packed"], "edges_packed": None}
    assert snapshots.edges_of(without_model) is None
    assert snapshots.features_of({"id": "inc-1"}) == {}


def _as_stored(incident: dict, written: dict) -> dict:
    """The incident's properties after `written` was set and the plain JSON removed."""
    return {**incident, **written, "features_json": None, "edges_json": None}


@pytest.mark.parametrize(
    "incident",
    [
        # before packing: plain JSON, nested, with the stdlib's spacing
        {"id": "plain", "features_json": json.dumps(NESTED), "edges_json": json.dumps(EDGES)},
        # before packing, without a model: no structure snapshot
        {"id": "plain-no-model", "features_json": json.dumps(NESTED), "edges_json": None},
        # packed, but the nested form (before the sparse form)
        {
            "id": "packed-nested",
            "features_packed": snapshots.pack(json.dumps(NESTED)),
            "edges_packed": snapshots.pack(json.dumps(EDGES)),
        },
        # packed and sparse, with plain JSON left beside it
        {
            "id": "both",
            "features_packed": snapshots.pack(snapshots.encode_dict(NESTED)),
            "features_json": json.dumps({"other": {}}),
            "edges_json": json.dumps(EDGES),
        },
    ],
    ids=lambda incident: incident["id"],
)
def test_the_forms_of_earlier_versions_are_rewritten_into_the_current_one_once(incident):
    written = snapshots.current_form(incident)
    assert written is not None and set(written) == {"id", "features_packed", "edges_packed"}
    assert snapshots.features_of(written) == NESTED
    assert snapshots.edges_of(written) == (
        EDGES if incident.get("edges_json") or incident.get("edges_packed") else None
    )
    assert snapshots.current_form(_as_stored(incident, written)) is None  # nothing left to rewrite


def test_an_empty_or_absent_feature_snapshot_becomes_the_empty_sparse_one():
    for incident in ({"id": "empty", "features_packed": snapshots.pack("{}")}, {"id": "absent"}):
        written = snapshots.current_form(incident)
        assert written is not None
        assert json.loads(snapshots.unpack(written["features_packed"]))["format"] == snapshots.SPARSE_FORMAT
        assert snapshots.features_of(written) == {} and written["edges_packed"] is None
        assert snapshots.current_form(_as_stored(incident, written)) is None


def test_a_current_incident_is_left_as_it_is_and_an_unknown_form_is_named():
    current = {
        "id": "now",
        "features_packed": snapshots.pack(snapshots.encode_dict(NESTED)),
        "edges_packed": snapshots.pack(json.dumps(EDGES)),
        "features_json": None,
        "edges_json": None,
    }
    assert snapshots.current_form(current) is None
    unknown = {"id": "later", "features_packed": snapshots.pack(json.dumps({"format": "sparse-9"}))}
    with pytest.raises(ValueError, match=r"incident later: .*'sparse-9'"):
        snapshots.current_form(unknown)
