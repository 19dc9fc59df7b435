"""The whole alerting chain: a real Prometheus evaluates a real alert rule over a series it scrapes, a real
Alertmanager routes the alert to the bridge, the bridge calls Infer on the real service and graph, and this
test's own webhook receiver gets the diagnosis naming the injected root cause."""

from __future__ import annotations

import dataclasses
import time

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from settings.bridge import ReceiverSettings
from tests.integration.service.bridge_helpers import Receiver, running_bridge
from tests.support import signal_writes
from tests.support.alertmanager_server import LocalAlertmanager
from tests.support.local_server import free_port
from tests.support.prometheus_server import LocalPrometheus
from tests.support.waiting import wait_until

RULES = """groups:
  - name: rca-test
    interval: 1s
    rules:
      - alert: HighErrorRate
        expr: app_error_ratio > 0.1
        labels: {severity: page}
"""


def shifted(incident, delta: float):
    """The incident with every signal time moved by delta seconds (so it happened just now)."""

    def move(rows, fields):
        return [{**r, **{f: r[f] + delta for f in fields if r.get(f) is not None}} for r in rows]

    return dataclasses.replace(
        incident,
        anomalies=move(incident.anomalies, ("onset", "last_ts", "end")),
        events=move(incident.events, ("bucket", "first_ts", "last_ts")),
        changes=move(incident.changes, ("at",)),
        window=(incident.window[0] + delta, incident.window[1] + delta),  # its monitoring coverage moves too
    )


def test_prometheus_alert_through_alertmanager_and_the_bridge_names_the_root_cause(
    service, simulated, service_store, tmp_path
):
    incident = simulated(seed=31, n_entities=60, fault_type="datastore_outage", write=False)
    symptom = incident.symptoms[0]
    signal_writes.write_simulated(service_store, shifted(incident, time.time() - symptom["observed_at"]))
    name = symptom["entity_id"]  # the alert's service label: ids are unique across the tests' estates

    registry = CollectorRegistry()
    Gauge("app_error_ratio", "errors per request", ["service"], registry=registry).labels(name).set(0.5)
    exporter_port = free_port()
    exporter, _ = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)
    receiver = Receiver()
    with running_bridge(
        service.target, [ReceiverSettings(kind="webhook", url=receiver.url)], token="chain-token"
    ) as bridge:
        alertmanager = LocalAlertmanager(tmp_path / "am", f"{bridge}/alerts", token="chain-token").start()
        (tmp_path / "prom").mkdir()
        (tmp_path / "prom" / "rules.yml").write_text(RULES)
        config = (
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: [{tmp_path / 'prom' / 'rules.yml'}]\n"
            f"alerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['127.0.0.1:{alertmanager.port}']}}]\n"
            f"scrape_configs:\n  - job_name: app\n    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
        )
        prometheus = LocalPrometheus(tmp_path / "prom", config=config).start()
        try:
            wait_until(lambda: receiver.bodies, timeout=90, message="no diagnosis came through the chain")
            delivered = receiver.bodies[0]
            assert delivered["status"] == "firing"
            assert delivered["candidates"][0]["id"] == incident.root_cause_id
            assert delivered["incident_id"].startswith("inc-")
        finally:
            prometheus.stop()
            alertmanager.stop()
    exporter.shutdown()
    receiver.close()
