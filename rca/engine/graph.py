"""The propagation view of an incident subgraph: which entity's fault can show up on which.

Faults travel from callee to caller (CALLS), from a datastore to its users (DEPENDS_ON), from a
host to what runs on it (RUNS_ON) and from an instance to its service (INSTANCE_OF); a
service-wide fault also shows on its instances, which is weaker evidence of direction.
"""

from __future__ import annotations

import heapq
from typing import NamedTuple

from rca.engine.types import EngineInputError, IncidentSubgraph

# graph relation -> list of (fault travels from "source"|"target" end, weight of that direction)
PROPAGATION_RULES: dict[str, tuple[tuple[str, float], ...]] = {
    "CALLS": (("target", 1.0),),
    "DEPENDS_ON": (("target", 1.0),),
    "RUNS_ON": (("target", 0.9),),
    "INSTANCE_OF": (("source", 0.9), ("target", 0.5)),
}


# PROPAGATION_RULES as (travels against the edge, weight, relation name), built once, not per edge
_LINK_KINDS: dict[str, tuple[tuple[bool, float, str], ...]] = {
    rel: tuple((origin == "target", weight, f"{rel} (reverse)" if origin == "target" else rel) for origin, weight in rules)
    for rel, rules in PROPAGATION_RULES.items()
}


class Link(NamedTuple):  # a tuple: built by the thousand per request
    """A directed propagation link: a fault on `cause` can show on `effect`."""

    cause: str
    effect: str
    relation: str  # graph relation, with " (reverse)" when the fault travels against graph direction
    weight: float


class PropagationGraph:
    """Children (effects) and parents (causes) of every entity in propagation direction."""

    def __init__(self, subgraph: IncidentSubgraph):
        self.nodes = list(subgraph.nodes)
        self.effects: dict[str, list[Link]] = {n: [] for n in self.nodes}
        self.causes: dict[str, list[Link]] = {n: [] for n in self.nodes}
        for edge in subgraph.edges:
            if edge.source not in subgraph.nodes or edge.target not in subgraph.nodes:
                missing = edge.source if edge.source not in subgraph.nodes else edge.target
                raise EngineInputError(f"edge {edge.source}-[{edge.type}]->{edge.target} names unknown entity {missing!r}")
            for reverse, weight, relation in _LINK_KINDS.get(edge.type, ()):
                if reverse:
                    link = Link(edge.target, edge.source, relation, weight)
                else:
                    link = Link(edge.source, edge.target, relation, weight)
                self.effects[link.cause].append(link)
                self.causes[link.effect].append(link)

    def hops_to(self, target: str, step_cost) -> dict[str, tuple[float, int]]:
        """For every entity that can reach target, the cheapest (cost, hops) of a path to it.

        step_cost(node) is the cost of passing through an intermediate node; walking backwards
        from the target over cause links makes this one Dijkstra per symptom.
        """
        best: dict[str, tuple[float, int]] = {target: (0.0, 0)}
        queue = [(0.0, 0, target)]
        while queue:
            cost, hops, node = heapq.heappop(queue)
            if best.get(node, (float("inf"), 0))[0] < cost:
                continue
            through = 0.0 if node == target else step_cost(node)
            for link in self.causes[node]:
                new = cost + 1.0 + through
                if new < best.get(link.cause, (float("inf"), 0))[0]:
                    best[link.cause] = (new, hops + 1)
                    heapq.heappush(queue, (new, hops + 1, link.cause))
        return best
