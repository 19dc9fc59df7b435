"""Fixtures of the gRPC service tests: the real engine, a server on a free port, a client, estates."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from graph_schema.store import GraphStore
from rca.rank.engine import model_engine
from rca.service.client import RootCauseClient, open_channel
from rca.service.server import start_server
from rca.service.stubs import pb
from rca.simulator import simulate
from settings.service import ServiceSettings
from tests.support import signal_writes


@pytest.fixture(scope="session")
def engine():
    return model_engine()


@pytest.fixture(scope="session")
def service_store(graph_settings, graph_uri, graph_user, session_store):
    """A store for the service with a short retry time, so an outage answers UNAVAILABLE quickly."""
    settings = graph_settings.model_copy(update={"max_retry_time_s": 2.0, "connect_timeout_s": 2.0})
    store = GraphStore.connect(settings, uri=graph_uri, user=graph_user)
    yield store
    store.close()


@contextlib.contextmanager
def serving(store, engine) -> Iterator:
    """A RootCause server (plaintext, no token) on a free port, stopped at the end; health probes the graph
    every second."""
    running = start_server(ServiceSettings(port=0, metrics_port=0, workers=8, health_probe_s=1.0), store, engine)
    try:
        yield running
    finally:
        running.stop()


@contextlib.contextmanager
def client_of(running) -> Iterator[RootCauseClient]:
    """A client of a running server over a real channel, closed at the end."""
    client = RootCauseClient(open_channel(running.target), timeout_s=30.0)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def service(service_store, engine):
    """A RootCause server with the issue-5 engine for the module."""
    with serving(service_store, engine) as running:
        yield running


@pytest.fixture
def client(service):
    with client_of(service) as client:
        yield client


def infer_request(incident, top_k: int = 5, max_hops: int = 3):
    """The InferRequest an alert on the incident's symptoms would send."""
    return pb.InferRequest(
        symptoms=[
            pb.Symptom(entity_id=s["entity_id"], family=s["family"], observed_at=s["observed_at"])
            for s in incident.symptoms
        ],
        window=pb.TimeWindow(start=incident.window[0], end=incident.window[1]),
        top_k=top_k,
        max_hops=max_hops,
    )


def supplied_subgraph(incident, max_hops: int = 3):
    """The simulator's subgraph as the caller-supplied Subgraph message."""
    sub = incident.to_subgraph(max_hops=max_hops)
    return pb.Subgraph(
        nodes=[
            pb.Node(
                id=n.id,
                label=n.label,
                name=n.name,
                technology=n.technology or "",
                observed_families=sorted(sub.observed.get(n.id, ())),  # what the caller watches
            )
            for n in sub.nodes.values()
        ],
        edges=[pb.Edge(source=e.source, target=e.target, type=e.type) for e in sub.edges],
        anomalies=[
            pb.AnomalySignal(
                entity_id=a.entity_id,
                signal=a.signal,
                family=a.family,
                onset=a.onset,
                end=a.end or 0.0,
                direction=a.direction,
                score=a.score,
                value=a.value,
                baseline=a.baseline,
            )
            for a in sub.anomalies
        ],
        events=[
            pb.LogEventSignal(
                entity_id=e.entity_id,
                template=e.template,
                signature_class=e.signature_class,
                severity=e.severity,
                count=e.count,
                first_ts=e.first_ts,
                last_ts=e.last_ts,
                sample=e.sample,
            )
            for e in sub.events
        ],
        changes=[
            pb.ChangeSignal(entity_id=c.entity_id, at=c.at, change_type=c.change_type, description=c.description)
            for c in sub.changes
        ],
        deviations=[
            pb.DeviationSignal(entity_id=d.entity_id, family=d.family, at=d.at, peak=d.peak) for d in sub.deviations
        ],
    )


@pytest.fixture
def simulated(store, unique_prefix):
    """Make and write simulated incidents with ids unique to the test."""
    made = []

    def make(seed: int, n_entities: int, fault_type: str, *, write: bool = True):
        # Each incident its own estate: estates sharing ids would merge in the graph.
        made.append(seed)
        incident = simulate(seed, n_entities, fault_type, id_prefix=f"{unique_prefix}{len(made)}-")
        if write:
            signal_writes.write_simulated(store, incident)
        return incident

    return make
