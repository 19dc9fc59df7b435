"""Chaos: SIGKILL of the syslog worker and of the graph server mid-stream, then exact counts (issue 20: 2).

The worker journals every line it reads before processing it; after a SIGKILL the next worker on
the same state directory replays what no durable batch covers. The promise checked here: every
line the killed worker journaled is counted exactly once, and nothing is counted that was not sent.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

from ingest.syslog.journal import read_checkpoint, read_segment
from ingest.syslog.tcp import READ_CHUNK
from tests.integration.syslog_helpers import events_of, total_count, wait_for
from tests.integration.syslog_process import WorkerProcess, wait_until


def _frames(app: str, start: int, count: int) -> bytes:
    lines = (
        f"<11>1 2026-11-23T10:{i // 1000 % 60:02d}:00.{i % 1000:03d}Z web-3 {app} 42 - - "
        f"payment {i} failed: upstream timed out after 30s"
        for i in range(start, start + count)
    )
    return b"".join(f"{len(line)} {line}".encode() for line in lines)


def journaled_lines(state_dir: Path) -> int:
    """Lines the worker had journaled, read from its state directory (the worker stopped or killed)."""
    journal = state_dir / "journal"
    last, _ = read_checkpoint(journal)
    for path in sorted(journal.glob("*.seg")):
        for record in read_segment(path):
            last = max(last, record.end)
    for path in (state_dir / "spool").glob("*.json"):
        last = max(last, int(json.loads(path.read_text()).get("journal") or 0))
    return last


def _kill(worker: WorkerProcess) -> None:
    worker.proc.send_signal(signal.SIGKILL)
    worker.proc.wait(timeout=10)
    worker._stderr.close()


def _counted_stays(store, app: str, expected: int, seconds: float = 1.5) -> bool:
    """The count reaches ``expected`` and is still there ``seconds`` later (a replay counted twice would grow it)."""
    if not wait_for(lambda: total_count(store, app) == expected, timeout=30):
        return False
    time.sleep(seconds)
    return total_count(store, app) == expected


def test_worker_killed_before_any_flush_counts_every_journaled_line_once(
    store, graph_settings, graph_uri, graph_user, tmp_path, unique_prefix
):
    app = f"{unique_prefix}killed"
    state = tmp_path / "state"
    # Nothing is flushed before the kill: without the journal every line would be lost.
    slow = {"RCA_SYSLOG__FLUSH_INTERVAL_S": "60"}
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, state, env=slow)
    try:
        with socket.create_connection(("127.0.0.1", worker.port), timeout=10) as conn:
            conn.sendall(_frames(app, 0, 5000))
        # The sender is done and the journal has synced all of it: the fully synced prefix is everything.
        assert wait_until(lambda: worker.metric("rca_syslog_journal_synced_lines") >= 5000, timeout=20)
        assert total_count(store, app) == 0
    finally:
        _kill(worker)
    assert journaled_lines(state) == 5000
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, state)
    try:
        assert _counted_stays(store, app, 5000), (events_of(store, app), worker.stderr()[-2000:])
        assert worker.metric("rca_syslog_journal_released_lines") == 5000
    finally:
        assert worker.terminate() == 0, worker.stderr()[-2000:]
    assert total_count(store, app) == 5000
    assert not list((state / "journal").glob("*.seg")), "a clean stop leaves no journal to replay"


class _Stream(threading.Thread):
    """Sends chunks of octet-counted lines until told to stop or the connection breaks; counts what it sent."""

    def __init__(self, port: int, app: str, chunk: int = 200, total: int = 200_000):
        super().__init__(daemon=True)
        self.conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
        self.app, self.chunk, self.total = app, chunk, total
        self.completed = 0  # lines in chunks whose sendall returned
        self.attempted = 0  # plus the chunk being sent
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set() and self.completed < self.total:
                self.attempted = self.completed + self.chunk
                self.conn.sendall(_frames(self.app, self.completed, self.chunk))
                self.completed = self.attempted
                time.sleep(0.002)
        except OSError:
            pass
        finally:
            self.conn.close()


def _tcp_buffer_bound_lines(line_bytes: int) -> int:
    """Lines the socket buffers (sender's and worker's) and one unread chunk can hold: never read, not promised."""
    rmem_max = int(Path("/proc/sys/net/ipv4/tcp_rmem").read_text().split()[2])
    return (rmem_max + 64 * 1024 + READ_CHUNK) // line_bytes + 1


def test_worker_killed_mid_stream_counts_every_journaled_line_once(
    store, graph_settings, graph_uri, graph_user, tmp_path, unique_prefix
):
    app = f"{unique_prefix}midstream"
    state = tmp_path / "state"
    env = {"RCA_SYSLOG__FLUSH_INTERVAL_S": "0.5"}
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, state, env=env)
    stream = _Stream(worker.port, app)
    try:
        stream.start()
        # Flushes have reached the graph and more lines are arriving: the kill lands between the two.
        assert wait_for(lambda: total_count(store, app) > 0 and stream.completed > 5000, timeout=30)
        os.kill(worker.proc.pid, signal.SIGSTOP)  # frozen: what it journaled can be read before it dies
        journaled = journaled_lines(state)
        sent_before_kill = stream.completed
        counted_before_kill = total_count(store, app)
    finally:
        _kill(worker)
        stream.stop.set()
        stream.join(timeout=30)
    assert 0 < counted_before_kill < journaled <= stream.attempted
    line_bytes = len(_frames(app, 0, 1))
    assert sent_before_kill - journaled <= _tcp_buffer_bound_lines(line_bytes)
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, state, env=env)
    try:
        assert _counted_stays(store, app, journaled), (journaled, events_of(store, app), worker.stderr()[-2000:])
    finally:
        assert worker.terminate() == 0, worker.stderr()[-2000:]
    assert total_count(store, app) == journaled <= stream.attempted


def test_graph_server_killed_mid_stream_loses_and_doubles_nothing(
    store, graph_server, graph_settings, graph_uri, graph_user, tmp_path, unique_prefix
):
    assert graph_server is not None, "this test kills and restarts the embedded graph server"
    app = f"{unique_prefix}graphkill"
    env = {
        "RCA_SYSLOG__FLUSH_INTERVAL_S": "0.3",
        "RCA_SYSLOG__RETRY_INTERVAL_S": "0.3",
        "RCA_SYSLOG__WRITE_RETRY_TIME_S": "1",  # give a write up after a second, as the outage test's store does
    }
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, tmp_path / "state", env=env)
    stream = _Stream(worker.port, app, total=40_000)
    try:
        stream.start()
        assert wait_for(lambda: total_count(store, app) > 0, timeout=30)
        graph_server.kill()  # mid-stream, likely during a commit: its outcome is unknown to the worker
        try:
            assert wait_until(lambda: worker.metric("rca_syslog_write_failures_total") > 0, timeout=20)
        finally:
            graph_server.start()
        stream.join(timeout=60)
        assert not stream.is_alive() and stream.completed == 40_000
        assert _counted_stays(store, app, 40_000, seconds=1.0), (events_of(store, app), worker.stderr()[-2000:])
    finally:
        code = worker.terminate()
    assert code == 0, worker.stderr()[-2000:]
    assert total_count(store, app) == 40_000


def test_worker_killed_while_following_a_growing_file_counts_each_line_once(
    store, graph_settings, graph_uri, graph_user, tmp_path, unique_prefix
):
    # The file is the sender's own record: after the restart every line of it must be counted once,
    # neither skipped nor read again, although the offsets file lags behind what the journal holds.
    app = f"{unique_prefix}followed"
    source = tmp_path / "app.log"
    source.write_text("")
    state = tmp_path / "state"
    args = ["--file", str(source)]
    env = {"RCA_SYSLOG__FLUSH_INTERVAL_S": "0.5", "RCA_SYSLOG__FILE_POLL_INTERVAL_S": "0.05"}
    total = 0
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, state, env=env, args=args)
    try:
        with source.open("a") as out:
            while total < 60_000 and not (total >= 20_000 and total_count(store, app) > 0):
                out.write(
                    "".join(
                        f"<11>Nov 23 10:00:00 web-5 {app}[7]: order {i} failed: disk full\n"
                        for i in range(total, total + 500)
                    )
                )
                out.flush()
                total += 500
                time.sleep(0.005)
            os.kill(worker.proc.pid, signal.SIGSTOP)
            for _ in range(10):  # lines written while it is frozen: the next worker reads them
                out.write(
                    "".join(
                        f"<11>Nov 23 10:00:00 web-5 {app}[7]: order {i} failed: disk full\n"
                        for i in range(total, total + 500)
                    )
                )
                total += 500
        journaled = journaled_lines(state)
        assert 0 < total_count(store, app) < journaled < total, (journaled, total)
    finally:
        _kill(worker)
    worker = WorkerProcess(graph_settings, graph_uri, graph_user, state, env=env, args=args)
    try:
        assert _counted_stays(store, app, total), (total, journaled, worker.stderr()[-2000:])
    finally:
        assert worker.terminate() == 0, worker.stderr()[-2000:]
    assert total_count(store, app) == total
