"""Incidents: one :Incident per Infer with its symptoms, candidates and feature snapshot.

Structured parts are stored as JSON strings (both servers store them alike); the ids of the
symptom and candidate entities are also kept as lists so incidents can be listed per entity.
"""

# One statement stores a batch of incidents (the service's writer groups the incidents answered
# meanwhile into one transaction). MERGE on the unique id makes a retried batch harmless when the
# first attempt's commit landed but its acknowledgement was lost. The model's part (embedding,
# structure snapshot, model version) is null for an engine without a model. The two snapshots
# are packed JSON (graph_schema/incident_snapshots.py).
CREATE_INCIDENTS = """
UNWIND $rows AS row
MERGE (i:Incident {id: row.id})
ON CREATE SET i.created_at = row.created_at, i.window_start = row.window_start, i.window_end = row.window_end,
    i.symptoms_json = row.symptoms_json, i.candidates_json = row.candidates_json,
    i.features_packed = row.features_packed,
    i.explanation = row.explanation, i.versions_json = row.versions_json,
    i.symptom_ids = row.symptom_ids, i.candidate_ids = row.candidate_ids,
    i.top_candidate_id = row.top_candidate_id, i.top_score = row.top_score,
    i.embedding = row.embedding, i.edges_packed = row.edges_packed, i.model_version = row.model_version,
    i.unresolved_symptoms = row.unresolved_symptoms, i.similar_json = row.similar_json,
    i.feedback_json = '[]', i.confirmed_root_cause_id = ''
"""

GET_INCIDENT = "MATCH (i:Incident {id: $id}) RETURN i {.*} AS incident"

GET_FEEDBACK = "MATCH (i:Incident {id: $id}) RETURN i.feedback_json AS feedback_json"

SET_FEEDBACK = """
MATCH (i:Incident {id: $id})
SET i.feedback_json = $feedback_json, i.confirmed_root_cause_id = $confirmed_root_cause_id
RETURN i.id AS id
"""

# The first closure stays: closing a closed incident again changes nothing.
CLOSE_INCIDENT = """
MATCH (i:Incident {id: $id})
SET i.closed_at = coalesce(i.closed_at, $closed_at),
    i.closed_by = coalesce(i.closed_by, $closed_by),
    i.close_reason = coalesce(i.close_reason, $reason)
RETURN i.id AS id
"""

# Newest first; the entity filter matches symptoms or candidates ('' means any).
LIST_INCIDENTS = """
MATCH (i:Incident)
WHERE i.created_at >= $since
  AND ($entity_id = '' OR $entity_id IN i.symptom_ids OR $entity_id IN i.candidate_ids)
RETURN i.id AS id, i.created_at AS created_at, i.symptoms_json AS symptoms_json,
       i.top_candidate_id AS top_candidate_id, i.top_score AS top_score,
       i.confirmed_root_cause_id AS confirmed_root_cause_id, i.closed_at AS closed_at
ORDER BY created_at DESC
LIMIT $limit
"""

# Schema migration 4: the snapshots as stored, $limit incidents after id $after at a time, for
# incident_snapshots.current_form (whether they are current can only be told by unpacking them).
INCIDENT_SNAPSHOTS_AFTER = """
MATCH (i:Incident)
WHERE i.id > $after
RETURN i.id AS id, i.features_packed AS features_packed, i.edges_packed AS edges_packed,
       i.features_json AS features_json, i.edges_json AS edges_json
ORDER BY id
LIMIT $limit
"""

# Schema migration 4: the snapshots in their current form; the plain JSON of earlier versions goes.
SET_INCIDENT_SNAPSHOTS = """
UNWIND $rows AS row
MATCH (i:Incident {id: row.id})
SET i.features_packed = row.features_packed, i.edges_packed = row.edges_packed
REMOVE i.features_json, i.edges_json
"""
