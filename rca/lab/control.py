"""The supervisor's control API on loopback (JSON over HTTP), what `rca lab down/status/inject` and the
scenario runner talk to:

- ``GET /status``: lab.json's content plus ``faults`` (active fault records) and ``load`` (requests sent
  per entry service and outcome);
- ``POST /faults`` ``{"kind", "target", "for_s", "params"}`` -> the fault's record with its ``id``
  (400 with ``error`` when the injectors refuse it);
- ``DELETE /faults/ID`` -> the reverted record (404 when no such fault is active);
- ``POST /down``: the supervisor reverts every fault and stops everything (answers 202 at once);
- ``GET /metrics``: the hosts' resource metrics (rca/lab/hosts.py) that Prometheus scrapes.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry

from rca.lab.hosts import HostCollector


def serve_control(lab: Any) -> ThreadingHTTPServer:
    """Start the control API of ``lab`` on its control port, on a daemon thread."""
    registry = CollectorRegistry()
    registry.register(HostCollector(lab.estate.hosts, lab.host_pgids, lab.host_dirs))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            return

        def do_GET(self) -> None:
            if self.path == "/status":
                self._json(200, {**lab.record(), "faults": lab.faults.active(), "load": lab.load.summary()})
            elif self.path == "/metrics":
                self._send(200, prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST)
            else:
                self._json(404, {"error": f"no such resource: {self.path}"})

        def do_POST(self) -> None:
            if self.path == "/down":
                self._json(202, {"stopping": True})
                lab.stop_requested.set()
            elif self.path == "/faults":
                self._inject()
            else:
                self._json(404, {"error": f"no such resource: {self.path}"})

        def do_DELETE(self) -> None:
            if not self.path.startswith("/faults/"):
                self._json(404, {"error": f"no such resource: {self.path}"})
                return
            try:
                record = lab.faults.revert(self.path.removeprefix("/faults/"))
            except Exception as error:  # noqa: BLE001 (a failed revert is the caller's answer, not our crash)
                self._json(500, {"error": f"revert failed: {error}"})
                return
            if record is None:
                self._json(404, {"error": f"no active fault {self.path.removeprefix('/faults/')}"})
            else:
                self._json(200, record)

        def _inject(self) -> None:
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                kind, target = str(body["kind"]), str(body["target"])
                for_s = float(body["for_s"]) if body.get("for_s") else None
                params = dict(body.get("params") or {})
            except (ValueError, KeyError, TypeError) as error:
                self._json(400, {"error": f"bad request: need kind, target, for_s, params ({error})"})
                return
            try:
                self._json(200, lab.faults.inject(kind, target, for_s, params))
            except ValueError as error:  # the injectors' FaultError: what to change
                self._json(400, {"error": str(error)})
            except Exception as error:  # noqa: BLE001 (a fault that failed midway is reported, the lab stays up)
                self._json(500, {"error": f"{type(error).__name__}: {error}"})

        def _json(self, status: int, body: dict) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", lab.control_port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="lab-control", daemon=True).start()
    return server
