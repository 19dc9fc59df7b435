"""The TCP syslog server: our own accept loop, a connection cap, idle timeouts and a clean close.

asyncio's ``start_server`` logs every failed ``accept()`` (once per backlog slot, per loop pass)
when descriptors run out, and keeps idle connections forever; a few thousand silent connections
then stop the worker from accepting real senders. Here the accept loop backs off on resource
errors and says so at most once per ``log_interval_s``; connections are capped (the cap never
exceeds what the descriptor limit leaves) and, at the cap or out of descriptors, the connection
quiet the longest is shed; a connection silent for ``idle_timeout_s`` is closed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import time
from dataclasses import dataclass, field

from ingest.syslog.framing import Deframer
from ingest.syslog.pipeline import SyslogPipeline
from ingest.syslog.rate_limited_log import RateLimitedLog

log = logging.getLogger(__name__)
READ_CHUNK = 256 * 1024
# Descriptors kept free for everything else the worker opens (graph connections, files, metrics).
RESERVED_DESCRIPTORS = 64
RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 2.0


def connection_cap(configured: int) -> int:
    """The configured cap, lowered to what the open-file limit leaves after the reserve."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, soft - RESERVED_DESCRIPTORS))


@dataclass(eq=False)
class _Connection:
    source: str
    sock: socket.socket | None = None  # the accepted socket, until its handler takes it over
    transport: asyncio.BaseTransport | None = None
    reader: asyncio.StreamReader | None = None
    last_active: float = field(default_factory=time.monotonic)
    closed_by_us: str | None = None  # 'shed' or 'idle' once we close it


class TcpServer:
    """One listening socket feeding ``pipeline``; runs on the listeners' event loop."""

    protocol = "tcp"  # names the connections' sources; a subclass speaking another protocol renames it

    def __init__(
        self,
        pipeline: SyslogPipeline,
        *,
        max_connections: int,
        idle_timeout_s: float,
        log_interval_s: float,
    ):
        self.pipeline = pipeline
        self.metrics = pipeline.metrics
        self.max_connections = connection_cap(max_connections)
        self.idle_timeout_s = idle_timeout_s
        self._connections: dict[asyncio.Task, _Connection] = {}
        self._sock: socket.socket | None = None
        self._tasks: list[asyncio.Task] = []
        self._closing = False
        self._accept_log = RateLimitedLog(log, log_interval_s)
        self._shed_log = RateLimitedLog(log, log_interval_s)

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind and start accepting; returns the bound address (port 0 picks a free one)."""
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        self._sock = socket.create_server((host, port), family=family, backlog=1024)
        self._sock.setblocking(False)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._accept_loop()), loop.create_task(self._idle_sweeper())]
        return self._sock.getsockname()[:2]

    # -- accepting ----------------------------------------------------------------------------

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._sock is not None
        backoff = BACKOFF_FIRST_S
        while not self._closing:
            try:
                conn, addr = await loop.sock_accept(self._sock)
            except OSError as exc:
                if self._closing:
                    return
                name = errno.errorcode.get(exc.errno or 0, "other")
                self.metrics.tcp_accept_errors.labels(name).inc()
                if exc.errno in RESOURCE_ERRORS:
                    # Out of descriptors: free one by shedding the quietest connection, then wait.
                    self._shed_quietest("out of descriptors")
                    self._accept_log.warning(
                        "accepting TCP connections failed (%s); backing off %.2f s", exc.strerror, backoff
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                else:
                    self._accept_log.warning("accepting a TCP connection failed: %s", exc)
                    await asyncio.sleep(BACKOFF_FIRST_S)
                continue
            backoff = BACKOFF_FIRST_S
            # Connections already shed count no more, even before their handlers ran: a burst of
            # accepts can get ahead of the handlers, and the cap must hold through it.
            if sum(1 for c in self._connections.values() if c.closed_by_us is None) >= self.max_connections:
                self._shed_quietest(f"at the cap of {self.max_connections} connections")
            conn.setblocking(False)
            record = _Connection(source=f"{self.protocol}:{addr[0]}:{addr[1]}", sock=conn)
            task = loop.create_task(self._serve(conn, record))
            self._connections[task] = record
            self.metrics.tcp_accepted.inc()
            self.metrics.connections.set(len(self._connections))

    def _shed_quietest(self, why: str) -> None:
        candidates = [c for c in self._connections.values() if c.closed_by_us is None]
        if not candidates:
            return
        victim = min(candidates, key=lambda c: c.last_active)
        victim.closed_by_us = "shed"
        self.metrics.tcp_shed.inc()
        self._shed_log.warning(
            "shedding TCP connection %s, quiet for %.0f s (%s)",
            victim.source,
            time.monotonic() - victim.last_active,
            why,
        )
        self._close_connection(victim)

    async def _idle_sweeper(self) -> None:
        period = max(0.05, min(self.idle_timeout_s / 4, 5.0))
        while not self._closing:
            await asyncio.sleep(period)
            deadline = time.monotonic() - self.idle_timeout_s
            for record in list(self._connections.values()):
                if record.closed_by_us is None and record.transport is not None and record.last_active < deadline:
                    record.closed_by_us = "idle"
                    self.metrics.tcp_timed_out.inc()
                    self._close_connection(record)

    @staticmethod
    def _close_connection(record: _Connection) -> None:
        # The reader keeps what it already holds and then sees end of stream, so the handler
        # submits every complete frame and returns; abort frees the descriptor at once. A connection
        # whose handler has not started yet is closed here, and its handler returns at once.
        if record.transport is not None:
            record.transport.abort()  # type: ignore[attr-defined]
        elif record.sock is not None:
            record.sock.close()

    # -- one connection -----------------------------------------------------------------------

    async def _serve(self, conn: socket.socket, record: _Connection) -> None:
        """One connection's life: take the socket over, converse until the end, always leave the books right."""
        writer = None
        try:
            if record.closed_by_us:  # shed before its handler ran: its socket is closed already
                return
            reader, writer = await asyncio.open_connection(sock=conn, limit=READ_CHUNK)
            record.reader, record.transport = reader, writer.transport
            if self._closing or record.closed_by_us:
                self._close_connection(record)
            await self._converse(reader, writer, record)
        except OSError as exc:
            log.debug("%s connection from %s failed: %s", self.protocol.upper(), record.source, exc)
            conn.close()
        finally:
            task = asyncio.current_task()
            self._connections.pop(task, None)  # type: ignore[arg-type]
            self.metrics.connections.set(len(self._connections))
            if writer is not None:
                writer.transport.abort()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: _Connection) -> None:
        """Read frames until end of stream, an error, or we close it; every complete frame is submitted."""
        deframer = Deframer(self.pipeline.settings.max_line_bytes)
        submit = self.pipeline.submit
        while True:
            try:
                data = await reader.read(READ_CHUNK)
            except (ConnectionError, OSError) as exc:
                log.debug("TCP connection from %s ended: %s", record.source, exc)
                data = b""
            record.last_active = time.monotonic()
            frames = deframer.feed(data) if data else deframer.finish()
            if frames:
                while not submit("tcp", record.source, frames, block=False):
                    await asyncio.sleep(0.005)  # queue full: stop reading, the sender waits
                    record.last_active = time.monotonic()
            if not data:
                break

    # -- lifecycle ----------------------------------------------------------------------------

    async def close(self, timeout: float = 10.0) -> None:
        """Stop accepting, let every connection submit what it has read, then close them."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()
        for record in list(self._connections.values()):
            self._close_connection(record)
        pending = list(self._connections)
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:  # still waiting for queue room after the timeout
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
                log.warning("%d TCP connections did not finish within %.0f s and were cut", len(late), timeout)
