"""Flushed aggregates waiting for the graph: in memory within a bound, on disk beyond it.

Each flush is one self-contained batch (entities, events, changes), so batches can be written in
any order and a batch spilled to disk survives a restart of the worker.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from pathlib import Path

from ingest.syslog.private_files import private_dir, write_private

Batch = dict[str, list[dict]]


def batch_rows(batch: Batch) -> int:
    """Rows in a batch, all kinds together."""
    return sum(len(rows) for rows in batch.values())


class WriteBuffer:
    """A FIFO of batches; memory holds up to ``memory_rows`` rows, the rest goes to ``spool_dir``."""

    def __init__(self, spool_dir: Path, memory_rows: int, merge=None, merge_limit: int = 20_000):
        self.spool_dir = spool_dir
        # While the writer is behind, a new batch is folded into the newest waiting one, so
        # the graph gets each (entity, template, bucket) once rather than once per flush.
        self._merge = merge
        self._merge_limit = merge_limit
        self._in_flight = False
        private_dir(spool_dir)
        self.memory_rows = memory_rows
        self._memory: deque[Batch] = deque()
        self._memory_count = 0
        self._lock = threading.Condition()
        existing = sorted(spool_dir.glob("*.json"))
        start = int(existing[-1].stem) + 1 if existing else 0
        self._disk: deque[Path] = deque(existing)
        self._seq = itertools.count(start)
        self._disk_rows = sum(self._rows_in(path) for path in existing)

    # -- producer side ------------------------------------------------------------------------

    def put(self, batch: Batch) -> None:
        """Queue a batch; it spills to disk when memory is at its bound."""
        rows = batch_rows(batch)
        if not rows:
            return
        with self._lock:
            tail_free = self._memory and not (self._in_flight and len(self._memory) == 1)
            if self._merge and tail_free and batch_rows(self._memory[-1]) + rows <= self._merge_limit:
                tail = self._memory[-1]
                before = batch_rows(tail)
                self._merge(tail, batch)
                self._memory_count += batch_rows(tail) - before
            elif self._memory_count + rows > self.memory_rows and self._memory:
                self._spill(batch)
            else:
                self._memory.append(batch)
                self._memory_count += rows
            self._lock.notify_all()

    # -- consumer side ------------------------------------------------------------------------

    def peek(self, timeout: float | None = None) -> tuple[object, Batch] | None:
        """The oldest batch (memory first) without removing it, or None after ``timeout``."""
        with self._lock:
            if not self._memory and not self._disk:
                self._lock.wait(timeout)
            if self._memory:
                self._in_flight = True
                return ("memory", self._memory[0])
            if self._disk:
                path = self._disk[0]
                return (path, json.loads(path.read_text()))
            return None

    def ack(self, token: object) -> None:
        """Remove the batch ``peek`` returned, once it is safely in the graph."""
        with self._lock:
            if token == "memory":
                self._in_flight = False
                batch = self._memory.popleft()
                self._memory_count -= batch_rows(batch)
            else:
                path = self._disk.popleft()
                assert path == token
                self._disk_rows -= self._rows_in(path)
                path.unlink(missing_ok=True)
            self._lock.notify_all()

    def spill_all(self) -> int:
        """Move every in-memory batch to disk (clean shutdown while the graph is away)."""
        with self._lock:
            self._in_flight = False
            moved = 0
            while self._memory:
                batch = self._memory.popleft()
                self._memory_count -= batch_rows(batch)
                self._spill(batch)
                moved += 1
            return moved

    def wait_empty(self, timeout: float) -> bool:
        """Block until every batch is acknowledged or ``timeout`` passes; True when empty."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._memory and not self._disk, timeout)

    def sizes(self) -> tuple[int, int]:
        """Rows waiting in memory and on disk."""
        with self._lock:
            return self._memory_count, self._disk_rows

    # -- internals ----------------------------------------------------------------------------

    def _spill(self, batch: Batch) -> None:
        path = self.spool_dir / f"{next(self._seq):012d}.json"
        write_private(path, json.dumps(batch))  # atomic: a crash leaves either no file or a whole one
        self._disk.append(path)
        self._disk_rows += batch_rows(batch)

    @staticmethod
    def _rows_in(path: Path) -> int:
        try:
            return batch_rows(json.loads(path.read_text()))
        except (OSError, ValueError):
            return 0
