"""The metrics poll at any sampling interval: 15 s, 1 min and 5 min data with the default settings.

Series are held in memory and answered raw whatever step the poll asks for, as a Prometheus
scraped at that interval (or a case file) gives them; the poll and its trackers are the real ones.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from ingest.metrics.anomaly_detector import DetectorConfig, estimate_step
from ingest.metrics.poll import MetricsPoller
from ingest.metrics.promql_templates import load_templates
from ingest.metrics.reader import Series
from settings.ingest import MetricsSettings

T0 = 1_760_000_100.0  # on the 5-minute grid, as a scrape would be
HOUR = 3600.0


class RawSamples:
    """Range queries answered with every stored sample in [start, end], at the series' own step."""

    def __init__(self, series: dict[str, tuple[np.ndarray, np.ndarray]]):
        self.series = series

    def query_range(self, promql: str, start: float, end: float, step_s: float) -> list[Series]:
        """The stored series cut to the range (the query step is ignored: the data has its own)."""
        out = []
        for server, (ts, values) in self.series.items():
            keep = (ts >= start) & (ts <= end)
            out.append(Series({"server": server}, ts[keep], values[keep]))
        return out


def _poller(series: dict[str, tuple[np.ndarray, np.ndarray]]) -> MetricsPoller:
    templates = load_templates()
    latency = tuple(t for t in templates.signals if t.name == "latency_p99")
    return MetricsPoller(RawSamples(series), dataclasses.replace(templates, signals=latency), MetricsSettings())


def _series(step: float, seed: int, *, hours: float = 8.0, shift_at: float | None = None, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(0, hours * HOUR, step)
    values = 0.25 + rng.normal(0, 0.01, len(ts))  # a p99 latency of 250 ms, 10 ms noise
    if shift_at is not None:
        values = values + np.where(ts >= shift_at, shift, 0.0)
    return ts, values


def _run(poller: MetricsPoller, start: float, end: float, every: float):
    reports = []
    for now in np.arange(start + every, end + every / 2, every):
        reports.append(poller.poll(float(now), fresh_from=start))
    return reports


def test_point_counts_follow_the_step_and_the_window_widens_for_coarse_data():
    cfg = DetectorConfig()
    fine, minute, coarse = cfg.for_step(15.0), cfg.for_step(60.0), cfg.for_step(300.0)
    # at 15 s the time windows give what the fixed counts gave before
    assert (fine.min_points, fine.end_points, fine.onset_lookback_points, fine.baseline_window_s) == (3, 4, 40, 3600)
    assert (minute.min_points, minute.end_points, minute.baseline_window_s) == (2, 2, 3600)
    assert (coarse.min_points, coarse.end_points, coarse.onset_lookback_points) == (2, 2, 8)
    assert coarse.baseline_window_s == 21 * 300 and coarse.trend_horizon_s == 21 * 300 / 2
    assert cfg.judgeable(300.0) and not cfg.judgeable(1800.0)  # 21 points of 30 min exceed the 6 h limit


def test_step_is_the_median_spacing_despite_a_missed_sample():
    ts = np.delete(T0 + np.arange(0, 40 * 60.0, 60.0), 7)
    assert estimate_step(ts) == 60.0
    assert estimate_step(ts[:1]) is None


@pytest.mark.parametrize("step", [15.0, 60.0, 300.0])
def test_a_level_shift_is_found_at_every_step_with_default_settings(step):
    fault = T0 + 6 * HOUR
    poller = _poller(
        {
            "checkout": _series(step, 1, shift_at=fault, shift=0.2),
            "quiet": _series(step, 2),
        }
    )
    reports = _run(poller, fault - HOUR, fault + 30 * 60, max(60.0, step))
    opened = [(key, change) for r in reports for key, change in r.changes]
    entities = {key[1] for key, _ in opened}
    assert entities == {"checkout"}, (step, entities)
    onset = min(change.onset for _, change in opened)
    assert abs(onset - fault) <= step
    assert sum(r.unjudged for r in reports) == 0
    # both series were judged: their entities are observed for latency over the judged time
    covered = reports[-1].coverage
    assert set(covered) == {("Service", "checkout", "latency"), ("Service", "quiet", "latency")}
    assert covered[("Service", "quiet", "latency")][1] == pytest.approx(fault + 30 * 60, abs=step)


def test_a_series_too_short_to_judge_is_counted_every_poll_and_logged_once(caplog):
    start = T0 + 6 * HOUR
    # five-minute data: one series with 8 h of history, one that began 40 minutes ago
    short_ts, short_values = _series(300.0, 3, hours=2.0)
    poller = _poller(
        {
            "checkout": _series(300.0, 1),
            "newcomer": (short_ts - T0 + start - 40 * 60, short_values),
        }
    )
    with caplog.at_level(logging.WARNING, logger="ingest.metrics.poll"):
        reports = _run(poller, start, start + 3 * 300, 300.0)
    assert [r.unjudged for r in reports] == [1, 1, 1]
    assert all("latency_p99{newcomer}" in r.unjudged_series[0] for r in reports)
    assert "too little history" in reports[0].unjudged_series[0]
    told = [r for r in caplog.records if "newcomer" in r.getMessage()]
    assert len(told) == 1 and "not observed" in told[0].getMessage()
    # the unjudged entity is not observed; the judged one is
    assert set(reports[-1].coverage) == {("Service", "checkout", "latency")}


def test_a_template_that_needs_fewer_baseline_points_judges_a_series_the_settings_would_not():
    """A series only as dense as the minutes its logs were heard in (log_trace_hop_latency): six
    minutes of history, then a slow minute. The settings' 20 baseline points leave it unjudged; the
    template's own minimum of 5 judges it, and finds the jump."""
    start = T0 + 6 * HOUR
    ts = np.array([start - 40 * 60 + 60 * k for k in range(6)] + [start + 60.0, start + 120.0])
    values = np.array([0.006, 0.007, 0.006, 0.008, 0.006, 0.007, 0.9, 0.95])
    latency = next(t for t in load_templates().signals if t.name == "latency_p99")
    for points, judged in ((None, False), (5, True)):
        template = dataclasses.replace(latency, min_baseline_points=points)
        poller = MetricsPoller(
            RawSamples({"payment": (ts, values)}),
            dataclasses.replace(load_templates(), signals=(template,)),
            MetricsSettings(),
        )
        reports = _run(poller, start, start + 180, 60.0)
        assert (sum(r.unjudged for r in reports) == 0) is judged
        assert (sum(r.opened for r in reports) == 1) is judged
