"""Metrics ingest and topology sync against a real Prometheus backfilled by promtool, and the real graph."""

from __future__ import annotations

import socket
import threading

import pytest
from neo4j.exceptions import ServiceUnavailable

from graph_schema.cypher import anomalies as anomaly_cypher
from graph_schema.cypher import deviations as deviation_cypher
from graph_schema.cypher import discovery as discovery_cypher
from graph_schema.model import DEVIATION_BUCKET_S, Label, RelType, topology_relation
from graph_schema.store import GraphStore
from ingest.metrics.anomaly_writer import AnomalyWriter
from ingest.metrics.backfill import backfill
from ingest.metrics.poll import MetricsPoller
from ingest.metrics.promql_templates import load_templates
from ingest.metrics.reader import PrometheusReader, PrometheusUnavailable
from ingest.topology.reconcile import reconcile
from ingest.topology.snapshot import EdgeRecord, EntityRecord, TopologySnapshot
from ingest.topology.sync import SyncRefused, sync_topology
from settings.ingest import MetricsSettings, SyncSettings
from tests.integration import metrics_estate
from tests.support.waiting import wait_until

STEP = metrics_estate.STEP


@pytest.fixture(scope="module")
def estate_prometheus(tmp_path_factory):
    """A real Prometheus on a loopback port holding the estate's three hours of history."""
    prometheus, estate = metrics_estate.start_prometheus(tmp_path_factory.mktemp("prometheus"))
    yield prometheus, estate
    prometheus.stop()


def _settings(url: str, prefix: str, **extra) -> MetricsSettings:
    return MetricsSettings(prometheus_url=url, entity_prefix=prefix, retries=1, backoff_s=0.1, **extra)


def _anomalies(store, label: Label, entity_id: str) -> list[dict]:
    rows = store.read(anomaly_cypher.ANOMALIES_OF_ENTITY, entity_id=entity_id, entity_label=str(label))
    return [row["anomaly"] for row in rows]


def _edge(store, rel: RelType, src: tuple[Label, str], dst: tuple[Label, str]) -> dict | None:
    relation = topology_relation(rel, src[0], dst[0])
    rows = store.read(discovery_cypher.EDGE_PROPERTIES[relation], source_id=src[1], target_id=dst[1])
    return rows[0]["props"] if rows else None


def _entity(store, label: Label, entity_id: str) -> dict | None:
    rows = store.read(discovery_cypher.ENTITY_PROPERTIES[label], id=entity_id)
    return rows[0]["props"] if rows else None


def test_fault_found_on_datastore_and_callers_only(estate_prometheus, store, unique_prefix):
    prometheus, estate = estate_prometheus
    settings = _settings(prometheus.url, unique_prefix)
    poller = MetricsPoller(PrometheusReader(settings), load_templates(), settings, AnomalyWriter(store))
    report = backfill(poller, estate.start + 80 * 60, estate.end, 300, progress=False)
    assert report.opened >= 2 and report.written >= 2
    # every shipped template is valid PromQL to a real Prometheus (those for absent exporters are just empty)
    assert report.bad.by_kind().get("rejected_template", 0) == 0, report.bad.problems()
    assert report.bad.by_kind().get("unmapped", 0) == 0, report.bad.problems()

    latency = _anomalies(store, Label.DATASTORE, f"{unique_prefix}orders-db")
    assert [(a["signal"], a["family"], a["direction"], a["status"]) for a in latency] == [
        ("latency_p99", "latency", "up", "open")
    ]
    assert abs(latency[0]["onset"] - estate.fault) <= STEP
    assert latency[0]["value"] > latency[0]["baseline"] + 0.05 and latency[0]["score"] >= settings.threshold

    errors = _anomalies(store, Label.SERVICE, f"{unique_prefix}checkout")
    assert [(a["signal"], a["family"]) for a in errors] == [("error_ratio", "errors")]
    assert abs(errors[0]["onset"] - estate.errors_from) <= STEP
    assert errors[0]["onset"] > latency[0]["onset"]  # the callers follow their datastore

    for label, healthy in (
        (Label.SERVICE, "frontend"),
        (Label.SERVICE, "payments"),
        (Label.SERVICE, "catalog"),
        (Label.DATASTORE, "catalog-cache"),
        (Label.HOST, "node-1"),
        (Label.HOST, "node-2"),
    ):
        assert _anomalies(store, label, f"{unique_prefix}{healthy}") == [], healthy

    # the deviations under and over the threshold: the datastore's latency from the fault on, its peak the anomaly's
    deviations = store.read(deviation_cypher.DEVIATIONS_OF_ENTITY, entity_id=f"{unique_prefix}orders-db")
    latency_buckets = [d for d in deviations if d["family"] == "latency"]
    assert latency_buckets and min(d["at"] for d in latency_buckets) >= estate.fault - DEVIATION_BUCKET_S
    assert max(d["peak"] for d in latency_buckets) >= latency[0]["score"] - 1e-3
    assert {d["signal"] for d in latency_buckets} == {"latency_p99"} and {d["source"] for d in deviations} == {
        "metrics"
    }
    quiet = store.read(deviation_cypher.DEVIATIONS_OF_ENTITY, entity_id=f"{unique_prefix}catalog-cache")
    assert len(quiet) <= 2, quiet  # noise rarely reaches the floor


def test_continuing_anomaly_is_updated_not_duplicated(estate_prometheus, store, unique_prefix):
    prometheus, estate = estate_prometheus
    settings = _settings(prometheus.url, unique_prefix)
    first = MetricsPoller(PrometheusReader(settings), load_templates(), settings, AnomalyWriter(store))
    backfill(first, estate.start + 80 * 60, estate.end - 10 * 60, 300, progress=False)
    before = _anomalies(store, Label.DATASTORE, f"{unique_prefix}orders-db")
    assert len(before) == 1 and before[0]["status"] == "open"

    # a new worker process picks the open anomaly up from the graph and carries it on
    second = MetricsPoller(PrometheusReader(settings), load_templates(), settings, AnomalyWriter(store))
    assert second.restore_open() >= 1
    report = second.poll(estate.end, fresh_from=estate.end - 10 * 60)
    after = _anomalies(store, Label.DATASTORE, f"{unique_prefix}orders-db")
    assert len(after) == 1 and after[0]["id"] == before[0]["id"]
    assert after[0]["last_ts"] > before[0]["last_ts"] and report.updated >= 1


def test_ended_anomaly_is_closed(estate_prometheus, store, unique_prefix):
    """An anomaly held longer than max_open_s is closed once, and its level becomes the baseline."""
    prometheus, estate = estate_prometheus
    settings = _settings(prometheus.url, unique_prefix, max_open_s=600.0)
    poller = MetricsPoller(PrometheusReader(settings), load_templates(), settings, AnomalyWriter(store))
    backfill(poller, estate.start + 80 * 60, estate.end, 300, progress=False)
    latency = _anomalies(store, Label.DATASTORE, f"{unique_prefix}orders-db")
    # held longer than max_open_s, the step is accepted as the new normal: closed, once, and not reopened
    assert [a["status"] for a in latency] == ["closed"]
    assert latency[0]["end"] is not None and latency[0]["end"] - latency[0]["onset"] >= 600


def test_bad_input_is_counted_and_named(estate_prometheus, tmp_path, unique_prefix):
    prometheus, estate = estate_prometheus
    signals = tmp_path / "signals.yaml"
    signals.write_text(
        "signals:\n"
        "  - {name: weird, family: saturation, query: 'weird_gauge', entity: otel_service}\n"
        "  - {name: raw_requests, family: traffic, kind: counter, query: 'raw_requests_total', entity: otel_service}\n"
        "  - {name: orphan, family: traffic, query: 'orphan_gauge', entity: otel_service}\n"
        "  - {name: broken, family: errors, query: 'sum(rate(raw_requests_total[1m])', entity: otel_service}\n"
        "  - {name: absent, family: errors, query: 'no_such_metric', entity: otel_service}\n"
        "  - {name: request_rate, family: traffic, "
        "query: 'sum by (server) (rate(traces_service_graph_request_total[1m]))', entity: servicegraph_server}\n"
    )
    templates = load_templates(signals=signals)
    settings = _settings(prometheus.url, unique_prefix)
    # the estate's bad series carry `service`, so map otel_service through that label for this test
    rules = dict(templates.rules)
    rules["otel_service"] = type(rules["otel_service"])("otel_service", "service", Label.SERVICE)
    templates = type(templates)(templates.signals, templates.edges, rules, templates.datastore_patterns)
    poller = MetricsPoller(PrometheusReader(settings), templates, settings)
    report = poller.poll(estate.end, fresh_from=estate.end - 3600)
    counts = dict(report.bad.counts)
    assert counts[("non_finite", f"weird{{{unique_prefix}catalog}}")] > 0
    assert counts[("counter_reset", f"raw_requests{{{unique_prefix}catalog}}")] == 1
    assert counts[("unmapped", "orphan")] == 1
    assert counts[("rejected_template", "broken")] == 1
    assert counts[("empty_template", "absent")] == 1
    assert "parse error" in report.bad.examples[("rejected_template", "broken")]
    # the rest of the poll went on
    assert report.series >= 6 and report.points > 0
    # a series that disappears between polls is reported by name
    fresh = MetricsPoller(PrometheusReader(settings), templates, settings)
    fresh.poll(estate.legacy_stops - 60)
    last = fresh.poll(estate.legacy_stops + 5 * 60)  # its last points (rate windows run on a minute)
    assert ("missing_series", f"request_rate{{{unique_prefix}legacy}}") not in last.bad.counts
    gone = fresh.poll(estate.legacy_stops + 10 * 60)
    assert gone.bad.counts[("missing_series", f"request_rate{{{unique_prefix}legacy}}")] == 1
    assert ("missing_series", f"request_rate{{{unique_prefix}checkout}}") not in gone.bad.counts


def test_discovery_reconciles_calls_placements_and_merges_with_yaml(estate_prometheus, store, unique_prefix):
    prometheus, estate = estate_prometheus
    p = unique_prefix
    metrics = _settings(prometheus.url, p)
    sync = SyncSettings(source=f"{p}metrics")  # a source per test: tests share the graph
    # the static YAML topology already asserts one of the calls
    yaml_side = TopologySnapshot(
        entities=[
            EntityRecord(Label.SERVICE, f"{p}frontend", technology="node"),
            EntityRecord(Label.SERVICE, f"{p}checkout", technology="go"),
        ],
        edges=[
            EdgeRecord(topology_relation(RelType.CALLS, Label.SERVICE, Label.SERVICE), f"{p}frontend", f"{p}checkout")
        ],
    )
    reconcile(store, yaml_side, source=f"{p}topology-file", now=estate.end - 600, grace_period_s=3600)

    report = sync_topology(
        store, PrometheusReader(metrics), load_templates(), metrics, sync, grace_period_s=3600, at=estate.end - 60
    )
    assert report.edges >= 15 and report.changes > 0
    assert report.bad.by_kind().get("rejected_template", 0) == 0, report.bad.problems()

    call = _edge(store, RelType.CALLS, (Label.SERVICE, f"{p}checkout"), (Label.DATASTORE, f"{p}orders-db"))
    assert call is not None and 30 < call["rate"] < 90 and call["sources"] == [sync.source]
    assert call["last_seen"] == pytest.approx(estate.end - 60) and call["status"] == "active"
    shared = _edge(store, RelType.CALLS, (Label.SERVICE, f"{p}frontend"), (Label.SERVICE, f"{p}checkout"))
    assert sorted(shared["sources"]) == sorted([sync.source, f"{p}topology-file"]) and shared["error_rate"] > 1
    assert _entity(store, Label.SERVICE, f"{p}checkout")["technology"] == "go"  # YAML's fact survives
    placed = _edge(store, RelType.RUNS_ON, (Label.INSTANCE, f"{p}checkout-7c8b-b2"), (Label.HOST, f"{p}node-2"))
    owned = _edge(store, RelType.INSTANCE_OF, (Label.INSTANCE, f"{p}checkout-7c8b-b2"), (Label.SERVICE, f"{p}checkout"))
    assert placed["sources"] == [sync.source] and owned["sources"] == [sync.source]
    assert _entity(store, Label.DATASTORE, f"{p}catalog-cache")["kind"] == "datastore"

    # running the same sync again changes nothing but last-seen times
    again = sync_topology(
        store, PrometheusReader(metrics), load_templates(), metrics, sync, grace_period_s=3600, at=estate.end - 60
    )
    assert again.changes == 0


def test_service_whose_series_stop_is_retired(estate_prometheus, store, unique_prefix):
    prometheus, estate = estate_prometheus
    p = unique_prefix
    metrics, sync = _settings(prometheus.url, p), SyncSettings(source=f"{p}metrics")
    reader, templates = PrometheusReader(metrics), load_templates()
    sync_topology(store, reader, templates, metrics, sync, grace_period_s=600, at=estate.legacy_stops - 300)
    assert _entity(store, Label.SERVICE, f"{p}legacy")["status"] == "active"
    assert _edge(store, RelType.CALLS, (Label.SERVICE, f"{p}frontend"), (Label.SERVICE, f"{p}legacy")) is not None

    stale = sync_topology(store, reader, templates, metrics, sync, grace_period_s=600, at=estate.legacy_stops + 900)
    assert f"service {p}legacy" in stale.plan.marked_stale
    assert _entity(store, Label.SERVICE, f"{p}legacy")["status"] == "stale"
    assert _entity(store, Label.SERVICE, f"{p}checkout")["status"] == "active"

    retired = sync_topology(store, reader, templates, metrics, sync, grace_period_s=600, at=estate.legacy_stops + 1800)
    assert f"service {p}legacy" in retired.plan.retired
    assert _entity(store, Label.SERVICE, f"{p}legacy") is None
    assert _entity(store, Label.INSTANCE, f"{p}legacy-1b2c-e1") is None
    assert _edge(store, RelType.CALLS, (Label.SERVICE, f"{p}frontend"), (Label.SERVICE, f"{p}legacy")) is None
    assert _entity(store, Label.SERVICE, f"{p}frontend")["status"] == "active"


def test_prometheus_restart_in_the_middle_of_a_sync(estate_prometheus, store, unique_prefix):
    prometheus, estate = estate_prometheus
    p = unique_prefix
    sync = SyncSettings(source=f"{p}metrics")
    metrics = _settings(prometheus.url, p)
    sync_topology(
        store, PrometheusReader(metrics), load_templates(), metrics, sync, grace_period_s=0, at=estate.end - 60
    )
    edge = (RelType.CALLS, (Label.SERVICE, f"{p}checkout"), (Label.DATASTORE, f"{p}orders-db"))
    assert _edge(store, *edge)["status"] == "active"

    prometheus.stop()
    try:
        # down for good: the sync fails with a clear error and the graph keeps everything
        with pytest.raises(PrometheusUnavailable, match="unavailable after 2 attempts"):
            sync_topology(
                store, PrometheusReader(metrics), load_templates(), metrics, sync, grace_period_s=0, at=estate.end - 30
            )
        assert _edge(store, *edge)["status"] == "active"

        # comes back while the sync is retrying: the sync completes
        patient = MetricsSettings(
            prometheus_url=prometheus.url, entity_prefix=p, retries=8, backoff_s=0.5, backoff_max_s=2
        )
        reader = PrometheusReader(patient)
        outcome: dict = {}
        worker = threading.Thread(
            target=lambda: outcome.update(
                report=sync_topology(
                    store, reader, load_templates(), patient, sync, grace_period_s=0, at=estate.end - 30
                )
            )
        )
        worker.start()
        wait_until(
            lambda: reader.retries_used >= 1 or not worker.is_alive(),
            timeout=60,
            message="the sync meets the stopped Prometheus and retries",
        )
    finally:
        prometheus.start()
    worker.join(120)
    assert not worker.is_alive() and "report" in outcome
    assert reader.retries_used >= 1
    assert outcome["report"].plan.retired == [] and outcome["report"].plan.marked_stale == []
    assert _edge(store, *edge)["last_seen"] == pytest.approx(estate.end - 30)


def test_graph_outage_keeps_anomalies_until_the_graph_is_back(
    estate_prometheus, store, graph_settings, graph_user, unique_prefix
):
    prometheus, estate = estate_prometheus
    settings = _settings(prometheus.url, unique_prefix)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    unreachable = GraphStore.connect(
        graph_settings.model_copy(update={"max_retry_time_s": 1.0, "connect_timeout_s": 1.0}),
        uri=f"bolt://127.0.0.1:{dead_port}",
        user=graph_user,
    )
    writer = AnomalyWriter(unreachable)
    poller = MetricsPoller(PrometheusReader(settings), load_templates(), settings, writer)
    with pytest.raises(ServiceUnavailable):
        poller.poll(estate.end, fresh_from=estate.fault - 300)
    assert writer.pending >= 2  # found, not lost
    unreachable.close()

    writer.store = store  # the graph is reachable again
    report = poller.poll(estate.end + 15, fresh_from=estate.fault - 300)
    assert writer.pending == 0 and report.written >= 2
    found = _anomalies(store, Label.DATASTORE, f"{unique_prefix}orders-db")
    assert len(found) == 1 and abs(found[0]["onset"] - estate.fault) <= STEP


def test_a_sync_that_would_empty_the_estate_is_refused(estate_prometheus, store, unique_prefix):
    prometheus, estate = estate_prometheus
    p = unique_prefix
    metrics, sync = _settings(prometheus.url, p), SyncSettings(source=f"{p}metrics")
    reader, templates = PrometheusReader(metrics), load_templates()
    sync_topology(store, reader, templates, metrics, sync, grace_period_s=0, at=estate.end - 60)
    # two hours later Prometheus has nothing (as after losing its TSDB): the sync must not wipe the graph
    with pytest.raises(SyncRefused, match=r"found 0 entities and would mark 14 of the 14 active"):
        sync_topology(store, reader, templates, metrics, sync, grace_period_s=0, at=estate.end + 7200)
    assert _entity(store, Label.SERVICE, f"{p}checkout")["status"] == "active"
    assert (
        _edge(store, RelType.CALLS, (Label.SERVICE, f"{p}checkout"), (Label.DATASTORE, f"{p}orders-db"))["status"]
        == "active"
    )
