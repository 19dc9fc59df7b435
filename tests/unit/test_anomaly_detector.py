"""The robust detector and the per-series tracker on synthetic series (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.metrics.anomaly_detector import DetectorConfig, estimate_onset, fit_baseline
from ingest.metrics.anomaly_tracker import SeriesTracker
from ingest.metrics.poll import counter_to_rate

STEP = 15.0
DAY = 86400.0


def _series(seed=0, hours=6.0, level=100.0, noise=2.0, cycle=30.0):
    rng = np.random.default_rng(seed)
    ts = np.arange(0, hours * 3600, STEP) + 3 * 3600  # start on the rising side of the daily cycle
    values = level + cycle * np.sin(2 * np.pi * ts / DAY) + rng.normal(0, noise, len(ts))
    return ts, values


def _replay(ts, values, *, direction="up", start=3600.0, poll=30.0, min_delta=0.0, **tracker_args):
    """Poll every ``poll`` seconds over overlapping windows, as the worker does; collect the final state per id."""
    tracker = SeriesTracker(
        ("Service", "svc", "latency_p99"),
        DetectorConfig(),
        direction,
        0.0,
        min_delta,
        tracker_args.get("max_open_s", 6 * 3600),
        300.0,
        3600.0,
    )
    tracker.start(ts[0] + start)
    found = {}
    for now in np.arange(ts[0] + start, ts[-1] + poll, poll):
        window = (ts <= now) & (ts > now - 300 - 3600 - 900)
        for change in tracker.update(ts[window], values[window]):
            found[change.id] = change
    return list(found.values())


def test_baseline_follows_a_local_trend_and_measures_noise():
    ts = np.arange(0, 3600, STEP)
    values = 10 + 0.001 * ts + np.random.default_rng(1).normal(0, 0.5, len(ts))
    baseline = fit_baseline(ts, values, 0.0, DetectorConfig())
    assert baseline.slope == pytest.approx(0.001, rel=0.25)
    assert baseline.expect(ts[-1]) == pytest.approx(10 + 0.001 * ts[-1], abs=0.5)
    assert baseline.scale == pytest.approx(0.5, rel=0.3)


def test_baseline_scale_has_floors_so_flat_series_do_not_explode():
    ts = np.arange(0, 3600, STEP)
    flat = np.full(len(ts), 0.0)
    assert fit_baseline(ts, flat, 0.002, DetectorConfig()).scale == 0.002
    assert fit_baseline(ts, flat + 50, 0.0, DetectorConfig()).scale == pytest.approx(0.5)  # 1% of the level
    assert fit_baseline(ts[:5], flat[:5], 0.0, DetectorConfig()) is None  # too little history


def test_a_mostly_constant_series_is_scaled_by_its_rare_moves():
    # errors that are 0 but for a few polls: the median absolute deviation is 0, the mean one is not
    ts = np.arange(0, 3600, STEP)
    errors = np.zeros(len(ts))
    errors[[20, 90, 170]] = 0.4
    baseline = fit_baseline(ts, errors, 0.0, DetectorConfig())
    assert baseline.scale == pytest.approx(1.2533 * 1.2 / len(ts), rel=0.01)
    assert (0.4 - baseline.expect(ts[-1] + STEP)) / baseline.scale < 500  # not 0.4 / 1e-12


def test_a_trend_fitted_over_a_recovery_never_predicts_beyond_what_the_window_held():
    # latency falling back from an earlier fault over the short reference window of a recorded case
    ts = np.arange(0, 400, 5.0)
    values = np.linspace(0.9, 0.1, len(ts)) + np.random.default_rng(2).normal(0, 0.005, len(ts))
    baseline = fit_baseline(ts, values, 0.0, DetectorConfig())
    assert baseline.slope < 0
    assert baseline.horizon_s == pytest.approx((ts[-1] - ts[0]) / 2)  # not the nominal 30 min
    later = np.array([ts[-1] + 60, ts[-1] + 600])
    assert baseline.at(later).min() >= values.min()  # a latency is never expected below the window's lowest
    assert baseline.expect(ts[-1] + 600) >= values.min()
    # a settled latency at the window's low is therefore not "up" against a line that ran on below zero
    assert (0.1 - baseline.expect(ts[-1] + 600)) / baseline.scale < 6


@pytest.mark.parametrize("shape", ["step", "ramp"])
def test_onset_is_the_change_point_for_steps_and_ramps(shape):
    rng = np.random.default_rng(3)
    ts = np.arange(0, 60 * STEP, STEP)
    z = rng.normal(0, 1, len(ts))
    change = 30
    added = 12.0 if shape == "step" else 0.6 * np.arange(len(ts) - change)
    z[change:] += added
    assert abs(estimate_onset(ts, z) - ts[change]) <= 2 * STEP


def test_no_anomaly_on_noise_over_a_daily_cycle():
    for seed in range(5):
        ts, values = _series(seed)
        assert _replay(ts, values, direction="both") == [], seed


def test_step_is_found_once_with_onset_direction_value_and_baseline():
    ts, values = _series(7)
    fault = ts[0] + 4 * 3600
    values = values + np.where(ts >= fault, 40.0, 0.0)
    found = _replay(ts, values)
    assert len(found) == 1
    anomaly = found[0]
    assert abs(anomaly.onset - fault) <= STEP
    assert anomaly.direction == "up" and anomaly.state == "open" and anomaly.end is None
    assert anomaly.value > anomaly.baseline + 25 and anomaly.score >= 6


def test_spike_opens_and_closes_and_is_not_raised_again_by_later_windows():
    ts, values = _series(11)
    spike = ts[0] + 4 * 3600
    values = values + np.where((ts >= spike) & (ts < spike + 120), 60.0, 0.0)
    found = _replay(ts, values)
    assert len(found) == 1 and found[0].state == "closed"
    assert abs(found[0].onset - spike) <= STEP and found[0].end == pytest.approx(spike + 120, abs=STEP)


def test_drop_counts_only_when_the_direction_allows_it():
    ts, values = _series(5)
    values = values - np.where(ts >= ts[0] + 4 * 3600, 40.0, 0.0)
    assert _replay(ts, values, direction="up") == []
    found = _replay(ts, values, direction="both")
    assert len(found) == 1 and found[0].direction == "down"


def test_small_deviation_below_min_delta_is_not_an_anomaly():
    ts, values = _series(9, level=10.0, noise=0.1, cycle=0.0)
    values = values + np.where(ts >= ts[0] + 4 * 3600, 3.0, 0.0)  # 30 sigma, but only 3 units
    assert _replay(ts, values, min_delta=5.0) == []
    assert len(_replay(ts, values, min_delta=1.0)) == 1


def test_a_level_held_past_max_open_becomes_the_baseline():
    ts, values = _series(13)
    values = values + np.where(ts >= ts[0] + 3 * 3600, 40.0, 0.0)
    found = _replay(ts, values, max_open_s=1200.0)
    assert [a.state for a in found] == ["closed"]
    assert found[0].end - found[0].onset == pytest.approx(1200.0, abs=2 * STEP)


def test_counter_to_rate_counts_resets_and_keeps_the_rate():
    ts = np.arange(0, 10 * STEP, STEP)
    counter = np.cumsum(np.full(len(ts), 30.0))
    counter[6:] -= counter[5]  # restart: back near zero
    _rate_ts, rate, resets = counter_to_rate(ts, counter)
    assert resets == 1 and len(rate) == len(ts) - 1
    assert np.allclose(rate, 2.0)


def test_a_strong_daily_cycle_with_little_noise_is_followed_not_flagged():
    # +-50 % over the day with 1 % noise: the slope matters, the curvature must stay below threshold
    for seed in range(3):
        ts, values = _series(seed, hours=12.0, noise=1.0, cycle=50.0)
        assert _replay(ts, values, direction="both") == [], seed
