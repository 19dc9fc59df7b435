"""RELP: rsyslog's omrelp delivers to us, and a message is answered only once it is journaled and synced."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import threading
from pathlib import Path

from tests.integration.syslog_helpers import (
    events_of,
    fast_settings,
    running_rsyslog,
    running_worker,
    total_count,
    wait_for,
)
from tests.integration.syslog_process import WorkerProcess

RSYSLOG_CONF = """
global(workDirectory="{work}")
module(load="imfile" PollingInterval="1")
module(load="omrelp")
input(type="imfile" File="{source}" Tag="{tag}" Severity="err" Facility="local0")
action(type="omrelp" Target="127.0.0.1" Port="{port}" Template="RSYSLOG_SyslogProtocol23Format")
"""


def _command(txnr: int, command: str, data: bytes = b"") -> bytes:
    return (
        b"%d %s %d %s\n" % (txnr, command.encode(), len(data), data)
        if data
        else b"%d %s 0\n" % (txnr, command.encode())
    )


class _Client:
    """A bare RELP client: sends commands, reads answers."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""

    def send(self, payload: bytes) -> None:
        self.sock.sendall(payload)

    def answers(self, count: int) -> list[tuple[int, bytes]]:
        """The next ``count`` rsp frames as (txnr, data)."""
        out: list[tuple[int, bytes]] = []
        while len(out) < count:
            match = re.match(rb"(\d+) rsp (\d+)[ \n]", self.buf)
            if match:
                length = int(match.group(2))
                start = match.end() if length else match.end() - 1
                if len(self.buf) > start + length:
                    assert self.buf[start + length : start + length + 1] == b"\n"
                    out.append((int(match.group(1)), self.buf[start : start + length]))
                    self.buf = self.buf[start + length + 1 :]
                    continue
            data = self.sock.recv(65536)
            assert data, f"connection closed after {len(out)} answers"
            self.buf += data
        return out

    def open(self) -> bytes:
        self.send(_command(1, "open", b"relp_version=0\nrelp_software=test\ncommands=syslog"))
        ((txnr, data),) = self.answers(1)
        assert txnr == 1
        return data


def _messages(app: str, count: int, first_txnr: int = 2) -> bytes:
    return b"".join(
        _command(first_txnr + i, "syslog", f"<11>1 2026-11-23T10:00:00Z web-4 {app} - - - charge {i} declined".encode())
        for i in range(count)
    )


def test_relp_answers_a_message_only_once_the_journal_has_synced_it(store, tmp_path, unique_prefix):
    app = f"{unique_prefix}relp"
    settings = fast_settings(tmp_path)
    with running_worker(settings, store) as (pipeline, listeners):
        journal = pipeline.journal
        assert journal is not None
        # The journal's syncs wait at a gate: no message may be answered while they do.
        gate = threading.Event()
        sync = journal.sync

        def gated_sync() -> None:
            gate.wait()
            sync()

        journal.sync = gated_sync  # type: ignore[method-assign]
        _, port = listeners.add_relp("127.0.0.1", 0)
        client = _Client(port)
        try:
            offers = client.open()
            assert offers.startswith(b"200 OK\n") and b"commands=syslog" in offers
            client.send(_messages(app, 100))
            client.sock.settimeout(1.5)
            try:
                early = client.sock.recv(100)
            except TimeoutError:
                early = b""
            assert early == b"", "answered before the journal synced"
            assert journal.position == 100 and journal.synced == 0
            client.sock.settimeout(20)
        finally:
            gate.set()
        answers = client.answers(100)
        assert journal.synced >= 100
        assert answers == [(txnr, b"200 OK") for txnr in range(2, 102)]
        client.send(_command(102, "close"))
        assert client.answers(1) == [(102, b"")]
        assert client.sock.recv(10) == b""  # the server closes after answering close
        client.sock.close()
        assert wait_for(lambda: total_count(store, app) == 100, timeout=30), events_of(store, app)


def test_relp_answered_messages_survive_a_sigkill(
    store, graph_settings, graph_uri, graph_user, tmp_path, unique_prefix
):
    app = f"{unique_prefix}relpkill"
    state = tmp_path / "state"
    slow = {"RCA_SYSLOG__FLUSH_INTERVAL_S": "60"}  # nothing reaches the graph before the kill
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, state, env=slow, args=["--relp", "127.0.0.1:0"])
    try:
        assert worker.proc.stdout is not None
        line = worker.proc.stdout.readline().decode()
        relp_port = int(re.match(r"listening on relp .*:(\d+)$", line.strip()).group(1))  # type: ignore[union-attr]
        client = _Client(relp_port)
        client.open()
        client.send(_messages(app, 2000))
        assert len(client.answers(2000)) == 2000
        assert total_count(store, app) == 0
    finally:
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(timeout=10)
        worker._stderr.close()
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, state)
    try:
        assert wait_for(lambda: total_count(store, app) == 2000, timeout=30), worker.stderr()[-2000:]
    finally:
        assert worker.terminate() == 0
    assert total_count(store, app) == 2000


def test_rsyslog_omrelp_forwards_a_file(store, tmp_path, unique_prefix):
    assert shutil.which("rsyslogd"), "the Debian package rsyslog is needed"
    assert list(Path("/usr/lib").glob("*/rsyslog/omrelp.so")), "the Debian package rsyslog-relp is needed"
    tag = f"{unique_prefix}relpfile"
    source = tmp_path / "app.log"
    source.write_text("")
    with running_worker(fast_settings(tmp_path), store) as (pipeline, listeners):
        _, port = listeners.add_relp("127.0.0.1", 0)
        conf = RSYSLOG_CONF.format(work=tmp_path / "rsyslog", source=source, tag=tag, port=port)
        with running_rsyslog(tmp_path, conf) as proc:
            with source.open("a") as out:
                for i in range(30):
                    out.write(f"refund {i} failed: connection refused by ledger\n")
            assert wait_for(lambda: total_count(store, tag) == 30, timeout=60), (events_of(store, tag), proc.poll())
        assert pipeline.metrics.received.labels("relp")._value.get() == 30
    assert all(row["severity"] == 3 for row in events_of(store, tag))
