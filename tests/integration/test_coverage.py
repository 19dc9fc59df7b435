"""What is monitored, end to end: a metrics poll over a real Prometheus and a syslog batch record
:Coverage in the real graph, and the subgraph Infer ranks carries it (IncidentSubgraph.observed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph_schema.coverage import CoverageSpan
from graph_schema.cypher import coverage as coverage_cypher
from ingest.metrics.anomaly_writer import COVERAGE_WRITE_EVERY_S, AnomalyWriter
from ingest.metrics.poll import MetricsPoller
from ingest.metrics.promql_templates import load_templates
from ingest.metrics.reader import PrometheusReader
from ingest.syslog.worker_metrics import SyslogMetrics
from ingest.syslog.writer import GraphWriter
from ingest.topology.sync import sync_topology
from rca.service import subgraph_fetch
from rca.service.requests import parse_infer
from rca.service.stubs import pb
from rca.service.topology_cache import TopologyCache
from rca.simulator import simulate
from settings.ingest import MetricsSettings, SyncSettings
from settings.service import ServiceSettings
from tests.integration import metrics_estate
from tests.support import signal_writes

STEP = metrics_estate.STEP
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def estate_prometheus(tmp_path_factory):
    """A real Prometheus on a loopback port holding the estate's three hours of history."""
    prometheus, estate = metrics_estate.start_prometheus(tmp_path_factory.mktemp("prometheus"))
    yield prometheus, estate
    prometheus.stop()


def _coverage(store, ids: list[str]) -> dict[str, dict[str, dict]]:
    rows = store.read(coverage_cypher.COVERAGE_OF_ENTITIES, ids=ids)
    out: dict[str, dict[str, dict]] = {}
    for row in rows:
        out.setdefault(row["entity_id"], {})[row["family"]] = row
    return out


def _infer_subgraph(store, symptom: str, start: float, end: float, max_hops: int = 3):
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id=symptom, family="latency", observed_at=end)],
        window=pb.TimeWindow(start=start, end=end),
        max_hops=max_hops,
    )
    subgraph, _ = subgraph_fetch.from_graph(store, parse_infer(request, ServiceSettings(), now=end))
    return subgraph


def test_a_poll_records_what_it_judged_and_infer_sees_it(estate_prometheus, store, unique_prefix):
    prometheus, estate = estate_prometheus
    p = unique_prefix
    settings = MetricsSettings(prometheus_url=prometheus.url, entity_prefix=p, retries=1, backoff_s=0.1)
    reader = PrometheusReader(settings)
    sync = SyncSettings(source=f"{p}metrics")
    sync_topology(store, reader, load_templates(), settings, sync, grace_period_s=3600, at=estate.end - 60)
    poller = MetricsPoller(reader, load_templates(), settings, AnomalyWriter(store, source=f"{p}metrics"))
    report = poller.poll(estate.end)
    assert report.series > 10 and report.unjudged == 0

    names = ("frontend", "checkout", "orders-db", "legacy", "node-1")
    found = _coverage(store, [f"{p}{n}" for n in names])
    checkout = found[f"{p}checkout"]
    assert {"latency", "errors", "traffic"} <= set(checkout)
    latency = checkout["latency"]
    # the span is the judged samples' times (the first poll judges the last 10 minutes), in the graph's own record
    assert latency["last_seen"] == pytest.approx(estate.end, abs=STEP)
    assert latency["first_seen"] == pytest.approx(estate.end - settings.first_poll_lookback_s, abs=2 * STEP)
    assert latency["holds_s"] == 2 * settings.poll_interval_s + COVERAGE_WRITE_EVERY_S
    assert latency["source"] == f"{p}metrics"
    assert "latency" in found[f"{p}orders-db"]
    # legacy's series stopped 50 minutes ago: nothing of it was judged, so it is not observed
    assert f"{p}legacy" not in found

    # a second poll 5 minutes on widens the span and writes no second node
    poller.poll(estate.end + 300)
    again = _coverage(store, [f"{p}checkout"])[f"{p}checkout"]["latency"]
    assert again["first_seen"] == latency["first_seen"] and again["last_seen"] >= latency["last_seen"]
    assert len(store.read(coverage_cypher.COVERAGE_OF_ENTITIES, ids=[f"{p}checkout"])) == len(checkout)

    # Infer's subgraph carries it: observed families per entity, legacy (in the graph from the
    # topology file, its series gone) observed for nothing
    signal_writes.write_entities(store, [{"id": f"{p}legacy", "label": "Service"}], source=f"{p}topology-file")
    legacy_call = {"source": f"{p}frontend", "target": f"{p}legacy", "type": "CALLS"}
    legacy_call |= {"source_label": "Service", "target_label": "Service"}
    signal_writes.write_edges(store, [legacy_call], source=f"{p}topology-file")
    subgraph = _infer_subgraph(store, f"{p}checkout", estate.end - 1800, estate.end)
    assert {f"{p}checkout", f"{p}orders-db", f"{p}legacy"} <= set(subgraph.nodes)
    assert subgraph.observed[f"{p}checkout"] >= {"latency", "errors", "traffic"}
    assert "latency" in subgraph.observed[f"{p}orders-db"]
    assert f"{p}legacy" not in subgraph.observed
    # an incident long after the poll (beyond holds_s) finds the coverage aged out
    later = _infer_subgraph(store, f"{p}checkout", estate.end + 3 * 3600, estate.end + 4 * 3600)
    assert later.observed.get(f"{p}checkout", frozenset()) == frozenset()


def test_a_syslog_batch_records_which_entities_log(store, unique_prefix):
    p = unique_prefix
    signal_writes.write_entities(store, [{"id": f"{p}api", "label": "Service", "name": f"{p}api"}])
    event = {
        "id": f"{p}ev1",
        "entity_id": f"{p}api",
        "entity_label": "Service",
        "template_id": "t1",
        "template": "request failed <*>",
        "bucket": 6000.0,
        "bucket_seconds": 60.0,
        "count": 3,
        "first_ts": 6010.0,
        "last_ts": 6050.0,
        "severity": 3,
        "signature_class": "other",
        "sample": "request failed 500",
        "batch": f"{p}b1",
    }
    writer = GraphWriter(store, None, SyslogMetrics(), rows_per_statement=100, retry_interval_s=1.0)
    writer.write_batch({"events": [event]})
    # a line logged by an entity the graph did not know creates it (as before) and its coverage
    writer.write_batch({"events": [{**event, "id": f"{p}ev2", "entity_id": f"{p}newcomer", "first_ts": 6100.0}]})
    found = _coverage(store, [f"{p}api", f"{p}newcomer"])
    assert set(found) == {f"{p}api", f"{p}newcomer"}
    logs = found[f"{p}api"]["logs"]
    assert (logs["first_seen"], logs["last_seen"], logs["source"]) == (6010.0, 6050.0, "logs")
    assert found[f"{p}newcomer"]["logs"]["first_seen"] == 6100.0


def test_infer_subgraph_from_the_graph_matches_the_simulator(store, unique_prefix):
    incident = simulate(3, 40, "latency", id_prefix=unique_prefix)
    signal_writes.write_simulated(store, incident)
    symptom = incident.symptoms[0]
    start, end = incident.window
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id=symptom["entity_id"], family=symptom["family"], observed_at=end)],
        window=pb.TimeWindow(start=start, end=end),
        max_hops=6,
    )
    query = parse_infer(request, ServiceSettings(), now=end)
    served, _ = subgraph_fetch.from_graph(store, query)  # coverage read with the signals
    cached, _ = subgraph_fetch.from_graph(store, query, TopologyCache(store))  # coverage from the service's copy
    simulated = incident.to_subgraph()
    assert served.observed == {k: v for k, v in simulated.observed.items() if k in served.nodes}
    # the entities nothing watches in the simulated estate have no coverage in the graph either
    assert set(served.observed) == {k for k in served.nodes if simulated.observed.get(k)}
    assert cached.nodes.keys() == served.nodes.keys() and cached.observed == served.observed


def test_the_metrics_writer_sends_a_span_again_only_when_the_graph_needs_it(store, unique_prefix):
    entity = f"{unique_prefix}api"
    signal_writes.write_entities(store, [{"id": entity, "label": "Service", "name": entity}])
    writer = AnomalyWriter(store)

    def poll(first: float, last: float) -> tuple[float, float, float]:
        writer.add_coverage([CoverageSpan("Service", entity, "latency", first, last, 60.0)])
        writer.flush()
        (row,) = store.read(coverage_cypher.COVERAGE_OF_ENTITIES, ids=[entity])
        return row["first_seen"], row["last_seen"], row["holds_s"]

    hold = 60.0 + COVERAGE_WRITE_EVERY_S  # the span counts until the next write is due
    assert poll(1000.0, 1030.0) == (1000.0, 1030.0, hold)  # new
    assert poll(1045.0, 1060.0) == (1000.0, 1030.0, hold)  # moved on less than COVERAGE_WRITE_EVERY_S: not sent
    assert poll(1075.0, 1030.0 + COVERAGE_WRITE_EVERY_S) == (1000.0, 1330.0, hold)
    assert poll(900.0, 1340.0) == (900.0, 1340.0, hold)  # begun earlier than the graph knows
    assert poll(5000.0, 5030.0) == (5000.0, 5030.0, hold)  # after a pause longer than its holds: a new span


def test_rca_diagnose_ranks_a_case_with_its_coverage():
    """The offline path: a case's metrics and logs record coverage, and the Infer subgraph sees it."""
    from rca.cli.diagnose.case import load_case
    from rca.cli.diagnose.session import open_session, project_signals
    from settings.root import Settings

    settings = Settings()
    known = project_signals(settings.metrics)
    case = load_case(ROOT / "examples" / "cases" / "payments-db-config-change", {n: t.family for n, t in known.items()})
    with open_session(settings) as session:
        session.run(case)
        query = parse_infer(session.last_request, ServiceSettings(max_top_k=1000), now=case.alert_at)
        subgraph, _ = subgraph_fetch.from_graph(session.store, query, session.topology_cache)
    with_series = {c.entity for c in case.metrics}
    assert with_series and with_series <= set(subgraph.observed)
    assert "latency" in subgraph.observed["payment"] and "saturation" in subgraph.observed["postgres-payments"]
