"""The embedded default graph: an ArcadeDB server with its Bolt plugin, run as a child process.

The ``arcadedb-embedded`` wheel ships the server jars and a Java runtime. We start that JVM as a
separate process (not in-process through JPype) so that the driver code path is the same Bolt
path as production, and so that several of our processes can share one server
(``rca graph serve``). The child dies with us: it is stopped on exit and on SIGINT/SIGTERM,
and the kernel sends it SIGTERM if we die without cleaning up (PR_SET_PDEATHSIG).

The root password reaches the server as the path of a 0600 file (``graph_schema.credentials``),
never on its command line; the data directory is 0700 and the server creates its files with
umask 077, so nothing in it is readable by other local users.
"""

from __future__ import annotations

import atexit
import ctypes
import io
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from graph_schema.credentials import (
    PRIVATE_FILE,
    USERS_FILE,
    password_path,
    private_dir,
    server_password,
    write_private,
)
from graph_schema.errors import EmbeddedServerError

log = logging.getLogger(__name__)

BOLT_PLUGIN = "Bolt:com.arcadedb.bolt.BoltProtocolPlugin"
SERVER_MAIN_CLASS = "com.arcadedb.server.ArcadeDBServer"
STATE_FILE = "server.json"  # where a running standalone server says how to reach it
LOOPBACK = "127.0.0.1"
# The server reads its password from a file; these are not its business (and /proc/PID/environ shows them).
PASSWORD_VARIABLES = ("NEO4J_PASSWORD", "RCA_GRAPH__PASSWORD")
_PR_SET_PDEATHSIG = 1


def _arcadedb_home() -> Path:
    try:
        import arcadedb_embedded
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbeddedServerError("the arcadedb-embedded package is not installed") from exc
    return Path(arcadedb_embedded.__file__).parent


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_accepts(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _ensure_port_free(port: int) -> None:
    with socket.socket() as sock:
        # Like the JVM's listener: a port left in TIME_WAIT by a killed server is reusable.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            raise EmbeddedServerError(
                f"port {port} on {LOOPBACK} is already in use; choose another with --bolt-port"
            ) from None


def die_with_parent() -> None:
    """Ask the kernel to SIGTERM this process when its parent dies (Linux; elsewhere a no-op).

    The kernel means the parent *thread*: a server started from a thread that then ends is
    stopped with it. Start the server from a thread that lives as long as it should (the CLI
    uses the main thread).
    """
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: atexit and signal handlers still stop the child
        pass


def _prepare_server_process() -> None:
    # Runs in the child between fork and exec: die with the parent; files the JVM creates are ours alone.
    die_with_parent()
    os.umask(0o077)


@dataclass(frozen=True)
class RunningServer:
    """How to reach a running embedded server, as written to its state file."""

    pid: int
    bolt_port: int
    database: str
    password_file: str = ""  # where its root password is kept (the password itself is never in the state file)

    @property
    def bolt_uri(self) -> str:
        return f"bolt://{LOOPBACK}:{self.bolt_port}"


def find_running(data_dir: Path) -> RunningServer | None:
    """A live standalone server already serving ``data_dir`` (``rca graph serve``), if any."""
    state_path = Path(data_dir) / STATE_FILE
    try:
        state = json.loads(state_path.read_text())
        running = RunningServer(
            int(state["pid"]), int(state["bolt_port"]), str(state["database"]), str(state.get("password_file", ""))
        )
        os.kill(running.pid, 0)
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None
    return running if port_accepts(running.bolt_port) else None


def server_pids(data_dir: Path) -> list[int]:
    """Processes running an ArcadeDB server on ``data_dir`` (standalone or another process's child)."""
    root_arg = f"-Darcadedb.server.rootPath={Path(data_dir).expanduser().resolve()}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if root_arg in args:
            pids.append(int(entry.name))
    return pids


def rotate_password(data_dir: Path, new_password: str | None = None) -> Path:
    """Give root on ``data_dir`` a new password (random unless given), taking effect at the next start.

    The server must be stopped: ArcadeDB fixes root's password when it creates its users file, so the
    file is removed and the next start creates root again from the password file. Returns that file.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    running = server_pids(data_dir)
    if running:
        raise EmbeddedServerError(
            f"an embedded server runs on {data_dir} (pid {', '.join(map(str, running))}); stop it first"
        )
    password = new_password or secrets.token_urlsafe(24)
    if len(password) < 8:
        raise EmbeddedServerError("the embedded server needs a password of at least 8 characters (NEO4J_PASSWORD)")
    private_dir(data_dir)
    # Users first: interrupted in between, the next start creates root from the old, still recorded password.
    (data_dir / USERS_FILE).unlink(missing_ok=True)
    write_private(password_path(data_dir), password)
    return password_path(data_dir)


class EmbeddedGraphServer:
    """Start, wait for and stop one ArcadeDB server process with Bolt on a loopback port."""

    def __init__(
        self,
        data_dir: Path,
        password: str | None = None,
        *,
        database: str = "rca",
        bolt_port: int = 0,
        heap: str = "2g",
        start_timeout_s: float = 90.0,
        publish_state: bool = False,
    ):
        if password is not None and len(password) < 8:
            raise EmbeddedServerError("the embedded server needs a password of at least 8 characters (NEO4J_PASSWORD)")
        self.data_dir = Path(data_dir).expanduser().resolve()
        # None: the one recorded for the data directory, or a new random one (graph_schema.credentials).
        self.explicit_password = password
        self.database = database
        self.requested_bolt_port = bolt_port
        self.heap = heap
        self.start_timeout_s = start_timeout_s
        self.publish_state = publish_state
        self.bolt_port = 0
        self._process: subprocess.Popen | None = None
        self._log_file: io.BufferedWriter | None = None

    @property
    def bolt_uri(self) -> str:
        return f"bolt://{LOOPBACK}:{self.bolt_port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "log" / "server.out"

    def command(self) -> list[str]:
        """The java command line that runs the server."""
        home = _arcadedb_home()
        cpus = os.cpu_count()
        settings = {
            "arcadedb.server.rootPath": str(self.data_dir),
            "arcadedb.server.databaseDirectory": str(self.data_dir / "databases"),
            # Read by the server only to create root on a fresh directory; a path, so the password
            # itself stays out of the process list.
            "arcadedb.server.rootPasswordPath": str(password_path(self.data_dir)),
            "arcadedb.server.defaultDatabases": f"{self.database}[root]",
            "arcadedb.server.plugins": BOLT_PLUGIN,
            "arcadedb.server.mode": "production",
            "arcadedb.bolt.port": str(self.bolt_port),
            "arcadedb.bolt.host": LOOPBACK,
            "arcadedb.server.httpIncomingHost": LOOPBACK,
            "arcadedb.server.httpIncomingPort": str(free_port()),
        }
        return [
            str(home / "jre" / "bin" / "java"),
            f"-Xmx{self.heap}",
            "-XX:+UseSerialGC" if cpus and cpus <= 2 else "-XX:+UseG1GC",
            "-Dpolyglot.engine.WarnInterpreterOnly=false",
            *(f"-D{key}={value}" for key, value in settings.items()),
            "-cp",
            str(home / "jars" / "*"),
            SERVER_MAIN_CLASS,
        ]

    def start(self) -> EmbeddedGraphServer:
        """Launch the JVM and return once Bolt accepts connections; raise with the reason if not."""
        if self._process:
            return self
        if find_running(self.data_dir):
            raise EmbeddedServerError(
                f"another embedded server already serves {self.data_dir}; connect to it or stop it"
            )
        self.bolt_port = self.requested_bolt_port or free_port()
        _ensure_port_free(self.bolt_port)
        server_password(self.data_dir, self.explicit_password)  # records it for the server; makes the dir 0700
        # A restart of this object comes back on the same port, so open drivers reconnect.
        self.requested_bolt_port = self.bolt_port
        private_dir(self.log_path.parent)
        self._log_file = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE), "ab")
        self._process = process = subprocess.Popen(
            self.command(),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
            env={name: value for name, value in os.environ.items() if name not in PASSWORD_VARIABLES},
            # Own session: Ctrl-C reaches us, and we stop the server cleanly ourselves.
            start_new_session=True,
            preexec_fn=_prepare_server_process,
        )
        atexit.register(self.stop)
        self._wait_until_ready(process)
        if self.publish_state:
            state = {
                "pid": process.pid,
                "bolt_port": self.bolt_port,
                "database": self.database,
                "password_file": str(password_path(self.data_dir)),
            }
            write_private(self._state_path(), json.dumps(state))
        log.info("embedded graph on %s (pid %s, data %s)", self.bolt_uri, process.pid, self.data_dir)
        return self

    def _state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    def _wait_until_ready(self, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                reason = self._log_tail()
                self._cleanup()
                raise EmbeddedServerError(f"embedded graph server exited during start-up: {reason}")
            if port_accepts(self.bolt_port) and self._database_ready():
                return
            time.sleep(0.2)
        tail = self._log_tail()
        self.stop()
        raise EmbeddedServerError(
            f"embedded graph server did not accept Bolt within {self.start_timeout_s:.0f}s "
            f"(last log line: {tail}); see {self.log_path}"
        )

    def _database_ready(self) -> bool:
        # Bolt listens before the default database exists; the server logs when start-up is done.
        return b"Server started" in self._read_log()[-8192:]

    def _read_log(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except OSError:
            return b""

    def _log_tail(self) -> str:
        lines = [ln for ln in self._read_log().decode(errors="replace").splitlines() if ln.strip()]
        errors = [ln for ln in lines if "SEVE" in ln or "Exception" in ln or "Error" in ln]
        return (errors or lines or ["no output"])[-1].strip()[:300]

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the server: SIGTERM (its shutdown hook closes the databases), SIGKILL if it hangs."""
        process = self._process
        if not process:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("embedded graph server did not stop in %ss; killing it", timeout_s)
                process.kill()
                process.wait()
        self._cleanup()

    def kill(self) -> None:
        """Kill the server abruptly (tests use this to simulate a crash)."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self.publish_state:
            self._state_path().unlink(missing_ok=True)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        atexit.unregister(self.stop)
        self._process = None

    def __enter__(self) -> EmbeddedGraphServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
