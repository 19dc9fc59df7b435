"""A real `rca ingest syslog` process on the session graph, for tests that need the whole worker."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.integration.cli import ROOT, graph_env


def free_port() -> int:
    """A loopback TCP port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WorkerProcess:
    """`rca ingest syslog --tcp 127.0.0.1:0 --metrics ...` started with ``prefix`` (e.g. prlimit) and ``env``."""

    def __init__(self, graph_settings, graph_uri, graph_user, state_dir: Path, prefix=(), env=None, args=()):
        self.metrics_port = free_port()
        self.stderr_path = state_dir.parent / "worker.stderr"
        self._stderr = self.stderr_path.open("wb")
        full_env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RCA_SYSLOG__FLUSH_INTERVAL_S": "0.3",
            **graph_env(graph_settings, graph_uri, graph_user),
            **(env or {}),
        }
        command = [*prefix, sys.executable, "-m", "rca.cli.main", "ingest", "syslog", "--tcp", "127.0.0.1:0"]
        command += ["--metrics", f"127.0.0.1:{self.metrics_port}", "--state-dir", str(state_dir), *args]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=self._stderr)
        self.stdout_lines: list[str] = []
        self.port = self._wait_for_port()

    def _wait_for_port(self) -> int:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode()
            self.stdout_lines.append(line)
            match = re.match(r"listening on tcp .*:(\d+)$", line.strip())
            if match:
                return int(match.group(1))
        raise AssertionError(f"the worker exited before listening: {self.stderr()}")

    def metric(self, name: str) -> float:
        """Sum of a self metric's samples named ``name`` (all label sets)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if re.match(rf"{name}(\{{| )", line))

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, then wait; the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._stderr.close()
        self.stdout_lines.append(out.decode())
        return self.proc.returncode

    def stderr(self) -> str:
        """What the worker wrote on stderr so far."""
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")


def open_idle(port: int, count: int) -> list[socket.socket]:
    """``count`` TCP connections to the worker that never send."""
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2) -> bool:
    """True once ``predicate()`` holds, False at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
