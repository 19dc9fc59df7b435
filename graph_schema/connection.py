"""Open the configured graph: an external server, a shared standalone embedded one, or our own child."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from graph_schema.embedded import EmbeddedGraphServer, find_running
from graph_schema.store import GraphStore
from settings.graph import GraphSettings

EMBEDDED_USER = "root"


def embedded_server(settings: GraphSettings, *, publish_state: bool = False) -> EmbeddedGraphServer:
    """An (unstarted) embedded server configured from the settings."""
    return EmbeddedGraphServer(
        settings.data_dir,
        settings.password.get_secret_value() if settings.password else None,
        database=settings.database,
        bolt_port=settings.bolt_port,
        heap=settings.heap,
        start_timeout_s=settings.start_timeout_s,
        publish_state=publish_state,
    )


@contextlib.contextmanager
def open_graph(settings: GraphSettings) -> Iterator[GraphStore]:
    """Yield a store on the configured graph, starting the embedded default if it is needed.

    With ``NEO4J_URI`` set, that server is used. Without it, a standalone embedded server already
    running on the same data directory (``rca graph serve``) is shared; otherwise one is started
    as our child and stopped when the block ends.
    """
    if not settings.embedded:
        with GraphStore.connect(settings) as store:
            yield store
        return
    running = find_running(settings.data_dir)
    if running:
        with GraphStore.connect(settings, uri=running.bolt_uri, user=EMBEDDED_USER) as store:
            yield store
        return
    with embedded_server(settings) as server:
        with GraphStore.connect(settings, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
            yield store
