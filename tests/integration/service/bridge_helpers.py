"""Shared helpers of the bridge tests: a real HTTP receiver and the bridge running on its own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from aiohttp import web

from rca.bridge.app import Bridge, ssl_context
from rca.bridge.mapping import load_mapping
from rca.service.client import RootCauseClient, open_channel
from settings.bridge import BridgeSettings, ReceiverSettings
from tests.support.http_receiver import Receiver

__all__ = ["Receiver", "running_bridge"]


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
