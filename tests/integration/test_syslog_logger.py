"""Real senders: util-linux `logger` over UDP and TCP, RFC 5424 and 3164, into the real graph."""

from __future__ import annotations

import subprocess

import pytest

from graph_schema.cypher import events as cypher
from tests.integration.syslog_helpers import (
    events_of,
    fast_settings,
    running_worker,
    total_count,
    wait_for,
)


def _logger(port: int, *flags: str, tag: str, message: str, count: int = 1) -> None:
    for i in range(count):
        subprocess.run(
            [
                "logger",
                "--server",
                "127.0.0.1",
                "--port",
                str(port),
                *flags,
                "-t",
                tag,
                "-p",
                "daemon.err",
                f"{message} {i}",
            ],
            check=True,
            timeout=10,
        )


@pytest.mark.parametrize(
    "transport, fmt",
    [("udp", "--rfc5424"), ("udp", "--rfc3164"), ("tcp", "--rfc5424"), ("tcp", "--rfc3164")],
)
def test_logger_lines_become_events(store, tmp_path, unique_prefix, transport, fmt):
    # logger sends this machine's hostname; an application tag maps the lines to a Service.
    service = f"{unique_prefix}checkout"
    settings = fast_settings(tmp_path)
    with running_worker(settings, store) as (pipeline, listeners):
        if transport == "udp":
            _, port = listeners.add_udp("127.0.0.1", 0)
            flags = ["--udp", fmt]
        else:
            _, port = listeners.add_tcp("127.0.0.1", 0)
            flags = ["--tcp", "--octet-count", fmt]
        _logger(port, *flags, tag=service, message="connect to 10.0.0.7 port 5432: Connection refused attempt", count=5)
        _logger(port, *flags, tag=service, message="request to db timed out after 300ms try", count=3)
        assert wait_for(lambda: total_count(store, service) == 8, timeout=30), events_of(store, service)
    rows = events_of(store, service)
    by_class = {row["signature_class"]: row for row in rows}
    assert set(by_class) == {"connection", "timeout"}
    assert by_class["connection"]["count"] == 5 and by_class["timeout"]["count"] == 3
    assert by_class["connection"]["severity"] == 3  # daemon.err
    assert "Connection refused" in by_class["connection"]["sample"]
    entity = store.read(cypher.EVENT_CONCERNS, event_id=rows[0]["id"])
    assert (
        entity
        and entity[0]["id"] == service
        and entity[0]["discovered_from"] == "logs"
        and entity[0]["kind"] == "service"
    )
    assert pipeline.metrics.parsed.labels(fmt.strip("-"))._value.get() == 8
    assert pipeline.metrics.received.labels(transport)._value.get() == 8


def test_lines_of_one_trace_from_two_services_time_a_hop_into_the_second(store, tmp_path, unique_prefix):
    """checkout then payment log a line naming one trace; the worker observes the hop into payment in
    its `rca_syslog_trace_hop_seconds` histogram (read back by the metrics poll), none into checkout."""
    caller, callee = f"{unique_prefix}checkout", f"{unique_prefix}payment"
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    settings = fast_settings(tmp_path)
    with running_worker(settings, store) as (pipeline, listeners):
        _, port = listeners.add_udp("127.0.0.1", 0)
        _logger(port, "--udp", "--rfc5424", tag=caller, message=f"charge card trace_id={trace} step")
        _logger(port, "--udp", "--rfc5424", tag=callee, message=f"charging trace_id={trace} step")
        assert wait_for(lambda: total_count(store, callee) == 1, timeout=30), events_of(store, callee)
    registry = pipeline.metrics.registry
    into_callee, into_caller = {"service": callee, "kind": "Service"}, {"service": caller, "kind": "Service"}
    assert registry.get_sample_value("rca_syslog_trace_hop_seconds_count", into_callee) == 1
    assert registry.get_sample_value("rca_syslog_trace_hop_seconds_count", into_caller) is None
    assert 0.0 <= registry.get_sample_value("rca_syslog_trace_hop_seconds_sum", into_callee) < 10.0
