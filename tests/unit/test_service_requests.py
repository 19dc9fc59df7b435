"""Validation of InferRequests and the evidence/candidate conversion (pure logic)."""

from __future__ import annotations

import pytest

from rca.rank.types import (
    AnomalySignal,
    Candidate,
    ChangeSignal,
    EntityNode,
    EventSignal,
    Finding,
    Hop,
    IncidentSubgraph,
    Path,
    RankingResult,
)
from rca.service import convert
from rca.service.requests import InvalidArgument, parse_infer
from rca.service.stubs import pb
from settings.service import ServiceSettings

SETTINGS = ServiceSettings()
NOW = 1_800_000_000.0


def test_defaults_fill_window_top_k_and_hops():
    request = pb.InferRequest(
        symptoms=[
            pb.Symptom(entity_name="checkout", family="errors", observed_at=NOW),
            pb.Symptom(entity_id="svc-pay", family="latency", observed_at=NOW + 60),
        ]
    )
    query = parse_infer(request, SETTINGS)
    assert query.window_start == NOW - SETTINGS.window_before_s
    assert query.window_end == NOW + 60 + SETTINGS.window_after_s
    assert (query.top_k, query.max_hops) == (SETTINGS.default_top_k, SETTINGS.default_max_hops)
    assert query.grown_max_hops == SETTINGS.grown_max_hops > query.max_hops  # the server's radius may grow
    assert [(s.key, s.by_name, s.field) for s in query.symptoms] == [
        ("checkout", True, "symptoms[0].entity_name"),
        ("svc-pay", False, "symptoms[1].entity_id"),
    ]
    assert query.subgraph is None


def test_a_radius_the_request_chose_never_grows():
    request = pb.InferRequest(symptoms=[pb.Symptom(entity_id="svc-pay", family="latency", observed_at=NOW)], max_hops=2)
    query = parse_infer(request, SETTINGS)
    assert (query.max_hops, query.grown_max_hops) == (2, 2)


def test_observed_at_zero_means_now():
    query = parse_infer(pb.InferRequest(symptoms=[pb.Symptom(entity_id="a", family="traffic")]), SETTINGS, now=NOW)
    assert query.symptoms[0].observed_at == NOW


def test_supplied_subgraph_is_converted_and_checked():
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id="a", family="errors", observed_at=NOW)],
        subgraph=pb.Subgraph(
            nodes=[
                pb.Node(id="a", label="Service", name="alpha", features={"x": 1.5}),
                pb.Node(id="b", label="Datastore"),
            ],
            edges=[pb.Edge(source="a", target="b", type="CALLS")],
            anomalies=[pb.AnomalySignal(entity_id="b", signal="conn", family="saturation", onset=NOW - 10, score=4)],
        ),
    )
    supplied = parse_infer(request, SETTINGS).subgraph
    assert supplied.nodes["b"].name == "b" and supplied.nodes["a"].name == "alpha"
    assert supplied.features == {"a": {"x": 1.5}}
    assert supplied.anomalies[0].end is None and supplied.anomalies[0].direction == "up"


def test_anomaly_with_unknown_family_names_the_field():
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id="a", family="errors", observed_at=NOW)],
        subgraph=pb.Subgraph(
            nodes=[pb.Node(id="a", label="Service")],
            anomalies=[pb.AnomalySignal(entity_id="a", family="vibes", onset=NOW)],
        ),
    )
    with pytest.raises(InvalidArgument, match=r"^subgraph.anomalies\[0\].family"):
        parse_infer(request, SETTINGS)


def test_evidence_is_ordered_by_time_and_attached_to_its_candidate():
    subgraph = IncidentSubgraph(
        nodes={"db": EntityNode("db", "Datastore", "orders-db"), "api": EntityNode("api", "Service", "api")},
        edges=[],
        symptoms=[],
        window_start=NOW - 600,
        window_end=NOW,
        anomalies=[AnomalySignal("api", "error_ratio", "errors", NOW - 100, None, "up", 6.0, 0.2, 0.01)],
        events=[EventSignal("db", "too many clients", "connection", 3, 40, NOW - 200, NOW - 50)],
        changes=[ChangeSignal("db", NOW - 300, "config", "max_connections 20")],
    )
    result = RankingResult(
        candidates=[Candidate("db", 0.9, 1), Candidate("api", 0.1, 2)],
        findings=[Finding("datastore_unreachable", "db", 0.8, "callers time out", NOW)],
        paths={"db": [Path("api", 0.7, (Hop("db", "CALLS (reverse)", "api", ("error_ratio up",)),))]},
    )
    evidence = convert.evidence_items(subgraph, result)
    assert [e.kind for e in evidence] == ["change", "log", "anomaly", "finding"]
    ranked = convert.candidates(subgraph, result, evidence)
    assert [c.entity_name for c in ranked] == ["orders-db", "api"]
    assert [e.kind for e in ranked[0].evidence] == ["change", "log", "finding"]
    assert ranked[0].paths[0].hops[0].evidence == ["error_ratio up"]
    assert ranked[1].paths == []
