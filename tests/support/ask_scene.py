"""The scene Ask is tested and measured on: the example estate with the demo incident replayed at a fixed
alert time through the real ingest, diagnosed once over gRPC, on a graph of its own.

Used by tests/integration/service/test_grpc_ask.py and bench/nlq.py, so the questions and their
expected answers can name fixed times (NOW) and the incident's entities.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from graph_schema import migrations
from graph_schema.connection import open_graph
from ingest.topology.file import load_topology_file
from ingest.topology.reconcile import reconcile
from rca.cli.demo import incident as demo_incident
from rca.cli.demo import replay as demo_replay
from rca.cli.demo_commands import EXAMPLE_ESTATE, EXAMPLE_INCIDENT
from rca.cli.topology_commands import FILE_SOURCE
from rca.service.client import RootCauseClient, open_channel
from rca.service.server import RunningService, start_server
from rca.service.stubs import pb
from settings.graph import GraphSettings
from settings.root import load_settings
from settings.service import ServiceSettings

ALERT_AT = datetime(2026, 12, 6, 14, 40, tzinfo=UTC).timestamp()  # a Sunday
NOW = ALERT_AT + 120  # 14:42 UTC: the reference time of the questions
PASSWORD = "ask-scene-password"


@dataclass
class AskScene:
    """The graph, the running service, a client of it and the incident the replay was diagnosed as."""

    store: object
    service: RunningService
    client: RootCauseClient
    incident_id: str

    def ask(self, question: str, now: float = NOW, time_zone: str = "UTC", max_rows: int = 0):
        """Call Ask over the real channel."""
        request = pb.AskRequest(question=question, now=now, time_zone=time_zone, max_rows=max_rows)
        return self.client.stub.Ask(request, timeout=self.client.timeout_s)


def replay_demo(store) -> None:
    """Load the example estate and replay the demo incident at ALERT_AT through the syslog and metrics ingest."""
    settings = load_settings()
    migrations.migrate(store)
    reconcile(
        store,
        load_topology_file(EXAMPLE_ESTATE),
        source=FILE_SOURCE,
        now=ALERT_AT - 86400,
        grace_period_s=settings.topology.grace_period_s,
    )
    incident = demo_incident.load(EXAMPLE_INCIDENT)
    demo_replay.replay_logs(store, incident, ALERT_AT, settings.syslog)
    demo_replay.replay_metrics(store, incident, ALERT_AT, settings.metrics)


@contextlib.contextmanager
def ask_scene(workdir: Path, engine, service: ServiceSettings | None = None) -> Iterator[AskScene]:
    """Start a graph in ``workdir``, replay the demo incident, serve RootCause on it and diagnose the alert."""
    graph = GraphSettings(password=PASSWORD, data_dir=Path(workdir) / "graph", heap="1g", max_retry_time_s=30)
    with open_graph(graph) as store:
        replay_demo(store)
        running = start_server(service or ServiceSettings(port=0, metrics_port=0), store, engine, metrics=False)
        client = RootCauseClient(open_channel(running.target), timeout_s=60)
        try:
            symptom = pb.Symptom(entity_name="checkout", family="errors", observed_at=ALERT_AT)
            diagnosed = client.infer(pb.InferRequest(symptoms=[symptom]))
            client.get_incident(diagnosed.incident_id)  # waits until the incident is stored
            yield AskScene(store, running, client, diagnosed.incident_id)
        finally:
            client.close()
            running.stop()
