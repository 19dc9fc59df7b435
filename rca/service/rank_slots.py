"""How many rankings one serving process runs at once, and the deadline checks between stages.

Python runs one thread at a time per process. Rankings interleaved on the worker threads of one
process each cost more CPU than the same rankings run one after the other (in-process, 8
threads at once: 22-26 ms of CPU per 300-entity ranking, one at a time: 12-14 ms), so by
default they take turns while the other workers fetch subgraphs, store incidents and answer.
A call waits for its turn at most until its deadline. The incident writer's heavy Python (building
a stored row) takes turns with the rankings too (``background``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class DeadlinePassed(Exception):
    """The caller's deadline passed (or the call was cancelled) before a stage could start."""


def check_deadline(context, stage: str) -> None:
    """Raise DeadlinePassed when the call's deadline has passed or it was cancelled."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise DeadlinePassed(f"deadline expired before {stage}")
    if not context.is_active():
        raise DeadlinePassed(f"call cancelled before {stage}")


class RankSlots:
    """At most `count` rankings at once (0: no limit); a call waits for a slot until its deadline."""

    def __init__(self, count: int):
        self._slots = threading.BoundedSemaphore(count) if count else None

    @contextlib.contextmanager
    def hold(self, context) -> Iterator[None]:
        """One slot for the duration of the block; DeadlinePassed when none frees up in time."""
        check_deadline(context, "ranking")
        if self._slots is None:
            yield
            return
        if not self._slots.acquire(timeout=context.time_remaining()):
            raise DeadlinePassed("deadline expired while waiting for a ranking slot (the server is busy)")
        try:
            check_deadline(context, "ranking")
            yield
        finally:
            self._slots.release()

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        """One slot for background Python work (no deadline: waits as long as it takes)."""
        if self._slots is None:
            yield
            return
        with self._slots:
            yield
