"""Read-only statements behind Ask (rca/nlq): one named, parameterized statement per question kind.

Nothing here writes: the Ask layer runs every one of them in a read transaction
(``GraphStore.read_transaction``). Entity ids, times, limits and filters travel as parameters; a
label appears in the text only when it is picked from the closed ``ENTITY_LABELS`` enum, so no
question text ever reaches a statement. ``$all_entities`` is true when the question named no
entity (then ``$ids`` is ignored).
"""

from __future__ import annotations

from graph_schema.model import ENTITY_LABELS

# The names the entity linker matches words against: every entity with its label, technology and
# free-form attributes (a topology file may list `aliases` there).
_ENTITY_NAMES = """
MATCH (n:{label})
RETURN n.id AS id, n.name AS name, '{label}' AS label, n.technology AS technology, n.attrs AS attrs
"""
ENTITY_NAMES = "UNION ALL".join(_ENTITY_NAMES.format(label=label) for label in ENTITY_LABELS)

# Deploys and config changes in the window, newest first.
CHANGES = """
MATCH (c:Change)
WHERE c.at >= $start AND c.at <= $end AND ($all_entities OR c.entity_id IN $ids)
RETURN c.id AS id, c.entity_id AS entity_id, c.entity_label AS entity_label, c.at AS at,
       c.change_type AS change_type, c.description AS description
ORDER BY at DESC
LIMIT $limit
"""

# Metric anomalies that overlap the window (as the ranking's signal read judges overlap), strongest first.
ANOMALIES = """
MATCH (a:Anomaly)
WHERE a.onset <= $end AND coalesce(a.end, a.last_ts, a.onset) >= $start AND ($all_entities OR a.entity_id IN $ids)
RETURN a.id AS id, a.entity_id AS entity_id, a.entity_label AS entity_label, a.signal AS signal,
       a.family AS family, a.onset AS onset, a.end AS end, a.status AS status, a.direction AS direction,
       a.score AS score, a.value AS value, a.baseline AS baseline
ORDER BY score DESC
LIMIT $limit
"""

# Log signatures at warning or worse (syslog severity <= $max_severity) in the window, most lines first.
# One signature per entity and template id: the miner generalises a template's text as variants
# arrive and each :Event keeps the text it was written with, so grouping by text would split one
# template in two. Each bucket's text, class and time come back in step (`texts`, `classes`,
# `text_times`); the caller reads the latest (rca.nlq.answers). Events written without a template
# id group by their text.
ERROR_SIGNATURES = """
MATCH (e:Event)
WHERE e.last_ts >= $start AND e.first_ts <= $end AND e.severity <= $max_severity
  AND ($all_entities OR e.entity_id IN $ids)
WITH e.entity_id AS entity_id, coalesce(e.template_id, e.template) AS template_key,
     collect(e.template) AS texts, collect(e.signature_class) AS classes, collect(e.last_ts) AS text_times,
     sum(e.count) AS lines, min(e.first_ts) AS first_ts, max(e.last_ts) AS last_ts, min(e.severity) AS severity,
     collect(e.id) AS event_ids
RETURN entity_id, texts, classes, text_times, lines, first_ts, last_ts, severity, event_ids
ORDER BY lines DESC
LIMIT $limit
"""

# Stored incidents created in the window, newest first, optionally of some entities (among their
# symptoms or candidates). The status filter is '' (any), 'open', 'closed' or 'confirmed'.
INCIDENTS = """
MATCH (i:Incident)
WHERE i.created_at >= $start AND i.created_at <= $end
  AND ($all_entities OR any(x IN $ids WHERE x IN i.symptom_ids OR x IN i.candidate_ids))
  AND ($status = '' OR ($status = 'open' AND i.closed_at IS NULL) OR ($status = 'closed' AND i.closed_at IS NOT NULL)
       OR ($status = 'confirmed' AND i.confirmed_root_cause_id <> ''))
RETURN i.id AS id, i.created_at AS created_at, i.symptom_ids AS symptom_ids, i.top_candidate_id AS top_candidate_id,
       i.top_score AS top_score, i.confirmed_root_cause_id AS confirmed_root_cause_id, i.closed_at AS closed_at,
       i.embedding AS embedding
ORDER BY created_at DESC
LIMIT $limit
"""

# "Has this happened before": the newest incident of the entities with its embedding (compared with
# the confirmed incidents' by rca.service.incident_memory), and their earlier incidents.
LATEST_INCIDENT_EMBEDDING = """
MATCH (i:Incident)
WHERE any(x IN $ids WHERE x IN i.symptom_ids OR x IN i.candidate_ids)
RETURN i.id AS id, i.created_at AS created_at, i.embedding AS embedding
ORDER BY created_at DESC
LIMIT 1
"""

# The structural edges, read with the entity names and kept as long as they are (the Ask layer walks
# them in memory: one variable-length pattern per question cost ArcadeDB tens of milliseconds on a
# 66-entity estate, this read a few milliseconds once per refresh).
STRUCTURE_EDGES = """
MATCH (a)-[r:CALLS|DEPENDS_ON|RUNS_ON|INSTANCE_OF]->(b)
RETURN a.id AS source, type(r) AS relation, b.id AS target
"""
