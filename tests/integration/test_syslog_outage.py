"""The graph stops during ingest and comes back: nothing is lost; 200 TCP connections at once are served."""

from __future__ import annotations

import socket
import threading

from neo4j.exceptions import ServiceUnavailable

from graph_schema.cypher.events import TOKENS_KEPT
from graph_schema.model import Label
from ingest.syslog.aggregator import EntityRef
from ingest.syslog.pipeline import SyslogPipeline
from tests.integration.syslog_helpers import (
    drained_event_rows,
    events_of,
    fast_settings,
    running_worker,
    short_retry_store,
    total_count,
    wait_for,
    write_event_rows,
)


def _send_tcp(port: int, lines: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        payload = b"".join(f"{len(line.encode())} {line}".encode() for line in lines)
        conn.sendall(payload)


def _lines(app: str, start: int, count: int) -> list[str]:
    return [
        f"<11>1 2026-11-23T10:00:{i % 60:02d}.{i:06d}Z web-9 {app} 42 - - "
        f"disk write failed: No space left on device (id {i})"
        for i in range(start, start + count)
    ]


def test_graph_outage_loses_no_aggregate(
    store, graph_server, graph_settings, graph_uri, graph_user, tmp_path, unique_prefix
):
    assert graph_server is not None, "this test stops and starts the embedded graph server"
    with short_retry_store(graph_settings, graph_uri, graph_user) as worker_store:
        _outage(store, worker_store, graph_server, tmp_path, unique_prefix)


def _outage(store, worker_store, graph_server, tmp_path, unique_prefix):
    app = f"{unique_prefix}ledger"
    # One row in memory at most, so the outage also exercises the disk spool.
    settings = fast_settings(tmp_path, buffer_memory_rows=1)
    try:
        with running_worker(settings, worker_store) as (pipeline, listeners):
            _, port = listeners.add_tcp("127.0.0.1", 0)
            _send_tcp(port, _lines(app, 0, 100))
            assert wait_for(lambda: total_count(store, app) == 100)
            graph_server.stop()
            for chunk in range(4):
                _send_tcp(port, _lines(app, 100 + chunk * 50, 50))
                assert wait_for(
                    lambda: pipeline.buffer.sizes() != (0, 0) or pipeline.metrics.write_failures._value.get() > 0,
                    timeout=30,
                )
            assert wait_for(lambda: pipeline.lines_processed == 300)
            assert wait_for(lambda: pipeline.metrics.write_failures._value.get() > 0, timeout=30)
            # leaving the block stops the worker while the graph is still down: the rest goes to disk
        spooled = list((settings.state_dir / "spool").glob("*.json"))
        assert spooled, "unwritten aggregates must be kept on disk at shutdown"
    finally:
        graph_server.start()
    # A new worker on the same state directory writes what the last one kept.
    pipeline = SyslogPipeline(settings, worker_store).start()
    try:
        assert wait_for(lambda: total_count(store, app) == 300, timeout=90), events_of(store, app)
    finally:
        pipeline.stop(timeout=60)
    assert not list((settings.state_dir / "spool").glob("*.json"))
    assert {row["signature_class"] for row in events_of(store, app)} == {"disk_full"}


def test_two_hundred_tcp_connections_at_once(store, tmp_path, unique_prefix):
    app = f"{unique_prefix}fanout"
    settings = fast_settings(tmp_path)
    with running_worker(settings, store) as (pipeline, listeners):
        _, port = listeners.add_tcp("127.0.0.1", 0)
        connections = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(200)]
        try:
            assert wait_for(lambda: pipeline.metrics.connections._value.get() == 200, timeout=30)
            barrier = threading.Barrier(len(connections))

            def send(conn: socket.socket, n: int) -> None:
                barrier.wait()
                conn.sendall(f"<14>Nov 23 10:00:00 edge-{n % 7} {app}[{n}]: request {n} served in 12ms\n".encode() * 5)

            threads = [threading.Thread(target=send, args=(c, i)) for i, c in enumerate(connections)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
        finally:
            for conn in connections:
                conn.close()
        assert wait_for(lambda: total_count(store, app) == 1000, timeout=60), events_of(store, app)
    assert pipeline.metrics.received.labels("tcp")._value.get() == 1000


class _LosesFirstCommitAck:
    """The graph store, except that its first transaction commits and then reports the connection lost.

    That is what a connection dying during COMMIT looks like to the writer: the outcome is unknown,
    so the batch is written again.
    """

    def __init__(self, store):
        self._store = store
        self.lost = 0

    def transaction(self, work):
        result = self._store.transaction(work)
        if not self.lost:
            self.lost += 1
            raise ServiceUnavailable("connection lost during COMMIT (the commit landed)")
        return result

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_batch_written_again_after_a_lost_commit_counts_its_lines_once(store, tmp_path, unique_prefix):
    app = f"{unique_prefix}ackless"
    flaky = _LosesFirstCommitAck(store)
    with running_worker(fast_settings(tmp_path), flaky) as (pipeline, listeners):
        _, port = listeners.add_tcp("127.0.0.1", 0)
        _send_tcp(port, _lines(app, 0, 100))
        assert wait_for(lambda: pipeline.lines_processed == 100)
        assert wait_for(lambda: flaky.lost and pipeline.buffer.sizes() == (0, 0), timeout=30)
        assert pipeline.metrics.write_failures._value.get() >= 1  # the batch really was written twice
        _send_tcp(port, _lines(app, 100, 20))  # a later batch with the same (entity, template, bucket) still adds
        assert wait_for(lambda: total_count(store, app) == 120, timeout=30), events_of(store, app)
    assert total_count(store, app) == 120


def test_a_batch_written_again_counts_once_even_after_other_workers_added_to_the_same_event(store, unique_prefix):
    host = EntityRef(Label.HOST, f"{unique_prefix}h1", f"{unique_prefix}h1")
    lost = drained_event_rows(host, 100)  # its commit landed but the worker never heard: it will write it again
    write_event_rows(store, lost)
    others = [drained_event_rows(host, 10) for _ in range(3)]  # meanwhile other workers add to the same Event
    for rows in others:
        write_event_rows(store, rows)
    write_event_rows(store, lost)
    assert total_count(store, host.id) == 130
    write_event_rows(store, others[1])
    assert total_count(store, host.id) == 130
    for _ in range(TOKENS_KEPT):  # a token is remembered for the last TOKENS_KEPT batches
        write_event_rows(store, drained_event_rows(host, 1))
    assert total_count(store, host.id) == 130 + TOKENS_KEPT
