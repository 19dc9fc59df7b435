"""`rca demo` replays the bundled incident through the real ingest and diagnoses it over gRPC."""

from __future__ import annotations

import re

from graph_schema.connection import open_graph
from graph_schema.cypher import anomalies as anomaly_cypher
from graph_schema.cypher import events as event_cypher
from settings.graph import GraphSettings
from tests.integration.cli import rca

PASSWORD = "demo-password"
STEP_S = 15.0  # the metrics poll's step: the detector can date an onset no finer than this


def test_demo_replays_the_incident_through_ingest_and_prints_the_root_cause_path(tmp_path):
    env = {"NEO4J_URI": "", "NEO4J_PASSWORD": PASSWORD, "RCA_GRAPH__HEAP": "1g"}
    done = rca("--data-dir", str(tmp_path / "graph"), "demo", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # what the ingest stages did
    assert (
        "syslog ingest: 894 lines sent, parsed 894 (441 rfc5424, 453 rfc3164), 0 dead-lettered; 6 templates mined"
        in out
    )
    assert re.search(r"connection +FATAL: sorry, too many clients already", out)
    assert re.search(r"change/config +LOG: parameter \"max_connections\" changed to \"<\*>\"", out)
    assert re.search(
        r"metrics: 10 series, \d+ samples, judged by the anomaly detector in 60 polls 30 s apart; 7 anomalies", out
    )
    # the diagnosis
    assert "#1 postgres-payments [Datastore postgres-payments]" in out
    assert "path to checkout" in out and "postgres-payments --DEPENDS_ON (reverse)--> payment" in out
    assert "payment --CALLS (reverse)--> checkout" in out
    assert 'config: LOG:  parameter "max_connections" changed to "20"' in out  # the change shows up as evidence
    assert "ads 3.2.0" not in out  # a change outside the window is not evidence
    assert "true root cause postgres-payments is ranked #1" in out
    # the question asked at the end, over gRPC (Ask), about the moment of the alert
    assert 'asking the service (Ask): "what changed in the last hour"' in out
    answer = out.split("asking the service (Ask)")[1]
    # A moment on another day than the question's carries its date ("Dec 6 23:26"): a run that crosses midnight.
    moment = r"(?:[A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d"
    assert re.search(
        rf"1 change between {moment} and {moment} UTC, newest first: config on postgres-payments at {moment}", answer
    )
    assert 'max_connections" changed to "20"' in answer and '("in the last hour")' in answer
    assert not re.search(r"\bads\b", answer)  # the ads deploy, 90 minutes before the alert, is outside the hour
    assert "(changes, understood by rules;" in answer

    graph = GraphSettings(password=PASSWORD, data_dir=tmp_path / "graph", heap="1g")
    with open_graph(graph) as store:
        changes = store.read(event_cypher.CHANGES_OF_ENTITY, entity_id="postgres-payments")
        events = store.read(event_cypher.EVENTS_OF_ENTITY, entity_id="postgres-payments")
        anomalies = {
            (label, eid): store.read(anomaly_cypher.ANOMALIES_OF_ENTITY, entity_id=eid, entity_label=label)
            for label, eid in (
                ("Datastore", "postgres-payments"),
                ("Service", "payment"),
                ("Service", "recommendation"),
                ("Service", "cart"),
                ("Service", "catalog"),
                ("Service", "checkout"),
            )
        }
        concerns = store.read(event_cypher.EVENT_CONCERNS, event_id=events[0]["id"])

    # The config change came out of the syslog classes, dated by the line's own timestamp.
    [change] = changes
    assert change["change_type"] == "config" and 'max_connections" changed to "20"' in change["description"]
    alert_at = change["at"] + 420  # the file puts the change 420 s before the alert

    # Events are the pipeline's aggregates: Drain3 template ids, 60 s buckets, counts adding up to the lines sent.
    refused = [e for e in events if "too many clients" in e["template"]]
    assert sum(e["count"] for e in refused) == 412
    assert len(refused) >= 7  # 390 s of lines fall into 7 or 8 one-minute buckets
    assert all(re.fullmatch(r"[0-9a-f]{8}-\d+", e["template_id"]) for e in refused)
    assert {e["signature_class"] for e in refused} == {"connection"} and {e["severity"] for e in refused} == {3}
    assert all(
        e["bucket"] % 60 == 0 and alert_at - 391 <= e["first_ts"] <= e["last_ts"] <= alert_at + 1 for e in refused
    )
    assert {e["entity_label"] for e in events} == {"Datastore"} and concerns[0]["id"] == "postgres-payments"

    # Anomalies are the detector's: onset estimated within a step of the injected change, baseline estimated.
    [saturation] = [r["anomaly"] for r in anomalies[("Datastore", "postgres-payments")]]
    assert saturation["signal"] == "db_connections_used" and saturation["source"] == "demo"
    assert abs(saturation["onset"] - (alert_at - 400)) <= STEP_S
    assert abs(saturation["baseline"] - 0.32) < 0.05 and saturation["score"] >= 6 and saturation["status"] == "open"
    assert saturation["baseline_scale"] > 0
    payment = {r["anomaly"]["signal"]: r["anomaly"] for r in anomalies[("Service", "payment")]}
    assert set(payment) == {"latency_p99", "error_ratio"}
    assert abs(payment["error_ratio"]["onset"] - (alert_at - 310)) <= STEP_S
    assert abs(payment["latency_p99"]["onset"] - (alert_at - 330)) <= 2 * STEP_S  # a 90 s ramp: dated to its start
    [blip] = [r["anomaly"] for r in anomalies[("Service", "recommendation")]]
    assert blip["status"] == "closed" and abs(blip["end"] - (alert_at - 1380)) <= 2 * STEP_S
    # quiet series stay quiet; checkout's request rate never moved
    assert not anomalies[("Service", "cart")] and not anomalies[("Service", "catalog")]
    assert {r["anomaly"]["signal"] for r in anomalies[("Service", "checkout")]} == {"latency_p99", "error_ratio"}
