"""Flushed aggregates waiting for the graph: in memory within a bound, on disk beyond it.

Each flush is one self-contained batch (entities, events, changes), so batches can be written in
any order and a batch spilled to disk survives a restart of the worker.

With ``durable`` (the worker journals its lines) every batch is also written to the spool, synced,
when it is put, with the number of the last journal line it covers (``JOURNAL_KEY``): the journal
may then drop those lines. A batch merged into the newest waiting one rewrites that one's file in
one atomic rename, so a crash leaves either the old file and the new lines still in the journal,
or the merged file; the file goes when the batch is in the graph.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from pathlib import Path

from ingest.syslog.private_files import private_dir, write_private

Batch = dict
JOURNAL_KEY = "journal"


def batch_rows(batch: Batch) -> int:
    """Rows in a batch, all kinds together."""
    return sum(len(rows) for rows in batch.values() if isinstance(rows, list))


class WriteBuffer:
    """A FIFO of batches; memory holds up to ``memory_rows`` rows, the rest goes to ``spool_dir``."""

    def __init__(self, spool_dir: Path, memory_rows: int, merge=None, merge_limit: int = 20_000, durable: bool = False):
        self.spool_dir = spool_dir
        self.durable = durable
        # While the writer is behind, a new batch is folded into the newest waiting one, so
        # the graph gets each (entity, template, bucket) once rather than once per flush.
        self._merge = merge
        self._merge_limit = merge_limit
        self._in_flight = False
        private_dir(spool_dir)
        self.memory_rows = memory_rows
        self._memory: deque[Batch] = deque()
        self._memory_files: deque[Path | None] = deque()  # each memory batch's spool file (durable mode)
        self._memory_count = 0
        self._lock = threading.Condition()
        existing = sorted(spool_dir.glob("*.json"))
        start = int(existing[-1].stem) + 1 if existing else 0
        self._disk: deque[Path] = deque(existing)
        self._seq = itertools.count(start)
        self._disk_rows = 0
        self.journal_covered = 0  # the last journal line any spooled batch covers
        for path in existing:
            batch = self._read(path)
            self._disk_rows += batch_rows(batch)
            self.journal_covered = max(self.journal_covered, int(batch.get(JOURNAL_KEY) or 0))

    # -- producer side ------------------------------------------------------------------------

    def put(self, batch: Batch) -> None:
        """Queue a batch; it spills to disk when memory is at its bound (durable: it is on disk at return)."""
        rows = batch_rows(batch)
        if not rows:
            return
        with self._lock:
            tail_free = self._memory and not (self._in_flight and len(self._memory) == 1)
            if self._merge and tail_free and batch_rows(self._memory[-1]) + rows <= self._merge_limit:
                tail = self._memory[-1]
                path = self._memory_files[-1]
                before = batch_rows(tail)
                # On disk, merge into a copy: if its file cannot be written, nothing has changed.
                merged: Batch = (
                    {k: [dict(r) for r in v] if isinstance(v, list) else v for k, v in tail.items()} if path else tail
                )
                self._merge(merged, batch)
                if JOURNAL_KEY in batch:
                    merged[JOURNAL_KEY] = max(int(merged.get(JOURNAL_KEY) or 0), batch[JOURNAL_KEY])
                if path is not None:
                    write_private(path, json.dumps(merged), sync=True)
                self._memory[-1] = merged
                self._memory_count += batch_rows(merged) - before
            elif self._memory_count + rows > self.memory_rows and self._memory:
                self._spill(batch)
            else:
                path = self._write(batch) if self.durable else None
                self._memory.append(batch)
                self._memory_files.append(path)
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
                path = self._memory_files.popleft()
                if path is not None:
                    path.unlink(missing_ok=True)
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
                path = self._memory_files.popleft()
                self._memory_count -= batch_rows(batch)
                if path is None:
                    self._spill(batch)
                else:  # already on disk
                    self._disk.append(path)
                    self._disk_rows += batch_rows(batch)
                moved += 1
            return moved

    def wake(self) -> None:
        """Wake every thread waiting in peek (the writer at stop, rather than after its timeout)."""
        with self._lock:
            self._lock.notify_all()

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
        self._disk.append(self._write(batch))
        self._disk_rows += batch_rows(batch)

    def _write(self, batch: Batch) -> Path:
        path = self.spool_dir / f"{next(self._seq):012d}.json"
        # atomic: a crash leaves either no file or a whole one; synced when the journal relies on it
        write_private(path, json.dumps(batch), sync=self.durable)
        return path

    @staticmethod
    def _read(path: Path) -> Batch:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    @classmethod
    def _rows_in(cls, path: Path) -> int:
        return batch_rows(cls._read(path))
