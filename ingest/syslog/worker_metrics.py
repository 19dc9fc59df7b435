"""Self metrics of the syslog worker, on their own prometheus-client registry."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

# hop seconds (trace_hops.py): a millisecond on one host to a minute (trace_hops.MAX_HOP_S)
HOP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SyslogMetrics:
    """Counters, gauges and histograms the worker updates; served by ``serve``."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter("rca_syslog_received_lines", "lines received", ["transport"], registry=r)
        self.parsed = Counter("rca_syslog_parsed_lines", "lines parsed, by format", ["format"], registry=r)
        self.unparsed = Counter("rca_syslog_unparsed_lines", "lines that fit no syslog format (kept raw)", registry=r)
        self.dropped = Counter(
            "rca_syslog_dropped_lines", "lines dropped (UDP under overload)", ["transport"], registry=r
        )
        self.dead_lettered = Counter(
            "rca_syslog_dead_lettered_lines", "lines set aside, by reason", ["reason"], registry=r
        )
        self.written = Counter("rca_syslog_written_rows", "rows written to the graph, by kind", ["kind"], registry=r)
        self.write_failures = Counter("rca_syslog_write_failures", "graph write attempts that failed", registry=r)
        self.queue_depth = Gauge("rca_syslog_queue_depth", "batches waiting for the processor", registry=r)
        self.buffered_rows = Gauge("rca_syslog_buffered_rows", "rows waiting for the graph", ["where"], registry=r)
        self.templates = Gauge("rca_syslog_templates", "templates mined so far", registry=r)
        self.connections = Gauge("rca_syslog_tcp_connections", "open TCP connections", registry=r)
        self.tcp_accepted = Counter("rca_syslog_tcp_accepted_connections", "TCP connections accepted", registry=r)
        self.tcp_shed = Counter(
            "rca_syslog_tcp_shed_connections",
            "TCP connections closed to make room (at the cap or out of descriptors), quietest first",
            registry=r,
        )
        self.tcp_timed_out = Counter(
            "rca_syslog_tcp_timed_out_connections", "TCP connections closed after the idle timeout", registry=r
        )
        self.tcp_accept_errors = Counter(
            "rca_syslog_tcp_accept_errors",
            "failed accept() calls, by errno (EMFILE: out of descriptors)",
            ["errno"],
            registry=r,
        )
        self.journal_lines = Gauge(
            "rca_syslog_journal_lines", "lines journaled since the state directory was made", registry=r
        )
        self.journal_synced_lines = Gauge(
            "rca_syslog_journal_synced_lines", "of those, lines the journal has fdatasync'ed", registry=r
        )
        self.journal_released_lines = Gauge(
            "rca_syslog_journal_released_lines",
            "of those, lines in durable batches (dropped from the journal)",
            registry=r,
        )
        self.journal_bytes = Gauge("rca_syslog_journal_bytes", "bytes held by the journal's segments", registry=r)
        self.flush_seconds = Histogram(
            "rca_syslog_flush_seconds",
            "time to write one flush to the graph",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )

        self.trace_hop_seconds = Histogram(
            "rca_syslog_trace_hop_seconds",
            "time from a trace's last line at another entity to its next line at this one (trace_hops.py)",
            ["service", "kind"],  # the entity the hop went into, and its label (Service, Datastore)
            buckets=HOP_BUCKETS,
            registry=r,
        )

    def serve(self, host: str, port: int):
        """Start the /metrics HTTP endpoint in a daemon thread; returns (server, thread)."""
        return start_http_server(port, addr=host, registry=self.registry)
