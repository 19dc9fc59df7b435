"""Sub-threshold evidence: the tracker's deviations under the detector's threshold, as peaks per bucket (pure logic)."""

from __future__ import annotations

import numpy as np

from graph_schema.model import DEVIATION_BUCKET_S, DEVIATION_FLOOR
from ingest.metrics.anomaly_detector import DetectorConfig
from ingest.metrics.anomaly_tracker import SeriesTracker
from ingest.metrics.deviation import DeviationPeak, merge_peaks, peaks

STEP = 15.0


def _tracker(direction: str = "up") -> SeriesTracker:
    return SeriesTracker(
        ("Service", "svc", "latency_p99"), DetectorConfig(), direction, 0.0, 0.0, 6 * 3600, 300.0, 3600.0
    )


def _replay(values: np.ndarray, ts: np.ndarray, direction: str = "up"):
    """Poll every 30 s as the worker does; every anomaly change and every deviation point."""
    tracker = _tracker(direction)
    tracker.start(ts[0] + 3600)
    changes, points = [], []
    for now in np.arange(ts[0] + 3600, ts[-1] + 30, 30):
        window = (ts <= now) & (ts > now - 300 - 3600 - 900)
        changes += tracker.update(ts[window], values[window])
        points += tracker.deviations
    return changes, points


def test_a_shift_under_the_threshold_opens_no_anomaly_but_leaves_deviations():
    rng = np.random.default_rng(3)
    ts = np.arange(0, 3 * 3600, STEP)
    values = 100 + rng.normal(0, 2.0, len(ts))
    shift_at = ts[0] + 2 * 3600
    values = values + np.where(ts >= shift_at, 9.0, 0.0)  # ~4.5 sigma: under the threshold of 6
    changes, points = _replay(values, ts)
    assert changes == []
    # until the shifted level fills the baseline window, which takes a while, it stands out
    after = [score for t, score in points if shift_at <= t < shift_at + 600]
    before = [score for t, score in points if t < shift_at]
    assert len(after) > 30 and np.median(after) > 4.0
    assert len(before) < 0.02 * np.sum(ts < shift_at)  # noise rarely reaches the floor
    assert all(score >= DEVIATION_FLOOR for _, score in points)


def test_deviations_count_only_in_the_direction_of_the_signal():
    rng = np.random.default_rng(4)
    ts = np.arange(0, 3 * 3600, STEP)
    values = 100 + rng.normal(0, 2.0, len(ts)) - np.where(ts >= 2 * 3600, 9.0, 0.0)
    assert len([t for t, _ in _replay(values, ts, "up")[1] if 2 * 3600 <= t < 2 * 3600 + 600]) <= 1  # noise
    assert len([t for t, _ in _replay(values, ts, "both")[1] if 2 * 3600 <= t < 2 * 3600 + 600]) > 30


def test_peaks_keep_the_largest_score_per_bucket_and_family():
    found = peaks("Service", "svc", "latency", "latency_p99", [(60.0, 3.5), (75.0, 5.0), (130.0, 3.1)])
    assert [(p.at, p.peak) for p in found] == [(60.0, 5.0), (120.0, 3.1)]
    other = DeviationPeak("Service", "svc", "latency", 60.0, 7.25, "latency_p90")
    merged = merge_peaks([*found, other, DeviationPeak("Service", "svc", "errors", 60.0, 9.0, "error_ratio")])
    assert merged[("Service", "svc", "latency", 60.0)] == other
    assert len(merged) == 3 and all(p.at % DEVIATION_BUCKET_S == 0 for p in merged.values())
