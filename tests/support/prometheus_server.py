"""A local Prometheus with history backfilled by promtool, for tests, benchmarks and demos.

Uses the Debian/upstream ``prometheus`` and ``promtool`` binaries: OpenMetrics text is turned into
TSDB blocks with ``promtool tsdb create-blocks-from openmetrics``, the blocks go into a fresh
storage directory, and Prometheus is started on a loopback port with no scrape targets.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

CONFIG = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs: []\n"


class PrometheusServerError(RuntimeError):
    """The binaries are missing, the backfill failed, or the server did not become ready."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise PrometheusServerError(f"{name} not found: install the Debian package 'prometheus'")
    return path


class LocalPrometheus:
    """One Prometheus process over one storage directory; restartable on the same port."""

    def __init__(self, workdir: Path, port: int = 0, retention: str = "3650d", config: str = CONFIG):
        self.workdir = Path(workdir)
        self.config = config  # prometheus.yml's text: no scrape targets unless a test gives some
        self.tsdb = self.workdir / "tsdb"
        self.port = port or _free_port()
        self.retention = retention
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def backfill(self, openmetrics: Path) -> None:
        """Turn an OpenMetrics file (ending in '# EOF') into blocks in the storage directory."""
        self.tsdb.mkdir(parents=True, exist_ok=True)
        blocks = self.workdir / "blocks"
        shutil.rmtree(blocks, ignore_errors=True)
        done = subprocess.run(
            [_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", "-q", str(openmetrics), str(blocks)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise PrometheusServerError(f"promtool backfill failed: {done.stderr.strip()[-2000:]}")
        for block in blocks.iterdir():
            shutil.move(str(block), self.tsdb / block.name)

    def start(self, timeout_s: float = 60.0) -> LocalPrometheus:
        """Start the server and wait until it answers /-/ready."""
        config = self.workdir / "prometheus.yml"
        config.write_text(self.config)
        self._log = open(self.workdir / "prometheus.log", "ab")
        self._proc = subprocess.Popen(
            [
                _binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.tsdb}",
                f"--storage.tsdb.retention.time={self.retention}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise PrometheusServerError(
                    f"prometheus exited with {self._proc.returncode}; see {self.workdir / 'prometheus.log'}"
                )
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise PrometheusServerError(f"prometheus not ready on {self.url} after {timeout_s:.0f}s")

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
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalPrometheus:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
