"""A bundled incident file: symptoms, a compact spec of raw syslog lines and of metric series.

Times in the file are seconds relative to the alert. Generation is deterministic given the
file's seed and the alert time: the same file replayed at the same moment gives the same lines
and samples, so a replay is reproducible and its tests can name what they expect.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import numpy as np
import yaml

SEVERITIES = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}
FACILITY_LOCAL0 = 16
FORMATS = ("rfc5424", "rfc3164")


class IncidentFileError(ValueError):
    """The incident file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class LogSpec:
    """Lines of one (host, app) with one message pattern, once (`at`) or `count` times over (from, to]."""

    host: str
    app: str
    message: str
    start: float
    end: float
    count: int
    format: str
    severity: int
    vary: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class SeriesSpec:
    """One metric series: the signal template, its labels, level, noise and an optional change."""

    signal: str
    labels: dict[str, str]
    baseline: float
    noise: float
    change_at: float | None = None
    change_to: float = 0.0
    change_over: float = 0.0
    change_for: float | None = None

    def values(self, rel_ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Samples at times relative to the alert: level, seeded Gaussian noise, and the change."""
        level = np.full(len(rel_ts), self.baseline, dtype=float)
        if self.change_at is not None:
            since = rel_ts - self.change_at
            reached = (
                np.clip(since / self.change_over, 0.0, 1.0) if self.change_over > 0 else (since >= 0).astype(float)
            )
            inside = (since >= 0) & (since < (self.change_for if self.change_for is not None else np.inf))
            level = np.where(inside, self.baseline + (self.change_to - self.baseline) * reached, level)
        return np.clip(level + rng.normal(0.0, self.noise, len(rel_ts)), 0.0, None)


@dataclass
class IncidentFile:
    """A parsed incident file."""

    path: Path
    name: str
    root_cause: str | None
    seed: int
    symptoms: list[dict]
    logs: list[LogSpec]
    series: list[SeriesSpec]
    judge_from: float


def load(path: Path) -> IncidentFile:
    """Read and check an incident file; errors name the file and the entry."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise IncidentFileError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or not data.get("symptoms"):
        raise IncidentFileError(f"{path}: expected a mapping with at least 'symptoms'")
    for i, symptom in enumerate(data["symptoms"]):
        if not isinstance(symptom, dict) or not symptom.get("entity") or not symptom.get("family"):
            raise IncidentFileError(f"{path}: symptoms[{i}]: needs 'entity' and 'family'")
    metrics = data.get("metrics") or {}
    logs = []
    for i, entry in enumerate(data.get("logs") or []):
        try:
            logs.append(_log_spec(entry))
        except (KeyError, TypeError, ValueError) as exc:
            raise IncidentFileError(f"{path}: logs[{i}]: {_why(exc)}") from None
    series = []
    for i, entry in enumerate(metrics.get("series") or []):
        try:
            series.append(_series_spec(entry))
        except (KeyError, TypeError, ValueError) as exc:
            raise IncidentFileError(f"{path}: metrics.series[{i}]: {_why(exc)}") from None
    return IncidentFile(
        Path(path),
        str(data.get("name", Path(path).stem)),
        data.get("root_cause"),
        int(data.get("seed", 0)),
        list(data["symptoms"]),
        logs,
        series,
        float(metrics.get("judge_from", -1800)),
    )


def _why(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc)


def _log_spec(entry: dict) -> LogSpec:
    if "at" in entry:
        start = end = float(entry["at"])
        count = 1
    elif all(key in entry for key in ("from", "to", "count")):
        start, end, count = float(entry["from"]), float(entry["to"]), int(entry["count"])
        if end <= start or count < 1:
            raise ValueError("needs from < to and count >= 1")
    else:
        raise ValueError("needs 'at' (one line) or 'from', 'to' and 'count'")
    fmt = entry.get("format", "rfc5424")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    severity = entry.get("severity", "info")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    vary = {name: (int(lo), int(hi)) for name, (lo, hi) in (entry.get("vary") or {}).items()}
    message = str(entry["message"])
    message.format(**dict.fromkeys(vary, 0))  # every placeholder needs a `vary` range
    return LogSpec(str(entry["host"]), str(entry["app"]), message, start, end, count, fmt, SEVERITIES[severity], vary)


def _series_spec(entry: dict) -> SeriesSpec:
    change = entry.get("change")
    noise = float(entry.get("noise", 0.0))
    if noise < 0:
        raise ValueError("noise must not be negative")
    labels = {str(k): str(v) for k, v in (entry.get("labels") or {}).items()}
    if not change:
        return SeriesSpec(str(entry["signal"]), labels, float(entry["baseline"]), noise)
    return SeriesSpec(
        str(entry["signal"]),
        labels,
        float(entry["baseline"]),
        noise,
        float(change["at"]),
        float(change["to"]),
        float(change.get("over", 0.0)),
        float(change["for"]) if change.get("for") is not None else None,
    )


def syslog_lines(incident: IncidentFile, alert_at: float, tz: tzinfo = UTC) -> list[bytes]:
    """The incident's raw syslog lines, timestamps anchored at ``alert_at``, in time order."""
    rng = np.random.default_rng(incident.seed)
    stamped: list[tuple[float, bytes]] = []
    for spec in incident.logs:
        times: list[float] | np.ndarray
        if spec.count == 1:
            times = [alert_at + spec.end]
        else:  # evenly over (from, to]: the last line lands on `to`
            times = alert_at + spec.start + (spec.end - spec.start) * np.arange(1, spec.count + 1) / spec.count
        pid = 1000 + zlib.crc32(f"{spec.host}/{spec.app}".encode()) % 30000
        for ts in times:
            values = {name: int(rng.integers(lo, hi + 1)) for name, (lo, hi) in spec.vary.items()}
            stamped.append((float(ts), _line(spec, float(ts), pid, spec.message.format(**values), tz)))
    stamped.sort(key=lambda pair: pair[0])
    return [line for _, line in stamped]


def _line(spec: LogSpec, ts: float, pid: int, message: str, tz: tzinfo) -> bytes:
    pri = FACILITY_LOCAL0 * 8 + spec.severity
    when = datetime.fromtimestamp(ts, tz=UTC)
    if spec.format == "rfc5424":
        stamp = when.isoformat(timespec="microseconds").replace("+00:00", "Z")
        return f"<{pri}>1 {stamp} {spec.host} {spec.app} {pid} - - {message}".encode()
    local = when.astimezone(tz)  # BSD timestamps carry no zone: written in the zone the parser assumes
    stamp = f"{local:%b} {local.day:2d} {local:%H:%M:%S}.{local.microsecond // 1000:03d}"
    return f"<{pri}>{stamp} {spec.host} {spec.app}[{pid}]: {message}".encode()


def metric_series(
    incident: IncidentFile, alert_at: float, history_s: float, step_s: float
) -> list[tuple[SeriesSpec, np.ndarray, np.ndarray]]:
    """(spec, timestamps, values) per series on the step grid, from ``history_s`` before the alert to it."""
    rng = np.random.default_rng(incident.seed)
    first = np.ceil((alert_at - history_s) / step_s) * step_s
    ts = np.arange(first, alert_at + 1e-9, step_s)
    return [(spec, ts, spec.values(ts - alert_at, rng)) for spec in incident.series]
