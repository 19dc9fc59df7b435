"""Signal and estate writes against the real graph: CONCERNS links, idempotence, bad labels, windows."""

from __future__ import annotations

import itertools

import pytest

from graph_schema.cypher import subgraph as cypher
from tests.support import signal_writes


def test_signals_are_linked_to_their_entity_and_replays_change_nothing(store, unique_prefix):
    db, api = f"{unique_prefix}db", f"{unique_prefix}api"
    signal_writes.write_entities(
        store,
        [
            {"id": db, "label": "Datastore", "name": "orders-db", "technology": "postgres"},
            {"id": api, "label": "Service", "name": "api"},
        ],
        now=1000.0,
    )
    signal_writes.write_edges(
        store,
        [{"source": api, "source_label": "Service", "target": db, "target_label": "Datastore", "type": "DEPENDS_ON"}],
        now=1000.0,
    )
    anomaly = {
        "entity_id": db,
        "entity_label": "Datastore",
        "signal": "connections",
        "family": "saturation",
        "onset": 5000.0,
        "last_ts": 6500.0,
        "score": 7.5,
    }
    event = {
        "entity_id": db,
        "entity_label": "Datastore",
        "template": "too many clients",
        "signature_class": "connection",
        "count": 12,
        "first_ts": 5010.0,
        "last_ts": 5100.0,
        "severity": 2,
    }
    change = {"entity_id": api, "entity_label": "Service", "at": 4900.0, "change_type": "deploy", "description": "v2"}
    for _ in range(2):
        signal_writes.write_anomalies(store, [anomaly])
        signal_writes.write_events(store, [event])
        signal_writes.write_changes(store, [change])

    linked = store.read(
        "MATCH (s)-[:CONCERNS]->(e:Datastore {id: $id}) RETURN labels(s)[0] AS label, s.entity_label AS entity_label",
        id=db,
    )
    assert sorted(r["label"] for r in linked) == ["Anomaly", "Event"]
    assert {r["entity_label"] for r in linked} == {"Datastore"}

    def kinds(ids, start, end):  # one row per kind, its signals collected (Neo4j also returns empty ones, ArcadeDB not)
        rows = store.read(cypher.SIGNALS_IN_WINDOW, ids=ids, start=start, end=end)
        return {r["kind"]: r["items"] for r in rows if r["items"]}

    found = kinds([db, api], 4800.0, 5200.0)
    assert {kind: len(items) for kind, items in found.items()} == {"anomaly": 1, "change": 1, "event": 1}
    assert found["event"][0]["count"] == 12 and found["change"][0]["entity_id"] == api
    # Later, only the still-open anomaly overlaps the window; the event and the change are over.
    assert {kind: len(items) for kind, items in kinds([db, api], 6000.0, 7000.0).items()} == {"anomaly": 1}
    closed = {**anomaly, "signal": "closed", "onset": 5500.0, "end": 5600.0, "last_ts": 5600.0}
    abandoned = {**anomaly, "signal": "abandoned", "onset": 5400.0, "last_ts": 5450.0}  # open, detector silent since
    signal_writes.write_anomalies(store, [closed, abandoned])
    assert [a["signal"] for a in kinds([db], 5700.0, 5800.0)["anomaly"]] == ["connections"]
    assert set(found["anomaly"][0]) == {
        "entity_id",
        "signal",
        "family",
        "onset",
        "end",
        "direction",
        "score",
        "value",
        "baseline",
    }  # what the engine reads, nothing else


def test_neighbourhood_statement_walks_hops_and_resolves_names(store, unique_prefix):
    ids = [f"{unique_prefix}s{i}" for i in range(4)]
    signal_writes.write_entities(store, [{"id": i, "label": "Service", "name": f"{i}-name"} for i in ids])
    signal_writes.write_edges(
        store,
        [
            {"source": a, "source_label": "Service", "target": b, "target_label": "Service", "type": "CALLS"}
            for a, b in itertools.pairwise(ids)
        ],
    )
    for hops, expected in ((0, ids[:1]), (1, ids[:2]), (2, ids[:3]), (3, ids)):
        rows = store.read(cypher.neighbourhood(hops), keys=[f"{ids[0]}-name"])
        assert sorted({r["id"] for r in rows}) == expected
        assert {r["seed"] for r in rows} == {ids[0]}
    out = {r["id"]: r["out"] for r in store.read(cypher.neighbourhood(1), keys=[ids[1]])}
    assert out[ids[1]] == [["CALLS", ids[2]]]


def test_unknown_labels_and_relations_are_refused_before_writing(store):
    with pytest.raises(signal_writes.UnknownLabel, match="Pod"):
        signal_writes.write_entities(store, [{"id": "x", "label": "Pod"}])
    with pytest.raises(signal_writes.UnknownLabel, match="Host"):
        signal_writes.write_edges(
            store, [{"source": "h", "source_label": "Host", "target": "s", "target_label": "Service", "type": "CALLS"}]
        )
    with pytest.raises(signal_writes.UnknownLabel, match="Anomaly"):
        signal_writes.write_anomalies(
            store,
            [
                {
                    "entity_id": "x",
                    "entity_label": "Anomaly",
                    "signal": "s",
                    "family": "errors",
                    "onset": 1.0,
                    "score": 1.0,
                }
            ],
        )
