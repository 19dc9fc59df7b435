"""How far around the symptoms the subgraph reaches when the caller leaves the radius to the server.

A fault travels along dependencies, and the symptom an alert names can sit several hops from
the cause. A fixed radius small enough to keep ordinary incidents fast (3 hops) leaves the root
cause outside the subgraph in about one simulated incident in ten; those can never be ranked
right. The trail shows when that may be happening: something at the very edge of the
neighbourhood is itself in trouble. Then the radius grows, once, to a wider one, as an SRE
keeps following the anomalies until they stop.

One function decides this for the service (rca/service/subgraph_fetch.py) and for the
accuracy benchmark over simulated incidents, so the benchmark measures what the service does.
"""

from __future__ import annotations

from collections import defaultdict

from rca.engine.types import IncidentSubgraph

# a log line this severe or worse (syslog: 0 emergency .. 4 warning) is trouble, as in the features
SEVERE_LOG = 4


def hops_from_symptoms(subgraph: IncidentSubgraph) -> dict[str, int]:
    """Entity id -> fewest structural edges (either direction) from a symptom, for entities reached.

    Within a neighbourhood cut to k hops this is the true distance: a shortest path of at most
    k edges runs through entities within k hops only.
    """
    adjacent: dict[str, set[str]] = defaultdict(set)
    for edge in subgraph.edges:
        adjacent[edge.source].add(edge.target)
        adjacent[edge.target].add(edge.source)
    frontier = {s.entity_id for s in subgraph.symptoms if s.entity_id in subgraph.nodes}
    hops = dict.fromkeys(frontier, 0)
    step = 0
    while frontier:
        step += 1
        frontier = {n for entity in frontier for n in adjacent[entity] if n not in hops}
        hops.update(dict.fromkeys(frontier, step))
    return hops


def edge_in_trouble(subgraph: IncidentSubgraph, radius: int) -> list[str]:
    """Entities exactly `radius` hops from the symptoms that show an anomaly or a severe log line.

    Empty when nothing at the edge of the neighbourhood is in trouble, i.e. the trail ends inside it.
    """
    edge = {entity for entity, hops in hops_from_symptoms(subgraph).items() if hops == radius}
    troubled = {a.entity_id for a in subgraph.anomalies if a.entity_id in edge}
    troubled |= {e.entity_id for e in subgraph.events if e.entity_id in edge and e.severity <= SEVERE_LOG}
    return sorted(troubled)


def grown_radius(subgraph: IncidentSubgraph, radius: int, widest: int) -> int:
    """The radius to rank over: `widest` when the neighbourhood cut to `radius` has trouble at its edge."""
    if widest > radius and edge_in_trouble(subgraph, radius):
        return widest
    return radius
