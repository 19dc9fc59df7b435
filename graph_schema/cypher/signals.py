"""Writes of signals (Anomaly, Event, Change) with their CONCERNS link.

Used by the fault simulator's graph writes, the demo's incident replay and the benchmarks
(entities and edges go through ``graph_schema.cypher.topology``'s upserts).
Every statement starts ``UNWIND $rows AS row`` (one batch per call). Labels and relationship
types come only from the closed enums of ``graph_schema.model``: the statement tables below are
built once from them, so no input ever reaches the statement text.
"""

from __future__ import annotations

from graph_schema.model import ENTITY_LABELS, Label

# The signal is merged by its deterministic id, so replaying the same rows twice changes nothing.
_UPSERT_ANOMALY = """
UNWIND $rows AS row
MATCH (e:{label} {{id: row.entity_id}})
MERGE (s:Anomaly {{id: row.id}})
SET s.entity_id = row.entity_id, s.entity_label = '{label}', s.signal = row.signal,
    s.family = row.family, s.onset = row.onset, s.last_ts = row.last_ts, s.end = row.end,
    s.status = row.status, s.direction = row.direction, s.score = row.score,
    s.value = row.value, s.baseline = row.baseline, s.source = row.source
MERGE (s)-[:CONCERNS]->(e)
"""

_UPSERT_EVENT = """
UNWIND $rows AS row
MATCH (e:{label} {{id: row.entity_id}})
MERGE (s:Event {{id: row.id}})
SET s.entity_id = row.entity_id, s.entity_label = '{label}', s.template_id = row.template_id,
    s.template = row.template, s.bucket = row.bucket, s.bucket_seconds = row.bucket_seconds,
    s.count = row.count, s.first_ts = row.first_ts, s.last_ts = row.last_ts,
    s.severity = row.severity, s.signature_class = row.signature_class, s.sample = row.sample
MERGE (s)-[:CONCERNS]->(e)
"""

_UPSERT_CHANGE = """
UNWIND $rows AS row
MATCH (e:{label} {{id: row.entity_id}})
MERGE (s:Change {{id: row.id}})
SET s.entity_id = row.entity_id, s.entity_label = '{label}', s.at = row.at,
    s.change_type = row.change_type, s.description = row.description, s.source = row.source
MERGE (s)-[:CONCERNS]->(e)
"""

UPSERT_ANOMALY: dict[Label, str] = {label: _UPSERT_ANOMALY.format(label=label) for label in ENTITY_LABELS}
UPSERT_EVENT: dict[Label, str] = {label: _UPSERT_EVENT.format(label=label) for label in ENTITY_LABELS}
UPSERT_CHANGE: dict[Label, str] = {label: _UPSERT_CHANGE.format(label=label) for label in ENTITY_LABELS}
