"""Schema migration 4 against the real graph: data stored by earlier versions reads through today's readers.

The test writes incidents and events as earlier versions left them (raw Cypher), takes the graph
back to schema version 3, migrates, reads everything through the current readers, and checks
that migrating again changes nothing.
"""

from __future__ import annotations

import json

import pytest

from graph_schema import incident_snapshots as snapshots
from graph_schema import migrations
from graph_schema.cypher import meta
from graph_schema.cypher.events import TOKENS_KEPT
from graph_schema.model import Label
from ingest.syslog.aggregator import EntityRef
from rca.service.incidents import IncidentRecord, IncidentStore
from rca.service.stubs import pb
from rca.training.feedback import read_confirmed
from tests.integration.syslog_helpers import drained_event_rows, total_count, write_event_rows

VERSION = 4
NESTED = {"db": {"evidence": 0.9, "rule_datastore_unreachable_callers_timeout": 1.0}, "svc": {}, "h": {"evidence": 0.5}}
EDGES = [["svc", "db", "CALLS"], ["db", "h", "RUNS_ON"]]

# An :Incident as the writer of earlier versions stored it; the snapshot properties come as parameters.
CREATE_OLD_INCIDENT = """
CREATE (i:Incident {id: $id, created_at: $created_at, window_start: 0.0, window_end: 200.0,
                    symptoms_json: '[]', candidates_json: '[]', explanation: '', versions_json: '{}',
                    symptom_ids: ['svc'], candidate_ids: ['db'], top_candidate_id: 'db', top_score: 0.9,
                    feedback_json: '[]', confirmed_root_cause_id: 'db'})
SET i += $snapshots
"""
INCIDENTS = "MATCH (i:Incident) WHERE i.id STARTS WITH $prefix RETURN i.id AS id, i {.*} AS props ORDER BY id"
EVENTS = "MATCH (e:Event) WHERE e.entity_id = $entity RETURN e.id AS id, e {.*} AS props ORDER BY id"


def _old_incidents(prefix: str) -> dict[str, dict]:
    """Incident id -> its snapshot properties, one per form earlier versions stored."""
    return {
        # before packing: plain JSON (orjson, sorted keys), nested
        f"{prefix}plain": {"features_json": json.dumps(NESTED, sort_keys=True), "edges_json": json.dumps(EDGES)},
        # before packing, without a model: no structure snapshot
        f"{prefix}plain-no-model": {"features_json": json.dumps(NESTED)},
        # packed, nested (before the sparse form)
        f"{prefix}packed-nested": {
            "features_packed": snapshots.pack(json.dumps(NESTED)),
            "edges_packed": snapshots.pack(json.dumps(EDGES)),
        },
        # packed, the nested form of a ranker without a feature table
        f"{prefix}packed-empty": {"features_packed": snapshots.pack("{}")},
    }


def _as_version_3(store) -> None:
    store.write(meta.FORGET_MIGRATIONS_FROM, version=VERSION)
    assert migrations.current_version(store) == VERSION - 1


@pytest.fixture
def old_graph(store, unique_prefix):
    """Incidents and events of earlier versions, and one incident written by today's code."""
    old = _old_incidents(unique_prefix)
    for created_at, (incident_id, properties) in enumerate(old.items()):
        store.write(CREATE_OLD_INCIDENT, id=incident_id, created_at=float(created_at), snapshots=properties)
    current = IncidentRecord(
        pb.InferResponse(
            incident_id=f"{unique_prefix}current",
            window=pb.TimeWindow(start=0.0, end=200.0),
            candidates=[pb.Candidate(entity_id="db", entity_name="db", score=0.9, rank=1)],
        ),
        lambda: snapshots.encode_dict(NESTED),
    )
    IncidentStore(store).save([current])

    # Events: one token in `batch` only; `batch` beside a few newer tokens; `batch` beside TOKENS_KEPT newer ones.
    spooled: dict[str, list[dict]] = {}
    for name, newer in (("alone", 0), ("beside", 2), ("full", TOKENS_KEPT)):
        host = EntityRef(Label.HOST, f"{unique_prefix}{name}", f"{unique_prefix}{name}")
        rows = drained_event_rows(host, 5)
        write_event_rows(store, rows)
        store.write(
            "MATCH (e:Event {id: $id}) SET e.batch = $token, e.batches = null", id=rows[0]["id"], token=rows[0]["batch"]
        )
        for _ in range(newer):
            write_event_rows(store, drained_event_rows(host, 1))
        spooled[name] = rows
    return old, spooled


def test_data_of_earlier_versions_reads_through_the_current_readers_after_migration(store, unique_prefix, old_graph):
    old, spooled = old_graph
    current_before = store.read(INCIDENTS, prefix=f"{unique_prefix}current")
    with pytest.raises(ValueError, match="rca graph migrate"):  # today's readers refuse the old forms
        snapshots.features_of(store.read(INCIDENTS, prefix=f"{unique_prefix}packed-nested")[0]["props"])

    _as_version_3(store)
    assert migrations.migrate(store) == list(range(VERSION, migrations.LATEST_VERSION + 1))
    assert migrations.current_version(store) == migrations.LATEST_VERSION

    incidents = IncidentStore(store)
    for incident_id in (*old, f"{unique_prefix}current"):
        expected = {} if incident_id.endswith("packed-empty") else NESTED
        assert json.loads(incidents.get(incident_id, include_features=True).feature_snapshot_json) == expected
    confirmed = {row["id"]: row for row in read_confirmed(store) if row["id"].startswith(unique_prefix)}
    assert set(confirmed) == set(old)  # the one written today is not confirmed
    for incident_id, row in confirmed.items():
        has_edges = "edges_json" in old[incident_id] or "edges_packed" in old[incident_id]
        assert snapshots.edges_of(row) == (EDGES if has_edges else None)
    for row in store.read(INCIDENTS, prefix=unique_prefix):
        assert row["props"].get("features_json") is None and row["props"].get("edges_json") is None
    assert store.read(INCIDENTS, prefix=f"{unique_prefix}current") == current_before  # already current: untouched

    for name, rows in spooled.items():
        host = EntityRef(Label.HOST, f"{unique_prefix}{name}", f"{unique_prefix}{name}")
        event = store.read(EVENTS, entity=host.id)[0]["props"]
        assert event.get("batch") is None
        assert len(event["batches"]) == {"alone": 1, "beside": 3, "full": TOKENS_KEPT}[name]
        if name != "full":  # the oldest token, kept while fewer than TOKENS_KEPT newer ones are
            assert event["batches"][0] == rows[0]["batch"]
            before = total_count(store, host.id)
            write_event_rows(store, rows)  # the batch spooled by an earlier version, written again
            assert total_count(store, host.id) == before


def test_migrating_again_changes_nothing(store, unique_prefix, old_graph):
    _as_version_3(store)
    assert migrations.migrate(store) == list(range(VERSION, migrations.LATEST_VERSION + 1))
    incidents = store.read(INCIDENTS, prefix=unique_prefix)
    events = [store.read(EVENTS, entity=f"{unique_prefix}{name}") for name in ("alone", "beside", "full")]

    assert migrations.migrate(store) == []
    (migration,) = [m for m in migrations.MIGRATIONS if m.version == VERSION]
    assert [rewrite(store) for rewrite in migration.rewrites] == [0, 0]  # run by hand: nothing left to rewrite
    _as_version_3(store)
    assert migrations.migrate(store) == list(range(VERSION, migrations.LATEST_VERSION + 1))  # and once more as a whole
    assert store.read(INCIDENTS, prefix=unique_prefix) == incidents
    assert [store.read(EVENTS, entity=f"{unique_prefix}{name}") for name in ("alone", "beside", "full")] == events
