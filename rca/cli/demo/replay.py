"""Replay of a bundled incident through the real ingest code, anchored at the alert time.

Logs: the incident's raw syslog lines go through the syslog pipeline the way `rca ingest syslog -`
feeds it from stdin (parse, Drain3 templates, signature classes, entity mapping, aggregation,
graph writer). Its state lives in a temporary directory so the demo leaves the worker's template
state alone.

Metrics: the incident's series answer the metrics poll's range queries in place of Prometheus,
and the poll runs as `rca ingest metrics --from/--to` runs it (one poll per poll interval over the
judged span), so every :Anomaly comes out of the detector, the tracker and the anomaly writer.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from graph_schema.model import Label
from ingest.metrics.anomaly_tracker import AnomalyChange
from ingest.metrics.anomaly_writer import AnomalyWriter
from ingest.metrics.backfill import backfill
from ingest.metrics.poll import MetricsPoller
from ingest.metrics.reader import Series
from ingest.metrics.worker import templates_from
from ingest.syslog.classes import OTHER
from ingest.syslog.listeners import FILE_BATCH_LINES
from ingest.syslog.pipeline import SyslogPipeline
from ingest.syslog.worker_metrics import SyslogMetrics
from rca.cli.demo.incident import (
    IncidentFile,
    IncidentFileError,
    metric_series,
    syslog_lines,
)
from settings.ingest import MetricsSettings, SyslogSettings

ANOMALY_SOURCE = "demo"  # not "metrics": a live metrics worker must not resume the demo's open anomalies


class ReplayFailed(RuntimeError):
    """The graph did not take what the replay produced."""


@dataclass
class LogReplay:
    """What the syslog stages did with the incident's lines."""

    lines: int
    parsed: dict[str, int]
    dead_lettered: int
    templates: list[tuple[str, str]]  # (signature class or class/change type, template text)
    events_written: int
    changes_written: int


@dataclass
class DetectedAnomaly:
    """One anomaly as the detector left it, with the change the incident file injected."""

    entity_label: str
    entity_id: str
    signal: str
    family: str
    change: AnomalyChange
    injected_at: float | None


@dataclass
class MetricReplay:
    """What the metrics poll did with the incident's series."""

    series: int
    samples: int
    polls: int
    poll_interval_s: float
    anomalies: list[DetectedAnomaly] = field(default_factory=list)
    bad_input: list[str] = field(default_factory=list)


def replay_logs(store, incident: IncidentFile, alert_at: float, settings: SyslogSettings) -> LogReplay:
    """Send the incident's syslog lines through the syslog pipeline into the graph."""
    lines = syslog_lines(incident, alert_at, ZoneInfo(settings.default_timezone))
    metrics = SyslogMetrics()
    with tempfile.TemporaryDirectory(prefix="rca-demo-syslog-") as state_dir:
        pipeline = SyslogPipeline(settings.model_copy(update={"state_dir": Path(state_dir)}), store, metrics).start()
        for i in range(0, len(lines), FILE_BATCH_LINES):
            pipeline.submit("stdin", "demo", lines[i : i + FILE_BATCH_LINES])
        if not pipeline.stop():
            raise ReplayFailed("the graph did not take the replayed log events in time")
        templates = []
        for template_id in range(1, len(pipeline.templates) + 1):  # Drain numbers templates 1, 2, ...
            text = pipeline.templates.template(template_id)
            rule = pipeline.classifier.for_template(template_id, text)
            kind = (
                OTHER if rule is None else rule.signature_class + (f"/{rule.change_type}" if rule.change_type else "")
            )
            templates.append((kind, text))

    def sample(name: str, **labels) -> int:
        return int(metrics.registry.get_sample_value(name, labels) or 0)

    parsed = {fmt: sample("rca_syslog_parsed_lines_total", format=fmt) for fmt in ("rfc5424", "rfc3164", "unparsed")}
    dead = sum(int(s.value) for m in metrics.dead_lettered.collect() for s in m.samples if s.name.endswith("_total"))
    return LogReplay(
        len(lines),
        {k: v for k, v in parsed.items() if v},
        dead,
        templates,
        sample("rca_syslog_written_rows_total", kind="events"),
        sample("rca_syslog_written_rows_total", kind="changes"),
    )


class SeriesAnswers:
    """Answers the poll's range queries from series held in memory, as Prometheus would from its TSDB."""

    def __init__(self, by_query: dict[str, list[tuple[dict[str, str], np.ndarray, np.ndarray]]]):
        self._by_query = by_query

    def query_range(self, promql: str, start: float, end: float, step_s: float) -> list[Series]:
        """The series of ``promql`` between start and end (they are already on the poll's step grid)."""
        out = []
        for labels, ts, values in self._by_query.get(promql, ()):
            keep = (ts >= start) & (ts <= end)
            out.append(Series(dict(labels), ts[keep], values[keep]))
        return out


class _RecordingWriter(AnomalyWriter):
    """The anomaly writer, also keeping the last state of every anomaly it was given."""

    def __init__(self, store, source: str):
        super().__init__(store, source)
        self.latest: dict[str, tuple[str, str, str, str, AnomalyChange]] = {}

    def add(
        self, change: AnomalyChange, *, label: Label, entity_id: str, signal: str, family: str, seen: float
    ) -> None:
        """Queue the change for the graph and remember it."""
        super().add(change, label=label, entity_id=entity_id, signal=signal, family=family, seen=seen)
        self.latest[change.id] = (str(label), entity_id, signal, family, change)


def replay_metrics(store, incident: IncidentFile, alert_at: float, settings: MetricsSettings) -> MetricReplay:
    """Judge the incident's series with the metrics poll's detector and write its anomalies."""
    all_templates = templates_from(settings)
    by_name = {t.name: t for t in all_templates.signals}
    unknown = sorted({s.signal for s in incident.series} - set(by_name))
    if unknown:
        raise IncidentFileError(
            f"{incident.path}: metrics.series: unknown signal template(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(by_name))})"
        )
    used = tuple(t for t in all_templates.signals if t.name in {s.signal for s in incident.series})
    judge_from = alert_at + incident.judge_from
    # the first poll reads the gap and a whole baseline window before what it judges
    history_s = -incident.judge_from + settings.gap_s + settings.baseline_window_s + 2 * settings.step_s
    by_query: dict[str, list] = {}
    generated = metric_series(incident, alert_at, history_s, settings.step_s)
    for spec, ts, values in generated:
        by_query.setdefault(by_name[spec.signal].promql(settings.rate_window), []).append((spec.labels, ts, values))
    writer = _RecordingWriter(store, ANOMALY_SOURCE)
    poller = MetricsPoller(SeriesAnswers(by_query), dataclasses.replace(all_templates, signals=used), settings, writer)
    report = backfill(poller, judge_from, alert_at, settings.poll_interval_s, progress=False)
    if writer.pending:
        raise ReplayFailed(f"{writer.pending} anomalies were not written to the graph")
    injected = {}
    for spec, *_ in generated:
        key = poller.mapper.map(by_name[spec.signal].entity, spec.labels)
        if key is not None and spec.change_at is not None:
            injected[(str(key.label), key.id, spec.signal)] = alert_at + spec.change_at
    anomalies = [
        DetectedAnomaly(label, entity_id, signal, family, change, injected.get((label, entity_id, signal)))
        for label, entity_id, signal, family, change in writer.latest.values()
    ]
    anomalies.sort(key=lambda a: a.change.onset)
    return MetricReplay(
        len(generated),
        sum(len(ts) for _, ts, _ in generated),
        report.polls,
        settings.poll_interval_s,
        anomalies,
        report.bad.problems(),
    )
