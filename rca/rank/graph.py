"""The propagation view of an incident subgraph: which entity's fault can show up on which.

Faults travel from callee to caller (CALLS), from a datastore to its users (DEPENDS_ON), from a
host to what runs on it (RUNS_ON) and from an instance to its service (INSTANCE_OF); a
service-wide fault also shows on its instances, which is weaker evidence of direction.

The graph is built once per request and shared by every stage (features, rule facts, the walk,
paths, the GNN's edge lists): besides the Link lists per entity it keeps the links as index
arrays, so those stages work on whole columns instead of looping over entities in Python.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from functools import cached_property
from typing import NamedTuple, Protocol

import numpy as np

from rca import fast
from rca.fast import engine_kernels as kernels
from rca.rank.types import Edge, EngineInputError, EntityNode, IncidentSubgraph

# graph relation -> list of (fault travels from "source"|"target" end, weight of that direction)
PROPAGATION_RULES: dict[str, tuple[tuple[str, float], ...]] = {
    "CALLS": (("target", 1.0),),
    "DEPENDS_ON": (("target", 1.0),),
    "RUNS_ON": (("target", 0.9),),
    "INSTANCE_OF": (("source", 0.9), ("target", 0.5)),
}


RELATION_NAMES: tuple[str, ...] = tuple(
    f"{rel} (reverse)" if origin == "target" else rel for rel, rules in PROPAGATION_RULES.items() for origin, _ in rules
)
_RELATION_CODE = {rel: c for c, rel in enumerate(PROPAGATION_RULES)}
_NO_LINKS = len(PROPAGATION_RULES)  # code of a relation faults do not travel over


def _link_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PROPAGATION_RULES as lookup tables (relation code x link slot), built once, not per edge.

    Per slot: whether the relation has it, whether the fault travels against the edge, its weight
    and the code of its name in RELATION_NAMES.
    """
    shape = (_NO_LINKS + 1, max(len(rules) for rules in PROPAGATION_RULES.values()))
    has, reverse, weight, name = (
        np.zeros(shape, bool),
        np.zeros(shape, bool),
        np.zeros(shape),
        np.zeros(shape, np.int64),
    )
    names = iter(range(len(RELATION_NAMES)))
    for code, rules in enumerate(PROPAGATION_RULES.values()):
        for slot, (origin, w) in enumerate(rules):
            has[code, slot], reverse[code, slot], weight[code, slot], name[code, slot] = (
                True,
                origin == "target",
                w,
                next(names),
            )
    return has, reverse, weight, name


_HAS, _REVERSE, _WEIGHT, _NAME = _link_tables()


class Link(NamedTuple):  # a tuple: built by the thousand per request
    """A directed propagation link: a fault on `cause` can show on `effect`."""

    cause: str
    effect: str
    relation: str  # graph relation, with " (reverse)" when the fault travels against graph direction
    weight: float


class Structure(Protocol):
    """What a propagation graph is built from: an IncidentSubgraph, or a neighbourhood of the topology."""

    # read-only members: a dataclass's dict and list fields match them
    @property
    def nodes(self) -> Mapping[str, EntityNode]: ...

    @property
    def edges(self) -> Sequence[Edge]: ...


class PropagationGraph:
    """Children (effects) and parents (causes) of every entity in propagation direction.

    The links are arrays in edge order (each edge's links in PROPAGATION_RULES order):
    `cause_rows`/`effect_rows` are row numbers in `nodes` order, `link_weights` and `link_names`
    (codes into RELATION_NAMES) say how strong and over which relation; `links_from`/`links_into`
    group each entity's link numbers (as arrays) and `link(k)` gives one as a Link. `edge_rows` holds the
    source and target rows of every subgraph edge, in edge order, per relation type.
    """

    def __init__(self, subgraph: Structure):
        self.nodes = list(subgraph.nodes)
        self.index = index = {n: i for i, n in enumerate(self.nodes)}
        self.labels = np.array([node.label for node in subgraph.nodes.values()])  # per row: Service, Host, ...
        n = len(self.nodes)
        edges = subgraph.edges
        src = np.array([index.get(e.source, -1) for e in edges], dtype=np.int64)
        tgt = np.array([index.get(e.target, -1) for e in edges], dtype=np.int64)
        if (src < 0).any() or (tgt < 0).any():
            edge = edges[int(np.flatnonzero((src < 0) | (tgt < 0))[0])]
            missing = edge.source if edge.source not in index else edge.target
            raise EngineInputError(f"edge {edge.source}-[{edge.type}]->{edge.target} names unknown entity {missing!r}")
        types = [e.type for e in edges]
        codes = np.array([_RELATION_CODE.get(t, _NO_LINKS) for t in types], dtype=np.int64)
        typed = np.array(types)
        self.edge_rows = {rel: np.column_stack([src[typed == rel], tgt[typed == rel]]) for rel in dict.fromkeys(types)}
        # one row per edge, one column per link slot: row-major selection keeps edge order, then slot order
        has, reverse = _HAS[codes], _REVERSE[codes]
        self.cause_rows = np.where(reverse, tgt[:, None], src[:, None])[has]
        self.effect_rows = np.where(reverse, src[:, None], tgt[:, None])[has]
        self.link_weights = _WEIGHT[codes][has]
        self.link_names = _NAME[codes][has]  # codes into RELATION_NAMES
        self.out_degree = np.bincount(self.cause_rows, minlength=n)
        self.in_degree = np.bincount(self.effect_rows, minlength=n)

    @cached_property
    def links_from(self) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the link numbers with that entity as cause, in link order, as (starts, links): those of
        row r are links[starts[r]:starts[r + 1]] (arrays, for the compiled searches of rca/fast/engine_kernels.py)."""
        return _grouped(self.cause_rows, len(self.nodes))

    @cached_property
    def links_into(self) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the link numbers with that entity as effect, in link order, as links_from gives them."""
        return _grouped(self.effect_rows, len(self.nodes))

    def link(self, k: int) -> Link:
        """Link number k as a Link tuple."""
        return Link(
            self.nodes[self.cause_rows[k]],
            self.nodes[self.effect_rows[k]],
            RELATION_NAMES[self.link_names[k]],
            float(self.link_weights[k]),
        )

    def symptom_distances(self, targets: list[int], gap_cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For every entity and target row, the cheapest (cost, hops) of a path from it to the target.

        Walking backwards from the target over cause links, a step costs 1.0 plus gap_cost of the
        entity it leaves (nothing for the target itself), added in that order; among equally cheap
        paths the hops are those of the path Dijkstra settles first. One Dijkstra per target, compiled
        (rca/fast/engine_kernels.py). Unreachable: cost inf, hops -1.
        """
        return fast.choose(kernels.symptom_distances)(
            len(self.nodes),
            np.asarray(targets, dtype=np.int64),
            np.asarray(gap_cost, dtype=np.float64),
            *self.links_into,
            self.cause_rows,
        )


class NeighbourhoodGraphs:
    """Propagation views kept by neighbourhood key (IncidentSubgraph.neighbourhood_key), least recently used
    dropped first: the same neighbourhood asked about again skips building its view. Thread-safe."""

    def __init__(self, kept: int = 64):
        self.kept = kept
        self._graphs: OrderedDict[Hashable, PropagationGraph] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, subgraph: IncidentSubgraph) -> PropagationGraph:
        """The subgraph's propagation view: the kept one for its neighbourhood, else a new one (then kept)."""
        key = subgraph.neighbourhood_key
        if key is None or self.kept <= 0:
            return PropagationGraph(subgraph)
        with self._lock:
            graph = self._graphs.get(key)
            if graph is not None:
                self._graphs.move_to_end(key)
                return graph
        graph = PropagationGraph(subgraph)  # outside the lock: a rare double build is harmless
        with self._lock:
            self._graphs[key] = graph
            while len(self._graphs) > self.kept:
                self._graphs.popitem(last=False)
        return graph


def propagation_graph(subgraph: IncidentSubgraph) -> PropagationGraph:
    """A new propagation view of the subgraph (rankers that keep views use NeighbourhoodGraphs)."""
    return PropagationGraph(subgraph)


def _grouped(rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions in `rows` grouped by value (0..n-1), each group in position order, as (starts, positions):
    the positions of value v are positions[starts[v]:starts[v + 1]]."""
    positions = np.argsort(rows, kind="stable").astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
    return starts, positions
