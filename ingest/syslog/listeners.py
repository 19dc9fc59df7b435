"""Listeners: UDP and TCP (asyncio, many connections), followed files and stdin, feeding the pipeline.

Back-pressure: TCP readers stop reading while the pipeline's queue is full (the sender's window
fills and it waits); UDP cannot wait, so its datagrams are counted as dropped instead; file and
stdin readers block.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import threading
from pathlib import Path

from ingest.syslog.addresses import parse_address
from ingest.syslog.pipeline import SyslogPipeline
from ingest.syslog.private_files import write_private
from ingest.syslog.relp import RelpServer
from ingest.syslog.tcp import TcpServer

log = logging.getLogger(__name__)
__all__ = ["SyslogListeners", "parse_address"]
READ_CHUNK = 256 * 1024
FILE_BATCH_LINES = 2000


class _UdpProtocol(asyncio.DatagramProtocol):
    """Collects the datagrams of one loop pass into one queue item per sender batch."""

    def __init__(self, pipeline: SyslogPipeline, loop: asyncio.AbstractEventLoop):
        self.pipeline = pipeline
        self.loop = loop
        self._pending: dict[str, list[bytes]] = {}

    def datagram_received(self, data: bytes, addr) -> None:
        # One message per datagram (RFC 5426), but some senders pack several lines into one.
        frames = [line.rstrip(b"\r\x00") for line in data.split(b"\n") if line.strip(b"\r\x00")]
        if not self._pending:
            self.loop.call_soon(self._submit)
        self._pending.setdefault(f"udp:{addr[0]}:{addr[1]}", []).extend(frames)

    def _submit(self) -> None:
        pending, self._pending = self._pending, {}
        for source, frames in pending.items():
            if not self.pipeline.submit("udp", source, frames, block=False):
                self.pipeline.metrics.dropped.labels("udp").inc(len(frames))


class SyslogListeners:
    """Runs the network listeners on one asyncio loop thread, and a thread per file or stdin."""

    def __init__(self, pipeline: SyslogPipeline, poll_interval_s: float = 0.2):
        self.pipeline = pipeline
        self.poll_interval_s = poll_interval_s
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="syslog-net", daemon=True)
        self._servers: list = []
        self._tcp_servers: list[TcpServer] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.udp_addresses: list[tuple[str, int]] = []
        self.tcp_addresses: list[tuple[str, int]] = []
        self.relp_addresses: list[tuple[str, int]] = []
        self._offsets = _Offsets(pipeline.paths.offsets)
        if pipeline.journal is not None:
            # The journal holds lines read after the offsets were last saved: resume after those.
            for source, cursor in pipeline.journal.cursors.items():
                if source.startswith("file:"):
                    entry = json.loads(cursor)
                    self._offsets.set(entry["key"], entry["inode"], entry["offset"])

    # -- network ------------------------------------------------------------------------------

    def _ensure_loop(self) -> None:
        if not self._loop_thread.is_alive():
            self._loop_thread.start()

    def add_udp(self, host: str, port: int) -> tuple[str, int]:
        """Listen for datagrams; returns the bound address (port 0 picks a free one)."""
        self._ensure_loop()

        async def start():
            transport, _ = await self.loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self.pipeline, self.loop), local_addr=(host, port)
            )
            sock = transport.get_extra_info("socket")
            # A larger receive buffer absorbs bursts while the processor catches up.
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
            except OSError:
                pass
            return transport

        transport = asyncio.run_coroutine_threadsafe(start(), self.loop).result()
        self._servers.append(transport)
        address = transport.get_extra_info("sockname")[:2]
        self.udp_addresses.append(address)
        return address

    def add_tcp(self, host: str, port: int) -> tuple[str, int]:
        """Accept TCP connections (octet-counted or LF framing); returns the bound address."""
        address = self._serve(TcpServer, host, port)
        self.tcp_addresses.append(address)
        return address

    def add_relp(self, host: str, port: int) -> tuple[str, int]:
        """Accept RELP (acknowledged syslog, rsyslog's omrelp); returns the bound address."""
        address = self._serve(RelpServer, host, port)
        self.relp_addresses.append(address)
        return address

    def _serve(self, kind: type[TcpServer], host: str, port: int) -> tuple[str, int]:
        """Start a stream server of `kind` with the worker's connection limits; its bound address."""
        self._ensure_loop()
        settings = self.pipeline.settings
        server = kind(
            self.pipeline,
            max_connections=settings.tcp_max_connections,
            idle_timeout_s=settings.tcp_idle_timeout_s,
            log_interval_s=settings.error_log_interval_s,
        )

        async def start():
            return await server.start(host, port)

        address = asyncio.run_coroutine_threadsafe(start(), self.loop).result()
        self._tcp_servers.append(server)
        return address

    # -- files and stdin ----------------------------------------------------------------------

    def add_file(self, path: Path) -> None:
        """Follow ``path``: reads growth, survives rotation and truncation, remembers its offset."""
        thread = threading.Thread(target=self._follow, args=(Path(path),), name=f"syslog-file-{path}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def add_stdin(self, stream=None, on_eof=None) -> None:
        """Read lines from stdin until it closes, then call ``on_eof``."""
        thread = threading.Thread(
            target=self._read_stream, args=(stream or sys.stdin.buffer, on_eof), name="syslog-stdin", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _read_stream(self, stream, on_eof) -> None:
        batch: list[bytes] = []
        for line in stream:
            line = line.rstrip(b"\r\n")
            if line:
                batch.append(line)
            if len(batch) >= FILE_BATCH_LINES:
                self.pipeline.submit("stdin", "stdin", batch)
                batch = []
        if batch:
            self.pipeline.submit("stdin", "stdin", batch)
        if on_eof:
            on_eof()

    def _follow(self, path: Path) -> None:
        key = str(path.resolve())
        handle = None
        inode, offset = self._offsets.get(key)
        partial = b""
        while not self._stopping.is_set():
            if handle is None:
                try:
                    handle = open(path, "rb")  # noqa: SIM115 - held across polls, closed on rotation and exit
                except FileNotFoundError:
                    self._stopping.wait(self.poll_interval_s)
                    continue
                current = os.fstat(handle.fileno()).st_ino
                if current != inode:  # a different file than we remember: start at its beginning
                    inode, offset = current, 0
                handle.seek(offset)
                partial = b""
            data = handle.read(READ_CHUNK)
            if data:
                lines = (partial + data).split(b"\n")
                partial = lines.pop()
                frames = [line.rstrip(b"\r") for line in lines if line.strip()]
                offset = handle.tell() - len(partial)
                # One batch per read (at most READ_CHUNK bytes), journaled with the offset after it.
                cursor = json.dumps({"key": key, "inode": inode, "offset": offset})
                self.pipeline.submit("file", f"file:{path}", frames, cursor=cursor)
                self._offsets.set(key, inode, offset)
                continue
            # At the end: check for truncation and rotation before waiting for growth.
            try:
                stat = path.stat()
            except FileNotFoundError:
                stat = None
            if stat is not None and stat.st_ino == inode and stat.st_size < offset + len(partial):
                log.info("%s was truncated; reading it from the start", path)
                handle.seek(0)
                offset, partial = 0, b""
                self._offsets.set(key, inode, 0)
                continue
            if stat is not None and stat.st_ino != inode:
                log.info("%s was rotated; finishing the old file and opening the new one", path)
                if partial:
                    self.pipeline.submit("file", f"file:{path}", [partial])
                handle.close()
                handle = None
                inode, offset = None, 0
                continue
            self._offsets.flush()
            self._stopping.wait(self.poll_interval_s)
        if handle is not None:
            handle.close()
        self._offsets.flush()

    # -- lifecycle ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop accepting input; lines already queued stay for the pipeline."""
        self._stopping.set()
        if self._loop_thread.is_alive():

            async def close_all():
                for server in self._servers:
                    server.close()
                # TCP connections submit what they have read before they close.
                await asyncio.gather(*(tcp.close() for tcp in self._tcp_servers))
                others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in others:
                    task.cancel()
                await asyncio.gather(*others, return_exceptions=True)

            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=30)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._loop_thread.join(timeout=10)
        for thread in self._threads:
            if thread.name != "syslog-stdin":
                thread.join(timeout=10)
        self._offsets.flush()


class _Offsets:
    """File offsets by path, saved atomically to a JSON file."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._dirty = False
        try:
            self._data = json.loads(path.read_text())
        except (OSError, ValueError):
            self._data = {}

    def get(self, key: str) -> tuple[int | None, int]:
        entry = self._data.get(key) or {}
        return entry.get("inode"), int(entry.get("offset", 0))

    def set(self, key: str, inode: int | None, offset: int) -> None:
        with self._lock:
            self._data[key] = {"inode": inode, "offset": offset}
            self._dirty = True

    def flush(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            write_private(self.path, json.dumps(self._data))
            self._dirty = False
