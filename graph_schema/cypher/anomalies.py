"""Statements about :Anomaly signals: upsert (open, update, close) and reading back open ones."""

from __future__ import annotations

from graph_schema.model import ENTITY_LABELS, Label

# The entity is merged so an anomaly is linked even before the first topology sync; the sync of
# the same source then owns it (sources/status follow the reconcile conventions).
_UPSERT_ANOMALIES = """
UNWIND $rows AS row
MERGE (e:{label} {{id: row.entity_id}})
ON CREATE SET e.name = row.entity_id, e.kind = row.entity_kind, e.first_seen = row.seen, e.last_seen = row.seen,
    e.source = $source, e.sources = [$source], e.status = 'active', e.stale_since = null
MERGE (a:Anomaly {{id: row.id}})
ON CREATE SET a.entity_id = row.entity_id, a.entity_label = row.entity_label, a.signal = row.signal,
    a.family = row.family, a.onset = row.onset, a.direction = row.direction, a.source = $source,
    a.baseline_t0 = row.baseline_t0, a.baseline_level = row.baseline_level, a.baseline_slope = row.baseline_slope,
    a.baseline_scale = row.baseline_scale, a.baseline_horizon_s = row.baseline_horizon_s
SET a.last_ts = row.last_ts, a.end = row.end, a.status = row.status, a.score = row.score,
    a.value = row.value, a.baseline = row.baseline, a.updated_at = row.seen
MERGE (a)-[:CONCERNS]->(e)
"""

UPSERT_ANOMALIES: dict[Label, str] = {label: _UPSERT_ANOMALIES.format(label=label) for label in ENTITY_LABELS}

OPEN_ANOMALIES = """
MATCH (a:Anomaly)
WHERE a.status = 'open' AND a.source = $source
RETURN a.id AS id, a.entity_id AS entity_id, a.entity_label AS entity_label, a.signal AS signal,
    a.onset AS onset, a.direction AS direction, a.last_ts AS last_ts, a.score AS score, a.value AS value,
    a.baseline AS baseline, a.baseline_t0 AS baseline_t0, a.baseline_level AS baseline_level,
    a.baseline_slope AS baseline_slope, a.baseline_scale AS baseline_scale, a.baseline_horizon_s AS baseline_horizon_s
"""

ANOMALIES_OF_ENTITY = """
MATCH (a:Anomaly)
WHERE a.entity_id = $entity_id AND a.entity_label = $entity_label
RETURN a {.*} AS anomaly
ORDER BY a.onset
"""

ANOMALIES_BETWEEN = """
MATCH (a:Anomaly)-[:CONCERNS]->(e)
WHERE a.onset >= $start AND a.onset <= $end AND a.source = $source
RETURN a.entity_id AS entity_id, a.entity_label AS entity_label, a.signal AS signal, a.family AS family,
    a.onset AS onset, a.end AS end, a.status AS status, a.direction AS direction, a.score AS score, e.id AS linked_id
ORDER BY a.onset
"""
