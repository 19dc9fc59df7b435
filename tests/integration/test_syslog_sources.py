"""Followed files (growth, rotation, truncation, restart), dead letters, UDP drops, metrics, and the CLI on stdin."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from ingest.syslog.listeners import SyslogListeners
from ingest.syslog.pipeline import SyslogPipeline
from tests.integration.syslog_helpers import (
    events_of,
    fast_settings,
    running_worker,
    total_count,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]


def _append(path: Path, app: str, start: int, count: int) -> None:
    with path.open("a") as out:
        for i in range(start, start + count):
            out.write(f"<13>Nov 23 10:00:{i % 60:02d} host-a {app}[7]: cache refresh {i} took {i}ms\n")


def test_followed_file_survives_rotation_truncation_and_restart(store, tmp_path, unique_prefix):
    app = f"{unique_prefix}indexer"
    log = tmp_path / "app.log"
    _append(log, app, 0, 10)
    settings = fast_settings(tmp_path)
    with running_worker(settings, store) as (pipeline, listeners):
        listeners.add_file(log)
        assert wait_for(lambda: total_count(store, app) == 10)
        _append(log, app, 10, 5)  # growth
        assert wait_for(lambda: total_count(store, app) == 15)
        log.rename(tmp_path / "app.log.1")  # rotation: a new file takes the name
        _append(log, app, 15, 7)
        assert wait_for(lambda: total_count(store, app) == 22)
        log.write_text("")  # truncation (copytruncate) ...
        _append(log, app, 22, 3)  # ... then new lines from the start
        assert wait_for(lambda: total_count(store, app) == 25)
    _append(log, app, 25, 4)  # written while no worker runs
    with running_worker(settings, store) as (pipeline, listeners):
        listeners.add_file(log)
        assert wait_for(lambda: total_count(store, app) == 29)
        assert pipeline.lines_processed == 4  # resumed at the remembered offset, nothing read twice


def test_bad_lines_go_to_the_dead_letter_file_and_metrics_are_served(store, tmp_path, unique_prefix):
    app = f"{unique_prefix}edge"
    settings = fast_settings(tmp_path, max_line_bytes=1024)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    with running_worker(settings, store) as (pipeline, listeners):
        server, _ = pipeline.metrics.serve("127.0.0.1", metrics_port)
        try:
            _, port = listeners.add_tcp("127.0.0.1", 0)
            good = f"<14>Nov 23 10:00:00 host-b {app}: fine line".encode()
            frames = [
                good,
                b"<14>Nov 23 10:00:01 host-b app: bad \xff\xfe bytes",
                b"<14>" + b"x" * 5000,
                good,
                b"not syslog at all",
            ]
            with socket.create_connection(("127.0.0.1", port)) as conn:
                conn.sendall(b"".join(b"%d %s" % (len(f), f) for f in frames))
            assert wait_for(lambda: total_count(store, app) == 2)
            text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        finally:
            server.shutdown()
    entries = [json.loads(line) for line in (settings.state_dir / "dead_letters.jsonl").read_text().splitlines()]
    assert sorted(e["reason"] for e in entries) == ["not valid UTF-8", "oversize"]
    assert next(e for e in entries if e["reason"] == "oversize")["length"] == 5004
    assert 'rca_syslog_dead_lettered_lines_total{reason="oversize"} 1.0' in text
    assert 'rca_syslog_received_lines_total{transport="tcp"} 5.0' in text
    assert "rca_syslog_unparsed_lines_total 1.0" in text
    assert 'rca_syslog_parsed_lines_total{format="rfc3164"} 2.0' in text
    assert "rca_syslog_flush_seconds_count" in text and "rca_syslog_queue_depth" in text


def test_udp_overload_is_counted_as_drops(store, tmp_path):
    settings = fast_settings(tmp_path, queue_batches=2)
    pipeline = SyslogPipeline(settings, store)  # processor not started: the queue fills and stays full
    listeners = SyslogListeners(pipeline)
    try:
        _, port = listeners.add_udp("127.0.0.1", 0)
        # Ten senders: each is its own queue item even when datagrams arrive in one loop pass.
        for i in range(10):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.sendto(f"<14>Nov 23 10:00:00 h app: datagram {i}".encode(), ("127.0.0.1", port))
        dropped = pipeline.metrics.dropped.labels("udp")
        assert wait_for(lambda: dropped._value.get() == 8, timeout=10), dropped._value.get()
        assert pipeline.queue.qsize() == 2
    finally:
        listeners.stop()
        pipeline.start()
        pipeline.stop(timeout=30)


def test_cli_reads_stdin_into_the_graph(store, graph_uri, graph_user, graph_settings, tmp_path, unique_prefix):
    app = f"{unique_prefix}batch-job"
    lines = "".join(
        f"<11>1 2026-11-23T10:00:0{i}Z host-c {app} 1 - - job step {i} failed: Connection reset by peer\n"
        for i in range(6)
    )
    env = dict(
        os.environ,
        NEO4J_URI=graph_uri,
        NEO4J_USER=graph_user,
        NEO4J_PASSWORD=graph_settings.password.get_secret_value(),
        RCA_GRAPH__DATABASE=graph_settings.database,
        RCA_SYSLOG__FLUSH_INTERVAL_S="0.5",
    )
    result = subprocess.run(
        [sys.executable, "-m", "rca.cli.main", "ingest", "syslog", "--state-dir", str(tmp_path / "state"), "-"],
        input=lines,
        text=True,
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "processed 6 lines; all written" in result.stdout
    rows = events_of(store, app)
    assert sum(r["count"] for r in rows) == 6 and {r["signature_class"] for r in rows} == {"connection"}
