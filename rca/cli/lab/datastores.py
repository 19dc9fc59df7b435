"""The lab's real datastores (Debian's redis-server and PostgreSQL) and their Prometheus exporters.

Each datastore runs as its own process group with its data directory, on a loopback port, with
Debian's prometheus-redis-exporter or prometheus-postgres-exporter beside it (the exporter keeps
running while its datastore is stopped, so an outage shows as ``redis_up 0`` / ``pg_up 0``).
PostgreSQL refuses to run as root: under root it runs as the ``postgres`` user, with its data
directory in a private directory of /tmp that user can reach (recorded in lab.json, removed on down).
Settings live in postgresql.conf, not on the command line, so ALTER SYSTEM and a reload can change
them as an operator would.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg

from rca.cli.lab.callees import POSTGRES_DATABASE, POSTGRES_USER
from rca.cli.lab.estate import LabDatastore
from rca.cli.lab.processes import Child, free_port, port_accepts, wait_until

SUPERUSER = "postgres"
DATADIR_PREFIX = "rca-lab-"  # of a data directory kept in /tmp (PostgreSQL under root)
POSTGRES_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 50
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum_naptime = 60s
log_min_messages = warning
log_line_prefix = ''
"""


class DatastoreError(RuntimeError):
    """A datastore that could not be set up or started; the message says which and why."""


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        for name in names:
            if (base / name).exists():
                return str(base / name)
    raise DatastoreError(f"{names[0]} not found: install the Debian package it comes from (see scripts/test.sh)")


class DatastoreProcess:
    """One datastore of the estate: its server process, its exporter, start/stop and (PostgreSQL) SQL."""

    def __init__(self, spec: LabDatastore, workdir: Path) -> None:
        self.name, self.kind, self.host = spec.name, spec.kind, spec.host
        self.port = free_port()
        self.exporter_port = free_port()
        self.logdir = workdir / "datastores" / spec.name
        self.user = SUPERUSER if self.kind == "postgresql" and os.geteuid() == 0 else None
        if self.user:  # root's workdir may be unreachable for the postgres user
            self.datadir = Path(tempfile.mkdtemp(prefix=f"{DATADIR_PREFIX}{spec.name}-"))
        else:
            self.datadir = self.logdir / "data"
        self.server: Child | None = None
        self.exporter: Child | None = None

    @property
    def pid(self) -> int:
        """The server's pid (0 while stopped)."""
        return self.server.pid if self.server and self.server.alive() else 0

    @property
    def log_path(self) -> Path:
        """The server's own log (what it writes on stderr)."""
        return self.logdir / f"{self.kind}.log"

    def setup(self) -> None:
        """Create the data directory (initdb for PostgreSQL)."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.kind != "postgresql":
            return
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.datadir, entry.pw_uid, entry.pw_gid)
            os.chmod(self.datadir, 0o700)
        done = subprocess.run(
            [_binary("initdb"), "-D", str(self.datadir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True,
            text=True,
            user=self.user,
            cwd="/",
        )
        if done.returncode != 0:
            raise DatastoreError(f"initdb for {self.name} failed: {done.stderr.strip()[-1500:]}")
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(POSTGRES_CONF.format(port=self.port, socket_dir=self.datadir))

    def start(self, timeout_s: float = 60.0) -> None:
        """Start (or start again after stop) the server and wait until it accepts connections."""
        if self.kind == "redis":
            argv = [
                _binary("redis-server"),
                "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.datadir), "--protected-mode", "no", "--loglevel", "warning",
            ]  # fmt: skip
            self.server = Child(self.name, argv, self.log_path)
        else:
            argv = [_binary("postgres"), "-D", str(self.datadir)]
            # SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, the data stays consistent
            self.server = Child(self.name, argv, self.log_path, user=self.user, stop_signal=signal.SIGINT)
        self.server.start()
        wait_until(lambda: port_accepts(self.port), timeout_s, f"datastore {self.name}", self.server)
        if self.kind == "postgresql":  # the port opens before the server takes connections
            wait_until(self._create_client_role, timeout_s, f"datastore {self.name} accepting logins", self.server)

    def stop(self) -> None:
        """Stop the server (an outage); the exporter keeps running and reports it down."""
        if self.server is not None:
            self.server.stop(grace_s=10.0)

    def start_exporter(self) -> None:
        """Start the Debian exporter of this datastore on its own port."""
        log = self.logdir / "exporter.log"
        if self.kind == "redis":
            argv = [
                _binary("prometheus-redis-exporter", "redis_exporter"),
                f"--redis.addr=redis://127.0.0.1:{self.port}",
                f"--web.listen-address=127.0.0.1:{self.exporter_port}",
            ]
            self.exporter = Child(f"{self.name}-exporter", argv, log)
        else:
            argv = [
                _binary("prometheus-postgres-exporter", "postgres_exporter"),
                f"--web.listen-address=127.0.0.1:{self.exporter_port}",
                "--log.level=warn",
            ]
            dsn = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{POSTGRES_DATABASE}?sslmode=disable"
            self.exporter = Child(f"{self.name}-exporter", argv, log, env={"DATA_SOURCE_NAME": dsn})
        self.exporter.start()
        wait_until(lambda: port_accepts(self.exporter_port), 30, f"exporter of {self.name}", self.exporter)

    def sql(self, statement: str) -> list[tuple]:
        """Run one statement as the superuser (PostgreSQL only); the rows it returns, if any."""
        if self.kind != "postgresql":
            raise DatastoreError(f"{self.name} is {self.kind}: SQL runs only on PostgreSQL")
        with psycopg.connect(self._superuser_dsn(), autocommit=True) as connection:
            cursor = connection.execute(statement.encode())
            return cursor.fetchall() if cursor.description else []

    def reload(self) -> None:
        """Make PostgreSQL re-read its configuration (what `pg_ctl reload` does: SIGHUP to the postmaster)."""
        if self.server is not None and self.server.alive():
            os.kill(self.server.pid, signal.SIGHUP)

    def follow_log(self, send: Callable[[str, str], None], stop: threading.Event) -> threading.Thread:
        """Forward every new line of the server's own log as ``send(severity, line)`` until ``stop``.

        PostgreSQL and redis log to stderr or a local syslog socket only; this is their remote syslog.
        """

        def follow() -> None:
            self.logdir.mkdir(parents=True, exist_ok=True)
            self.log_path.touch()
            with open(self.log_path, errors="replace") as log:
                log.seek(0, os.SEEK_END)
                while not stop.is_set():
                    line = log.readline()
                    if not line:
                        stop.wait(0.5)
                        continue
                    if line.strip():
                        send(_severity_of(line), line.strip())

        thread = threading.Thread(target=follow, name=f"log-{self.name}", daemon=True)
        thread.start()
        return thread

    def children(self) -> list[Child]:
        """Its running processes (server, exporter)."""
        return [c for c in (self.server, self.exporter) if c is not None]

    def record(self) -> dict:
        """What lab.json keeps of it."""
        return {
            "kind": self.kind,
            "pid": self.pid,
            "port": self.port,
            "datadir": str(self.datadir),
            "exporter_port": self.exporter_port,
            "host": self.host,
        }

    def remove(self) -> None:
        """Delete a data directory kept outside the workdir (after the server stopped)."""
        if self.user:
            shutil.rmtree(self.datadir, ignore_errors=True)

    def _superuser_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres connect_timeout=5"

    def _create_client_role(self) -> bool:
        """Create the services' role and database once; False while the server is still starting."""
        try:
            with psycopg.connect(self._superuser_dsn(), autocommit=True) as connection:
                query = "SELECT 1 FROM pg_roles WHERE rolname = %s"
                if not connection.execute(query, (POSTGRES_USER,)).fetchone():
                    connection.execute(f"CREATE ROLE {POSTGRES_USER} LOGIN".encode())
                    connection.execute(f"CREATE DATABASE {POSTGRES_DATABASE} OWNER {POSTGRES_USER}".encode())
        except psycopg.OperationalError:
            return False
        return True


def _severity_of(line: str) -> str:
    """The syslog severity of a PostgreSQL line (its level word) or a redis line (its level mark)."""
    for word, severity in (("PANIC", "crit"), ("FATAL", "err"), ("ERROR", "err"), ("WARNING", "warning")):
        if f"{word}:" in line:
            return severity
    if " # " in line:  # redis: '.' debug, '-' verbose, '*' notice, '#' warning
        return "warning"
    return "info"
