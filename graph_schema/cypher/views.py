"""Read-only statements of the incident dashboard: an incident's entities and edges, health figures.

Labels come from the closed enums of ``graph_schema.model``; every value travels as a parameter.
"""

from __future__ import annotations

from graph_schema.cypher.subgraph import STRUCTURAL_TYPES
from graph_schema.model import ENTITY_LABELS, Label

# The entities among $ids with the structural edges between them (one branch per label, so each
# lookup uses the label's id index); an entity without such edges comes back once with nulls.
_ENTITIES_AND_EDGES_AMONG = """
MATCH (a:{label}) WHERE a.id IN $ids
OPTIONAL MATCH (a)-[r:{types}]->(b) WHERE b.id IN $ids
RETURN a.id AS id, a.name AS name, '{label}' AS label, type(r) AS type, b.id AS target_id
"""

ENTITIES_AND_EDGES_AMONG = "UNION ALL".join(
    _ENTITIES_AND_EDGES_AMONG.format(label=label, types=STRUCTURAL_TYPES) for label in ENTITY_LABELS
)

# Every entity with its name and kind, the fuzzy search's index.
ENTITY_INDEX = "UNION ALL".join(
    f"""
MATCH (n:{label})
RETURN n.id AS id, n.name AS name, '{label}' AS label, n.kind AS kind, n.status AS status
"""
    for label in ENTITY_LABELS
)

# What the ingest wrote since $since: log lines counted into :Event buckets, anomalies opened, changes.
INGEST_SINCE = """
MATCH (e:Event) WHERE e.last_ts >= $since
RETURN 'log lines' AS what, sum(e.count) AS count, max(e.last_ts) AS latest
UNION ALL
MATCH (a:Anomaly) WHERE a.onset >= $since
RETURN 'anomalies' AS what, count(a) AS count, max(a.onset) AS latest
UNION ALL
MATCH (c:Change) WHERE c.at >= $since
RETURN 'changes' AS what, count(c) AS count, max(c.at) AS latest
"""

# Per source (the topology file, metrics discovery, logs), when it last asserted an entity: a
# reconcile refreshes last_seen on everything its source asserts, so this is its last sync.
LAST_SYNCS = "UNION ALL".join(
    f"""
MATCH (n:{label}) WHERE n.last_seen IS NOT NULL
UNWIND coalesce(n.sources, [n.source]) AS source
RETURN source, max(n.last_seen) AS last_seen, count(n) AS entities
"""
    for label in ENTITY_LABELS
)

TOPOLOGY_CLOCK = (
    f"MATCH (c:{Label.TOPOLOGY_CLOCK} {{id: 'topology'}}) RETURN c.generation AS generation, c.changed_at AS changed_at"
)
