"""The supervisor's record of active faults: each with its Revert, reverted at the end of its duration,
on ``DELETE /faults/ID`` and on down (the injectors themselves live in rca/cli/lab/injectors.py)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any


class FaultBook:
    """Active faults by id; thread-safe."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._active: dict[str, dict] = {}
        self._reverts: dict[str, Callable[[], None]] = {}
        self._timers: dict[str, threading.Timer] = {}

    def inject(self, kind: str, target: str, for_s: float | None, params: dict) -> dict:
        """Start a fault through L2's injectors; the record of it (with its id)."""
        from rca.cli.lab import injectors

        revert = injectors.inject(self.lab, kind, target, params)
        now = time.time()
        with self._lock:
            fault_id = f"f{next(self._ids)}"
            record = {"id": fault_id, "kind": kind, "target": target, "params": params, "started": now}
            if for_s:
                record["until"] = now + for_s
                timer = threading.Timer(for_s, self.revert, args=(fault_id,))
                timer.daemon = True
                self._timers[fault_id] = timer
                timer.start()
            self._active[fault_id] = record
            self._reverts[fault_id] = revert
        return record

    def revert(self, fault_id: str) -> dict | None:
        """Revert one fault; its record, or None when no such fault is active."""
        with self._lock:
            record = self._active.pop(fault_id, None)
            revert = self._reverts.pop(fault_id, None)
            timer = self._timers.pop(fault_id, None)
        if timer is not None:
            timer.cancel()
        if revert is not None:
            revert()
        if record is not None:
            record["reverted"] = time.time()
        return record

    def revert_all(self) -> int:
        """Revert every active fault (down); how many there were."""
        with self._lock:
            ids = list(self._active)
        for fault_id in ids:
            try:
                self.revert(fault_id)
            except Exception as error:  # noqa: BLE001 (one failed revert must not keep the others from running)
                print(f"lab: reverting fault {fault_id} failed: {error}", flush=True)
        return len(ids)

    def active(self) -> list[dict]:
        """The active faults' records."""
        with self._lock:
            return [dict(record) for record in self._active.values()]
