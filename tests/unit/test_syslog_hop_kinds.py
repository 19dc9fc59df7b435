"""The hop histogram keeps one child per entity: a datastore mapped as a Service while the graph was down
leaves no phantom `kind="Service"` series once the graph says what it is."""

from __future__ import annotations

from graph_schema.cypher import events as cypher
from graph_schema.model import Label
from ingest.syslog.pipeline import SyslogPipeline
from settings.ingest import SyslogSettings


class _Graph:
    """Knows one datastore, `ledger`; raises as an unreachable server does while `down`."""

    def __init__(self):
        self.down = True

    def read(self, query, keys=(), **_kwargs):
        if self.down:
            raise OSError("connection refused")
        return [{"id": key} for key in keys if key == "ledger" and query == cypher.FIND_ENTITY_IDS[Label.DATASTORE]]


def _hop_into_ledger(pipeline: SyslogPipeline, trace: str, minute: int) -> None:
    pipeline.process(
        "udp",
        "udp:10.0.0.1:514",
        [
            f"<14>1 2026-11-23T10:{minute:02d}:00Z h checkout - - - post entry trace_id={trace}".encode(),
            f"<14>1 2026-11-23T10:{minute:02d}:01Z h ledger - - - entry written trace_id={trace}".encode(),
        ],
    )


def test_a_datastore_mapped_as_a_service_during_an_outage_keeps_no_service_child_once_known(tmp_path):
    graph = _Graph()
    pipeline = SyslogPipeline(SyslogSettings(state_dir=tmp_path / "syslog"), graph)
    registry = pipeline.metrics.registry
    as_service = {"service": "ledger", "kind": "Service"}
    as_datastore = {"service": "ledger", "kind": "Datastore"}

    _hop_into_ledger(pipeline, "4bf92f3577b34da6a3ce929d0e0e4736", 0)
    assert registry.get_sample_value("rca_syslog_trace_hop_seconds_count", as_service) == 1  # the rules alone

    graph.down = False
    _hop_into_ledger(pipeline, "5cf92f3577b34da6a3ce929d0e0e4737", 1)
    assert registry.get_sample_value("rca_syslog_trace_hop_seconds_count", as_datastore) == 1
    assert registry.get_sample_value("rca_syslog_trace_hop_seconds_count", as_service) is None
    pipeline.dead_letters.close()
