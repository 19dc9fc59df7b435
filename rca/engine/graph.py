"""The propagation view of an incident subgraph: which entity's fault can show up on which.

Faults travel from callee to caller (CALLS), from a datastore to its users (DEPENDS_ON), from a
host to what runs on it (RUNS_ON) and from an instance to its service (INSTANCE_OF); a
service-wide fault also shows on its instances, which is weaker evidence of direction.

The graph is built once per request and shared by every stage (features, rule facts, the walk,
paths, the GNN's edge lists): besides the Link lists per entity it keeps the links as index
arrays, so those stages work on whole columns instead of looping over entities in Python.
"""

from __future__ import annotations

from functools import cached_property
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


_MOST_KINDS = max(len(kinds) for kinds in _LINK_KINDS.values())


class Link(NamedTuple):  # a tuple: built by the thousand per request
    """A directed propagation link: a fault on `cause` can show on `effect`."""

    cause: str
    effect: str
    relation: str  # graph relation, with " (reverse)" when the fault travels against graph direction
    weight: float


class PropagationGraph:
    """Children (effects) and parents (causes) of every entity in propagation direction.

    The links are kept as arrays in edge order (each edge's links in PROPAGATION_RULES order):
    `cause_rows`/`effect_rows` are row numbers in `nodes` order, `link_weights` and
    `link_relations` say how strong and over which relation. `edge_rows` holds the source and
    target rows of every subgraph edge, in edge order, per relation type. `effects`/`causes`
    give the same links as Link tuples per entity id, built on first use.
    """

    def __init__(self, subgraph: IncidentSubgraph):
        self.nodes = list(subgraph.nodes)
        self.index = index = {n: i for i, n in enumerate(self.nodes)}
        n = len(self.nodes)
        edges = subgraph.edges
        ends = np.array([(index.get(e.source, -1), index.get(e.target, -1)) for e in edges], dtype=np.int64).reshape(-1, 2)
        if (ends < 0).any():
            edge = edges[int(np.flatnonzero((ends < 0).any(axis=1))[0])]
            missing = edge.source if edge.source not in index else edge.target
            raise EngineInputError(f"edge {edge.source}-[{edge.type}]->{edge.target} names unknown entity {missing!r}")
        types = np.array([e.type for e in edges], dtype=object)
        self.edge_rows = {rel: ends[types == rel] for rel in dict.fromkeys(types.tolist())}
        # every (edge, kind) link, put back in edge order, then kind order within an edge
        place, causes, effects, weights, relations = [], [], [], [], []
        for rel, kinds in _LINK_KINDS.items():
            at = np.flatnonzero(types == rel)
            for k, (reverse, weight, relation) in enumerate(kinds):
                place.append(at * _MOST_KINDS + k)
                causes.append(ends[at, 1 if reverse else 0])
                effects.append(ends[at, 0 if reverse else 1])
                weights.append(np.full(len(at), weight))
                relations.append(np.full(len(at), relation, dtype=object))
        order = np.argsort(np.concatenate(place), kind="stable")
        self.cause_rows = np.concatenate(causes)[order]
        self.effect_rows = np.concatenate(effects)[order]
        self.link_weights = np.concatenate(weights)[order]
        self.link_relations: list[str] = np.concatenate(relations)[order].tolist()
        self.out_degree = np.bincount(self.cause_rows, minlength=n)
        self.in_degree = np.bincount(self.effect_rows, minlength=n)
        # links grouped by cause (stable: edge order within a group), for per-cause minima
        self._by_cause = np.argsort(self.cause_rows, kind="stable")
        self._causes_with_links = np.flatnonzero(self.out_degree)
        self._cause_starts = np.concatenate([[0], np.cumsum(self.out_degree[self._causes_with_links])[:-1]]).astype(np.int64)

    @cached_property
    def links_from(self) -> list[list[int]]:
        """Per row, the link numbers with that entity as cause, in link order."""
        out: list[list[int]] = [[] for _ in self.nodes]
        for k, c in enumerate(self.cause_rows.tolist()):
            out[c].append(k)
        return out

    def link(self, k: int) -> Link:
        """Link number k as a Link tuple."""
        return Link(self.nodes[self.cause_rows[k]], self.nodes[self.effect_rows[k]], self.link_relations[k],
                    float(self.link_weights[k]))

    @cached_property
    def effects(self) -> dict[str, list[Link]]:
        """Links by cause entity id."""
        out: dict[str, list[Link]] = {n: [] for n in self.nodes}
        for k in range(len(self.link_relations)):
            link = self.link(k)
            out[link.cause].append(link)
        return out

    @cached_property
    def causes(self) -> dict[str, list[Link]]:
        """Links by effect entity id."""
        out: dict[str, list[Link]] = {n: [] for n in self.nodes}
        for k in range(len(self.link_relations)):
            link = self.link(k)
            out[link.effect].append(link)
        return out

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
