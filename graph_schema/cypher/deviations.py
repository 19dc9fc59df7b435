"""Statements about :Deviation, the per-bucket peaks of sub-threshold evidence (graph_schema.model).

A row's peak only raises the stored one: a bucket is written again by the next poll that judged
points in it, by a later replay, or by several series of one family, in any order.
"""

from __future__ import annotations

from graph_schema.model import ENTITY_LABELS, Label

# `higher` is worked out before any SET, so the order in which a server applies SET items does not matter.
_UPSERT_DEVIATION = """
UNWIND $rows AS row
MATCH (e:{label} {{id: row.entity_id}})
MERGE (d:Deviation {{id: row.id}})
ON CREATE SET d.entity_id = row.entity_id, d.entity_label = '{label}', d.family = row.family, d.at = row.at,
              d.peak = row.peak, d.signal = row.signal
WITH row, e, d, row.peak > d.peak AS higher
SET d.peak = CASE WHEN higher THEN row.peak ELSE d.peak END,
    d.signal = CASE WHEN higher THEN row.signal ELSE d.signal END,
    d.source = $source
MERGE (d)-[:CONCERNS]->(e)
"""

UPSERT_DEVIATION: dict[Label, str] = {label: _UPSERT_DEVIATION.format(label=label) for label in ENTITY_LABELS}

# For tools and tests: the deviation buckets of one entity, oldest first.
DEVIATIONS_OF_ENTITY = """
MATCH (d:Deviation) WHERE d.entity_id = $entity_id
RETURN d.family AS family, d.at AS at, d.peak AS peak, d.signal AS signal, d.source AS source
ORDER BY at, family
"""
