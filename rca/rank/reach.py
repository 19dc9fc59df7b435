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
from collections.abc import Iterable, Mapping

from rca.rank.features import deviation_shows
from rca.rank.log_change import template_changes
from rca.rank.types import Edge, IncidentSubgraph

# a log line this severe or worse (syslog: 0 emergency .. 4 warning) is trouble, as in the features
SEVERE_LOG = 4


def neighbours(edges: Iterable[Edge]) -> dict[str, set[str]]:
    """Entity id -> the entities one structural edge away, in either direction."""
    adjacent: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        adjacent[edge.source].add(edge.target)
        adjacent[edge.target].add(edge.source)
    return adjacent


def hop_counts(adjacent: Mapping[str, set[str]], seeds: Iterable[str], limit: int | None = None) -> dict[str, int]:
    """Entity id -> fewest edges from a seed, for every entity within `limit` hops (None: no limit).

    The one breadth-first walk behind the service's neighbourhoods, the simulator's cut and the
    radius check here.
    """
    frontier = set(seeds)
    hops = dict.fromkeys(frontier, 0)
    step = 0
    while frontier and (limit is None or step < limit):
        step += 1
        frontier = {n for entity in frontier for n in adjacent.get(entity, ()) if n not in hops}
        hops.update(dict.fromkeys(frontier, step))
    return hops


def hops_from_symptoms(subgraph: IncidentSubgraph) -> dict[str, int]:
    """Entity id -> fewest structural edges (either direction) from a symptom, for entities reached.

    Within a neighbourhood cut to k hops this is the true distance: a shortest path of at most
    k edges runs through entities within k hops only.
    """
    symptoms = [s.entity_id for s in subgraph.symptoms if s.entity_id in subgraph.nodes]
    return hop_counts(neighbours(subgraph.edges), symptoms)


def edge_in_trouble(subgraph: IncidentSubgraph, radius: int) -> list[str]:
    """Entities exactly `radius` hops from the symptoms that show an anomaly, a deviation around the alert
    (features.deviation_shows), or a new (or faster) severe log line.

    Empty when nothing at the edge of the neighbourhood is in trouble, i.e. the trail ends inside it.
    """
    edge = {entity for entity, hops in hops_from_symptoms(subgraph).items() if hops == radius}
    troubled = {a.entity_id for a in subgraph.anomalies if a.entity_id in edge}
    # a deviation under the detector's threshold is trouble too, where and when the features count it as
    # showing: a trail whose effects shrink hop by hop may cross no threshold before the root
    alert = subgraph.alert_time
    troubled |= {d.entity_id for d in subgraph.deviations if d.entity_id in edge and deviation_shows(d, alert)}
    # a severe line is trouble where it is new or faster (rca.rank.log_change), not an error logged all along;
    # judged against the time the subgraph's logs were heard, every line of it, as the features judge it
    changed = template_changes(
        subgraph.events, subgraph.window_start, subgraph.alert_time, subgraph.window_end, entities=edge
    )
    troubled |= {c.entity_id for c in changed if c.severity <= SEVERE_LOG}
    return sorted(troubled)


def grown_radius(subgraph: IncidentSubgraph, radius: int, widest: int) -> int:
    """The radius to rank over: `widest` when the neighbourhood cut to `radius` has trouble at its edge."""
    if widest > radius and edge_in_trouble(subgraph, radius):
        return widest
    return radius
