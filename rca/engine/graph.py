"""The propagation view of an incident subgraph: which entity's fault can show up on which.

Faults travel from callee to caller (CALLS), from a datastore to its users (DEPENDS_ON), from a
host to what runs on it (RUNS_ON) and from an instance to its service (INSTANCE_OF); a
service-wide fault also shows on its instances, which is weaker evidence of direction.

The graph is built once per request and shared by every stage (features, rule facts, the walk,
paths, the GNN's edge lists): besides the Link lists per entity it keeps the links as index
arrays, so those stages work on whole columns instead of looping over entities in Python.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

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
    """Children (effects) and parents (causes) of every entity in propagation direction.

    `effects`/`causes` hold the Links per entity id; `cause_rows`/`effect_rows` are the same links
    as row numbers (in `nodes` order, links in edge order), and `edge_rows` holds the source and
    target rows of every subgraph edge, in edge order, per relation type.
    """

    def __init__(self, subgraph: IncidentSubgraph):
        self.nodes = list(subgraph.nodes)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        self.effects: dict[str, list[Link]] = {n: [] for n in self.nodes}
        self.causes: dict[str, list[Link]] = {n: [] for n in self.nodes}
        index = self.index
        causes: list[int] = []
        effects: list[int] = []
        edge_rows: dict[str, list[tuple[int, int]]] = {}
        for edge in subgraph.edges:
            s, t = index.get(edge.source), index.get(edge.target)
            if s is None or t is None:
                missing = edge.source if s is None else edge.target
                raise EngineInputError(f"edge {edge.source}-[{edge.type}]->{edge.target} names unknown entity {missing!r}")
            edge_rows.setdefault(edge.type, []).append((s, t))
            for reverse, weight, relation in _LINK_KINDS.get(edge.type, ()):
                if reverse:
                    link = Link(edge.target, edge.source, relation, weight)
                    causes.append(t)
                    effects.append(s)
                else:
                    link = Link(edge.source, edge.target, relation, weight)
                    causes.append(s)
                    effects.append(t)
                self.effects[link.cause].append(link)
                self.causes[link.effect].append(link)
        self.cause_rows = np.array(causes, dtype=np.int64)
        self.effect_rows = np.array(effects, dtype=np.int64)
        self.edge_rows = {rel: np.array(pairs, dtype=np.int64).reshape(-1, 2) for rel, pairs in edge_rows.items()}
        n = len(self.nodes)
        self.out_degree = np.bincount(self.cause_rows, minlength=n)
        self.in_degree = np.bincount(self.effect_rows, minlength=n)
        # links grouped by cause (stable: edge order within a group), for per-cause minima
        self._by_cause = np.argsort(self.cause_rows, kind="stable")
        self._causes_with_links = np.flatnonzero(self.out_degree)
        self._cause_starts = np.concatenate([[0], np.cumsum(self.out_degree[self._causes_with_links])[:-1]]).astype(np.int64)

    def _min_per_cause(self, values: np.ndarray) -> np.ndarray:
        """Per entity, the minimum of `values` (one row per link) over its links as cause; inf without links."""
        out = np.full((len(self.nodes),) + values.shape[1:], np.inf)
        if len(self._causes_with_links):
            out[self._causes_with_links] = np.minimum.reduceat(values[self._by_cause], self._cause_starts, axis=0)
        return out

    def symptom_distances(self, targets: list[int], gap_cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For every entity and target row, the cheapest (cost, hops) of a path from it to the target.

        Walking backwards from the target over cause links, a step costs 1.0 plus gap_cost of the
        entity it leaves (nothing for the target itself), summed in that order as a Dijkstra from
        the target would; among equally cheap paths the hops are those Dijkstra keeps (the one
        through the cheapest, then fewest-hop, neighbour). Unreachable: cost inf, hops -1.
        Relaxing all links of all targets at once (Bellman-Ford over arrays) gives the same
        floats, since every step only adds to the cost of a cheapest neighbour.
        """
        n, k = len(self.nodes), len(targets)
        cols = np.arange(k)
        cost = np.full((n, k), np.inf)
        cost[targets, cols] = 0.0
        through = np.repeat(gap_cost[:, None], k, axis=1)
        through[targets, cols] = 0.0
        cause, effect = self.cause_rows, self.effect_rows
        step = through[effect]
        while True:
            best = np.minimum(cost, self._min_per_cause(cost[effect] + 1.0 + step))
            if np.array_equal(best, cost):
                break
            cost = best
        cand = cost[effect] + 1.0 + step
        tight = np.isfinite(cand) & (cand == cost[cause])  # links on a cheapest path
        # Dijkstra settles neighbours cheapest first, then by fewest hops: that neighbour's path wins
        first = self._min_per_cause(np.where(tight, cost[effect], np.inf))
        tight &= cost[effect] == first[cause]
        hops = np.full((n, k), np.inf)
        hops[targets, cols] = 0.0
        while True:
            fewer = np.minimum(hops, self._min_per_cause(np.where(tight, hops[effect] + 1.0, np.inf)))
            if np.array_equal(fewer, hops):
                break
            hops = fewer
        return cost, np.where(np.isfinite(hops), hops, -1.0)
