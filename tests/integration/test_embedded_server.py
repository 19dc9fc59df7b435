"""The embedded default server: start, persistence, clean stop, no orphan JVM, port conflicts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server, open_graph
from graph_schema.cypher import topology as cypher
from graph_schema.embedded import EmbeddedGraphServer, find_running
from graph_schema.errors import EmbeddedServerError
from graph_schema.model import Label
from graph_schema.store import GraphStore
from settings.graph import GraphSettings
from tests.support.waiting import wait_until

from .cli import ROOT, rca

PASSWORD = "embedded-test-pw"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, what: str, timeout: float = 20.0) -> None:
    wait_until(lambda: not _alive(pid), timeout=timeout, interval=0.2, message=what)


@pytest.fixture
def settings(tmp_path) -> GraphSettings:
    return GraphSettings(password=PASSWORD, data_dir=tmp_path / "graph", heap="512m")


def test_data_survives_a_restart_and_the_jvm_is_gone_after_stop(settings):
    with embedded_server(settings) as server:
        pid = server.pid
        with GraphStore.connect(settings, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
            migrations.migrate(store)
            store.write_rows(
                cypher.UPSERT_ENTITIES[Label.HOST],
                [{"id": "h-persist", "name": "h", "kind": "host", "technology": None, "attrs": None}],
                source="t",
                now=1.0,
            )
    _wait_gone(pid, "the JVM is gone after the server object stopped it")
    with open_graph(settings) as store:
        assert store.read("MATCH (n:Host {id: 'h-persist'}) RETURN n.name AS name") == [{"name": "h"}]


def test_the_jvm_dies_with_a_parent_killed_without_cleanup(settings):
    # A parent process that starts the server and is then SIGKILLed: no atexit, no handlers run.
    script = textwrap.dedent(f"""
        import signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from graph_schema.embedded import EmbeddedGraphServer
        server = EmbeddedGraphServer({str(settings.data_dir)!r}, {PASSWORD!r}, heap="512m").start()
        print(server.pid, flush=True)
        signal.pause()  # until the test SIGKILLs this process
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_line = parent.stdout.readline()
    assert first_line.strip(), f"the parent could not start the server: {parent.stderr.read()[-2000:]}"
    jvm_pid = int(first_line)
    assert _alive(jvm_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    _wait_gone(jvm_pid, "no orphan JVM left behind by the killed parent")


def test_port_in_use_is_refused_clearly(settings):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(EmbeddedServerError, match=f"port {port} on 127.0.0.1 is already in use"):
            EmbeddedGraphServer(settings.data_dir, PASSWORD, bolt_port=port).start()
        result = rca(
            "--data-dir",
            str(settings.data_dir),
            "graph",
            "serve",
            "--bolt-port",
            str(port),
            env={"NEO4J_URI": "", "NEO4J_PASSWORD": PASSWORD},
        )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"rca: error: port {port} on 127.0.0.1 is already in use; choose another with --bolt-port"
    )


def test_short_password_is_refused(settings):
    with pytest.raises(EmbeddedServerError, match="at least 8 characters"):
        EmbeddedGraphServer(settings.data_dir, "short")


def test_graph_serve_is_shared_and_stops_on_ctrl_c(settings):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEO4J_URI": "", "NEO4J_PASSWORD": PASSWORD}
    serve = subprocess.Popen(
        [sys.executable, "-m", "rca.cli.main", "--data-dir", str(settings.data_dir), "graph", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "embedded graph serving bolt://127.0.0.1:" in serve.stdout.readline()
        running = find_running(settings.data_dir)
        assert running is not None
        # Two other processes use the same graph through it instead of starting their own.
        first = rca(
            "--data-dir", str(settings.data_dir), "graph", "migrate", env={"NEO4J_URI": "", "NEO4J_PASSWORD": PASSWORD}
        )
        second = rca(
            "--data-dir", str(settings.data_dir), "graph", "status", env={"NEO4J_URI": "", "NEO4J_PASSWORD": PASSWORD}
        )
        assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
        assert f"127.0.0.1:{running.bolt_port}" in second.stdout
    finally:
        serve.send_signal(signal.SIGINT)
        out, _ = serve.communicate(timeout=60)
    assert serve.returncode == 0
    assert "embedded graph stopped" in out
    _wait_gone(running.pid, "the shared server's JVM is gone after Ctrl-C")
    assert find_running(settings.data_dir) is None
