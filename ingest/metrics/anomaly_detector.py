"""Robust per-series anomaly detection: a local robust trend as baseline, MAD as noise scale.

Method (see docs/metrics.md):
- Baseline: over the reference window that ends ``gap`` before the points under test, the
  level and slope of a robust line (medians of the two halves, Wald/Bartlett style). The local
  slope follows slow seasonality such as a daily cycle; the extrapolation is capped at
  ``trend_horizon_s`` so a long anomaly is not measured against a runaway line.
- Scale: 1.4826 x the median absolute deviation of the residuals around that line, floored by
  the template's ``min_scale`` and a fraction of the level, so flat series do not explode.
- Score: the signed robust z-score of each new point. A run of ``min_points`` points at or above
  ``threshold`` in an allowed direction (and at least ``min_delta`` away) opens an anomaly;
  ``end_points`` consecutive points below ``end_threshold`` close it (hysteresis).
- Onset: the change point that best explains the recent z-scores as either a step or a ramp
  (least squares over candidate change points), so ramps are dated to where they started,
  not to where they crossed the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds of the detector (settings-driven)."""

    threshold: float = 6.0
    end_threshold: float = 3.0
    min_points: int = 3
    end_points: int = 4
    min_baseline_points: int = 20
    relative_scale_floor: float = 0.01
    trend_horizon_s: float = 1800.0
    onset_lookback_points: int = 40


@dataclass(frozen=True)
class Baseline:
    """Expected value as a capped linear trend, and the noise scale around it."""

    t0: float
    level: float
    slope: float
    scale: float
    horizon_s: float

    def at(self, ts: np.ndarray) -> np.ndarray:
        """Expected values at the given times."""
        dt = np.clip(np.asarray(ts, dtype=float) - self.t0, -self.horizon_s, self.horizon_s)
        return self.level + self.slope * dt

    def expect(self, t: float) -> float:
        """Expected value at one time."""
        return self.level + self.slope * min(max(t - self.t0, -self.horizon_s), self.horizon_s)


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
    mad = _median(np.abs(detrended - level))  # the residuals' median is 0 by construction
    scale = max(MAD_TO_SIGMA * mad, min_scale, cfg.relative_scale_floor * abs(level), 1e-12)
    return Baseline(t0=t0, level=level, slope=slope, scale=scale, horizon_s=cfg.trend_horizon_s)


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
