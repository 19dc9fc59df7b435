"""Robust per-series anomaly detection: a local robust trend as baseline, MAD as noise scale.

Method (see docs/metrics.md):
- Baseline: over the reference window that ends ``gap`` before the points under test, the
  level and slope of a robust line (medians of the two halves, Wald/Bartlett style). The local
  slope follows slow seasonality such as a daily cycle; the extrapolation is capped at
  ``trend_horizon_s`` (and at half the span the reference points cover) and kept within the
  values the window held, so a long anomaly is not measured against a runaway line.
- Scale: 1.4826 x the median absolute deviation of the residuals around that line (the mean
  absolute deviation where the median one is 0), floored by the template's ``min_scale`` and a
  fraction of the level, so flat series do not explode.
- Score: the signed robust z-score of each new point. A run of ``min_points`` points at or above
  ``threshold`` in an allowed direction (and at least ``min_delta`` away) opens an anomaly;
  ``end_points`` consecutive points below ``end_threshold`` close it (hysteresis).
- Onset: the change point that best explains the recent z-scores as either a step or a ramp
  (least squares over candidate change points), so ramps are dated to where they started,
  not to where they crossed the threshold.
- Any sampling interval: the windows are set in time; ``DetectorConfig.for_step`` turns them
  into point counts for a series' step (estimated from its timestamps, ``estimate_step``), with
  floors, and widens the baseline window of coarse data (within ``max_baseline_window_s``) so it
  holds ``min_baseline_points``. The same defaults then hold at 15 s, 1 min and 5 min.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

MAD_TO_SIGMA = 1.4826
MEAN_AD_TO_SIGMA = 1.2533  # sqrt(pi/2): mean absolute deviation to sigma for normal noise


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds of the detector (settings-driven): windows in seconds, point counts as floors.

    ``for_step`` gives the config for one series' step: its point counts cover the windows
    (``open_after_s`` -> ``min_points``, ``close_after_s`` -> ``end_points``, ``onset_lookback_s``
    -> ``onset_lookback_points``) and never fall below the floors set here.
    """

    threshold: float = 6.0
    end_threshold: float = 3.0
    min_points: int = 2  # floor: consecutive anomalous points that open an anomaly
    end_points: int = 2  # floor: consecutive calm points that close one
    min_baseline_points: int = 20
    relative_scale_floor: float = 0.01
    trend_horizon_s: float = 1800.0
    onset_lookback_points: int = 8  # floor: judged points before a run the onset search looks at
    open_after_s: float = 45.0
    close_after_s: float = 60.0
    onset_lookback_s: float = 600.0
    baseline_window_s: float = 3600.0
    max_baseline_window_s: float = 6 * 3600.0
    step_s: float | None = None  # the step this config was derived for (None: not derived)

    def baseline_window_for(self, step_s: float) -> float:
        """The reference window at this step: the nominal one, widened to hold min_baseline_points."""
        return max(self.baseline_window_s, (self.min_baseline_points + 1) * step_s)

    def judgeable(self, step_s: float) -> bool:
        """False when even the widest allowed window cannot hold enough points at this step."""
        return self.baseline_window_for(step_s) <= self.max_baseline_window_s

    def for_step(self, step_s: float) -> DetectorConfig:
        """This config with point counts derived for a series sampled every ``step_s`` seconds."""
        window = min(self.baseline_window_for(step_s), self.max_baseline_window_s)
        return replace(
            self,
            min_points=max(self.min_points, _points(self.open_after_s, step_s)),
            end_points=max(self.end_points, _points(self.close_after_s, step_s)),
            onset_lookback_points=max(self.onset_lookback_points, _points(self.onset_lookback_s, step_s)),
            baseline_window_s=window,
            trend_horizon_s=window / 2,
            step_s=step_s,
        )


def _points(seconds: float, step_s: float) -> int:
    return math.ceil(seconds / step_s - 1e-9)


def estimate_step(ts: np.ndarray, last: int = 64) -> float | None:
    """A series' sampling step: the median spacing of its latest timestamps (None below two points).

    The median ignores the odd missed scrape or duplicate grid point; only the latest ``last``
    points are looked at, so a changed scrape interval is picked up within a few polls.
    """
    recent = np.asarray(ts[-last:], dtype=float)
    if len(recent) < 2:
        return None
    spacing = np.diff(recent)
    spacing = spacing[spacing > 0]
    return _median(spacing) if len(spacing) else None


@dataclass(frozen=True)
class Baseline:
    """Expected value as a capped linear trend, and the noise scale around it."""

    t0: float
    level: float
    slope: float
    scale: float
    horizon_s: float
    # the trend moves the expectation only within the values the reference window held: a slope
    # fitted over a recovery would otherwise predict negative latencies a few minutes later
    low: float = -math.inf
    high: float = math.inf

    def at(self, ts: np.ndarray) -> np.ndarray:
        """Expected values at the given times."""
        dt = np.clip(np.asarray(ts, dtype=float) - self.t0, -self.horizon_s, self.horizon_s)
        return np.clip(self.level + self.slope * dt, self.low, self.high)

    def expect(self, t: float) -> float:
        """Expected value at one time."""
        trended = self.level + self.slope * min(max(t - self.t0, -self.horizon_s), self.horizon_s)
        return min(max(trended, self.low), self.high)


def fit_baseline(ts: np.ndarray, values: np.ndarray, min_scale: float, cfg: DetectorConfig) -> Baseline | None:
    """Robust line and MAD scale over a reference window; None if too few points."""
    n = len(ts)
    if n < cfg.min_baseline_points:
        return None
    half = n // 2
    t1, t2 = _sorted_median(ts[:half]), _sorted_median(ts[n - half :])  # times are in order already
    m1, m2 = _median(values[:half]), _median(values[n - half :])
    slope = (m2 - m1) / (t2 - t1) if t2 > t1 else 0.0
    t0 = float(ts[-1])
    detrended = values - slope * (ts - t0)
    level = _median(detrended)
    residuals = np.abs(detrended - level)
    spread = MAD_TO_SIGMA * _median(residuals)  # the residuals' median is 0 by construction
    if spread == 0.0:
        # a series that is mostly one value (a gauge of counts, errors that are nearly always 0):
        # the mean absolute deviation still sees its rare moves (Iglewicz and Hoaglin's fallback)
        spread = MEAN_AD_TO_SIGMA * float(np.mean(residuals))
    scale = max(spread, min_scale, cfg.relative_scale_floor * abs(level), 1e-12)
    # the trend is extrapolated at most half the span the reference points cover
    horizon = min(cfg.trend_horizon_s, (float(ts[-1]) - float(ts[0])) / 2)
    return Baseline(
        t0=t0,
        level=level,
        slope=slope,
        scale=scale,
        horizon_s=horizon,
        low=float(np.min(values)),
        high=float(np.max(values)),
    )


def _sorted_median(a: np.ndarray) -> float:
    n = len(a)
    return float(a[(n - 1) // 2] + a[n // 2]) / 2


def _median(a: np.ndarray) -> float:
    # np.median's generality costs more than the work here; this is called thousands of times a poll
    n = len(a)
    k = n // 2
    if n % 2:
        return float(np.partition(a, k)[k])
    part = np.partition(a, (k - 1, k))
    return float(part[k - 1] + part[k]) / 2


def directional(z: np.ndarray, direction: str) -> np.ndarray:
    """Score in the allowed direction(s): positive means 'deviates the way that counts'."""
    if direction == "up":
        return z
    if direction == "down":
        return -z
    return np.abs(z)


def estimate_onset(ts: np.ndarray, z: np.ndarray) -> float:
    """Time of the change point that best fits z as flat-then-step or flat-then-ramp."""
    n = len(ts)
    if n < 3:
        return float(ts[0])
    z = np.asarray(z, dtype=float)
    best_sse, best_t = np.inf, float(ts[-1])
    for c in range(1, n):  # change at index c: points before it are noise around zero
        before_sq = float(np.sum(z[:c] ** 2))
        after = z[c:]
        # step: after = constant mean
        step_sse = before_sq + float(np.sum((after - after.mean()) ** 2))
        # ramp through zero at the point before the change: after = k * (t - t[c-1])
        x = ts[c:] - ts[c - 1]
        k = float(np.dot(x, after) / np.dot(x, x))
        ramp_sse = before_sq + float(np.sum((after - k * x) ** 2))
        sse = min(step_sse, ramp_sse)
        if sse < best_sse - 1e-9:
            best_sse = sse
            best_t = float(ts[c]) if step_sse <= ramp_sse else float(ts[c - 1])
    return best_t
