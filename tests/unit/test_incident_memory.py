"""IncidentMemory: an Infer never waits for the periodic re-read of confirmed incidents (it scans every
:Incident, so it grows with the incidents stored), but does wait for the read after feedback."""

from __future__ import annotations

import threading

from rca.service.incident_memory import IncidentMemory


def _row(incident_id: str, root_cause: str) -> dict:
    return {
        "id": incident_id,
        "created_at": 1.0,
        "embedding": [1.0, 0.0],
        "root_cause_id": root_cause,
        "symptoms_json": "[]",
    }


class GateStore:
    """A graph store returning ``rows`` as they were when a read began; reads on any thread but the test's
    wait until ``gate`` opens."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.gate = threading.Event()
        self.reads = 0

    def read(self, statement, **params):
        self.reads += 1
        rows = list(self.rows)
        if threading.current_thread() is not threading.main_thread():
            self.gate.wait(timeout=30)
        return rows


def _roots(memory: IncidentMemory) -> list[str]:
    return [s.root_cause_entity_id for s in memory.similar([1.0, 0.0], 3, {})]


def _background_reads_done() -> None:
    for thread in threading.enumerate():
        if thread.name == "rca-incident-memory":
            thread.join(timeout=30)


def _after_first_read(refresh_s: float) -> tuple[GateStore, IncidentMemory, list[int]]:
    """A memory that has read once (root cause "db"), and its feedback generation to bump."""
    generation = [0]
    store = GateStore([_row("i1", "db")])
    memory = IncidentMemory(store, refresh_s=refresh_s, generation=lambda: generation[0])
    assert _roots(memory) == ["db"]
    return store, memory, generation


def test_a_stale_memory_answers_from_the_last_read_while_reading_again_in_the_background():
    store, memory, _ = _after_first_read(refresh_s=0.0)
    store.rows = [_row("i2", "cache")]
    assert _roots(memory) == ["db"], "the Infer waited for the re-read"
    assert store.reads == 2
    memory.refresh_s = 3600.0
    store.gate.set()
    _background_reads_done()
    assert _roots(memory) == ["cache"]


def test_feedback_is_seen_by_the_next_call():
    store, memory, generation = _after_first_read(refresh_s=3600.0)
    store.rows = [_row("i2", "cache")]
    assert _roots(memory) == ["db"]  # fresh enough: not read again
    generation[0] += 1  # feedback given through some serving process
    assert _roots(memory) == ["cache"]
    assert store.reads == 2


def test_a_background_read_overtaken_by_feedback_is_dropped():
    store, memory, generation = _after_first_read(refresh_s=0.0)
    store.rows = [_row("old", "stale")]
    _roots(memory)  # a background read begins with the stale rows and waits at the gate
    store.rows = [_row("i2", "cache")]
    generation[0] += 1
    memory.refresh_s = 3600.0
    assert _roots(memory) == ["cache"]  # the feedback's read, on this thread
    store.gate.set()
    _background_reads_done()
    assert _roots(memory) == ["cache"]
    assert store.reads == 3, "the stale read was installed over the feedback's"
