"""The graph side of the syslog worker: writes buffered batches, looks entities up, survives outages."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict

from neo4j.exceptions import DriverError, Neo4jError

from graph_schema.coverage import CoverageSpan, coverage_rows, write_coverage_in
from graph_schema.cypher import events as cypher
from graph_schema.errors import GraphError
from graph_schema.model import LOGS, Label
from ingest.syslog.buffer import Batch, WriteBuffer
from ingest.syslog.worker_metrics import SyslogMetrics

log = logging.getLogger(__name__)
# What a failed write can raise: driver and server errors, our own wrappers, and socket errors.
WRITE_ERRORS = (DriverError, Neo4jError, GraphError, OSError)
# An entity that logged counts as observed for logs this long after its latest line: silence in
# logs is normal, so it takes hours without a line before its logs count as not observed.
LOGS_HOLD_S = 6 * 3600.0


class LookupUnavailable(Exception):
    """The graph cannot answer now; the caller should not remember the answer."""


class GraphWriter:
    """A thread that drains the buffer into the graph, one transaction per batch, retrying on outage."""

    def __init__(
        self, store, buffer: WriteBuffer, metrics: SyslogMetrics, *, rows_per_statement: int, retry_interval_s: float
    ):
        self.store = store
        self.buffer = buffer
        self.metrics = metrics
        self.rows_per_statement = rows_per_statement
        self.retry_interval_s = retry_interval_s
        self.healthy = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="syslog-writer", daemon=True)

    def start(self) -> GraphWriter:
        """Start the writer thread."""
        self._thread.start()
        return self

    def stop(self, timeout: float) -> bool:
        """Try to write what is buffered within ``timeout``, then stop; True when nothing is left."""
        emptied = self.buffer.wait_empty(timeout)
        self._stop.set()
        self.buffer.wake()  # the writer leaves its wait for a batch now, not after its timeout
        self._thread.join(timeout=max(self.retry_interval_s, 1.0) + 30)
        if not emptied:
            moved = self.buffer.spill_all()
            log.warning("graph unavailable at shutdown: %d batches kept in %s", moved, self.buffer.spool_dir)
        return emptied

    def write_batch(self, batch: Batch) -> None:
        """Write one batch in one transaction: it lands whole or not at all."""
        by_label: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for kind in ("events", "changes"):
            for row in batch.get(kind, ()):
                by_label[(kind, row["entity_label"])].append(row)
        step = self.rows_per_statement
        coverage = coverage_rows(_logged(batch))

        def work(tx):
            for (kind, label), rows in by_label.items():
                statements = cypher.UPSERT_EVENTS if kind == "events" else cypher.UPSERT_CHANGES
                statement = statements[Label(label)]
                for i in range(0, len(rows), step):
                    tx.run(statement, rows=rows[i : i + step]).consume()
            write_coverage_in(tx, coverage, step, "logs")  # after the events, which create unknown entities

        self.store.transaction(work)
        for kind in ("events", "changes"):
            if batch.get(kind):
                self.metrics.written.labels(kind).inc(len(batch[kind]))

    def lookup(self, label: Label, key: str) -> str | None:
        """Id of the entity known by id or name ``key``; raises LookupUnavailable while the graph is down."""
        if not self.healthy:
            raise LookupUnavailable(key)
        try:
            rows = self.store.read(cypher.FIND_ENTITY_IDS[label], keys=[key])
            if not rows:
                rows = self.store.read(cypher.FIND_ENTITY_IDS_BY_NAME[label], keys=[key])
        except WRITE_ERRORS as exc:
            raise LookupUnavailable(key) from exc
        return rows[0]["id"] if rows else None

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self.buffer.peek(timeout=0.5)
            memory, disk = self.buffer.sizes()
            self.metrics.buffered_rows.labels("memory").set(memory)
            self.metrics.buffered_rows.labels("disk").set(disk)
            if item is None:
                continue
            token, batch = item
            started = time.perf_counter()
            try:
                self.write_batch(batch)
            except WRITE_ERRORS as exc:
                self.healthy = False
                self.metrics.write_failures.inc()
                log.warning(
                    "graph write failed (%s); %d rows buffered, retrying",
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    memory + disk,
                )
                self._stop.wait(self.retry_interval_s)
                continue
            self.metrics.flush_seconds.observe(time.perf_counter() - started)
            self.healthy = True
            self.buffer.ack(token)


def _logged(batch: Batch) -> list[CoverageSpan]:
    """Coverage of the batch: every entity it has lines of is observed for logs over their times."""
    spans = [
        CoverageSpan(row["entity_label"], row["entity_id"], LOGS, row["first_ts"], row["last_ts"], LOGS_HOLD_S)
        for row in batch.get("events", ())
    ]
    spans += [
        CoverageSpan(row["entity_label"], row["entity_id"], LOGS, row["at"], row["at"], LOGS_HOLD_S)
        for row in batch.get("changes", ())
    ]
    return spans
