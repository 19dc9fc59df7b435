"""The demo incident replayed into a graph through the real ingest code, and a RootCause service on a free
port that ranked it: the stack the dashboard's tests and bench/dashboard.py point the dashboard at."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.topology.file import load_topology_file
from ingest.topology.reconcile import reconcile
from rca.cli.demo import incident as demo_incident
from rca.cli.demo import replay as demo_replay
from rca.cli.demo_commands import EXAMPLE_ESTATE, EXAMPLE_INCIDENT
from rca.cli.topology_commands import FILE_SOURCE
from rca.rank.engine import engine_without_model
from rca.service.client import RootCauseClient, open_channel
from rca.service.server import start_server
from rca.service.stubs import pb
from settings.ingest import MetricsSettings, SyslogSettings
from settings.service import ServiceSettings
from tests.support.local_server import free_port

ROOT_CAUSE = "postgres-payments"


@dataclass
class DemoStack:
    """The replayed demo incident, the service that ranked it and the dashboard's environment."""

    incident_id: str
    response: object  # the InferResponse
    target: str
    metrics_url: str
    env: dict
    client: RootCauseClient
    service: object  # the RunningService


@contextlib.contextmanager
def demo_stack(store, graph_env: dict, top_k: int = 5) -> Iterator[DemoStack]:
    """Replay the demo incident into ``store`` and rank it on a fresh service.

    ``graph_env`` holds the variables that point a dashboard at the same graph.

    The engine is the rankers without the graph model: the pages show whatever was ranked, and a model
    being retrained elsewhere must not move what the dashboard's tests see.
    """
    reconcile(store, load_topology_file(EXAMPLE_ESTATE), source=FILE_SOURCE, now=time.time(), grace_period_s=86400)
    incident = demo_incident.load(EXAMPLE_INCIDENT)
    alert_at = time.time()
    demo_replay.replay_logs(store, incident, alert_at, SyslogSettings())
    demo_replay.replay_metrics(store, incident, alert_at, MetricsSettings())
    metrics_port = free_port()
    running = start_server(ServiceSettings(port=0, metrics_port=metrics_port, workers=8), store, engine_without_model())
    client = RootCauseClient(open_channel(running.target), timeout_s=60.0)
    try:
        symptoms = [
            pb.Symptom(entity_name=s["entity"], family=s["family"], observed_at=alert_at + float(s.get("at", 0)))
            for s in incident.symptoms
        ]
        response = client.infer(pb.InferRequest(symptoms=symptoms, top_k=top_k))
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        env = {
            "RCA_DASHBOARD__TARGET": running.target,
            "RCA_DASHBOARD__SERVICE_METRICS_URL": metrics_url,
            "RCA_DASHBOARD__REFRESH_S": "5",
            "RCA_DASHBOARD__PROMETHEUS_URL": "",
            **graph_env,
        }
        yield DemoStack(response.incident_id, response, running.target, metrics_url, env, client, running)
    finally:
        client.close()
        running.stop()
