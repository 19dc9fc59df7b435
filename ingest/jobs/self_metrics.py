"""The workers' own Prometheus metrics: job runs, durations, changes, errors, bad input, anomalies."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from ingest.jobs.status import JobStatus


class WorkerMetrics:
    """Gauges and counters on a private registry, optionally served over HTTP."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.runs = Counter("rca_job_runs", "Scheduled job runs", ["job"], registry=r)
        self.failures = Counter("rca_job_failures", "Scheduled job runs that failed", ["job"], registry=r)
        self.last_run = Gauge("rca_job_last_run_timestamp_seconds", "End of the job's latest run", ["job"], registry=r)
        self.last_success = Gauge(
            "rca_job_last_success_timestamp_seconds", "End of the latest successful run", ["job"], registry=r
        )
        self.duration = Gauge("rca_job_last_duration_seconds", "Duration of the latest run", ["job"], registry=r)
        self.changes = Gauge("rca_job_last_changes", "Graph changes made by the latest run", ["job"], registry=r)
        self.failing = Gauge("rca_job_consecutive_failures", "Failed runs in a row", ["job"], registry=r)
        self.bad_input = Counter("rca_metrics_bad_input", "Bad input met by polls and syncs", ["kind"], registry=r)
        self.series = Gauge("rca_metrics_poll_series", "Series judged by the latest poll", registry=r)
        self.unjudged = Gauge(
            "rca_metrics_poll_unjudged_series",
            "Series of the latest poll that could not be judged (too little history for their step): not observed",
            registry=r,
        )
        self.unjudged_total = Counter(
            "rca_metrics_unjudged_series", "Series left unjudged, summed over polls", registry=r
        )
        self.pending = Gauge("rca_metrics_pending_anomaly_writes", "Anomaly rows waiting for the graph", registry=r)

    def record(self, status: JobStatus, succeeded: bool) -> None:
        """Export one finished run."""
        job = status.name
        self.runs.labels(job).inc()
        failures = self.failures.labels(job)  # exported as 0 from the first run on, not only after a failure
        if not succeeded:
            failures.inc()
        else:
            self.last_success.labels(job).set(status.last_end or 0)
            self.changes.labels(job).set(status.last_changes or 0)
        self.last_run.labels(job).set(status.last_end or 0)
        self.duration.labels(job).set(status.last_duration_s or 0)
        self.failing.labels(job).set(status.consecutive_failures)

    def count_bad_input(self, by_kind: dict[str, int]) -> None:
        """Add a run's bad-input totals."""
        for kind, n in by_kind.items():
            self.bad_input.labels(kind).inc(n)

    def serve(self, port: int, address: str = "127.0.0.1"):
        """Serve /metrics on ``address:port``; returns the server so it can be shut down."""
        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        return server
