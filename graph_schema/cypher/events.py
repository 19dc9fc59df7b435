"""Statements for log-derived signals: :Event aggregates, :Change nodes and the entities they concern.

Labels come only from the closed ``Label`` enum (the entity labels logs can map to); every value
travels as a parameter.
"""

from graph_schema.model import Label

LOG_ENTITY_LABELS = (Label.HOST, Label.INSTANCE, Label.SERVICE, Label.DATASTORE)

# An entity the graph knows is only touched (last_seen moves forward); an unknown one is created
# as discovered from logs.
_ENSURE_ENTITY = """
MERGE (n:{label} {{id: row.entity_id}})
ON CREATE SET n.name = row.entity_name, n.kind = row.kind, n.source = 'logs', n.discovered_from = 'logs',
              n.sources = ['logs'], n.status = 'active', n.first_seen = row.first_ts, n.last_seen = row.last_ts
ON MATCH SET n.last_seen = CASE WHEN n.last_seen IS NULL OR n.last_seen < row.last_ts
                                THEN row.last_ts ELSE n.last_seen END
"""

# Counts add up, first/last widen, the most severe (lowest) severity wins: merging is
# commutative, so buffered batches may be written in any order. A row's count is added once per
# write token (row.batch): the Event keeps the tokens of the last TOKENS_KEPT batches that added
# to it (e.batches), so a batch written again after a lost commit acknowledgement finds its own
# token and adds nothing, even when other workers' batches added to the same Event meanwhile.
# `added_before` is worked out before any SET, so the order in which a server applies the SET
# items does not matter. Rows without a token always add.
TOKENS_KEPT = 16
_UPSERT_EVENTS = (
    "UNWIND $rows AS row"
    + _ENSURE_ENTITY
    + """
MERGE (e:Event {{id: row.id}})
ON CREATE SET e.entity_id = row.entity_id, e.entity_label = row.entity_label, e.template_id = row.template_id,
              e.template = row.template, e.bucket = row.bucket, e.bucket_seconds = row.bucket_seconds,
              e.count = 0, e.first_ts = row.first_ts, e.last_ts = row.last_ts,
              e.severity = row.severity, e.signature_class = row.signature_class, e.sample = row.sample,
              e.source = 'logs'
WITH row, n, e, row.batch IS NOT NULL AND row.batch IN coalesce(e.batches, []) AS added_before
SET e.count = CASE WHEN added_before THEN e.count ELSE e.count + row.count END,
    e.batches = CASE WHEN added_before OR row.batch IS NULL THEN e.batches
                     ELSE (coalesce(e.batches, []) + row.batch)[-{kept}..] END,
    e.template = row.template,
    e.first_ts = CASE WHEN row.first_ts < e.first_ts THEN row.first_ts ELSE e.first_ts END,
    e.last_ts = CASE WHEN row.last_ts > e.last_ts THEN row.last_ts ELSE e.last_ts END,
    e.severity = CASE WHEN row.severity < e.severity THEN row.severity ELSE e.severity END
MERGE (e)-[:CONCERNS]->(n)
"""
)

_UPSERT_CHANGES = (
    "UNWIND $rows AS row"
    + _ENSURE_ENTITY
    + """
MERGE (c:Change {{id: row.id}})
ON CREATE SET c.entity_id = row.entity_id, c.entity_label = row.entity_label, c.at = row.at,
              c.change_type = row.change_type, c.description = row.description, c.source = 'logs'
MERGE (c)-[:CONCERNS]->(n)
"""
)

# Schema migration 4: earlier versions kept one token per Event (`e.batch`, the batch that last
# added to it). It becomes the oldest of `e.batches` (dropped if TOKENS_KEPT newer ones are there
# already) and goes. $limit Events per run; run until it rewrites none.
MOVE_SINGLE_BATCH_TOKENS = """
MATCH (e:Event)
WHERE e.batch IS NOT NULL
WITH e LIMIT $limit
SET e.batches = CASE WHEN e.batch IN coalesce(e.batches, []) OR size(coalesce(e.batches, [])) >= $kept
                     THEN e.batches ELSE [e.batch] + coalesce(e.batches, []) END
REMOVE e.batch
RETURN count(e) AS rewritten
"""

# Schema migration 6: template texts of earlier versions named their masks (<NUM>, <HOST>); they
# are read a page of $limit Events at a time (ids after $after) and rewritten where they change.
EVENT_TEMPLATES_AFTER = """
MATCH (e:Event)
WHERE e.id > $after
RETURN e.id AS id, e.template AS template
ORDER BY id
LIMIT $limit
"""

SET_EVENT_TEMPLATES = """
UNWIND $rows AS row
MATCH (e:Event {id: row.id})
SET e.template = row.template
"""

UPSERT_EVENTS: dict[Label, str] = {
    label: _UPSERT_EVENTS.format(label=label, kept=TOKENS_KEPT) for label in LOG_ENTITY_LABELS
}
UPSERT_CHANGES: dict[Label, str] = {label: _UPSERT_CHANGES.format(label=label) for label in LOG_ENTITY_LABELS}

FIND_ENTITY_IDS: dict[Label, str] = {
    label: f"UNWIND $keys AS key MATCH (n:{label} {{id: key}}) RETURN key, n.id AS id" for label in LOG_ENTITY_LABELS
}
FIND_ENTITY_IDS_BY_NAME: dict[Label, str] = {
    label: f"UNWIND $keys AS key MATCH (n:{label}) WHERE n.name = key RETURN key, n.id AS id"
    for label in LOG_ENTITY_LABELS
}

EVENTS_OF_ENTITY = """
MATCH (e:Event)
WHERE e.entity_id = $entity_id
RETURN e.id AS id, e.entity_label AS entity_label, e.template_id AS template_id, e.template AS template,
       e.bucket AS bucket, e.count AS count, e.first_ts AS first_ts, e.last_ts AS last_ts,
       e.severity AS severity, e.signature_class AS signature_class, e.sample AS sample
ORDER BY bucket, template_id
"""

EVENT_CONCERNS = """
MATCH (e:Event {id: $event_id})-[:CONCERNS]->(n)
RETURN n.id AS id, n.source AS source, n.discovered_from AS discovered_from, n.kind AS kind,
       n.last_seen AS last_seen
"""

CHANGES_OF_ENTITY = """
MATCH (c:Change)-[:CONCERNS]->(n)
WHERE c.entity_id = $entity_id
RETURN c.id AS id, c.at AS at, c.change_type AS change_type, c.description AS description, n.id AS concerns
ORDER BY at
"""

EVENT_COUNT_BY_PREFIX = """
MATCH (e:Event)
WHERE e.entity_id STARTS WITH $prefix
RETURN count(e) AS events, sum(e.count) AS lines
"""

EVENT_TOTALS = "MATCH (e:Event) RETURN count(e) AS events, sum(e.count) AS lines"
