"""What the learned model keeps with an incident and reads back: embedding, structure, confirmations.

The embedding (the model's vector of the incident) and the structure snapshot (the subgraph's
edges, packed JSON) are stored with the incident (incidents.CREATE_INCIDENTS) next to the feature
snapshot, so confirmed incidents can be found as similar cases and used for fine-tuning after
the estate has changed.
"""

# Confirmed incidents with an embedding, for the similar-incidents lookup.
CONFIRMED_EMBEDDINGS = """
MATCH (i:Incident)
WHERE i.confirmed_root_cause_id <> '' AND i.embedding IS NOT NULL
RETURN i.id AS id, i.created_at AS created_at, i.embedding AS embedding,
       i.confirmed_root_cause_id AS root_cause_id, i.symptoms_json AS symptoms_json
ORDER BY created_at DESC
LIMIT $limit
"""

# Confirmed incidents with everything fine-tuning needs (graph_schema/incident_snapshots.py reads the snapshots).
CONFIRMED_FOR_TRAINING = """
MATCH (i:Incident)
WHERE i.confirmed_root_cause_id <> '' AND i.created_at >= $since
RETURN i.id AS id, i.created_at AS created_at, i.features_packed AS features_packed, i.edges_packed AS edges_packed,
       i.confirmed_root_cause_id AS root_cause_id, i.feedback_json AS feedback_json
ORDER BY created_at
"""
