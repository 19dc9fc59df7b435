"""One real stack for the dashboard tests: the demo incident replayed into the session's graph through
the real ingest code, a RootCause service on a free port that ranked it, and the environment that
points the dashboard at both."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

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
from tests.integration.cli import graph_env
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


def dashboard_env(graph_settings, graph_uri, graph_user, graph_server, target: str, metrics_url: str) -> dict:
    """RCA_* variables that point a dashboard (in-process or a child) at the session's graph and the service."""
    env = {
        "RCA_DASHBOARD__TARGET": target,
        "RCA_DASHBOARD__SERVICE_METRICS_URL": metrics_url,
        "RCA_DASHBOARD__REFRESH_S": "5",
        "RCA_DASHBOARD__PROMETHEUS_URL": "",
    }
    if graph_server is None:  # an external NEO4J_URI
        return env | graph_env(graph_settings, graph_uri, graph_user)
    return env | {
        "RCA_DASHBOARD__GRAPH_URI": graph_uri,
        "RCA_GRAPH__DATA_DIR": str(graph_settings.data_dir),
        "RCA_GRAPH__PASSWORD": graph_settings.password.get_secret_value(),
    }


@pytest.fixture(scope="session")
def demo_stack(session_store, graph_settings, graph_uri, graph_user, graph_server):
    """The demo incident replayed and ranked once for every dashboard test of the session."""
    store = session_store
    reconcile(store, load_topology_file(EXAMPLE_ESTATE), source=FILE_SOURCE, now=time.time(), grace_period_s=86400)
    incident = demo_incident.load(EXAMPLE_INCIDENT)
    alert_at = time.time()
    demo_replay.replay_logs(store, incident, alert_at, SyslogSettings())
    demo_replay.replay_metrics(store, incident, alert_at, MetricsSettings())
    metrics_port = free_port()
    running = start_server(ServiceSettings(port=0, metrics_port=metrics_port, workers=8), store, engine_without_model())
    client = RootCauseClient(open_channel(running.target), timeout_s=60.0)
    symptoms = [
        pb.Symptom(entity_name=s["entity"], family=s["family"], observed_at=alert_at + float(s.get("at", 0)))
        for s in incident.symptoms
    ]
    response = client.infer(pb.InferRequest(symptoms=symptoms, top_k=5))
    # the pages are checked against the response; the demo's root cause must be among them for that to mean much
    assert ROOT_CAUSE in [c.entity_id for c in response.candidates]
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    env = dashboard_env(graph_settings, graph_uri, graph_user, graph_server, running.target, metrics_url)
    yield DemoStack(response.incident_id, response, running.target, metrics_url, env, client)
    client.close()
    running.stop()
