"""A local Prometheus with history backfilled by promtool, for tests, benchmarks and demos.

Uses the Debian/upstream ``prometheus`` and ``promtool`` binaries: OpenMetrics text is turned into
TSDB blocks with ``promtool tsdb create-blocks-from openmetrics``, the blocks go into a fresh
storage directory, and Prometheus is started on a loopback port with no scrape targets.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.local_server import LocalServer

CONFIG = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs: []\n"


class PrometheusServerError(RuntimeError):
    """The binaries are missing, the backfill failed, or the server did not become ready."""


def _binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise PrometheusServerError(f"{name} not found: install the Debian package 'prometheus'")
    return path


class LocalPrometheus(LocalServer):
    """One Prometheus process over one storage directory; restartable on the same port."""

    name = "prometheus"

    def __init__(self, workdir: Path, port: int = 0, retention: str = "3650d", config: str = CONFIG):
        super().__init__(workdir, port)
        self.config = config  # prometheus.yml's text: no scrape targets unless a test gives some
        self.tsdb = self.workdir / "tsdb"
        self.retention = retention

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
        self.launch(
            [
                _binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.tsdb}",
                f"--storage.tsdb.retention.time={self.retention}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            timeout_s,
            PrometheusServerError,
        )
        return self

    def __enter__(self) -> LocalPrometheus:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
