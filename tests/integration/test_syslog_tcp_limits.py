"""Idle and abusive TCP connections, descriptor exhaustion and SIGTERM with connections open (issue 20: 1, 10)."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import subprocess
from types import SimpleNamespace

from ingest.syslog.tcp import TcpServer
from ingest.syslog.worker_metrics import SyslogMetrics
from settings.ingest import SyslogSettings
from tests.integration.syslog_helpers import events_of, total_count, wait_for
from tests.integration.syslog_process import WorkerProcess, open_idle, wait_until


def test_idle_connections_under_a_low_descriptor_limit_leave_room_for_senders(
    store, graph_settings, graph_uri, graph_user, tmp_path, unique_prefix
):
    # 300 silent connections against a worker allowed 256 descriptors (the issue: 1,100 against 1,024).
    worker = WorkerProcess(
        graph_settings, graph_uri, graph_user, tmp_path / "state", prefix=["prlimit", "--nofile=256:256"]
    )
    idle: list[socket.socket] = []
    try:
        idle = open_idle(worker.port, 300)
        wait_until(lambda: worker.metric("rca_syslog_tcp_accepted_connections_total") >= 300, timeout=20)
        tag = f"{unique_prefix}sender"
        lines = tmp_path / "lines.txt"
        lines.write_text("".join(f"order {i} failed: upstream timed out after 30s\n" for i in range(100)))
        subprocess.run(
            ["logger", "--tcp", "--octet-count", "--rfc5424", "--server", "127.0.0.1", "--port", str(worker.port)]
            + ["-t", tag, "-p", "daemon.err", "-f", str(lines)],
            check=True,
            timeout=30,
        )
        assert wait_for(lambda: total_count(store, tag) == 100, timeout=30), (events_of(store, tag), worker.stderr())
        # The quietest connections made room: at least 300 + 1 - (256 - 64) of them were shed.
        assert worker.metric("rca_syslog_tcp_shed_connections_total") >= 109
        assert worker.metric("rca_syslog_tcp_connections") <= 192
    finally:
        for sock in idle:
            sock.close()
        code = worker.terminate()
    log_lines = worker.stderr().splitlines()
    assert code == 0, worker.stderr()[-3000:]
    assert len(log_lines) <= 10, log_lines[:20]  # one rate-limited warning, not one per connection or accept


def test_sigterm_with_50_open_connections_flushes_their_lines_without_tracebacks(
    store, graph_settings, graph_uri, graph_user, tmp_path, unique_prefix
):
    app = f"{unique_prefix}shutdown"
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, tmp_path / "state")
    senders = []
    try:
        for i in range(50):
            sock = socket.create_connection(("127.0.0.1", worker.port), timeout=5)
            # A complete line, then one the connection has not ended yet: both must be counted.
            sock.sendall(f"<11>1 2026-11-23T10:00:00Z host-s {app} - - - step {i} done\n".encode())
            sock.sendall(f"<11>1 2026-11-23T10:00:01Z host-s {app} - - - step {i} still running".encode())
            senders.append(sock)
        assert wait_until(lambda: worker.metric("rca_syslog_received_lines_total") >= 50, timeout=20)
        code = worker.terminate()
    finally:
        for sock in senders:
            sock.close()
    stderr = worker.stderr()
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr and "CancelledError" not in stderr, stderr[-3000:]
    assert "processed 100 lines; all written" in "".join(worker.stdout_lines)
    assert total_count(store, app) == 100


# -- the TCP server alone, against a sink instead of the pipeline -----------------------------------


def _sink(**settings) -> SimpleNamespace:
    frames: list[bytes] = []

    def submit(transport, source, batch, block=True):
        frames.extend(batch)
        return True

    return SimpleNamespace(settings=SyslogSettings(**settings), metrics=SyslogMetrics(), submit=submit, frames=frames)


def _server(pipeline, **limits) -> TcpServer:
    values = {"max_connections": 100, "idle_timeout_s": 300.0, "log_interval_s": 10.0, **limits}
    return TcpServer(pipeline, **values)


def test_a_silent_connection_is_closed_after_the_idle_timeout_and_a_talking_one_is_not():
    async def scenario():
        pipeline = _sink()
        server = _server(pipeline, idle_timeout_s=1.0)
        host, port = await server.start("127.0.0.1", 0)
        silent_reader, _silent = await asyncio.open_connection(host, port)
        talking_reader, talking = await asyncio.open_connection(host, port)
        for i in range(15):  # 1.5 s of a line every 0.1 s: never silent for the 1 s timeout
            talking.write(f"tick {i}\n".encode())
            await talking.drain()
            await asyncio.sleep(0.1)
        assert await asyncio.wait_for(silent_reader.read(), 2) == b""  # closed by the worker
        assert not talking_reader.at_eof()
        assert pipeline.metrics.tcp_timed_out._value.get() == 1
        await server.close()
        return pipeline

    pipeline = asyncio.run(scenario())
    assert pipeline.frames == [f"tick {i}".encode() for i in range(15)]


def test_at_the_cap_the_quietest_connection_is_shed_for_the_new_one():
    async def scenario():
        pipeline = _sink()
        server = _server(pipeline, max_connections=3)
        host, port = await server.start("127.0.0.1", 0)
        oldest = await asyncio.open_connection(host, port)
        await asyncio.sleep(0.05)
        busy = await asyncio.open_connection(host, port)
        third = await asyncio.open_connection(host, port)
        await asyncio.sleep(0.05)
        busy[1].write(b"still here\n")  # the second-opened talks: it is no longer among the quietest
        await busy[1].drain()
        await asyncio.sleep(0.05)
        _reader, sender = await asyncio.open_connection(host, port)
        sender.write(b"from the new sender\n")
        await sender.drain()
        assert await asyncio.wait_for(oldest[0].read(), 2) == b""
        await asyncio.sleep(0.1)
        assert not busy[0].at_eof() and not third[0].at_eof()
        assert pipeline.metrics.tcp_shed._value.get() == 1
        await server.close()
        return pipeline

    pipeline = asyncio.run(scenario())
    assert sorted(pipeline.frames) == [b"from the new sender", b"still here"]


def test_accept_errors_back_off_and_log_once(caplog):
    async def scenario():
        pipeline = _sink()
        server = _server(pipeline)
        host, port = await server.start("127.0.0.1", 0)
        loop = asyncio.get_running_loop()
        real_accept = loop.sock_accept
        failures = {"left": 5}

        async def failing_accept(sock):
            if failures["left"]:
                failures["left"] -= 1
                raise OSError(errno.EMFILE, "Too many open files")
            return await real_accept(sock)

        loop.sock_accept = failing_accept  # type: ignore[method-assign]
        _reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"after the errors\n")
        await writer.drain()
        for _ in range(100):
            if pipeline.frames:
                break
            await asyncio.sleep(0.05)
        await server.close()
        return pipeline

    with caplog.at_level(logging.WARNING, logger="ingest.syslog.tcp"):
        pipeline = asyncio.run(scenario())
    assert pipeline.frames == [b"after the errors"]
    assert pipeline.metrics.tcp_accept_errors.labels("EMFILE")._value.get() == 5
    warnings = [r for r in caplog.records if r.name == "ingest.syslog.tcp"]
    assert len(warnings) == 1 and "Too many open files" in warnings[0].getMessage()
