"""An in-memory snapshot of the topology, so an Infer needs one graph read (its signals), not three.

ArcadeDB's Cypher walks variable-length patterns by enumerating paths, which costs 60-170 ms for a
few hundred entities; a breadth-first walk over a snapshot costs microseconds. The snapshot is
kept fresh in the background, and reloaded at once when a symptom names an entity the snapshot
lacks but the graph has, so a new entity is found on its first Infer. Edges added between
existing entities, and entities removed, are seen within ``refresh_s`` seconds when written
through rca (topology sync, reconcile, replay), within ``full_refresh_s`` otherwise.

Reading the whole topology is not cheap (about 0.5 s of graph-server CPU and 0.35 s of Python
for 1800 entities, per serving process), so every ``refresh_s`` the cache first reads the
topology clock (graph_schema.cypher.topology.READ_CLOCK), which every write through rca that
changes entities or structural edges advances, and reloads only when it moved. A full reload
still happens every ``full_refresh_s``, for topology edited in the graph by other means.

A neighbourhood (the entities within k hops of some symptoms and their edges) depends on the
snapshot alone, so each snapshot keeps the ones it was asked for lately, each under a key: an alert
that fires again, or a second symptom set on the same entities, skips the walk, and the engine,
which keeps its propagation view of a neighbourhood under that key (rca.rank.graph.NeighbourhoodGraphs),
skips the graph construction (~1.6 ms of CPU at 300 entities together).

What is monitored (:Coverage, graph_schema.cypher.coverage) is kept here too, as a CoverageIndex
reloaded with every topology load and otherwise every COVERAGE_RELOAD_S (the metrics worker
rewrites a span every five minutes; syslog with every batch): reading it per Infer costs ArcadeDB
~30 ms at 300 entities (five indexed lookups per entity), filtering it in memory ~0.3 ms, and a
reload ~0.3 s for 4500 spans. Its age stays well inside the spans' holds and the window before
an alert.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from graph_schema.cypher import coverage as coverage_cypher
from graph_schema.cypher import topology as cypher
from graph_schema.model import ENTITY_LABELS, TOPOLOGY_RELATIONS
from rca.rank.reach import hop_counts, neighbours
from rca.rank.types import Edge, EntityNode

log = logging.getLogger(__name__)


COVERAGE_RELOAD_S = 120.0
# Neighbourhoods kept per snapshot: a few hundred KB each at 300 entities, rebuilt after every reload.
NEIGHBOURHOODS_KEPT = 64
_SNAPSHOT_TOKENS = itertools.count()


@dataclass(frozen=True)
class Neighbourhood:
    """Entities within some hops of a set of seeds and the edges among them.

    Shared by every request that asks for the same seeds and radius: never modified. `key` names it
    (snapshot, seeds, radius), so a ranker may keep what it derives from it (IncidentSubgraph.neighbourhood_key).
    """

    nodes: dict[str, EntityNode]  # by id, in id order
    edges: list[Edge]  # sorted by (source, target, type)
    key: tuple | None = None


@dataclass
class TopologyIndex:
    """The graph's entities and structural edges at one moment, indexed for lookups and walks (what ingest's
    TopologySnapshot is to one source, this is to the whole graph as the service reads it)."""

    nodes: dict[str, EntityNode]
    out_edges: dict[str, list[Edge]]
    loaded_at: float
    generation: int | None = None  # the topology clock when it was read (None: no write has advanced it yet)
    adjacent: dict[str, set[str]] = field(default_factory=dict)
    by_name: dict[str, list[str]] = field(default_factory=dict)
    neighbourhoods_kept: int = NEIGHBOURHOODS_KEPT  # 0: every request walks afresh

    @classmethod
    def build(
        cls,
        entity_rows: list[dict],
        edge_rows: list[dict],
        loaded_at: float,
        neighbourhoods_kept: int = NEIGHBOURHOODS_KEPT,
        generation: int | None = None,
    ) -> TopologyIndex:
        """Index entity rows (id, label, name, technology) and edge rows (source_id, type, target_id)."""
        nodes = {r["id"]: EntityNode(r["id"], r["label"], r["name"] or r["id"], r["technology"]) for r in entity_rows}
        edges = [
            Edge(r["source_id"], r["target_id"], r["type"])
            for r in edge_rows
            if r["source_id"] in nodes and r["target_id"] in nodes
        ]
        out_edges: dict[str, list[Edge]] = defaultdict(list)
        for edge in edges:
            out_edges[edge.source].append(edge)
        by_name: dict[str, list[str]] = defaultdict(list)
        for node in nodes.values():
            by_name[node.name].append(node.id)
        return cls(
            nodes, dict(out_edges), loaded_at, generation, dict(neighbours(edges)), dict(by_name), neighbourhoods_kept
        )

    def __post_init__(self) -> None:
        # per snapshot, so a reload drops them all (thread-safe; a rare double build is harmless)
        self._neighbourhoods = lru_cache(maxsize=self.neighbourhoods_kept)(self._build_neighbourhood)
        self._token = next(_SNAPSHOT_TOKENS)  # tells this snapshot's neighbourhoods from any other's

    def neighbourhood(self, seeds: list[str], hops: int) -> Neighbourhood:
        """The entities within ``hops`` of the seeds (see ``within``) and the edges among them."""
        return self._neighbourhoods(tuple(sorted(set(seeds))), hops)

    def _build_neighbourhood(self, seeds: tuple[str, ...], hops: int) -> Neighbourhood:
        ids = self.within(list(seeds), hops)
        nodes = {i: self.nodes[i] for i in sorted(ids)}
        edges = sorted(self.edges_among(ids), key=lambda e: (e.source, e.target, e.type))
        key = (self._token, seeds, hops) if self.neighbourhoods_kept > 0 else None
        return Neighbourhood(nodes, edges, key)

    def lookup(self, key: str) -> list[tuple[str, str, str]]:
        """Entities (id, label, name) whose id or name is ``key``."""
        ids = set(self.by_name.get(key, ()))
        if key in self.nodes:
            ids.add(key)
        return [(i, self.nodes[i].label, self.nodes[i].name) for i in sorted(ids)]

    def within(self, seeds: list[str], hops: int) -> set[str]:
        """Entity ids within ``hops`` structural edges (either direction) of the seeds."""
        return set(hop_counts(self.adjacent, [s for s in seeds if s in self.nodes], hops))

    def edges_among(self, ids: set[str]) -> list[Edge]:
        """Structural edges with both ends in ``ids``."""
        return [e for source in ids for e in self.out_edges.get(source, ()) if e.target in ids]


@dataclass(frozen=True)
class CoverageIndex:
    """Every coverage span by entity id: (family, first_seen, last_seen, holds_s)."""

    spans: dict[str, tuple[tuple[str, float, float, float], ...]]
    loaded_at: float

    @classmethod
    def build(cls, rows: list[dict], loaded_at: float) -> CoverageIndex:
        """Index ALL_COVERAGE rows."""
        spans: dict[str, list[tuple[str, float, float, float]]] = defaultdict(list)
        for r in rows:
            spans[r["entity_id"]].append(
                (r["family"], float(r["first_seen"]), float(r["last_seen"]), float(r["holds_s"] or 0.0))
            )
        return cls({entity_id: tuple(s) for entity_id, s in spans.items()}, loaded_at)

    def observed(self, ids, start: float, end: float) -> list[tuple[str, str]]:
        """(entity id, family) of the spans of these entities that overlap [start, end]."""
        return [
            (entity_id, family)
            for entity_id in ids
            for family, first, last, holds in self.spans.get(entity_id, ())
            if first <= end and last + holds >= start
        ]


class TopologyCache:
    """Holds the current snapshot; reloads it in the background and on unknown symptom keys."""

    def __init__(
        self,
        store,
        refresh_s: float = 30.0,
        neighbourhoods_kept: int = NEIGHBOURHOODS_KEPT,
        full_refresh_s: float = 600.0,
    ):
        self.store = store
        self.refresh_s = refresh_s
        self.full_refresh_s = full_refresh_s
        self.neighbourhoods_kept = neighbourhoods_kept
        self._snapshot: TopologyIndex | None = None
        self._coverage: CoverageIndex | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> TopologyIndex:
        """Read every entity and structural edge in one read transaction and make them current."""

        def read(tx):
            # the clock first: a change landing during the read shows as a newer generation at the next look
            generation = _generation(tx.run(cypher.READ_CLOCK).data())
            entities = [
                {**row, "label": str(label)}
                for label in ENTITY_LABELS
                for row in tx.run(cypher.ALL_ENTITIES[label]).data()
            ]
            edges = [
                {**row, "type": str(rel.type)}
                for rel in TOPOLOGY_RELATIONS
                for row in tx.run(cypher.ALL_EDGES[rel]).data()
            ]
            return generation, entities, edges

        started = time.time()
        generation, entity_rows, edge_rows = self.store.read_transaction(read)
        snapshot = TopologyIndex.build(entity_rows, edge_rows, started, self.neighbourhoods_kept, generation)
        self.load_coverage()  # an entity new to the snapshot may be monitored already
        self._snapshot = snapshot
        log.debug("topology snapshot: %d entities in %.0f ms", len(snapshot.nodes), (time.time() - started) * 1000)
        return snapshot

    def load_coverage(self) -> CoverageIndex:
        """Read every coverage span and make them current."""
        started = time.time()
        coverage = CoverageIndex.build(self.store.read(coverage_cypher.ALL_COVERAGE), started)
        self._coverage = coverage
        return coverage

    def coverage(self) -> CoverageIndex:
        """The current coverage, loading it first if there is none yet."""
        return self._coverage or self.load_coverage()

    def snapshot(self) -> TopologyIndex:
        """The current snapshot, loading it first if there is none yet."""
        snapshot = self._snapshot
        if snapshot is None:
            with self._lock:
                snapshot = self._snapshot or self.load()
        return snapshot

    def reload_for_keys(self, keys: list[str]) -> TopologyIndex:
        """A snapshot that knows ``keys`` if the graph does: reload only when the graph has them.

        An unknown key costs one indexed lookup, not a reload, so bad requests cannot make the
        service rescan the topology over and over.
        """
        with self._lock:
            snapshot = self._snapshot or self.load()
            missing = [key for key in keys if not snapshot.lookup(key)]
            if missing and any(
                self.store.read(cypher.FIND_ENTITY[label], key=key) for key in missing for label in ENTITY_LABELS
            ):
                snapshot = self.load()
            return snapshot

    def refresh(self) -> bool:
        """Reload when the topology clock moved or the snapshot is older than full_refresh_s; True if it did."""
        with self._lock:
            snapshot = self._snapshot
            if (
                snapshot is None
                or time.time() - snapshot.loaded_at >= self.full_refresh_s
                or _generation(self.store.read(cypher.READ_CLOCK)) != snapshot.generation
            ):
                self.load()
                return True
            coverage = self._coverage
            if coverage is None or time.time() - coverage.loaded_at >= COVERAGE_RELOAD_S:
                self.load_coverage()
            return False

    def start(self) -> TopologyCache:
        """Refresh every refresh_s seconds on a daemon thread (failures keep the old snapshot)."""

        def loop():
            while not self._stop.wait(self.refresh_s):
                try:
                    self.refresh()
                except Exception as exc:  # the graph may be down; Infer reports that itself
                    log.warning(
                        "topology refresh failed, keeping the snapshot from %.0f: %s",
                        self._snapshot.loaded_at if self._snapshot else 0,
                        exc,
                    )

        self._thread = threading.Thread(target=loop, name="rca-topology-refresh", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the background reloads."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def _generation(rows: list[dict]) -> int | None:
    """The topology clock's generation from READ_CLOCK's rows (None before any write advanced it)."""
    return rows[0]["generation"] if rows else None
