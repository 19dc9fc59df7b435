"""Feedback sets: empty and contradictory ones are refused with a reason; usable ones become samples."""

from __future__ import annotations

import json

import pytest

from graph_schema import incident_snapshots
from rca.rank.gnn.serving import FEATURE_NAMES
from rca.training.feedback import FeedbackRefused, prepare, sample_from_row

EDGES = [["b", "a", "CALLS"], ["a", "h", "RUNS_ON"]]


def _row(incident_id: str, root: str, *, features=None, verdicts=(("CONFIRMED", None),)):
    """A confirmed incident as CONFIRMED_FOR_TRAINING reads it."""
    features = (
        features
        if features is not None
        else {"a": {"anomaly_latency": 5.0, "rule_max": 0.8}, "b": {"is_symptom": 1.0}, "h": {}}
    )
    records = [{"root_cause_entity_id": who or root, "verdict": v, "user": "ann"} for v, who in verdicts]
    return {
        "id": incident_id,
        "created_at": 1.0,
        "root_cause_id": root,
        "features_packed": incident_snapshots.pack(incident_snapshots.encode_dict(features)),
        "edges_packed": incident_snapshots.pack(json.dumps(EDGES)),
        "feedback_json": json.dumps(records),
    }


def test_empty_feedback_set_is_refused_with_a_reason():
    with pytest.raises(FeedbackRefused, match="no confirmed incidents"):
        prepare([], FEATURE_NAMES, 0.3, 5.0)


def test_same_evidence_confirmed_with_different_root_causes_is_refused():
    rows = [_row("inc-1", "a"), _row("inc-2", "b")]
    with pytest.raises(FeedbackRefused, match=r"inc-1 and inc-2 saw the same evidence.*a vs b"):
        prepare(rows, FEATURE_NAMES, 0.3, 5.0)


def test_root_cause_both_confirmed_and_rejected_is_refused():
    rows = [
        _row("inc-1", "a", verdicts=(("CONFIRMED", None), ("REJECTED", None))),
        _row("inc-2", "a", features={"a": {"evidence": 1.0}, "b": {}}),
    ]
    with pytest.raises(FeedbackRefused, match="inc-1: a was both confirmed and rejected"):
        prepare(rows, FEATURE_NAMES, 0.3, 5.0)


def test_unusable_incidents_only_are_refused_naming_why():
    rows = [_row("inc-1", "zz"), {**_row("inc-2", "a", features={"a": {"evidence": 2.0}}), "edges_packed": None}]
    with pytest.raises(FeedbackRefused, match=r"zz is not in its subgraph.*no structure snapshot"):
        prepare(rows, FEATURE_NAMES, 0.3, 5.0)


def test_usable_feedback_is_split_and_weighted():
    rows = [_row(f"inc-{k}", "a", features={"a": {"evidence": float(k)}, "b": {}, "h": {}}) for k in range(1, 11)]
    fb = prepare(rows, FEATURE_NAMES, 0.3, 5.0)
    assert len(fb.tune) + len(fb.held_back) == 10 and fb.tune and fb.held_back
    assert {s.weight for s in fb.tune + fb.held_back} == {5.0}


def test_snapshot_becomes_a_sample_with_typed_edges_both_ways():
    s = sample_from_row(_row("inc-1", "a"), FEATURE_NAMES)
    assert s.node_ids == ["a", "b", "h"] and s.y == 0
    assert s.x[0, FEATURE_NAMES.index("anomaly_latency")] == 5.0
    assert s.edges["CALLS"].tolist() == [[1], [0]] and s.edges["rev_CALLS"].tolist() == [[0], [1]]
    assert s.edges["RUNS_ON"].tolist() == [[0], [2]]


def test_the_same_features_written_in_another_order_are_the_same_evidence():
    features = {"a": {"anomaly_latency": 5.0, "rule_max": 0.8}, "b": {"is_symptom": 1.0}, "h": {}}
    reordered = {"h": {}, "b": {"is_symptom": 1.0}, "a": {"rule_max": 0.8, "anomaly_latency": 5.0}}
    rows = [_row("inc-1", "a", features=features), _row("inc-2", "b", features=reordered)]
    assert rows[0]["features_packed"] != rows[1]["features_packed"]
    with pytest.raises(FeedbackRefused, match="inc-1 and inc-2 saw the same evidence"):
        prepare(rows, FEATURE_NAMES, 0.3, 5.0)
