"""The supervisor's control API on loopback (JSON over HTTP), what `rca lab down/status/inject` and the
scenario runner talk to:

- ``GET /status``: lab.json's content plus ``faults`` (active fault records) and ``load`` (requests sent
  per entry service and outcome);
- ``POST /faults`` ``{"kind", "target", "for_s", "params"}`` -> the fault's record with its ``id``
  (400 with ``error`` when the injectors refuse it);
- ``DELETE /faults/ID`` -> the reverted record (404 when no such fault is active);
- ``POST /down``: the supervisor reverts every fault and stops everything (answers 202 at once);
- ``GET /metrics``: the hosts' resource metrics (rca/cli/lab/hosts.py) that Prometheus scrapes.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry

from rca.cli.lab.hosts import HostCollector
from rca.cli.lab.json_http import JsonHandler


def serve_control(lab: Any) -> ThreadingHTTPServer:
    """Start the control API of ``lab`` on its control port, on a daemon thread."""
    registry = CollectorRegistry()
    registry.register(HostCollector(lab.estate.hosts, lab.host_pgids, lab.host_dirs))

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            if self.path == "/status":
                self.send_json(200, {**lab.record(), "faults": lab.faults.active(), "load": lab.load.summary()})
            elif self.path == "/metrics":
                self.send_bytes(200, prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST)
            else:
                self.send_json(404, {"error": f"no such resource: {self.path}"})

        def do_POST(self) -> None:
            if self.path == "/down":
                self.send_json(202, {"stopping": True})
                lab.stop_requested.set()
            elif self.path == "/faults":
                self._inject()
            else:
                self.send_json(404, {"error": f"no such resource: {self.path}"})

        def do_DELETE(self) -> None:
            if not self.path.startswith("/faults/"):
                self.send_json(404, {"error": f"no such resource: {self.path}"})
                return
            try:
                record = lab.faults.revert(self.path.removeprefix("/faults/"))
            except Exception as error:  # noqa: BLE001 (a failed revert is the caller's answer, not our crash)
                self.send_json(500, {"error": f"revert failed: {error}"})
                return
            if record is None:
                self.send_json(404, {"error": f"no active fault {self.path.removeprefix('/faults/')}"})
            else:
                self.send_json(200, record)

        def _inject(self) -> None:
            try:
                body = self.read_json()
                kind, target = str(body["kind"]), str(body["target"])
                for_s = float(body["for_s"]) if body.get("for_s") else None
                params = dict(body.get("params") or {})
            except (ValueError, KeyError, TypeError) as error:
                self.send_json(400, {"error": f"bad request: need kind, target, for_s, params ({error})"})
                return
            try:
                self.send_json(200, lab.faults.inject(kind, target, for_s, params))
            except ValueError as error:  # the injectors' FaultError: what to change
                self.send_json(400, {"error": str(error)})
            except Exception as error:  # noqa: BLE001 (a fault that failed midway is reported, the lab stays up)
                self.send_json(500, {"error": f"{type(error).__name__}: {error}"})

    server = ThreadingHTTPServer(("127.0.0.1", lab.control_port), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = lab.control_socket  # bound and listening since the lab was set up
    server.server_name, server.server_port = "127.0.0.1", lab.control_port
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="lab-control", daemon=True).start()
    return server
