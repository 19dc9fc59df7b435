"""One metrics poll: run every signal template, map series to entities, track anomalies, write."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from graph_schema.coverage import CoverageSpan
from graph_schema.model import Label
from ingest.jobs.bad_input import BadInput
from ingest.metrics.anomaly_detector import DetectorConfig, estimate_step
from ingest.metrics.anomaly_tracker import STEP_CHANGE, AnomalyChange, OpenAnomaly, SeriesTracker
from ingest.metrics.deviation import DeviationPeak, peaks
from ingest.metrics.mapping import EntityMapper
from ingest.metrics.promql_templates import SignalTemplate, TemplateSet
from ingest.metrics.reader import QueryRejected, Series
from settings.ingest import MetricsSettings

log = logging.getLogger(__name__)
SeriesKey = tuple[str, str, str]  # entity label, entity id, signal
CoverageKey = tuple[str, str, str]  # entity label, entity id, signal family
STEP_SAMPLES = 8  # samples a read must hold for its step to widen how far back the next read goes


class RangeQueries(Protocol):
    """What the poll reads series from: a PrometheusReader, or the demo's series held in memory."""

    def query_range(self, promql: str, start: float, end: float, step_s: float) -> list[Series]: ...


@dataclass
class PollReport:
    """What one poll did."""

    at: float
    templates: int = 0
    series: int = 0
    points: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0
    written: int = 0
    bad: BadInput = field(default_factory=BadInput)
    duration_s: float = 0.0
    changes: list[tuple[SeriesKey, AnomalyChange]] = field(default_factory=list)
    # Series that brought new points this poll but could not be judged (too little history for
    # their step): their entity is not observed for that family (not in `coverage`).
    unjudged: int = 0
    unjudged_series: list[str] = field(default_factory=list)  # `template{entity}: reason`, the first 50
    # What was judged: (entity label, entity id, family) -> (first, last) judged sample time and how
    # long silence after the last is expected (two steps or two polls, whichever is longer).
    coverage: dict[CoverageKey, tuple[float, float, float]] = field(default_factory=dict)
    # Judged points at the deviation floor or more, anomaly or not, as peaks per bucket (ingest.metrics.deviation)
    deviations: list[DeviationPeak] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """Anomalies opened, updated or closed."""
        return self.opened + self.updated + self.closed


def detector_config(settings: MetricsSettings) -> DetectorConfig:
    """The detector's thresholds and windows (in time) from the settings; point counts follow each series' step."""
    return DetectorConfig(
        threshold=settings.threshold,
        end_threshold=settings.end_threshold,
        min_points=settings.min_points,
        end_points=settings.end_points,
        min_baseline_points=settings.min_baseline_points,
        open_after_s=settings.open_after_s,
        close_after_s=settings.close_after_s,
        onset_lookback_s=settings.onset_lookback_s,
        baseline_window_s=settings.baseline_window_s,
        max_baseline_window_s=settings.max_baseline_window_s,
        trend_horizon_s=settings.baseline_window_s / 2,
    )


def counter_to_rate(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-second rate of a raw counter; a decrease is a reset (counted), its step uses the new value."""
    if len(ts) < 2:
        return ts[:0], values[:0], 0
    delta = np.diff(values)
    resets = delta < 0
    delta = np.where(resets, values[1:], delta)  # after a reset the counter restarted from zero
    return ts[1:], delta / np.diff(ts), int(resets.sum())


class MetricsPoller:
    """Keeps one tracker per (entity, signal) across polls and turns Prometheus series into anomalies."""

    def __init__(self, reader: RangeQueries, templates: TemplateSet, settings: MetricsSettings, writer=None):
        self.reader = reader
        self.templates = templates
        self.settings = settings
        self.writer = writer
        self.mapper = EntityMapper(templates, settings.entity_prefix)
        self.cfg = detector_config(settings)
        self.trackers: dict[SeriesKey, SeriesTracker] = {}
        self._restored: dict[SeriesKey, OpenAnomaly] = {}
        self._seen_last: dict[str, set[SeriesKey]] = {}
        # Recent samples per series, so a poll asks Prometheus only for what is new since the last one.
        self._history: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] = {}
        self._fetched_until: dict[str, float] = {}
        # Per template: the coarsest step its series showed (their baseline window, hence how far
        # back a poll reads, follows it) and the reach of the last read.
        self._steps: dict[str, float] = {}
        self._fetched_reach: dict[str, float] = {}
        self._unjudged_logged: set[SeriesKey] = set()  # told once per series, again after it recovered

    def restore_open(self) -> int:
        """Pick up the anomalies left open in the graph by an earlier run (continued, not duplicated)."""
        if self.writer is None:
            return 0
        self._restored = dict(self.writer.open_anomalies())
        return len(self._restored)

    def poll(self, now: float | None = None, *, fresh_from: float | None = None) -> PollReport:
        """Run all templates up to ``now``; new series are judged from ``fresh_from`` (default: a short lookback)."""
        started = time.monotonic()
        now = time.time() if now is None else now
        fresh_from = now - self.settings.first_poll_lookback_s if fresh_from is None else fresh_from
        report = PollReport(at=now)
        try:
            for template in self.templates.signals:
                report.templates += 1
                try:
                    self._run_template(template, now, fresh_from, report)
                except QueryRejected as exc:
                    report.bad.add("rejected_template", template.name, str(exc))
                    log.warning("template %s rejected by Prometheus: %s", template.name, exc)
        finally:
            # trackers have moved on: queue what they found even when a later template failed
            self._queue(report, now)
        if self.writer is not None:
            report.written = self.writer.flush()
        report.duration_s = time.monotonic() - started
        return report

    def _queue(self, report: PollReport, now: float) -> None:
        if self.writer is None:
            return
        for key, change in report.changes:
            template = self._template(key[2])
            self.writer.add(
                change, label=Label(key[0]), entity_id=key[1], signal=key[2], family=template.family, seen=now
            )
        self.writer.add_coverage(CoverageSpan(*key, *span) for key, span in report.coverage.items())
        self.writer.add_deviations(report.deviations)

    def _template(self, name: str) -> SignalTemplate:
        return next(t for t in self.templates.signals if t.name == name)

    def _reach(self, template: SignalTemplate) -> float:
        """How far before the oldest point to judge a read must go: the gap and the baseline window at the step."""
        step = self._steps.get(template.name, self.settings.step_s)
        return self.settings.gap_s + self.cfg.for_step(step).baseline_window_s + step

    def _query_start(self, template: SignalTemplate, now: float, fresh_from: float) -> float:
        judged_from = [t.state.evaluated_until for k, t in self.trackers.items() if k[2] == template.name]
        earliest = min(judged_from + [fresh_from, now - self.settings.step_s])
        reach = self._reach(template)
        # after a long outage do not read days of history: judge the recent past only
        return max(
            earliest - reach, now - reach - max(self.settings.backfill_step_s, self.settings.first_poll_lookback_s) * 4
        )

    def _read(self, template: SignalTemplate, now: float, fresh_from: float) -> tuple[list[Series], float]:
        """The template's series since the last read, or over its whole reach when that grew."""
        keep_from = self._query_start(template, now, fresh_from)
        reach = self._reach(template)
        start = keep_from
        fetched = self._fetched_until.get(template.name)
        if fetched is not None and keep_from < fetched <= now and reach <= self._fetched_reach.get(template.name, 0):
            # one step of overlap picks up a sample that was still being ingested last time
            start = fetched - self.settings.step_s
        # on a fixed grid (multiples of the step) successive polls see the same timestamps, whatever the jitter
        step = self.settings.step_s
        start = math.floor(start / step) * step
        end = max(math.floor(now / step) * step, start)
        series_list = self.reader.query_range(template.promql(self.settings.rate_window), start, end, step)
        self._fetched_until[template.name] = end
        self._fetched_reach[template.name] = reach
        for series in series_list:
            series.history_from, series.keep_from = start, keep_from
        return series_list, keep_from

    def _run_template(self, template: SignalTemplate, now: float, fresh_from: float, report: PollReport) -> None:
        series_list, keep_from = self._read(template, now, fresh_from)
        known = self._steps.get(template.name, self.settings.step_s)
        # a short incremental read says little about the step (one missed sample doubles it)
        read_steps = (estimate_step(x.ts) for x in series_list if len(x.ts) >= STEP_SAMPLES)
        coarsest = max((s for s in read_steps if s is not None), default=known)
        if coarsest > known * (1 + STEP_CHANGE):
            # coarser data than the read reached back for: read again, as far back as its baseline needs
            self._steps[template.name] = coarsest
            series_list, keep_from = self._read(template, now, fresh_from)
        if not series_list:
            report.bad.add("empty_template", template.name)
        seen: set[SeriesKey] = set()  # series with new points in this poll
        mapped: set[SeriesKey] = set()
        for series in series_list:
            key = self._key(template, series, report)
            if key is None:
                continue
            if key in mapped:
                report.bad.add("duplicate_series", f"{template.name}{{{key[1]}}}", str(series.labels))
                continue
            mapped.add(key)
            if self._judge(template, key, series, fresh_from, report):
                seen.add(key)
        # a series is missing when the last poll had new points from it and this one has none
        for key in self._seen_last.get(template.name, set()) - seen:
            report.bad.add("missing_series", f"{template.name}{{{key[1]}}}")
        self._seen_last[template.name] = seen
        judged_steps = [t.step_s for k, t in self.trackers.items() if k[2] == template.name and t.step_s is not None]
        if judged_steps:
            self._steps[template.name] = max(judged_steps)
        for key in [
            k for k, (ts, _) in self._history.items() if k[2] == template.name and (not len(ts) or ts[-1] < keep_from)
        ]:
            del self._history[key]  # gone for longer than any baseline reaches

    def _merge(self, key: SeriesKey, series: Series) -> tuple[np.ndarray, np.ndarray]:
        """The series' remembered samples before this fetch, then the fetched ones, as far back as needed."""
        old_ts, old_values = self._history.get(key, (series.ts[:0], series.values[:0]))
        before = old_ts < series.history_from
        ts = np.concatenate([old_ts[before], series.ts])
        values = np.concatenate([old_values[before], series.values])
        keep = ts >= series.keep_from
        ts, values = ts[keep], values[keep]
        self._history[key] = (ts, values)
        return ts, values

    def _key(self, template: SignalTemplate, series: Series, report: PollReport) -> SeriesKey | None:
        entity = self.mapper.map(template.entity, series.labels)
        if entity is None:
            report.bad.add("unmapped", template.name, f"labels {series.labels} under rule {template.entity}")
            return None
        unread = self.mapper.unread_kind_label(template.entity, series.labels)
        if unread is not None:
            # a kind read from the name where the rule expected the label: say so, or a query that sums the
            # label away would quietly make a datastore a Service
            detail = f"no known {unread!r} label in {series.labels}; {entity.id} read as {entity.label}"
            report.bad.add("unlabelled_kind", template.name, detail)
        return (str(entity.label), entity.id, template.name)

    def _judge(
        self, template: SignalTemplate, key: SeriesKey, series: Series, fresh_from: float, report: PollReport
    ) -> bool:
        """Feed the series to its tracker; True when it brought points newer than the last poll's."""
        name = f"{template.name}{{{key[1]}}}"
        if series.non_finite:
            report.bad.add("non_finite", name, n=series.non_finite)
        ts, values = self._merge(key, series)
        if template.kind == "counter":
            ts, values, resets = counter_to_rate(ts, values)
            if resets:
                report.bad.add("counter_reset", name, n=resets)
        tracker = self.trackers.get(key)
        if tracker is None:
            cfg = self.cfg
            if template.min_baseline_points is not None:
                cfg = replace(cfg, min_baseline_points=template.min_baseline_points)
            tracker = SeriesTracker(
                key,
                cfg,
                template.direction,
                template.min_scale,
                template.min_delta,
                self.settings.max_open_s,
                self.settings.gap_s,
                self.settings.baseline_window_s,
            )
            restored = self._restored.pop(key, None)
            tracker.start(restored.last_ts if restored else fresh_from, restored)
            self.trackers[key] = tracker
        report.series += 1
        report.points += len(ts)
        judged_until = tracker.state.evaluated_until
        fresh = bool(len(ts)) and ts[-1] > judged_until
        was_open = tracker.state.open.id if tracker.state.open else None
        changes = tracker.update(ts, values)
        if tracker.deviations:
            report.deviations += peaks(key[0], key[1], template.family, template.name, tracker.deviations)
        if fresh:
            self._account(template, key, name, tracker, (float(ts[ts > judged_until][0]), float(ts[-1])), report)
        for change in changes:
            report.changes.append((key, change))
            if change.state == "closed":
                report.closed += 1
            elif change.id == was_open:
                report.updated += 1
            else:
                report.opened += 1
        return fresh

    def _account(
        self,
        template: SignalTemplate,
        key: SeriesKey,
        name: str,
        tracker: SeriesTracker,
        judged: tuple[float, float],
        report: PollReport,
    ) -> None:
        """Record what the tracker's update judged (coverage) or could not judge (counted, told once)."""
        if tracker.unjudged is not None:
            report.unjudged += 1
            if len(report.unjudged_series) < 50:
                report.unjudged_series.append(f"{name}: {tracker.unjudged}")
            if key not in self._unjudged_logged:
                self._unjudged_logged.add(key)
                log.warning("series %s not judged (its entity counts as not observed): %s", name, tracker.unjudged)
            return
        if key in self._unjudged_logged:
            self._unjudged_logged.discard(key)
            log.info("series %s judged again", name)
        cover = (key[0], key[1], template.family)
        holds = 2 * max(tracker.step_s or self.settings.step_s, self.settings.poll_interval_s)
        first, last, held = report.coverage.get(cover, (*judged, holds))
        report.coverage[cover] = (min(first, judged[0]), max(last, judged[1]), max(held, holds))
