"""The metrics worker: the metrics poll and the topology sync as jobs over one reader and one graph."""

from __future__ import annotations

import logging

from ingest.jobs.scheduler import JobOutcome, JobRunner, JobSpec, Schedules
from ingest.metrics.anomaly_writer import AnomalyWriter
from ingest.metrics.poll import MetricsPoller
from ingest.metrics.promql_templates import TemplateSet, load_templates
from ingest.metrics.reader import PrometheusReader
from ingest.topology.sync import sync_topology
from settings.ingest import MetricsSettings, SyncSettings

log = logging.getLogger(__name__)
POLL_JOB = "metrics_poll"
SYNC_JOB = "topology_sync"


def templates_from(settings: MetricsSettings) -> TemplateSet:
    """The template set the settings name (shipped defaults where unset)."""
    return load_templates(settings.signals_file, settings.discovery_file, settings.mapping_file)


class MetricsWorker:
    """Owns the poller's state between runs; each job method is one run."""

    def __init__(
        self,
        store,
        metrics: MetricsSettings,
        sync: SyncSettings,
        *,
        grace_period_s: float,
        runner: JobRunner,
        templates: TemplateSet | None = None,
    ):
        self.store = store
        self.metrics_settings = metrics
        self.sync_settings = sync
        self.grace_period_s = grace_period_s
        self.runner = runner
        self.templates = templates or templates_from(metrics)
        self.reader = PrometheusReader(metrics)
        self.writer = AnomalyWriter(store, source=sync.source)
        self.poller = MetricsPoller(self.reader, self.templates, metrics, self.writer)
        self._restored = False

    def poll_once(self, now: float | None = None) -> JobOutcome:
        """One metrics poll (restoring open anomalies from the graph on the first)."""
        if not self._restored:
            self.poller.restore_open()
            self._restored = True
        try:
            report = self.poller.poll(now)
        finally:
            self.runner.metrics.pending.set(self.writer.pending)
        self.runner.metrics.series.set(report.series)
        self.runner.metrics.unjudged.set(report.unjudged)
        self.runner.metrics.unjudged_total.inc(report.unjudged)
        self.runner.metrics.count_bad_input(report.bad.by_kind())
        return JobOutcome(
            report.changed,
            {
                "series": report.series,
                "points": report.points,
                "opened": report.opened,
                "updated": report.updated,
                "closed": report.closed,
                "unjudged": report.unjudged,
                "unjudged_series": report.unjudged_series,
                "bad_input": report.bad.problems()[:50],
                "empty_templates": sorted(name for (kind, name) in report.bad.counts if kind == "empty_template"),
            },
        )

    def sync_once(self, at: float | None = None, dry_run: bool = False) -> JobOutcome:
        """One topology sync from Prometheus discovery."""
        report = sync_topology(
            self.store,
            self.reader,
            self.templates,
            self.metrics_settings,
            self.sync_settings,
            grace_period_s=self.grace_period_s,
            at=at,
            dry_run=dry_run,
        )
        self.runner.metrics.count_bad_input(report.bad.by_kind())
        return JobOutcome(
            report.changes,
            {
                "entities": report.entities,
                "edges": report.edges,
                "dry_run": dry_run,
                "summary": report.plan.summary() if report.plan else [],
                "bad_input": report.bad.problems()[:50],
            },
        )

    def schedules(self, *, poll: bool = True, sync: bool = True) -> Schedules:
        """The periodic jobs: metrics poll and topology sync."""
        m, s = self.metrics_settings, self.sync_settings
        jobs = []
        if poll:
            jobs.append(
                JobSpec(
                    POLL_JOB,
                    self.poll_once,
                    m.poll_interval_s,
                    m.poll_jitter_s,
                    retry_base_s=min(5.0, m.poll_interval_s),
                )
            )
        if sync:
            jobs.append(
                JobSpec(SYNC_JOB, self.sync_once, s.interval_s, s.jitter_s, retry_base_s=min(30.0, s.interval_s))
            )
        return Schedules(self.runner, jobs)

    def close(self) -> None:
        """Release the Prometheus session."""
        self.reader.close()
