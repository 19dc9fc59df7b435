"""Write-behind of incidents: Infer answers without waiting for its :Incident to land in the graph.

Storing an incident (its candidates, evidence and feature snapshot) costs one graph write, the
slowest step of an Infer after ranking. A single writer thread stores them in order; every read
of incidents (GetIncident, ListIncidents, Feedback) first waits for the pending writes, so a
caller always reads its own incidents. A full queue makes Infer wait (back-pressure); a graph
outage keeps incidents queued and retried, and a write that fails for another reason is logged
and counted in ``rca_incident_write_failures_total`` rather than dropped silently.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from prometheus_client import Counter, Gauge

from rca.service.incidents import IncidentStore

log = logging.getLogger(__name__)
WRITE_FAILURES = Counter("rca_incident_write_failures_total", "Incidents that could not be stored (logged with their id)")
PENDING = Gauge("rca_incident_writes_pending", "Incidents answered but not yet stored")


class IncidentWriter:
    """One thread storing incidents in submission order."""

    def __init__(self, incidents: IncidentStore, *, max_pending: int = 1000, retry_s: float = 1.0, retry_for_s: float = 600.0,
                 transient: tuple[type[BaseException], ...] = ()):
        self.incidents = incidents
        self.retry_s = retry_s
        self.retry_for_s = retry_for_s
        self.transient = transient
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name="rca-incident-writer", daemon=True)
        self._thread.start()

    def submit(self, response, features, created_at: float) -> None:
        """Queue an incident for storage (waits while the queue is full); features: a dict, or a callable building it."""
        self._queue.put((response, features, created_at))
        PENDING.set(self._queue.unfinished_tasks)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted incident is stored (or given up); False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Store what is pending, then stop the thread."""
        self.flush(timeout_s)
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._store(*item)
            finally:
                self._queue.task_done()
                PENDING.set(self._queue.unfinished_tasks)

    def _store(self, response, features, created_at) -> None:
        give_up = time.monotonic() + self.retry_for_s
        if callable(features):  # the snapshot is built here, off the response path
            features = features()
        while True:
            try:
                self.incidents.save(response, features, created_at=created_at)
                return
            except self.transient as exc:
                if time.monotonic() > give_up:
                    WRITE_FAILURES.inc()
                    log.error("incident %s not stored: graph unavailable for %.0f s: %s", response.incident_id,
                              self.retry_for_s, exc)
                    return
                time.sleep(self.retry_s)
            except Exception:
                WRITE_FAILURES.inc()
                log.exception("incident %s not stored", response.incident_id)
                return
