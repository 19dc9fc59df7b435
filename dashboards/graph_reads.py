"""What the dashboard reads from the graph, through graph_schema's read-only statements only."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from graph_schema import migrations
from graph_schema.cypher import subgraph as subgraph_cypher
from graph_schema.cypher import views
from graph_schema.model import ENTITY_LABELS, SIGNAL_LABELS, TOPOLOGY_RELATIONS, Label
from graph_schema.store import GraphStore
from graph_schema.topology_view import Neighbourhood, neighbourhood

STRUCTURAL = {str(rel.type) for rel in TOPOLOGY_RELATIONS}


@dataclass
class EntityRef:
    """An entity as the pictures name it."""

    id: str
    name: str
    label: str


@dataclass
class LocalGraph:
    """Some entities and the structural edges between them."""

    entities: dict[str, EntityRef] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (source id, relation, target id)


@dataclass
class Signals:
    """Anomalies, log event buckets and changes of some entities in a window, as the graph holds them."""

    anomalies: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    deviations: list[dict] = field(default_factory=list)  # per entity, family and minute: how far it strayed


def local_graph(store: GraphStore, ids: Iterable[str]) -> LocalGraph:
    """The entities among ``ids`` that exist, and the structural edges between them."""
    out = LocalGraph()
    for row in store.read(views.ENTITIES_AND_EDGES_AMONG, ids=sorted(set(ids))):
        out.entities.setdefault(row["id"], EntityRef(row["id"], row["name"] or row["id"], row["label"]))
        if row["type"] and row["target_id"]:
            out.edges.append((row["id"], row["type"], row["target_id"]))
    out.edges.sort()
    return out


def signals(store: GraphStore, ids: Iterable[str], start: float, end: float) -> Signals:
    """The signals of ``ids`` overlapping [start, end] (the statement the service ranks from)."""
    out = Signals()
    kinds = {"anomaly": out.anomalies, "event": out.events, "change": out.changes, "deviation": out.deviations}
    for row in store.read_plain(subgraph_cypher.SIGNALS_IN_WINDOW, ids=sorted(set(ids)), start=start, end=end):
        # a kind the ranking reads but the pictures do not draw (yet) is left out, not an error
        kinds.get(row["kind"], []).extend(row["items"])
    return out


def entity_index(store: GraphStore) -> list[EntityRef]:
    """Every entity (id, name, label), for the fuzzy search."""
    rows = store.read(views.ENTITY_INDEX)
    return sorted((EntityRef(r["id"], r["name"] or r["id"], r["label"]) for r in rows), key=lambda e: e.id)


def entity_neighbourhood(store: GraphStore, entity_id: str, hops: int) -> tuple[Neighbourhood, LocalGraph]:
    """The edges within ``hops`` of an entity, and the names of the entities they join."""
    near = neighbourhood(store, entity_id, hops)
    # structural edges only: the neighbourhood statement also walks the :Coverage nodes' CONCERNS links
    near.edges = [e for e in near.edges if e.type in STRUCTURAL]
    ids = {near.id} | {e.source_id for e in near.edges} | {e.target_id for e in near.edges}
    graph = local_graph(store, ids)
    graph.edges = sorted({(e.source_id, e.type, e.target_id) for e in near.edges})
    return near, graph


@dataclass
class GraphHealth:
    """The graph's own state and what the ingest wrote into it lately."""

    address: str
    agent: str
    schema_version: int
    latest_version: int
    counts: dict[str, int]
    ingest_last_hour: list[dict]
    last_syncs: list[dict]
    topology_changed_at: float | None


def graph_health(store: GraphStore, now: float | None = None) -> GraphHealth:
    """Server, schema version, node counts, ingest over the last hour, last sync per source."""
    now = time.time() if now is None else now
    info = store.check(required_version=None)
    counts = store.counts_by_label((*ENTITY_LABELS, *SIGNAL_LABELS, Label.COVERAGE, Label.INCIDENT))
    ingest = store.read(views.INGEST_SINCE, since=now - 3600.0)
    syncs: dict[str, dict] = {}
    for row in store.read(views.LAST_SYNCS):
        seen = syncs.setdefault(row["source"], {"source": row["source"], "last_seen": 0.0, "entities": 0})
        seen["last_seen"] = max(seen["last_seen"], row["last_seen"] or 0.0)
        seen["entities"] += row["entities"]
    clock = store.read(views.TOPOLOGY_CLOCK)
    return GraphHealth(
        info.address,
        info.agent,
        info.schema_version,
        migrations.LATEST_VERSION,
        counts,
        ingest,
        sorted(syncs.values(), key=lambda s: -s["last_seen"]),
        clock[0]["changed_at"] if clock else None,
    )
