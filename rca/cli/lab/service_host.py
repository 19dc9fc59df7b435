"""One lab service as one OS process: `python -m rca.cli.lab.service_host --estate FILE --service NAME --port N ...`.

It serves the service's API on loopback (any path but the ones below; answers a small JSON), does its
own work (a sleep of about ``work_ms``), calls its callees per the estate's lab section (HTTP to
other lab services, redis-py to redis, psycopg to PostgreSQL: a fresh connection per call, as many
applications do, so a lowered connection limit starves it for real), and answers an error when a
callee fails. It also serves

- ``GET /metrics``: prometheus-client RED metrics (``http_requests_total{service,code}``,
  ``http_request_duration_seconds``), outbound ``http_client_requests_total{service,callee,code}``
  and ``http_client_request_duration_seconds``, ``service_version_info`` and the process metrics;
- ``POST /_lab/faults``, ``DELETE /_lab/faults[/KIND]``, ``GET /_lab/faults``: the in-process faults
  (rca.cli.lab.fault_hooks);
- ``GET /healthz``.

Lines go to the project's syslog worker as RFC 5424 over TCP (hostname = the service's host,
app-name = the service), with the level word and the callee named in each failure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import prometheus_client
from prometheus_client import Counter, Gauge, Histogram

from rca.cli.lab import fault_hooks
from rca.cli.lab.callees import CalleeFailure, Callees
from rca.cli.lab.estate import LabService, load_estate
from rca.cli.lab.json_http import JsonHandler
from rca.cli.lab.syslog_sender import SyslogSender

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUESTS = Counter("http_requests_total", "requests served", ["service", "code"])
DURATION = Histogram("http_request_duration_seconds", "time to answer a request", ["service"], buckets=BUCKETS)
VERSION = Gauge("service_version_info", "the running version of the service", ["service", "version"])
SLOW_S = 0.5  # a request slower than this is logged as slow (at most once a second), as web frameworks do
STATS_EVERY_S = 60.0  # the routine line a service writes all along, so a new error template stands out


class ServiceApp:
    """What one request does: the fault hooks, the service's own work, its calls, the answer."""

    def __init__(self, service: LabService, callees: Callees, faults: fault_hooks.ServiceFaults, sender):
        self.service, self.callees, self.faults, self.sender = service, callees, faults, sender
        self.random = random.Random()
        self._lock = threading.Lock()
        self._served = self._failed = 0
        self._slow_logged_at = 0.0

    def done(self, status: int, seconds: float) -> None:
        """Count an answered request; log it when it was slow (rate-limited)."""
        now = time.monotonic()
        with self._lock:
            self._served += 1
            self._failed += status >= 500
            slow = seconds > SLOW_S and now - self._slow_logged_at >= 1.0
            if slow:
                self._slow_logged_at = now
        if slow:
            self.sender.log("warning", f"slow request: GET /api took {seconds * 1000:.0f} ms (status {status})")

    def log_stats_forever(self) -> None:
        """Every minute: requests served and failed since the last line."""
        while True:
            time.sleep(STATS_EVERY_S)
            with self._lock:
                served, failed, self._served, self._failed = self._served, self._failed, 0, 0
            self.sender.log("info", f"stats: {served} requests served, {failed} failed in the last 60 s")

    def handle(self) -> tuple[int, dict]:
        """Answer one API request: (status, body). Raises ConnectionDrop for a dropped connection."""
        try:
            self.faults.on_request()
        except fault_hooks.InjectedFailure as failure:
            self.sender.log("err", f"request failed: {failure.status} {failure.reason}")
            return failure.status, {"error": failure.reason}
        time.sleep(self.random.expovariate(1.0 / self.service.work_ms) / 1000.0 if self.service.work_ms else 0)
        for callee, per_request in self.service.calls.items():
            for _ in range(self._times(per_request)):
                try:
                    self.callees.call(callee)
                except CalleeFailure as failure:
                    self.sender.log("err", failure.message)
                    return failure.status, {"error": failure.message}
        return HTTPStatus.OK, {"service": self.service.name, "ok": True}

    def _times(self, per_request: float) -> int:
        whole = int(per_request)
        return whole + (1 if self.random.random() < per_request - whole else 0)


def make_handler(app: ServiceApp) -> type[BaseHTTPRequestHandler]:
    """The HTTP handler class bound to one ServiceApp."""
    name = app.service.name

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self.send_bytes(200, prometheus_client.generate_latest(), prometheus_client.CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self.send_json(200, {"service": name, "pid": os.getpid()})
            elif self.path == "/_lab/faults":
                self.send_json(200, {"faults": app.faults.active()})
            else:
                self._serve()

        def do_POST(self) -> None:
            if self.path != "/_lab/faults":
                self._serve()
                return
            try:
                body = self.read_json()
                app.faults.apply(str(body["kind"]), dict(body.get("params") or {}))
            except (ValueError, KeyError, TypeError) as error:
                self.send_json(400, {"error": f"bad fault: {error}"})
                return
            self.send_json(200, {"faults": app.faults.active()})

        def do_DELETE(self) -> None:
            if not self.path.startswith("/_lab/faults"):
                self.send_json(405, {"error": "method not allowed"})
                return
            kind = self.path.removeprefix("/_lab/faults").strip("/") or None
            app.faults.revert(kind)
            self.send_json(200, {"faults": app.faults.active()})

        def _serve(self) -> None:
            started = time.perf_counter()
            try:
                status, body = app.handle()
            except fault_hooks.ConnectionDrop as drop:
                REQUESTS.labels(name, "dropped").inc()
                self._drop(drop.reset)
                return
            seconds = time.perf_counter() - started
            DURATION.labels(name).observe(seconds)
            REQUESTS.labels(name, str(int(status))).inc()
            app.done(int(status), seconds)
            self.send_json(int(status), body)

        def _drop(self, reset: bool) -> None:
            if reset:  # SO_LINGER 0: close() sends an RST instead of a FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

    return Handler


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rca.cli.lab.service_host", description=__doc__.split("\n")[0])
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--addresses", type=Path, required=True, help="JSON: entity -> {kind, port}")
    parser.add_argument("--syslog", help="HOST:PORT of the syslog worker's TCP listener (none: file copy only)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one service until killed."""
    args = parse_args(argv)
    estate = load_estate(args.estate)
    service = estate.services[args.service]
    sender = SyslogSender(args.syslog, service.host, service.name, args.workdir)
    faults = fault_hooks.ServiceFaults(service.name, args.workdir, sender.log)
    try:
        version = fault_hooks.apply_start_environment(faults)
    except fault_hooks.FaultParameterError as error:
        sender.log("err", f"bad start environment: {error}")
        sender.flush()
        return 2
    VERSION.labels(service.name, version).set(1)
    addresses = json.loads(args.addresses.read_text())
    callees = Callees(service.name, addresses, estate.timeout_ms / 1000.0, faults.on_call)
    app = ServiceApp(service, callees, faults, sender)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(app))
    server.daemon_threads = True
    if version != fault_hooks.DEFAULT_VERSION:
        sender.log("info", f"deployed {service.name} version {version} (new version rolled out)")
    sender.log("info", f"{service.name} listening on 127.0.0.1:{args.port}, version {version}")
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    threading.Thread(target=app.log_stats_forever, name="stats", daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
