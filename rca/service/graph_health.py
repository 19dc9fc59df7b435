"""The service's health follows the graph: NOT_SERVING while it is unreachable, SERVING once it answers.

Every Infer needs the graph (a caller-supplied subgraph aside), so a server whose graph is down
serves nothing useful, and a load balancer should send the calls elsewhere. Calls report what they
saw (a graph read failed or succeeded); a probe every ``interval_s`` covers the quiet times, and is
what brings the status back once a balancer has stopped sending calls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from grpc_health.v1 import health, health_pb2

from rca.service import metrics
from rca.service.stubs import SERVICE_NAME

log = logging.getLogger(__name__)
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class GraphHealth:
    """Sets the overall ("") and the RootCause health status from the graph's reachability."""

    def __init__(self, servicer: health.HealthServicer, probe: Callable[[], object], interval_s: float):
        self._servicer = servicer
        self._probe = probe
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._up: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set(self, up: bool, reason: str = "") -> None:
        """Record whether the graph answered; changes the health status when that changed."""
        metrics.GRAPH_UP.set(1 if up else 0)
        with self._lock:
            if up == self._up:
                return
            was, self._up = self._up, up
            status = _SERVING if up else _NOT_SERVING
            for service in ("", SERVICE_NAME):
                self._servicer.set(service, status)
        if not up:
            log.warning(
                "graph unreachable, health NOT_SERVING until it answers again%s", f": {reason}" if reason else ""
            )
        elif was is not None:
            log.warning("graph answers again, health SERVING")

    def probe_once(self) -> bool:
        """Probe the graph now and set the status from the outcome; True when it answered."""
        try:
            self._probe()
        except Exception as exc:  # whatever the driver raises, the graph did not answer
            first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            self.set(False, first[:300])
            return False
        self.set(True)
        return True

    def start(self) -> GraphHealth:
        """Probe every interval_s on a daemon thread (not at all with interval_s 0)."""
        if self._interval_s > 0:
            self._thread = threading.Thread(target=self._run, name="rca-graph-health", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.probe_once()

    def stop(self) -> None:
        """Stop probing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
