"""Feedback sets: empty and contradictory ones are refused with a reason; usable ones become samples."""

from __future__ import annotations

import json

import pytest

from graph_schema import packed_json
from rca.rank.gnn.serving import FEATURE_NAMES
from rca.training.feedback import FeedbackRefused, prepare, sample_from_row


def _row(incident_id: str, root: str, *, features=None, verdicts=(("CONFIRMED", None),)):
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
        "features_json": json.dumps(features),
        "edges_json": json.dumps([["b", "a", "CALLS"], ["a", "h", "RUNS_ON"]]),
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
    rows = [_row("inc-1", "zz"), {**_row("inc-2", "a", features={"a": {"evidence": 2.0}}), "edges_json": None}]
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


def test_packed_snapshots_read_like_plain_ones():
    plain = _row("inc-1", "a")
    packed = {k: v for k, v in plain.items() if k not in ("features_json", "edges_json")}
    # newer incidents: compact JSON (orjson), packed; older ones: json.dumps spacing, plain
    packed["features_packed"] = packed_json.pack(json.dumps(json.loads(plain["features_json"]), separators=(",", ":")))
    packed["edges_packed"] = packed_json.pack(json.dumps(json.loads(plain["edges_json"]), separators=(",", ":")))
    a, b = sample_from_row(plain, FEATURE_NAMES), sample_from_row(packed, FEATURE_NAMES)
    assert (a.x == b.x).all() and a.y == b.y and a.node_ids == b.node_ids
    assert {k: v.tolist() for k, v in a.edges.items()} == {k: v.tolist() for k, v in b.edges.items()}
    with pytest.raises(FeedbackRefused, match="same evidence"):  # the same snapshot, however written, is one snapshot
        prepare([plain, {**packed, "id": "inc-2", "root_cause_id": "b"}], FEATURE_NAMES, 0.3, 5.0)
