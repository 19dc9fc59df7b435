"""A local Alertmanager (Debian's prometheus-alertmanager) routing every alert to one webhook, for tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.local_server import LocalServer

BINARIES = ("prometheus-alertmanager", "alertmanager")


class LocalAlertmanager(LocalServer):
    """One Alertmanager process whose single route posts every group to `webhook_url` (send_resolved on)."""

    name = "alertmanager"

    def __init__(self, workdir: Path, webhook_url: str, token: str | None = None):
        super().__init__(workdir)
        self.webhook_url, self.token = webhook_url, token

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
        self.launch(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            timeout_s,
        )
        return self
