"""Path finding and scoring: the most probable propagation route, with per-hop evidence."""

import pytest

from rca.rank.features import build_features
from rca.rank.graph import PropagationGraph
from rca.rank.paths import find_paths, hop_probability
from rca.rank.types import Edge, EntityNode, IncidentSubgraph, Symptom
from tests.unit.engine_cases import T, anomaly, datastore_outage, event, host_exhaustion


def _paths(sub, candidate):
    graph = PropagationGraph(sub)
    return find_paths(sub, graph, build_features(sub, graph), candidate)


def test_hop_probability_prefers_evidence_and_onset_order():
    assert hop_probability(1.0, 1.0, T, T + 30) > hop_probability(1.0, 0.2, T, T + 30)
    assert hop_probability(1.0, 1.0, T, T + 30) > hop_probability(1.0, 1.0, T, T - 120)  # effect before cause
    assert hop_probability(1.0, 1.0, T, T + 30) > hop_probability(0.5, 1.0, T, T + 30)
    assert hop_probability(1.0, 1.0, None, None) == pytest.approx(1.0)


def test_path_from_datastore_follows_callers_to_the_symptom_with_evidence():
    [path] = _paths(datastore_outage(), "db")
    assert path.symptom_id == "frontend"
    assert [(h.from_id, h.relation, h.to_id) for h in path.hops] == [
        ("db", "DEPENDS_ON (reverse)", "api"),
        ("api", "CALLS (reverse)", "frontend"),
    ]
    assert 0 < path.score <= 1
    assert any("connection" in line for line in path.hops[0].evidence)
    assert any("after db" in line for line in path.hops[0].evidence)


def test_path_prefers_the_anomalous_route():
    # a -> b1 -> top and a -> b2 -> top; only b2 shows trouble, so the path goes through b2.
    nodes = {n: EntityNode(n, "Service", n) for n in ("top", "b1", "b2", "a")}
    edges = [Edge("top", "b1", "CALLS"), Edge("top", "b2", "CALLS"), Edge("b1", "a", "CALLS"), Edge("b2", "a", "CALLS")]
    sub = IncidentSubgraph(
        nodes,
        edges,
        [anomaly("a", "errors", T), anomaly("b2", "errors", T + 20), anomaly("top", "errors", T + 50)],
        [event("b2", "other", T + 20)],
        [],
        [Symptom("top", "errors", T + 90)],
        T - 600,
        T + 600,
    )
    [path] = _paths(sub, "a")
    assert [h.to_id for h in path.hops] == ["b2", "top"]
    quiet = IncidentSubgraph(
        nodes,
        edges,
        [anomaly("a", "errors", T), anomaly("top", "errors", T + 50)],
        [],
        [],
        [Symptom("top", "errors", T + 90)],
        T - 600,
        T + 600,
    )
    [weaker] = _paths(quiet, "a")
    assert weaker.score < path.score


def test_host_path_goes_through_its_instance_and_service():
    [path] = _paths(host_exhaustion(), "h1")
    assert path.hops[0].from_id == "h1" and path.hops[0].relation == "RUNS_ON (reverse)"
    assert path.hops[-1].to_id == "web"
    assert len(path.hops) == 3


def test_symptom_as_candidate_has_an_empty_path_and_unreachable_has_none():
    [own] = _paths(datastore_outage(), "frontend")
    assert own.hops == () and own.score == 1.0
    assert _paths(datastore_outage(), "host-1") != []  # host -> instance -> api -> frontend
    sub = datastore_outage()
    sub.nodes["lonely"] = EntityNode("lonely", "Service", "lonely")
    assert _paths(sub, "lonely") == []


def test_walk_ends_on_the_entity_more_anomalous_than_its_causes():
    import numpy as np

    from rca.rank.walk import walk_scores

    sub = datastore_outage()
    graph = PropagationGraph(sub)
    ids = list(sub.nodes)
    weight = np.array([{"db": 1.0, "api": 0.6, "frontend": 0.8}.get(n, 0.0) for n in ids])
    scores = walk_scores(sub, graph, ids, weight)
    assert ids[int(np.argmax(scores))] == "db"
    assert scores.max() == 1.0 and scores.min() >= 0.0
