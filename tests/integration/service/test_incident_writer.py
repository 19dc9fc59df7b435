"""The incident writer against the real graph: grouped writes, read-your-writes, retries store nothing twice."""

from __future__ import annotations

import contextlib
import threading

from graph_schema import incident_snapshots
from graph_schema.cypher import incidents as cypher
from rca.rank.types import Edge
from rca.service.incident_writer import IncidentWriter
from rca.service.incidents import IncidentRecord, IncidentStore
from rca.service.stubs import pb


def _record(incident_id: str, root: str, *, model: bool = True) -> IncidentRecord:
    response = pb.InferResponse(
        incident_id=incident_id,
        symptoms=[pb.ResolvedSymptom(entity_id="svc-a", entity_name="a", family="errors", observed_at=100.0)],
        candidates=[pb.Candidate(entity_id=root, entity_name=root, score=0.9, rank=1)],
        window=pb.TimeWindow(start=0.0, end=200.0),
        explanation=f"{root} first",
    )

    def snapshot() -> str:
        return incident_snapshots.encode_dict({root: {"evidence": 1.0}})

    if not model:
        return IncidentRecord(response, snapshot)
    return IncidentRecord(
        response, snapshot, embedding=[0.6, 0.8], edges=[Edge(root, "svc-a", "CALLS")], model_version="m-1"
    )


class _CountingStore(IncidentStore):
    """The real incident store, counting its transactions."""

    def __init__(self, store):
        super().__init__(store)
        self.batches: list[int] = []
        self.gate = threading.Event()

    def save_rows(self, rows):
        self.gate.wait(10)  # hold the first write so the next incidents queue up behind it
        self.batches.append(len(rows))
        super().save_rows(rows)


def test_incidents_answered_meanwhile_are_stored_together_and_all_readable(service_store, unique_prefix):
    incidents = _CountingStore(service_store)
    writer = IncidentWriter(incidents)
    try:
        ids = [f"{unique_prefix}inc-{i}" for i in range(20)]
        for i, incident_id in enumerate(ids):
            writer.submit(_record(incident_id, f"db-{i}"))
        incidents.gate.set()
        assert writer.flush(timeout_s=30)
    finally:
        writer.close()
    assert sum(incidents.batches) == 20
    assert len(incidents.batches) < 20, f"one transaction per incident: {incidents.batches}"
    stored = {i: incidents.get(i) for i in ids}
    assert [stored[i].candidates[0].entity_id for i in ids] == [f"db-{i}" for i in range(20)]
    row = service_store.read(cypher.GET_INCIDENT, id=ids[3])[0]["incident"]
    assert row["embedding"] == [0.6, 0.8] and row["model_version"] == "m-1"
    assert incident_snapshots.edges_of(row) == [["db-3", "svc-a", "CALLS"]]
    assert incident_snapshots.features_of(row) == {"db-3": {"evidence": 1.0}}


def test_a_batch_written_twice_stores_each_incident_once(service_store, unique_prefix):
    incidents = IncidentStore(service_store)
    records = [_record(f"{unique_prefix}twice-{i}", "db", model=False) for i in range(3)]
    incidents.save(records)
    incidents.save(records)  # what a retry after a lost acknowledgement does
    rows = service_store.read(
        "MATCH (i:Incident) WHERE i.id STARTS WITH $prefix RETURN i.id AS id, i.embedding AS e",
        prefix=f"{unique_prefix}twice-",
    )
    assert sorted(r["id"] for r in rows) == sorted(r.response.incident_id for r in records)
    assert all(r["e"] is None for r in rows)  # no model, no embedding


def test_an_incident_that_cannot_be_written_costs_only_itself(service_store, unique_prefix):
    from rca.service.incident_writer import WRITE_FAILURES

    def broken():
        raise ValueError("snapshot cannot be built")

    incidents = _CountingStore(service_store)
    writer = IncidentWriter(incidents)
    failures = WRITE_FAILURES._value.get()
    try:
        ids = [f"{unique_prefix}mixed-{i}" for i in range(6)]
        for i, incident_id in enumerate(ids):
            record = _record(incident_id, f"db-{i}")
            if i == 2:
                record.features = broken
            writer.submit(record)
        incidents.gate.set()
        assert writer.flush(timeout_s=30)
    finally:
        writer.close()
    stored = service_store.read(
        "MATCH (i:Incident) WHERE i.id STARTS WITH $prefix RETURN i.id AS id", prefix=f"{unique_prefix}mixed-"
    )
    assert sorted(r["id"] for r in stored) == sorted(i for n, i in enumerate(ids) if n != 2)
    assert WRITE_FAILURES._value.get() == failures + 1


def test_incidents_arriving_while_the_writer_lingers_share_one_transaction(service_store, unique_prefix):
    incidents = _CountingStore(service_store)
    incidents.gate.set()
    writer = IncidentWriter(incidents, linger_s=60.0)  # lingers until a read waits
    try:
        for i in range(3):
            writer.submit(_record(f"{unique_prefix}linger-{i}", f"db-{i}"))
        assert writer.flush(timeout_s=30)  # a waiting read ends the linger
    finally:
        writer.close()
    assert incidents.batches == [3]


def test_a_read_in_a_sibling_process_ends_the_linger(service_store, unique_prefix):
    from rca.service.ledger import WriteLedger

    ledger = WriteLedger(2)
    incidents = _CountingStore(service_store)
    incidents.gate.set()
    writer = IncidentWriter(incidents, linger_s=60.0, ledger=ledger, slot=0)
    try:
        writer.submit(_record(f"{unique_prefix}hurry-0", "db-0"))
        assert ledger.wait_stored(timeout_s=30, slot=1)  # the read of serving process 1
        assert incidents.get(f"{unique_prefix}hurry-0").candidates[0].entity_id == "db-0"
    finally:
        writer.close()


def test_the_writer_builds_each_row_in_a_turn_of_its_own(service_store, unique_prefix):
    turns, built_in_turn = [], []

    @contextlib.contextmanager
    def turn():
        turns.append("open")
        yield
        turns[-1] = "closed"

    def record(i: int) -> IncidentRecord:
        plain = _record(f"{unique_prefix}turn-{i}", f"db-{i}")

        def features() -> str:  # called while the row is built
            built_in_turn.append(turns[-1:] == ["open"])
            return plain.features()

        return IncidentRecord(plain.response, features)

    writer = IncidentWriter(IncidentStore(service_store), turns=turn)
    try:
        for i in range(3):
            writer.submit(record(i))
        assert writer.flush(timeout_s=30)
    finally:
        writer.close()
    assert built_in_turn == [True, True, True] and turns == ["closed"] * 3
    assert IncidentStore(service_store).get(f"{unique_prefix}turn-2").candidates[0].entity_id == "db-2"
