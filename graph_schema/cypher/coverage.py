"""Statements about :Coverage, what is monitored: one node per entity and signal family (or logs).

Rows come from ``graph_schema.coverage.coverage_rows``. Merging is commutative (the span only
widens, or restarts after a pause longer than ``holds_s``), so batches may land in any order and
twice. Only entities the graph holds get coverage: a row for an unknown entity is skipped, and the
writer's next refresh records it once the entity exists.
"""

from __future__ import annotations

from graph_schema.model import ENTITY_LABELS, Label

# `resumed` is worked out before any SET, so the order in which a server applies SET items does not matter.
_UPSERT_COVERAGE = """
UNWIND $rows AS row
MATCH (e:{label} {{id: row.entity_id}})
MERGE (c:Coverage {{id: row.id}})
ON CREATE SET c.entity_id = row.entity_id, c.entity_label = '{label}', c.family = row.family,
              c.first_seen = row.first_seen, c.last_seen = row.last_seen, c.holds_s = row.holds_s
WITH row, e, c, row.first_seen > c.last_seen + c.holds_s AS resumed
SET c.first_seen = CASE WHEN resumed OR row.first_seen < c.first_seen THEN row.first_seen ELSE c.first_seen END,
    c.last_seen = CASE WHEN row.last_seen > c.last_seen THEN row.last_seen ELSE c.last_seen END,
    c.holds_s = row.holds_s, c.source = $source
MERGE (c)-[:CONCERNS]->(e)
"""

UPSERT_COVERAGE: dict[Label, str] = {label: _UPSERT_COVERAGE.format(label=label) for label in ENTITY_LABELS}

# Every coverage span, for the service's in-memory copy (rca.service.topology_cache); without one
# the subgraph fetch reads the window's coverage with the signals (subgraph.SIGNALS_AND_COVERAGE_IN_WINDOW).
ALL_COVERAGE = """
MATCH (c:Coverage)
RETURN c.entity_id AS entity_id, c.family AS family, c.first_seen AS first_seen, c.last_seen AS last_seen,
       c.holds_s AS holds_s
"""

# For tools and tests: every coverage span of some entities.
COVERAGE_OF_ENTITIES = """
MATCH (c:Coverage) WHERE c.entity_id IN $ids
RETURN c.entity_id AS entity_id, c.entity_label AS entity_label, c.family AS family,
       c.first_seen AS first_seen, c.last_seen AS last_seen, c.holds_s AS holds_s, c.source AS source
ORDER BY entity_id, family
"""
