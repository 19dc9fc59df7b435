"""A server binary run as a child process on a loopback port until it answers its readiness URL."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import requests


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    """One child process, its log file in its work directory, started and stopped as a unit."""

    name = "server"

    def __init__(self, workdir: Path, port: int = 0):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def launch(self, argv: list[str], timeout_s: float, error: type[Exception] = RuntimeError) -> None:
        """Start argv (output to NAME.log) and wait until GET /-/ready answers; `error` when it does not."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / f"{self.name}.log"
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed by stop()
        self._proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise error(f"{self.name} exited with {self._proc.returncode}; see {log_path}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise error(f"{self.name} not ready on {self.url} after {timeout_s:.0f}s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
