"""Feeding recorded telemetry through the real ingest code: what `rca demo` and `rca diagnose` share.

Logs: raw syslog lines go through the syslog pipeline the way `rca ingest syslog -` feeds it from
stdin (parse, Drain3 templates, signature classes, entity mapping, aggregation, graph writer). Its
state lives in a temporary directory so a replay leaves the worker's template state alone.

Metrics: recorded series answer the metrics poll's range queries in place of Prometheus, and the
poll runs as `rca ingest metrics --from/--to` runs it (successive polls over the judged span), so
every :Anomaly comes out of the detector, the tracker and the anomaly writer.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graph_schema.model import Label
from ingest.metrics.anomaly_tracker import AnomalyChange
from ingest.metrics.anomaly_writer import AnomalyWriter
from ingest.metrics.backfill import BackfillReport, backfill
from ingest.metrics.poll import MetricsPoller
from ingest.metrics.promql_templates import TemplateSet
from ingest.metrics.reader import Series
from ingest.syslog.classes import OTHER
from ingest.syslog.listeners import FILE_BATCH_LINES
from ingest.syslog.pipeline import SyslogPipeline
from ingest.syslog.worker_metrics import SyslogMetrics
from settings.ingest import MetricsSettings, SyslogSettings

RecordedSeries = tuple[dict[str, str], np.ndarray, np.ndarray]  # labels, timestamps, values


class ReplayFailed(RuntimeError):
    """The graph did not take what the replay produced."""


@dataclass
class LogReplay:
    """What the syslog stages did with the replayed lines."""

    lines: int
    parsed: dict[str, int]
    dead_lettered: int
    templates: list[tuple[str, str]]  # (signature class or class/change type, template text)
    events_written: int
    changes_written: int
    # entity id -> (step starts, median seconds of the hops into it) from lines carrying trace ids
    trace_hops: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)


def replay_syslog(store, lines: list[bytes], settings: SyslogSettings) -> LogReplay:
    """Send raw syslog lines through the syslog pipeline into the graph."""
    metrics = SyslogMetrics()
    with tempfile.TemporaryDirectory(prefix="rca-replay-syslog-") as state_dir:
        # no journal: the recorded lines stay on disk, a crashed replay is simply run again, and the
        # journal's fsyncs into a throwaway directory would only cost time
        replay_settings = settings.model_copy(update={"state_dir": Path(state_dir), "journal": False})
        pipeline = SyslogPipeline(replay_settings, store, metrics, keep_hop_series=True).start()
        for i in range(0, len(lines), FILE_BATCH_LINES):
            pipeline.submit("stdin", "replay", lines[i : i + FILE_BATCH_LINES])
        if not pipeline.stop():
            raise ReplayFailed("the graph did not take the replayed log events in time")
        templates = []
        for template_id in range(1, len(pipeline.templates) + 1):  # the miner numbers templates 1, 2, ...
            text = pipeline.templates.template(template_id)
            rule = pipeline.classifier.for_template(text)
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
        pipeline.trace_hops.series(),
    )


class SeriesAnswers:
    """Answers the poll's range queries from series held in memory, as Prometheus would from its TSDB."""

    def __init__(self, by_query: dict[str, list[RecordedSeries]]):
        self._by_query = by_query

    def query_range(self, promql: str, start: float, end: float, step_s: float) -> list[Series]:
        """The series of ``promql`` between start and end (they are already on the poll's step grid)."""
        out = []
        for labels, ts, values in self._by_query.get(promql, ()):
            keep = (ts >= start) & (ts <= end)
            out.append(Series(dict(labels), ts[keep], values[keep]))
        return out


class RecordingWriter(AnomalyWriter):
    """The anomaly writer, also keeping the last state of every anomaly it was given."""

    def __init__(self, store, source: str, *, hold: bool = False):
        super().__init__(store, source)
        self.latest: dict[str, tuple[str, str, str, str, AnomalyChange]] = {}
        self.hold = hold  # while set, flush() keeps the rows queued (latest state per anomaly wins)

    def flush(self) -> int:
        """Write what is queued, unless held."""
        return 0 if self.hold else super().flush()

    def add(
        self, change: AnomalyChange, *, label: Label, entity_id: str, signal: str, family: str, seen: float
    ) -> None:
        """Queue the change for the graph and remember it."""
        super().add(change, label=label, entity_id=entity_id, signal=signal, family=family, seen=seen)
        self.latest[change.id] = (str(label), entity_id, signal, family, change)


@dataclass
class JudgedSeries:
    """The poller that judged recorded series, the writer that took its anomalies, and the backfill's totals."""

    poller: MetricsPoller
    writer: RecordingWriter
    report: BackfillReport


def judge_series(
    store,
    by_query: dict[str, list[RecordedSeries]],
    templates: TemplateSet,
    settings: MetricsSettings,
    *,
    judge_from: float,
    until: float,
    poll_every_s: float,
    source: str,
    mapper=None,
    one_write: bool = False,
) -> JudgedSeries:
    """Judge recorded series with the metrics poll's detector over (judge_from, until] and write the anomalies.

    ``source`` is written on the anomalies; it must not be "metrics", so a live metrics worker does not
    resume a replay's open anomalies. ``mapper`` replaces the poll's label-to-entity mapping when the
    recorded series name their entities directly. With ``one_write`` the polls' rows are written once at
    the end (the writer keeps the latest state of each anomaly, so the graph ends the same) instead of
    one transaction per poll.
    """
    writer = RecordingWriter(store, source, hold=one_write)
    poller = MetricsPoller(SeriesAnswers(by_query), templates, settings, writer)
    if mapper is not None:
        poller.mapper = mapper
    report = backfill(poller, judge_from, until, poll_every_s, progress=False)
    writer.hold = False
    writer.flush()
    if writer.pending:
        raise ReplayFailed(f"{writer.pending} anomalies were not written to the graph")
    return JudgedSeries(poller, writer, report)
