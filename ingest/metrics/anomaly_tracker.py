"""Per-series anomaly state across polls: opens, updates and closes anomalies, never twice.

Each point of a series is judged exactly once (``evaluated_until``), so overlapping query
windows of successive polls cannot raise the same anomaly again. While an anomaly is open its
baseline is frozen at the one fitted before the onset, so a long anomaly is not absorbed into
its own reference.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from graph_schema.model import DEVIATION_FLOOR
from ingest.metrics.anomaly_detector import Baseline, DetectorConfig, estimate_onset, estimate_step, fit_baseline


@dataclass
class OpenAnomaly:
    """An anomaly still in progress on one series."""

    id: str
    onset: float
    direction: str
    baseline: Baseline
    last_ts: float
    score: float
    value: float
    expected: float
    calm: int = 0
    calm_since: float | None = None


@dataclass
class AnomalyChange:
    """What a poll did to one anomaly: opened, updated or closed (rows for the graph)."""

    id: str
    state: str  # open or closed
    onset: float
    last_ts: float
    end: float | None
    direction: str
    score: float
    value: float
    baseline: float
    model: Baseline


@dataclass
class SeriesState:
    """What the tracker remembers about one series between polls."""

    evaluated_until: float
    open: OpenAnomaly | None = None
    pending: list[tuple[float, float, float, float]] = field(default_factory=list)  # ts, z, value, expected
    recent: deque = field(default_factory=lambda: deque(maxlen=64))  # (ts, z) of judged points
    level_since: float = float("-inf")  # after an accepted level shift, older points are not the baseline
    adapted: Baseline | None = None  # baseline of the accepted level, used until enough history follows it
    excluded: list[tuple[float, float]] = field(default_factory=list)  # closed anomalies: not reference data
    fallback: Baseline | None = None  # the last closed anomaly's baseline, while too little clean history exists
    fitted: tuple[float, Baseline | None] | None = None  # (reference window end, baseline) of the last fit


def anomaly_id(entity_label: str, entity_id: str, signal: str, onset: float) -> str:
    """Deterministic id: entity, signal and onset."""
    digest = hashlib.sha1(f"{entity_label}|{entity_id}|{signal}|{onset:.0f}".encode()).hexdigest()[:20]
    return f"anomaly-{digest}"


REFIT_EVERY_S = 60.0
STEP_CHANGE = 0.1  # a step estimate that moved by more than this share derives the config again


class SeriesTracker:
    """Runs the detector over the new points of one series and keeps its state."""

    def __init__(
        self,
        key: tuple[str, str, str],
        cfg: DetectorConfig,
        direction: str,
        min_scale: float,
        min_delta: float,
        max_open_s: float,
        gap_s: float,
        baseline_window_s: float,
    ):
        self.key = key  # (entity_label, entity_id, signal)
        self.base_cfg = replace(cfg, baseline_window_s=baseline_window_s)
        self.cfg = self.base_cfg  # derived for the series' step once it is known (_follow_step)
        self.step_s: float | None = None
        # Why the latest update that brought new points judged none of them; None when it judged them.
        self.unjudged: str | None = None
        self.direction = direction
        self.min_scale = min_scale
        self.min_delta = min_delta
        self.max_open_s = max_open_s
        self.gap_s = gap_s
        self._window_points = 0
        self._state: SeriesState | None = None
        # (time, score) of the points the latest update judged at DEVIATION_FLOOR or more in the
        # direction that counts, anomaly or not: sub-threshold evidence (ingest.metrics.deviation)
        self.deviations: list[tuple[float, float]] = []

    @property
    def state(self) -> SeriesState:
        """What the tracker remembers about its series; there is none before start()."""
        assert self._state is not None, "start() first"
        return self._state

    def start(self, evaluated_until: float, open_anomaly: OpenAnomaly | None = None) -> None:
        """Begin tracking: points up to ``evaluated_until`` count as judged."""
        self._state = SeriesState(evaluated_until=evaluated_until, open=open_anomaly)

    def update(self, ts: np.ndarray, values: np.ndarray) -> list[AnomalyChange]:
        """Judge the points newer than the last poll; return the anomalies opened/updated/closed."""
        state = self.state
        new = ts > state.evaluated_until
        self.deviations = []
        if not new.any():
            return []
        first_new = float(ts[new][0])
        changes: dict[str, AnomalyChange] = {}
        self.unjudged = self._follow_step(ts)
        baseline = None
        if state.open:
            baseline = state.open.baseline
        elif self.unjudged is None:
            baseline = self._fit(ts, values, first_new)
            if baseline is None:
                self.unjudged = (
                    f"too little history: {self._window_points} points in the {self.cfg.baseline_window_s:g} s "
                    f"baseline window at a {self.step_s:g} s step, needs {self.cfg.min_baseline_points}"
                )
        if baseline is None:
            state.evaluated_until = float(ts[-1])  # not enough history yet: judge nothing, learn
            return []
        self.unjudged = None
        self._current_baseline = baseline
        self._adapted = False
        for t, v in zip(ts[new], values[new]):
            t, v = float(t), float(v)
            e = baseline.expect(t)
            z = (v - e) / baseline.scale
            if self._is_anomalous(z, v, e, DEVIATION_FLOOR):
                self.deviations.append((t, abs(z)))
            change = self._judge(t, v, e, z)
            if change is not None:
                changes[change.id] = change
                if change.state == "closed" and self._adapted:
                    # closed because it lasted too long: its level (since onset) is the new normal
                    state.level_since = change.onset
                    refit = fit_baseline(*_window(ts, values, t, t - change.onset), self.min_scale, self.cfg)
                    state.adapted = refit or baseline
                    baseline = state.adapted
                    self._current_baseline = baseline
                    self._adapted = False
            state.recent.append((t, z))
            state.evaluated_until = t
        return list(changes.values())

    def _follow_step(self, ts: np.ndarray) -> str | None:
        """Derive the config for the series' current step; the reason it cannot be judged, else None."""
        step = estimate_step(ts)
        if step is None:
            return "too little history: fewer than two samples"
        if self.step_s is None or abs(step - self.step_s) > STEP_CHANGE * self.step_s:
            self.step_s = step
            self.cfg = self.base_cfg.for_step(step)
            self.state.fitted = None
        if not self.base_cfg.judgeable(self.step_s):
            return (
                f"step {self.step_s:g} s too coarse: {self.cfg.min_baseline_points} baseline points need more than "
                f"max_baseline_window_s ({self.base_cfg.max_baseline_window_s:g} s)"
            )
        return None

    def _fit(self, ts: np.ndarray, values: np.ndarray, first_new: float) -> Baseline | None:
        state = self.state
        end = first_new - self.gap_s
        if state.pending:
            end = min(end, state.pending[0][0] - 1e-6)
        if state.fitted is not None and 0 <= end - state.fitted[0] < REFIT_EVERY_S and state.fitted[1] is not None:
            return state.fitted[1]  # the reference window moved less than a minute: same baseline
        state.fitted = (end, self._fit_window(ts, values, end))
        return state.fitted[1]

    def _fit_window(self, ts: np.ndarray, values: np.ndarray, end: float) -> Baseline | None:
        state = self.state
        width = min(self.cfg.baseline_window_s, end - state.level_since)
        state.excluded = [(a, b) for a, b in state.excluded if b > end - width]
        w_ts, w_values = _window(ts, values, end, width)
        for a, b in state.excluded:
            keep = (w_ts < a) | (w_ts > b)
            w_ts, w_values = w_ts[keep], w_values[keep]
        self._window_points = len(w_ts)
        return fit_baseline(w_ts, w_values, self.min_scale, self.cfg) or state.adapted or state.fallback

    def _is_anomalous(self, z: float, v: float, e: float, threshold: float) -> bool:
        score = z if self.direction == "up" else -z if self.direction == "down" else abs(z)
        return score >= threshold and abs(v - e) >= self.min_delta

    def _judge(self, t: float, v: float, e: float, z: float) -> AnomalyChange | None:
        state = self.state
        cfg = self.cfg
        open_ = state.open
        if open_ is not None:
            same_way = (z > 0) == (open_.direction == "up")
            if same_way and self._is_anomalous(z, v, e, cfg.end_threshold):
                open_.calm, open_.calm_since = 0, None
                open_.last_ts, open_.value, open_.expected = t, v, e
                open_.score = max(open_.score, abs(z))
            else:
                open_.calm += 1
                open_.calm_since = open_.calm_since or t
            if open_.calm >= cfg.end_points:
                assert open_.calm_since is not None  # set by the first calm point, and end_points >= 1
                return self._close(open_, open_.calm_since)
            if t - open_.onset > self.max_open_s:
                self._adapted = True
                return self._close(open_, t)  # a level that lasts this long is the new normal
            return self._as_change(open_, "open", None)
        # no open anomaly: grow or reset the pending run
        sign = 1 if z > 0 else -1
        if self._is_anomalous(z, v, e, cfg.threshold) and (not state.pending or np.sign(state.pending[0][1]) == sign):
            state.pending.append((t, z, v, e))
        else:
            state.pending = [(t, z, v, e)] if self._is_anomalous(z, v, e, cfg.threshold) else []
        if len(state.pending) < cfg.min_points:
            return None
        return self._open(self._current_baseline)

    def _open(self, baseline: Baseline) -> AnomalyChange:
        state = self.state
        run = state.pending
        history = [p for p in state.recent if p[0] < run[0][0]][-self.cfg.onset_lookback_points :]
        ts = np.array([p[0] for p in history] + [p[0] for p in run])
        zs = np.array([p[1] for p in history] + [p[1] for p in run])
        sign = 1.0 if run[0][1] > 0 else -1.0
        onset = estimate_onset(ts, zs * sign) if len(history) >= 2 else run[0][0]
        onset = min(onset, run[0][0])
        last = run[-1]
        state.open = OpenAnomaly(
            id=anomaly_id(*self.key, onset),
            onset=onset,
            direction="up" if sign > 0 else "down",
            baseline=baseline,
            last_ts=last[0],
            score=max(abs(p[1]) for p in run),
            value=last[2],
            expected=last[3],
        )
        state.pending = []
        return self._as_change(state.open, "open", None)

    def _close(self, open_: OpenAnomaly, end: float) -> AnomalyChange:
        """Close ``open_``, the series' open anomaly."""
        self.state.open = None
        self.state.fitted = None
        if not self._adapted:
            self.state.excluded.append((open_.onset, end))
            self.state.fallback = open_.baseline
        self.state.recent.clear()
        return self._as_change(open_, "closed", end)

    @staticmethod
    def _as_change(a: OpenAnomaly, status: str, end: float | None) -> AnomalyChange:
        return AnomalyChange(
            a.id, status, a.onset, a.last_ts, end, a.direction, a.score, a.value, a.expected, a.baseline
        )


def _window(ts: np.ndarray, values: np.ndarray, end: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    mask = (ts <= end) & (ts > end - width)
    return ts[mask], values[mask]
