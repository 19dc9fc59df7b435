"""A local Alertmanager (Debian's prometheus-alertmanager) routing every alert to one webhook, for tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

BINARIES = ("prometheus-alertmanager", "alertmanager")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalAlertmanager:
    """One Alertmanager process whose single route posts every group to `webhook_url` (send_resolved on)."""

    def __init__(self, workdir: Path, webhook_url: str, token: str | None = None):
        self.workdir = Path(workdir)
        self.webhook_url, self.token = webhook_url, token
        self.port = _free_port()
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> LocalAlertmanager:
        """Write the configuration, start the server, wait until it answers /-/ready."""
        binary = next((shutil.which(b) for b in BINARIES if shutil.which(b)), None)
        if binary is None:
            raise RuntimeError("alertmanager not found: install the Debian package 'prometheus-alertmanager'")
        self.workdir.mkdir(parents=True, exist_ok=True)
        auth = ""
        if self.token is not None:
            token_file = self.workdir / "token"
            token_file.write_text(self.token)
            auth = f"\n        http_config:\n          authorization:\n            credentials_file: {token_file}"
        config = self.workdir / "alertmanager.yml"
        config.write_text(
            "route:\n  receiver: rca\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n"
            "  repeat_interval: 1h\nreceivers:\n  - name: rca\n    webhook_configs:\n"
            f"      - url: {self.webhook_url}\n        send_resolved: true{auth}\n"
        )
        self._log = log = open(self.workdir / "alertmanager.log", "ab")  # noqa: SIM115 - closed by stop()
        self._proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"alertmanager exited with {self._proc.returncode}; see {self.workdir}/alertmanager.log"
                )
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"alertmanager not ready on {self.url} after {timeout_s:.0f}s")

    def stop(self) -> None:
        """Stop the server."""
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
