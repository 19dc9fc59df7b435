"""What the serving processes of one `rca serve` must agree on: incident writes still pending, feedback given.

With several serving processes on one port, a caller's Infer and its following GetIncident may be
answered by different processes, each storing its incidents write-behind. Every process counts
the incidents it was handed and the ones it has stored in shared memory; a read of incidents
waits until every process has stored what it had been handed when the read began, so a caller
always reads its own incidents whichever process answers. A waiting read also bumps a shared
"hurry" generation, which tells every writer to stop lingering (gathering incidents into a larger
transaction) and store what it holds now. Feedback bumps a shared generation so that every
process re-reads the confirmed incidents behind its similar-incidents lookup.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

POLL_S = 0.002
SUBMITTED, STORED, FEEDBACK, HURRY = range(4)  # counters per process
COUNTERS = 4


class WriteLedger:
    """Shared counters, per process: incidents submitted, incidents stored, feedback records given, reads waiting.

    Each process writes only its own counters (a lock of its own orders its threads), and the
    shared array has no cross-process lock, so a serving process killed at any moment cannot
    leave the others waiting on a lock it held.
    """

    def __init__(self, processes: int, context=None):
        context = context or multiprocessing.get_context("spawn")
        self.processes = processes
        self._values = context.Array("q", COUNTERS * processes, lock=False)
        self._local = threading.Lock()

    def __getstate__(self):  # handed to each serving process at its start; the lock stays behind
        return {"processes": self.processes, "_values": self._values}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.Lock()

    def _add(self, slot: int, counter: int, count: int) -> None:
        with self._local:
            self._values[COUNTERS * slot + counter] += count

    def submitted(self, slot: int, count: int = 1) -> None:
        """Process `slot` was handed `count` more incidents to store."""
        self._add(slot, SUBMITTED, count)

    def stored(self, slot: int, count: int = 1) -> None:
        """Process `slot` stored (or gave up on) `count` more incidents."""
        self._add(slot, STORED, count)

    def wait_stored(self, timeout_s: float, slot: int = 0) -> bool:
        """Wait until every process has stored what it had been handed by now; False on timeout.

        `slot` is the waiting process; it asks every writer to store what it holds without lingering.
        """
        targets = [self._total(s, SUBMITTED) for s in range(self.processes)]
        self._add(slot, HURRY, 1)
        deadline = time.monotonic() + timeout_s
        while any(self._total(s, STORED) < target for s, target in enumerate(targets)):
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    def feedback_given(self, slot: int) -> None:
        """Process `slot` recorded feedback: every process's view of confirmed incidents is stale."""
        self._add(slot, FEEDBACK, 1)

    @property
    def feedback_generation(self) -> int:
        """How many feedback records have been given through any process."""
        return sum(self._total(slot, FEEDBACK) for slot in range(self.processes))

    @property
    def hurry_generation(self) -> int:
        """How many reads, in any process, have asked the writers to store what they hold now."""
        return sum(self._total(slot, HURRY) for slot in range(self.processes))

    def _total(self, slot: int, counter: int) -> int:
        return self._values[COUNTERS * slot + counter]
