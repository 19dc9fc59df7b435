"""The dashboard's connections: the RootCause service over gRPC and the graph, opened once per process.

A call that cannot reach the service or the graph raises ``Outage`` naming which and why, so a page
shows a banner instead of a stack trace; the channel and the driver reconnect by themselves, so the
next run of the page works again once the outage ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from neo4j.exceptions import DriverError, Neo4jError

from graph_schema.connection import EMBEDDED_USER
from graph_schema.embedded import find_running
from graph_schema.errors import GraphError
from graph_schema.store import GraphStore
from rca.service.client import RootCauseClient, open_channel
from settings.root import Settings, load_settings

# a status from the service that means "not reachable now", as opposed to an answer about the request
OUTAGE_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
# gRPC waits up to 2 minutes between reconnection attempts after a long outage; a page that probes
# every few seconds should see the service within a few seconds of its return instead
RECONNECT = [("grpc.initial_reconnect_backoff_ms", 500), ("grpc.max_reconnect_backoff_ms", 3000)]


class Outage(Exception):
    """The service or the graph cannot be reached; ``part`` says which ("service" or "graph")."""

    def __init__(self, part: str, detail: str):
        super().__init__(f"{part}: {detail}")
        self.part = part
        self.detail = detail


@dataclass
class Backend:
    """Settings, a service client and (opened on first use) a graph store."""

    settings: Settings
    client: RootCauseClient
    _store: GraphStore | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def target(self) -> str:
        """Where the service is."""
        return self.settings.dashboard.target

    def store(self) -> GraphStore:
        """The graph store; Outage when no graph is configured or running."""
        with self._lock:
            if self._store is None:
                self._store = _connect_graph(self.settings)
            return self._store

    @contextlib.contextmanager
    def service(self) -> Iterator[RootCauseClient]:
        """The client; an unreachable service inside the block becomes Outage("service")."""
        try:
            yield self.client
        except grpc.RpcError as exc:
            if exc.code() in OUTAGE_CODES:
                raise Outage("service", f"{self.target}: {exc.code().name} ({exc.details()})") from None
            raise

    @contextlib.contextmanager
    def graph(self) -> Iterator[GraphStore]:
        """The store; an unreachable graph inside the block becomes Outage("graph")."""
        store = self.store()
        try:
            yield store
        except (GraphError, DriverError, Neo4jError, OSError) as exc:
            raise Outage(
                "graph", f"{store.uri}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from None

    def close(self) -> None:
        """Close the channel and the driver."""
        self.client.close()
        if self._store is not None:
            self._store.close()


def _connect_graph(settings: Settings) -> GraphStore:
    # Short retries: a page waits on them, and an outage is better said than waited out.
    graph = settings.graph.model_copy(
        update={"max_retry_time_s": min(settings.graph.max_retry_time_s, 2.0), "connect_timeout_s": 2.0}
    )
    if settings.dashboard.graph_uri:
        return GraphStore.connect(graph, uri=settings.dashboard.graph_uri, user=EMBEDDED_USER)
    if not graph.embedded:
        return GraphStore.connect(graph)
    running = find_running(graph.data_dir)
    if running is None:
        raise Outage(
            "graph",
            f"no graph server runs on {graph.data_dir}: start `rca graph serve` (or set NEO4J_URI)",
        )
    return GraphStore.connect(graph, uri=running.bolt_uri, user=EMBEDDED_USER)


def open_backend(settings: Settings | None = None) -> Backend:
    """A backend from the settings (read from the environment when not given)."""
    settings = settings or load_settings()
    dashboard = settings.dashboard
    client = RootCauseClient(
        open_channel(dashboard.target, ca_cert=dashboard.ca_cert, options=RECONNECT),
        token=dashboard.token.get_secret_value() if dashboard.token else None,
        timeout_s=dashboard.timeout_s,
    )
    return Backend(settings, client)
