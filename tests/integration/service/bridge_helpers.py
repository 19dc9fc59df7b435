"""Shared helpers of the bridge tests: a real HTTP receiver and the bridge running on its own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiohttp import web

from rca.bridge.app import Bridge, ssl_context
from rca.bridge.mapping import load_mapping
from rca.service.client import RootCauseClient, open_channel
from settings.bridge import BridgeSettings, ReceiverSettings


class Receiver:
    """A webhook receiver that keeps what it is sent (or refuses everything while `down`)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.down = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.down:
                    self.send_response(500)
                else:
                    outer.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@contextlib.contextmanager
def running_bridge(target: str, receivers: list[ReceiverSettings], **overrides) -> Iterator[str]:
    """The bridge's aiohttp app on a free loopback port, on an event loop of its own; yields its base URL."""
    token = overrides.pop("token", None)
    settings = BridgeSettings(target=target, receivers=receivers, **overrides)
    client = RootCauseClient(open_channel(target), timeout_s=settings.infer_timeout_s)
    bridge = Bridge(settings, load_mapping(), client, token=token)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(bridge.app())
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context(settings))
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if settings.tls_cert else 'http'}://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        client.close()
