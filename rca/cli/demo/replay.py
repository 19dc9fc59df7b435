"""Replay of a bundled incident through the real ingest code, anchored at the alert time.

The incident file's raw syslog lines and metric series are generated here (rca/cli/demo/incident.py)
and sent through the real syslog pipeline and metrics poll by rca/cli/replay.py, the machinery
`rca diagnose` uses as well.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ingest.metrics.anomaly_tracker import AnomalyChange
from ingest.metrics.worker import templates_from
from rca.cli.demo.incident import (
    IncidentFile,
    IncidentFileError,
    metric_series,
    syslog_lines,
)
from rca.cli.replay import LogReplay, ReplayFailed, judge_series, replay_syslog
from settings.ingest import MetricsSettings, SyslogSettings

__all__ = ["DetectedAnomaly", "LogReplay", "MetricReplay", "ReplayFailed", "replay_logs", "replay_metrics"]

ANOMALY_SOURCE = "demo"  # not "metrics": a live metrics worker must not resume the demo's open anomalies


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
    return replay_syslog(store, syslog_lines(incident, alert_at, ZoneInfo(settings.default_timezone)), settings)


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
    judged = judge_series(
        store,
        by_query,
        dataclasses.replace(all_templates, signals=used),
        settings,
        judge_from=judge_from,
        until=alert_at,
        poll_every_s=settings.poll_interval_s,
        source=ANOMALY_SOURCE,
    )
    poller, writer, report = judged.poller, judged.writer, judged.report
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
