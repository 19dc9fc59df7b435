"""Statements the metrics topology sync needs beyond the topology module."""

from __future__ import annotations

from graph_schema.model import ENTITY_LABELS, TOPOLOGY_RELATIONS, Label, Relation

_COUNT_ACTIVE_OF_SOURCE = """
MATCH (n:{label})
WHERE $source IN n.sources AND n.status = 'active'
RETURN count(n) AS count
"""

COUNT_ACTIVE_OF_SOURCE: dict[Label, str] = {
    label: _COUNT_ACTIVE_OF_SOURCE.format(label=label) for label in ENTITY_LABELS
}

_EDGE_PROPERTIES = """
MATCH (a:{source} {{id: $source_id}})-[r:{type}]->(b:{target} {{id: $target_id}})
RETURN properties(r) AS props
"""

_ENTITY_PROPERTIES = """
MATCH (n:{label} {{id: $id}})
RETURN properties(n) AS props
"""

EDGE_PROPERTIES: dict[Relation, str] = {
    rel: _EDGE_PROPERTIES.format(source=rel.source, type=rel.type, target=rel.target) for rel in TOPOLOGY_RELATIONS
}
ENTITY_PROPERTIES: dict[Label, str] = {label: _ENTITY_PROPERTIES.format(label=label) for label in ENTITY_LABELS}
