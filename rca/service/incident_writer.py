"""Write-behind of incidents: Infer answers without waiting for its :Incident to land in the graph.

Storing an incident (its candidates, evidence, feature snapshot and the model's embedding) costs
a graph write, the slowest step of an Infer after ranking. A single writer thread stores them in
order, grouping the incidents answered while the previous transaction ran into one transaction
(group commit): under load, one round trip and one commit serve many incidents. At a modest rate
there is no previous transaction to wait behind, so the writer lingers a moment (``linger_s``)
after the first incident for others to join it: a transaction costs the graph server several
times the CPU of one more incident in it, CPU the next Infer calls need. A read that waits for
the writes ends the lingering at once (``flush``, or the ledger's hurry). Every read of
incidents (GetIncident, ListIncidents, Feedback) first waits for the pending writes, so a caller
always reads its own incidents. A full queue makes Infer wait (back-pressure); a graph outage
keeps incidents queued and retried, and a write that fails for another reason is logged and
counted in ``rca_incident_write_failures_total`` rather than dropped silently.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from rca.service.incidents import IncidentRecord, IncidentStore
from rca.service.ledger import WriteLedger

log = logging.getLogger(__name__)
WRITE_FAILURES = Counter(
    "rca_incident_write_failures_total", "Incidents that could not be stored (logged with their id)"
)
PENDING = Gauge("rca_incident_writes_pending", "Incidents answered but not yet stored", multiprocess_mode="livesum")
BATCH_SIZE = Histogram(
    "rca_incident_write_batch_size", "Incidents stored per transaction", buckets=(1, 2, 4, 8, 16, 32, 64)
)
MAX_BATCH = 32  # incidents per transaction: each carries ~20 KB of packed snapshots
LINGER_S = 0.1  # how long the first incident of a batch waits for others to join it
HURRY_POLL_S = 0.005  # how often a lingering writer looks whether a read is waiting


class IncidentWriter:
    """One thread storing incidents in submission order, in groups."""

    def __init__(
        self,
        incidents: IncidentStore,
        *,
        max_pending: int = 1000,
        retry_s: float = 1.0,
        retry_for_s: float = 600.0,
        transient: tuple[type[BaseException], ...] = (),
        max_batch: int = MAX_BATCH,
        linger_s: float = LINGER_S,
        ledger: WriteLedger | None = None,
        slot: int = 0,
        turns: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    ):
        self.incidents = incidents
        self.ledger, self.slot = ledger, slot  # tells sibling serving processes what is still pending here
        self.retry_s = retry_s
        self.retry_for_s = retry_for_s
        self.transient = transient
        self.max_batch = max_batch
        self.linger_s = linger_s
        # Building a row (the stored candidates and snapshots) is ~2 ms of Python. Run between a
        # ranking's steps, it slows that ranking by as much on the shared interpreter lock, so the
        # service passes its rank slots here and each row waits for its own turn, as a ranking does.
        self.turns = turns
        self._flushes = 0  # local reads waiting (flush); with the ledger's hurry, ends a linger
        self._served_hurry = -1  # the hurry generation when the last write began
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name="rca-incident-writer", daemon=True)
        self._thread.start()

    def submit(self, record: IncidentRecord) -> None:
        """Queue an incident for storage (waits while the queue is full)."""
        if self.ledger is not None:
            self.ledger.submitted(self.slot)
        self._queue.put(record)
        PENDING.set(self._queue.unfinished_tasks)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted incident is stored (or given up); False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._flushes += 1
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Store what is pending (waiting at most timeout_s), then stop the thread; says what was left unstored."""
        self.flush(timeout_s)
        try:
            self._queue.put(None, timeout=1.0)
        except queue.Full:  # the graph is still down: what is queued is lost, and says so
            pass
        self._thread.join(timeout=5)
        left = self._queue.unfinished_tasks
        if left:
            WRITE_FAILURES.inc(left)
            log.error("%d incidents not stored: the graph was unavailable until shutdown", left)

    def _hurry_generation(self) -> int:
        return self._flushes + (self.ledger.hurry_generation if self.ledger is not None else 0)

    def _next_batch(self) -> list:
        """The next incidents to store together: what is queued, plus what arrives while lingering."""
        batch = [self._queue.get()]
        linger_until = time.monotonic() + self.linger_s
        while len(batch) < self.max_batch and batch[-1] is not None:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            wait = linger_until - time.monotonic()
            if wait <= 0 or self._hurry_generation() != self._served_hurry:
                break
            try:
                batch.append(self._queue.get(timeout=min(wait, HURRY_POLL_S)))
            except queue.Empty:
                pass
        # reads that asked to hurry before now are served by this write
        self._served_hurry = self._hurry_generation()
        return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            records = [r for r in batch if r is not None]
            try:
                if records:
                    self._store(records)
            finally:
                if self.ledger is not None:
                    self.ledger.stored(self.slot, len(records))
                for _ in batch:
                    self._queue.task_done()
                PENDING.set(self._queue.unfinished_tasks)
            if batch[-1] is None:
                return

    def _store(self, records: list[IncidentRecord]) -> None:
        rows = []
        for record in records:  # one incident that cannot be turned into a row must not cost the others
            try:
                with self.turns():
                    rows.append(record.row())
            except Exception:
                WRITE_FAILURES.inc()
                log.exception("incident %s not stored: its record cannot be written", record.response.incident_id)
        if rows:
            self._write(rows)

    def _write(self, rows: list[dict]) -> None:
        give_up = time.monotonic() + self.retry_for_s
        ids = ", ".join(r["id"] for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
        while True:
            try:
                self.incidents.save_rows(rows)
                BATCH_SIZE.observe(len(rows))
                return
            except self.transient as exc:
                if time.monotonic() > give_up:
                    WRITE_FAILURES.inc(len(rows))
                    log.error("incidents %s not stored: graph unavailable for %.0f s: %s", ids, self.retry_for_s, exc)
                    return
                time.sleep(self.retry_s)
            except Exception:
                if len(rows) > 1:  # the graph refused the batch: find the one it refuses, store the others
                    for row in rows:
                        self._write([row])
                    return
                WRITE_FAILURES.inc()
                log.exception("incident %s not stored", ids)
                return
