"""An in-process RootCause service on a free loopback port and a gRPC client to it (`rca demo`, `rca diagnose`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def local_root_cause(settings, store, **service_updates) -> Iterator:
    """Yield (client, running service) of a RootCause service started on ``store``; stopped when the block ends.

    ``service_updates`` override fields of the service settings (e.g. max_top_k).
    """
    from rca.cli.serve_commands import default_engine
    from rca.service.client import RootCauseClient, open_channel
    from rca.service.server import start_server

    service = settings.service.model_copy(
        update={
            "host": "127.0.0.1",
            "port": 0,
            "metrics_port": 0,
            "token": None,
            "tls_cert": None,
            "tls_key": None,
            **service_updates,
        }
    )
    running = start_server(
        service, store, default_engine(settings), metrics=False, similar_count=settings.model.similar_incidents
    )
    client = None
    try:
        client = RootCauseClient(open_channel(running.target), timeout_s=60.0)
        yield client, running
    finally:
        if client is not None:
            client.close()
        running.stop()
