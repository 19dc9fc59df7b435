"""Incidents: one :Incident per Infer with its symptoms, candidates and feature snapshot.

Structured parts are stored as JSON strings (both servers store them alike); the ids of the
symptom and candidate entities are also kept as lists so incidents can be listed per entity.
"""

CREATE_INCIDENT = """
CREATE (i:Incident {
    id: $id, created_at: $created_at, window_start: $window_start, window_end: $window_end,
    symptoms_json: $symptoms_json, candidates_json: $candidates_json, features_json: $features_json,
    explanation: $explanation, versions_json: $versions_json,
    symptom_ids: $symptom_ids, candidate_ids: $candidate_ids,
    top_candidate_id: $top_candidate_id, top_score: $top_score,
    feedback_json: '[]', confirmed_root_cause_id: ''
})
"""

GET_INCIDENT = "MATCH (i:Incident {id: $id}) RETURN i {.*} AS incident"

GET_FEEDBACK = "MATCH (i:Incident {id: $id}) RETURN i.feedback_json AS feedback_json"

SET_FEEDBACK = """
MATCH (i:Incident {id: $id})
SET i.feedback_json = $feedback_json, i.confirmed_root_cause_id = $confirmed_root_cause_id
RETURN i.id AS id
"""

# Newest first; the entity filter matches symptoms or candidates ('' means any).
LIST_INCIDENTS = """
MATCH (i:Incident)
WHERE i.created_at >= $since
  AND ($entity_id = '' OR $entity_id IN i.symptom_ids OR $entity_id IN i.candidate_ids)
RETURN i.id AS id, i.created_at AS created_at, i.symptoms_json AS symptoms_json,
       i.top_candidate_id AS top_candidate_id, i.top_score AS top_score,
       i.confirmed_root_cause_id AS confirmed_root_cause_id
ORDER BY created_at DESC
LIMIT $limit
"""
