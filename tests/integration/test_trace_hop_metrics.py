"""The syslog worker's hop histogram read back by the metrics poll from a real Prometheus.

`rca_syslog_trace_hop_seconds` (ingest/syslog/trace_hops.py) as the worker exports it, two hours of
it backfilled by promtool: hops into search take 6 ms until 30 minutes before the end, then 800 ms;
hops into cart stay at 6 ms; hops into the datastore ledger slow like search's; hops into orders,
as a worker from before the `kind` label wrote them, stay at 6 ms. The shipped
`log_trace_hop_latency` template and its mapping rule find search's and ledger's, ledger's on the
Datastore the worker's `kind` label names, and the poll names the series without the label.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from scipy.stats import lognorm

from graph_schema.cypher import anomalies as anomaly_cypher
from graph_schema.model import Label
from ingest.metrics.anomaly_writer import AnomalyWriter
from ingest.metrics.backfill import backfill
from ingest.metrics.poll import MetricsPoller
from ingest.metrics.promql_templates import load_templates
from ingest.metrics.reader import PrometheusReader
from ingest.syslog.worker_metrics import HOP_BUCKETS
from settings.ingest import MetricsSettings
from tests.support.metrics_synthetic import SeriesSpec, write_openmetrics
from tests.support.prometheus_server import LocalPrometheus

STEP = 15.0
HOPS_PER_STEP = 50.0


@pytest.fixture(scope="module")
def hop_prometheus(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prometheus")
    end = float(np.floor((time.time() - 60) / STEP) * STEP)
    ts = np.arange(end - 2 * 3600, end + STEP / 2, STEP)
    slow_from = end - 30 * 60
    specs = []
    # ledger is a datastore whose name matches no datastore pattern: the worker's `kind` label says what it is
    entities = (("search", "Service", True), ("cart", "Service", False), ("ledger", "Datastore", True))
    for service, kind, slows in (*entities, ("orders", None, False)):
        median = np.where((ts >= slow_from) & slows, 0.8, 0.006)
        for le in (*HOP_BUCKETS, float("inf")):
            share = np.ones(len(ts)) if le == float("inf") else lognorm.cdf(le, s=0.3, scale=median)
            labels = {"service": service, "le": "+Inf" if le == float("inf") else f"{le:g}"} | (
                {"kind": kind} if kind else {}
            )
            specs.append(SeriesSpec("rca_syslog_trace_hop_seconds_bucket", labels, np.cumsum(HOPS_PER_STEP * share)))
    write_openmetrics(workdir / "hops.om", ts, specs)
    prometheus = LocalPrometheus(workdir)
    prometheus.backfill(workdir / "hops.om")
    prometheus.start()
    yield prometheus, ts[0], end, slow_from
    prometheus.stop()


def test_the_hop_histogram_gives_a_latency_anomaly_of_the_entity_the_hops_slowed_into(
    hop_prometheus, store, unique_prefix
):
    prometheus, start, end, slow_from = hop_prometheus
    settings = MetricsSettings(prometheus_url=prometheus.url, entity_prefix=unique_prefix, retries=1, backoff_s=0.1)
    templates = load_templates()
    hop_template = tuple(t for t in templates.signals if t.name == "log_trace_hop_latency")
    hops = dataclasses.replace(templates, signals=hop_template)
    poller = MetricsPoller(PrometheusReader(settings), hops, settings, AnomalyWriter(store))
    report = backfill(poller, start + 60 * 60, end, 300, progress=False)
    assert report.unjudged == {} and report.opened == 2
    assert report.bad.by_kind() == {"unlabelled_kind": report.bad.counts[("unlabelled_kind", "log_trace_hop_latency")]}
    (problem,) = report.bad.problems()
    assert "no known 'kind' label" in problem and f"{unique_prefix}orders read as Service" in problem, problem

    def anomalies(entity: str, label: Label = Label.SERVICE) -> list[dict]:
        rows = store.read(anomaly_cypher.ANOMALIES_OF_ENTITY, entity_id=unique_prefix + entity, entity_label=str(label))
        return [row["anomaly"] for row in rows]

    search = anomalies("search")
    assert [(a["signal"], a["family"], a["direction"]) for a in search] == [("log_trace_hop_latency", "latency", "up")]
    assert abs(search[0]["onset"] - slow_from) <= 2 * STEP
    assert search[0]["value"] > 0.5 > search[0]["baseline"]
    assert anomalies("cart") == []
    assert [a["signal"] for a in anomalies("ledger", Label.DATASTORE)] == ["log_trace_hop_latency"]
    assert anomalies("ledger") == []  # not a Service of the datastore's id
