"""Small hand-made incident subgraphs shared by the engine unit tests."""

from __future__ import annotations

from rca.rank.features import OBSERVABLE
from rca.rank.types import (
    AnomalySignal,
    ChangeSignal,
    Edge,
    EntityNode,
    EventSignal,
    IncidentSubgraph,
    Symptom,
    observed_families,
)

T = 1_750_000_000.0


def monitored(subgraph: IncidentSubgraph) -> IncidentSubgraph:
    """The case on an estate whose every entity the metrics and syslog workers watch (the graph's
    :Coverage), as the service reads it: an entity that shows nothing is observed and normal."""
    subgraph.observed = dict.fromkeys(subgraph.nodes, frozenset(OBSERVABLE))
    return subgraph


def without_coverage(subgraph: IncidentSubgraph) -> IncidentSubgraph:
    """The case as the service builds it from a caller's subgraph that names no observed_families: an
    entity is observed in the families of its own anomalies and in its logs, nothing else is known."""
    subgraph.observed = observed_families((), subgraph.nodes, subgraph.anomalies, subgraph.events)
    subgraph.coverage_known = False
    return subgraph


def node(eid: str, label: str) -> EntityNode:
    return EntityNode(eid, label, eid)


def anomaly(eid: str, family: str, onset: float, score: float = 8.0) -> AnomalySignal:
    return AnomalySignal(eid, f"{family}_metric", family, onset, None, "up", score, 2.0, 1.0)


def event(eid: str, cls: str, at: float, count: int = 30, severity: int = 3) -> EventSignal:
    return EventSignal(eid, f"{cls} template", cls, severity, count, at, at + 30, f"{cls} sample")


def datastore_outage() -> IncidentSubgraph:
    """frontend -> api -> db (and api -> cache); db dies at T; api times out, frontend errors."""
    nodes = {
        n.id: n
        for n in (
            node("frontend", "Service"),
            node("api", "Service"),
            node("db", "Datastore"),
            node("cache", "Datastore"),
            node("api-1", "Instance"),
            node("host-1", "Host"),
        )
    }
    edges = [
        Edge("frontend", "api", "CALLS"),
        Edge("api", "db", "DEPENDS_ON"),
        Edge("api", "cache", "CALLS"),
        Edge("api-1", "api", "INSTANCE_OF"),
        Edge("api-1", "host-1", "RUNS_ON"),
    ]
    anomalies = [
        anomaly("db", "traffic", T, 7.0),
        anomaly("api", "errors", T + 40, 6.0),
        anomaly("frontend", "errors", T + 90, 9.0),
    ]
    events = [event("api", "connection", T + 35, 80), event("api", "timeout", T + 40, 20)]
    return IncidentSubgraph(
        nodes, edges, anomalies, events, [], [Symptom("frontend", "errors", T + 150)], T - 1800, T + 600
    )


def host_exhaustion() -> IncidentSubgraph:
    """Two services with instances on one saturated host; their callers slow down."""
    nodes = {
        n.id: n
        for n in (
            node("web", "Service"),
            node("svc-a", "Service"),
            node("svc-b", "Service"),
            node("a-1", "Instance"),
            node("b-1", "Instance"),
            node("h1", "Host"),
            node("h2", "Host"),
            node("w-1", "Instance"),
        )
    }
    edges = [
        Edge("web", "svc-a", "CALLS"),
        Edge("web", "svc-b", "CALLS"),
        Edge("a-1", "svc-a", "INSTANCE_OF"),
        Edge("b-1", "svc-b", "INSTANCE_OF"),
        Edge("w-1", "web", "INSTANCE_OF"),
        Edge("a-1", "h1", "RUNS_ON"),
        Edge("b-1", "h1", "RUNS_ON"),
        Edge("w-1", "h2", "RUNS_ON"),
    ]
    anomalies = [
        anomaly("h1", "saturation", T, 9.0),
        anomaly("a-1", "latency", T + 30, 5.0),
        anomaly("b-1", "latency", T + 35, 5.0),
        anomaly("svc-a", "latency", T + 60, 6.0),
        anomaly("svc-b", "latency", T + 70, 6.0),
        anomaly("web", "latency", T + 120, 8.0),
    ]
    return IncidentSubgraph(nodes, edges, anomalies, [], [], [Symptom("web", "latency", T + 180)], T - 1800, T + 600)


def bad_deploy() -> IncidentSubgraph:
    """checkout deployed at T-300, errors at T; the gateway alerts."""
    nodes = {n.id: n for n in (node("gateway", "Service"), node("checkout", "Service"), node("catalog", "Service"))}
    edges = [Edge("gateway", "checkout", "CALLS"), Edge("gateway", "catalog", "CALLS")]
    anomalies = [anomaly("checkout", "errors", T, 6.0), anomaly("gateway", "errors", T + 45, 9.0)]
    changes = [ChangeSignal("checkout", T - 300, "deploy", "v2.3.1")]
    return IncidentSubgraph(
        nodes, edges, anomalies, [], changes, [Symptom("gateway", "errors", T + 100)], T - 1800, T + 600
    )
