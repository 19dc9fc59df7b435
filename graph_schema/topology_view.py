"""Read-only views of the topology: an estate summary and the neighbourhood of one entity."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from graph_schema.cypher import topology as cypher
from graph_schema.model import ENTITY_LABELS, TOPOLOGY_RELATIONS, Label, RelType
from graph_schema.store import GraphStore


@dataclass
class TopologySummary:
    """Counts per label and relation, and each service's outgoing calls."""

    entities: dict[str, int] = field(default_factory=dict)
    stale_entities: int = 0
    edges: Counter = field(default_factory=Counter)
    calls: dict[str, list[str]] = field(default_factory=dict)  # service -> what it calls or depends on
    instances: dict[str, int] = field(default_factory=dict)
    hosts_of: dict[str, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class EdgeView:
    """One edge of a neighbourhood."""

    source_id: str
    source_label: str
    type: str
    target_id: str
    target_label: str
    status: str | None


@dataclass
class Neighbourhood:
    """An entity and the edges within N hops of it."""

    id: str
    label: str
    name: str
    hops: int
    edges: list[EdgeView]


class EntityNotFound(LookupError):
    """No entity has that id or name."""


def summarize(store: GraphStore) -> TopologySummary:
    """Counts and call lists for the whole estate."""
    summary = TopologySummary()

    def read_all(tx):
        entities = {label: [r.data() for r in tx.run(cypher.ALL_ENTITIES[label])] for label in ENTITY_LABELS}
        edges = {rel: [r.data() for r in tx.run(cypher.ALL_EDGES[rel])] for rel in TOPOLOGY_RELATIONS}
        return entities, edges

    entities, edges = store.read_transaction(read_all)
    for label, rows in entities.items():
        summary.entities[str(label)] = len(rows)
        summary.stale_entities += sum(1 for r in rows if r["status"] == "stale")
    instance_host: dict[str, str] = {}
    for rel, rows in edges.items():
        summary.edges[str(rel.type)] += len(rows)
        for row in rows:
            if rel.type in (RelType.CALLS, RelType.DEPENDS_ON):
                summary.calls.setdefault(row["source_id"], []).append(row["target_id"])
            elif rel.type == RelType.RUNS_ON and rel.source == Label.INSTANCE:
                instance_host[row["source_id"]] = row["target_id"]
    for row in edges.get(_relation(RelType.INSTANCE_OF), []):
        service = row["target_id"]
        summary.instances[service] = summary.instances.get(service, 0) + 1
        if row["source_id"] in instance_host:
            summary.hosts_of.setdefault(service, set()).add(instance_host[row["source_id"]])
    for service in (r["id"] for r in entities[Label.SERVICE]):
        summary.calls.setdefault(service, [])
    return summary


def _relation(rel_type: RelType):
    return next(rel for rel in TOPOLOGY_RELATIONS if rel.type == rel_type)


def find_entity(store: GraphStore, key: str) -> dict:
    """The entity whose id (or else name) is ``key``; raise EntityNotFound."""
    matches = [row for label in ENTITY_LABELS for row in store.read(cypher.FIND_ENTITY[label], key=key)]
    exact = [row for row in matches if row["id"] == key]
    if exact or matches:
        return (exact or matches)[0]
    raise EntityNotFound(f"no entity has id or name '{key}'")


def neighbourhood(store: GraphStore, key: str, hops: int = 1) -> Neighbourhood:
    """The edges within ``hops`` of the entity named by ``key`` (1 to MAX_HOPS)."""
    if not 1 <= hops <= cypher.MAX_HOPS:
        raise ValueError(f"hops must be between 1 and {cypher.MAX_HOPS}, not {hops}")
    entity = find_entity(store, key)
    label = Label(entity["label"])
    rows = store.read(cypher.NEIGHBOURHOOD_EDGES[label][hops], id=entity["id"])
    edges = sorted((EdgeView(**row) for row in rows), key=lambda e: (e.type, e.source_id, e.target_id))
    return Neighbourhood(entity["id"], entity["label"], entity["name"], hops, edges)
