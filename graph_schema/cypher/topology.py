"""Statements that reconcile and read the topology: entities, their structural edges, neighbourhoods.

A statement that needs a label or relationship type is built once per member of the closed enums
in ``graph_schema.model``; callers index the dicts below, so no input ever reaches the text.
Every entity and edge carries ``sources``: the sources that currently assert it. A source that
stops asserting something removes itself; what no source asserts any more turns stale and is
retired (deleted) after a grace period.
"""

from __future__ import annotations

from graph_schema.model import ENTITY_LABELS, TOPOLOGY_RELATIONS, Label, Relation

MAX_HOPS = 6

_ADD_SOURCE = (
    "CASE WHEN $source IN coalesce({v}.sources, []) THEN {v}.sources ELSE coalesce({v}.sources, []) + $source END"
)

_UPSERT_ENTITIES = """
UNWIND $rows AS row
MERGE (n:{label} {{id: row.id}})
ON CREATE SET n.first_seen = $now, n.source = $source, n.kind = row.kind
SET n.name = coalesce(row.name, n.name, row.id), n.technology = coalesce(row.technology, n.technology),
    n.attrs = coalesce(row.attrs, n.attrs), n.last_seen = $now,
    n.status = 'active', n.stale_since = null, n.sources = """ + _ADD_SOURCE.format(v="n")

# The reconcile path knows, from what it just read in the same transaction, which entities are new
# and what every known one holds; so it CREATEs the new ones (the unique constraint still stops a
# racing duplicate) and SETs precomputed values on the rest. Both avoid reading properties inside
# the statement, which is what makes the generic upsert above several times slower on bulk loads.
_CREATE_ENTITIES = """
UNWIND $rows AS row
CREATE (n:{label} {{id: row.id, name: row.name, kind: row.kind, technology: row.technology, attrs: row.attrs,
                  first_seen: $now, last_seen: $now, source: $source, sources: [$source], status: 'active'}})
"""

_REFRESH_ENTITIES = """
UNWIND $rows AS row
MATCH (n:{label} {{id: row.id}})
SET n.name = row.name, n.technology = row.technology, n.attrs = row.attrs, n.last_seen = $now,
    n.status = 'active', n.stale_since = null, n.sources = row.sources
"""

_ENTITIES_OF_SOURCE = """
MATCH (n:{label})
WHERE $source IN coalesce(n.sources, []) OR n.id IN $ids
RETURN n.id AS id, n.name AS name, n.technology AS technology, n.attrs AS attrs,
       n.status AS status, n.stale_since AS stale_since, coalesce(n.sources, []) AS sources
"""

_DROP_ENTITY_SOURCE = """
UNWIND $rows AS row
MATCH (n:{label} {{id: row.id}})
SET n.sources = [s IN n.sources WHERE s <> $source]
"""

_MARK_ENTITIES_STALE = """
UNWIND $rows AS row
MATCH (n:{label} {{id: row.id}})
SET n.status = 'stale', n.stale_since = coalesce(n.stale_since, $now)
"""

# Retiring an entity takes its signals with it: they describe something that no longer exists.
_RETIRE_ENTITIES = """
UNWIND $rows AS row
MATCH (n:{label} {{id: row.id}})
OPTIONAL MATCH (signal)-[:CONCERNS]->(n)
DETACH DELETE signal, n
"""

_UPSERT_EDGES = """
UNWIND $rows AS row
MATCH (a:{source} {{id: row.source_id}})
MATCH (b:{target} {{id: row.target_id}})
MERGE (a)-[r:{type}]->(b)
ON CREATE SET r.first_seen = $now
SET r.last_seen = $now, r.status = 'active', r.stale_since = null,
    r.rate = coalesce(row.rate, r.rate), r.error_rate = coalesce(row.error_rate, r.error_rate),
    r.sources = """ + _ADD_SOURCE.format(v="r")

# Reconcile path for edges (see _CREATE_ENTITIES): edges this source already asserts get precomputed
# values; the rest are merged, since another source may hold the same edge already.
_MERGE_NEW_EDGES = (
    """
UNWIND $rows AS row
MATCH (a:{source} {{id: row.source_id}})
MATCH (b:{target} {{id: row.target_id}})
MERGE (a)-[r:{type}]->(b)
ON CREATE SET r.first_seen = $now, r.sources = [$source], r.rate = row.rate, r.error_rate = row.error_rate
ON MATCH SET r.sources = """
    + _ADD_SOURCE.format(v="r")
    + """,
    r.rate = coalesce(row.rate, r.rate), r.error_rate = coalesce(row.error_rate, r.error_rate)
SET r.last_seen = $now, r.status = 'active', r.stale_since = null
"""
)

# An edge with an end created in this same transaction cannot exist yet, and no other
# transaction can link to that uncommitted node: such edges are CREATEd, the fast way.
_CREATE_EDGES = """
UNWIND $rows AS row
MATCH (a:{source} {{id: row.source_id}})
MATCH (b:{target} {{id: row.target_id}})
CREATE (a)-[r:{type} {{first_seen: $now, last_seen: $now, sources: [$source], status: 'active',
                      rate: row.rate, error_rate: row.error_rate}}]->(b)
"""

_REFRESH_EDGES = """
UNWIND $rows AS row
MATCH (a:{source} {{id: row.source_id}})-[r:{type}]->(b:{target} {{id: row.target_id}})
SET r.last_seen = $now, r.status = 'active', r.stale_since = null, r.rate = row.rate, r.error_rate = row.error_rate
"""

_EDGES_OF_SOURCE = """
MATCH (a:{source})-[r:{type}]->(b:{target})
WHERE $source IN coalesce(r.sources, [])
RETURN a.id AS source_id, b.id AS target_id, r.status AS status, r.stale_since AS stale_since,
       coalesce(r.sources, []) AS sources, r.rate AS rate, r.error_rate AS error_rate
"""

_DROP_EDGE_SOURCE = """
UNWIND $rows AS row
MATCH (a:{source} {{id: row.source_id}})-[r:{type}]->(b:{target} {{id: row.target_id}})
SET r.sources = [s IN r.sources WHERE s <> $source]
"""

_MARK_EDGES_STALE = """
UNWIND $rows AS row
MATCH (a:{source} {{id: row.source_id}})-[r:{type}]->(b:{target} {{id: row.target_id}})
SET r.status = 'stale', r.stale_since = coalesce(r.stale_since, $now)
"""

_RETIRE_EDGES = """
UNWIND $rows AS row
MATCH (a:{source} {{id: row.source_id}})-[r:{type}]->(b:{target} {{id: row.target_id}})
DELETE r
"""

_FIND_ENTITY = """
MATCH (n:{label})
WHERE n.id = $key OR n.name = $key
RETURN n.id AS id, n.name AS name, labels(n)[0] AS label, n.status AS status
"""

_NEIGHBOURHOOD_EDGES = """
MATCH p = (n:{label} {{id: $id}})-[*1..{hops}]-(m)
WHERE NOT m:Event AND NOT m:Anomaly AND NOT m:Change AND NOT m:Incident
UNWIND relationships(p) AS r
WITH DISTINCT r
RETURN startNode(r).id AS source_id, labels(startNode(r))[0] AS source_label, type(r) AS type,
       endNode(r).id AS target_id, labels(endNode(r))[0] AS target_label, r.status AS status
"""

_ALL_ENTITIES = """
MATCH (n:{label})
RETURN n.id AS id, n.name AS name, n.technology AS technology, n.status AS status
ORDER BY id
"""

_ALL_EDGES = """
MATCH (a:{source})-[r:{type}]->(b:{target})
RETURN a.id AS source_id, b.id AS target_id, r.status AS status
"""


# The topology clock: one node whose generation every write through rca that changes entities or
# structural edges advances (inside the reconcile's transaction; right after signal_writes' upserts),
# so a reader holding a snapshot can ask "has anything changed?" with one indexed lookup instead of
# reading the whole topology again. Entities first seen in a log line or a metric are created
# without it: they have no edges until a sync gives them some, and a symptom naming one reloads.
ADVANCE_CLOCK = """
MERGE (c:TopologyClock {id: 'topology'})
SET c.generation = coalesce(c.generation, 0) + 1, c.changed_at = $now
"""

READ_CLOCK = "MATCH (c:TopologyClock {id: 'topology'}) RETURN c.generation AS generation"


def _per_label(template: str) -> dict[Label, str]:
    return {label: template.format(label=label) for label in ENTITY_LABELS}


def _per_relation(template: str) -> dict[Relation, str]:
    return {rel: template.format(source=rel.source, type=rel.type, target=rel.target) for rel in TOPOLOGY_RELATIONS}


UPSERT_ENTITIES = _per_label(_UPSERT_ENTITIES)
CREATE_ENTITIES = _per_label(_CREATE_ENTITIES)
REFRESH_ENTITIES = _per_label(_REFRESH_ENTITIES)
ENTITIES_OF_SOURCE = _per_label(_ENTITIES_OF_SOURCE)
DROP_ENTITY_SOURCE = _per_label(_DROP_ENTITY_SOURCE)
MARK_ENTITIES_STALE = _per_label(_MARK_ENTITIES_STALE)
RETIRE_ENTITIES = _per_label(_RETIRE_ENTITIES)
FIND_ENTITY = _per_label(_FIND_ENTITY)
ALL_ENTITIES = _per_label(_ALL_ENTITIES)

UPSERT_EDGES = _per_relation(_UPSERT_EDGES)
MERGE_NEW_EDGES = _per_relation(_MERGE_NEW_EDGES)
CREATE_EDGES = _per_relation(_CREATE_EDGES)
REFRESH_EDGES = _per_relation(_REFRESH_EDGES)
EDGES_OF_SOURCE = _per_relation(_EDGES_OF_SOURCE)
DROP_EDGE_SOURCE = _per_relation(_DROP_EDGE_SOURCE)
MARK_EDGES_STALE = _per_relation(_MARK_EDGES_STALE)
RETIRE_EDGES = _per_relation(_RETIRE_EDGES)
ALL_EDGES = _per_relation(_ALL_EDGES)

NEIGHBOURHOOD_EDGES = {
    label: {hops: _NEIGHBOURHOOD_EDGES.format(label=label, hops=hops) for hops in range(1, MAX_HOPS + 1)}
    for label in ENTITY_LABELS
}
