"""The embedded default server: start, persistence, clean stop, no orphan JVM, port conflicts."""

from __future__ import annotations

import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap

import pytest
from pydantic import SecretStr

from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server, open_graph
from graph_schema.cypher import topology as cypher
from graph_schema.embedded import EmbeddedGraphServer, find_running, rotate_password
from graph_schema.errors import EmbeddedServerError, GraphAuthFailed
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


# --- the root password: off the process list and out of the logs, random and private per data directory ---


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat_file:
                    ppid = int(stat_file.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _env_without_password(**extra: str) -> dict:
    """The environment of a command that configures no graph password at all."""
    env = {k: v for k, v in os.environ.items() if k not in ("NEO4J_PASSWORD", "RCA_GRAPH__PASSWORD", "NEO4J_URI")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def test_the_password_is_in_no_command_line_and_no_log(tmp_path, caplog, monkeypatch):
    custom = "Custom-Secret-4711-pw"
    data_dir = tmp_path / "graph"
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("NEO4J_PASSWORD", custom)  # as a user would configure it
    with EmbeddedGraphServer(data_dir, custom, heap="512m") as server:
        jvm = _descendants(server.pid)
        assert server.pid in jvm
        for pid in jvm + [os.getpid()]:
            cmdline = _cmdline(pid)
            assert custom.encode() not in cmdline, f"the password is on the command line of pid {pid}"
            assert b"rootPassword=" not in cmdline
        for pid in jvm:  # nor in the server's environment: it reads the password file
            with open(f"/proc/{pid}/environ", "rb") as environ:
                assert custom.encode() not in environ.read()
        # Nobody else's command line holds it either (ps -eo args for any local user).
        assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and custom.encode() in _cmdline(int(pid))]
        logged_in = GraphSettings(password=custom, data_dir=data_dir)
        with GraphStore.connect(logged_in, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
            assert store.read("RETURN 1 AS one") == [{"one": 1}]
    assert custom not in caplog.text
    # Only the password file holds it; the server's logs and configuration (a hash) do not.
    holders = [p for p in data_dir.rglob("*") if p.is_file() and custom.encode() in p.read_bytes()]
    assert holders == [data_dir / "root.password"]
    assert list((data_dir / "log").iterdir()), "the server wrote logs to look through"


def test_a_new_data_dir_gets_a_random_private_password_that_other_processes_use(tmp_path):
    data_dir = tmp_path / "graph"
    settings = GraphSettings(data_dir=data_dir, heap="512m")  # no password configured
    assert settings.password is None
    old_umask = os.umask(0o022)
    try:
        with open_graph(settings) as store:
            assert store.read("RETURN 1 AS one") == [{"one": 1}]
    finally:
        os.umask(old_umask)
    password = (data_dir / "root.password").read_text()
    assert len(password) >= 32 and password != "rca-embedded"
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "root.password") == 0o600
    assert _mode(data_dir / "log" / "server.out") == 0o600
    # Another process on the same data directory finds and uses the same password.
    result = subprocess.run(
        [sys.executable, "-m", "rca.cli.main", "--data-dir", str(data_dir), "graph", "status"],
        cwd=ROOT,
        env=_env_without_password(RCA_GRAPH__HEAP="512m"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "schema version" in result.stdout
    assert (data_dir / "root.password").read_text() == password
    # And it really is root's password: a guess is refused.
    guess = GraphSettings(data_dir=data_dir, heap="512m", password="rca-embedded")
    with open_graph(guess) as store:
        with pytest.raises(GraphAuthFailed):
            store.check(required_version=None)


def test_an_explicit_password_wins_and_is_recorded_for_a_new_data_dir(tmp_path):
    data_dir = tmp_path / "graph"
    explicit = "explicitly-chosen-pw"
    with open_graph(GraphSettings(data_dir=data_dir, heap="512m", password=explicit)) as store:
        store.check(required_version=None)
    assert (data_dir / "root.password").read_text() == explicit
    # Later processes without a configured password use the one the server was created with.
    with open_graph(GraphSettings(data_dir=data_dir, heap="512m")) as store:
        store.check(required_version=None)
    # A configured password is used as given, even where the file says otherwise.
    with open_graph(GraphSettings(data_dir=data_dir, heap="512m", password="another-password")) as store:
        with pytest.raises(GraphAuthFailed):
            store.check(required_version=None)


def test_graph_serve_state_and_password_are_private_under_umask_022(tmp_path):
    data_dir = tmp_path / "graph"
    serve = subprocess.Popen(
        [sys.executable, "-m", "rca.cli.main", "--data-dir", str(data_dir), "graph", "serve"],
        cwd=ROOT,
        env=_env_without_password(RCA_GRAPH__HEAP="512m"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
    )
    try:
        assert "embedded graph serving bolt://127.0.0.1:" in serve.stdout.readline()
        running = find_running(data_dir)
        assert running is not None
        password = (data_dir / "root.password").read_text()
        assert _mode(data_dir) == 0o700
        assert _mode(data_dir / "server.json") == 0o600
        assert _mode(data_dir / "root.password") == 0o600
        state = (data_dir / "server.json").read_text()
        assert password not in state
        assert running.password_file == str(data_dir.resolve() / "root.password")
        for pid in _descendants(serve.pid):
            assert password.encode() not in _cmdline(pid)
        client = subprocess.run(
            [sys.executable, "-m", "rca.cli.main", "--data-dir", str(data_dir), "graph", "migrate"],
            cwd=ROOT,
            env=_env_without_password(),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert client.returncode == 0, client.stderr
    finally:
        serve.send_signal(signal.SIGINT)
        serve.communicate(timeout=60)
    assert serve.returncode == 0


def test_a_data_dir_from_before_keeps_its_old_default_until_rotated(tmp_path, caplog):
    data_dir = tmp_path / "graph"
    # A directory as earlier versions left it: created with the built-in default, no password file.
    with EmbeddedGraphServer(data_dir, "rca-embedded", heap="512m") as server:
        old = GraphSettings(data_dir=data_dir, password="rca-embedded")
        with GraphStore.connect(old, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
            migrations.migrate(store)
            store.write_rows(
                cypher.UPSERT_ENTITIES[Label.HOST],
                [{"id": "h-kept", "name": "kept", "kind": "host", "technology": None, "attrs": None}],
                source="t",
                now=1.0,
            )
    (data_dir / "root.password").unlink()
    os.chmod(data_dir, 0o755)
    settings = GraphSettings(data_dir=data_dir, heap="512m")
    with caplog.at_level(logging.WARNING, logger="graph_schema.credentials"):
        with open_graph(settings) as store:
            store.check(required_version=None)
            with pytest.raises(EmbeddedServerError, match="stop it first"):
                rotate_password(data_dir)
        with open_graph(settings) as store:
            store.check(required_version=None)
    warnings = [r for r in caplog.records if "old built-in default password" in r.getMessage()]
    assert len(warnings) == 1, "warned once, not at every start"
    assert (data_dir / "root.password").read_text() == "rca-embedded"
    assert _mode(data_dir) == 0o700
    result = subprocess.run(
        [sys.executable, "-m", "rca.cli.main", "--data-dir", str(data_dir), "graph", "rotate-password"],
        cwd=ROOT,
        env=_env_without_password(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rotated = (data_dir / "root.password").read_text()
    assert rotated != "rca-embedded" and rotated not in result.stdout + result.stderr
    assert _mode(data_dir / "root.password") == 0o600
    with open_graph(settings) as store:
        assert store.read("MATCH (n:Host {id: 'h-kept'}) RETURN n.name AS name") == [{"name": "kept"}]
    with open_graph(settings.model_copy(update={"password": SecretStr("rca-embedded")})) as store:
        with pytest.raises(GraphAuthFailed):
            store.check(required_version=None)
