"""Synthetic metric histories written as OpenMetrics text, for backfilling a real Prometheus.

Used by the integration tests and the benchmark: realistic noise on a daily cycle, with faults
(step, ramp, spike) injected at known times so detection can be scored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DAY_S = 86400.0


@dataclass(frozen=True)
class Fault:
    """A deviation added to one series: step, ramp or spike, from ``start`` for ``duration_s``."""

    shape: str  # step | ramp | spike
    start: float
    duration_s: float
    magnitude: float  # absolute amount added (ramps reach it at the end)

    def apply(self, ts: np.ndarray) -> np.ndarray:
        """The added amount at each time."""
        inside = (ts >= self.start) & (ts < self.start + self.duration_s)
        if self.shape == "ramp":
            return np.where(inside, self.magnitude * (ts - self.start) / self.duration_s, 0.0)
        return np.where(inside, self.magnitude, 0.0)


@dataclass
class SeriesSpec:
    """One series to write: metric name, labels and one value per timestamp (NaN = absent)."""

    name: str
    labels: dict[str, str]
    values: np.ndarray
    nan_is_value: bool = False  # write NaN samples as the value NaN instead of leaving them out


def daily_cycle(ts: np.ndarray, amplitude: float, phase_s: float = 0.0) -> np.ndarray:
    """A multiplicative 24 h cycle around 1."""
    return 1.0 + amplitude * np.sin(2 * np.pi * (ts + phase_s) / DAY_S)


def noisy_gauge(
    rng: np.random.Generator, ts: np.ndarray, level: float, noise: float, amplitude: float = 0.2
) -> np.ndarray:
    """A gauge around ``level`` following a daily cycle, with Gaussian noise of relative size ``noise``."""
    cycle = level * daily_cycle(ts, amplitude, phase_s=float(rng.uniform(0, DAY_S)))
    return cycle + rng.normal(0.0, noise * level, len(ts))


def counter_from_rate(rng: np.random.Generator, rate: np.ndarray, step_s: float) -> np.ndarray:
    """A cumulative counter whose per-step increments are Poisson around ``rate`` x step."""
    increments = rng.poisson(np.clip(rate, 0, None) * step_s)
    return np.cumsum(increments).astype(float)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.10g}"


def write_openmetrics(path: Path, ts: np.ndarray, series: Iterable[SeriesSpec]) -> int:
    """Write the series (grouped by metric name, each in time order) ending in '# EOF'; returns samples."""
    by_name: dict[str, list[SeriesSpec]] = {}
    for spec in series:
        by_name.setdefault(spec.name, []).append(spec)
    stamps = [f"{t:.3f}" for t in ts]
    written = 0
    with open(path, "w") as out:
        for name, specs in by_name.items():
            for spec in specs:
                labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(spec.labels.items()))
                head = f"{name}{{{labels}}} " if labels else f"{name} "
                keep = np.ones(len(spec.values), bool) if spec.nan_is_value else ~np.isnan(spec.values)
                lines = [f"{head}{_number(v)} {s}\n" for v, s, ok in zip(spec.values, stamps, keep) if ok]
                out.writelines(lines)
                written += len(lines)
        out.write("# EOF\n")
    return written
