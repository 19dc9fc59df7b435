"""RCAEval's logs and traces (RE2, RE3: `logs.csv`, `traces.csv` beside the metrics), read for a case folder.

    logs.csv    one row per line: `timestamp` (unix s, ms, us or ns; or `time`), `container_name`
                (or service, serviceName, pod, container), `message` (or log, msg)
    traces.csv  one row per span, Jaeger's columns: `serviceName`, `spanID`, `parentSpanID`,
                `startTimeMillis` (or startTime, or time), `duration` (microseconds), `statusCode`

Logs become the case's `logs/` lines as they are. Traces give two things metrics cannot:

- the call graph: a span whose parent span belongs to another service is a call from that service to
  this one, which is the topology a ranker walks (RCAEval ships none);
- each service's own requests: its *entry spans* (those whose parent is in another service, or that
  have none) are what a call to it took and whether it failed, per step of the metrics, as the series
  `trace_latency_p90_s` (latency) and `trace_error_ratio` (errors). A span's status is an error when
  its code is an HTTP 5xx, a gRPC status other than OK (1-16), or a text status saying error.

A container or pod is the service whose name it is, or starts with followed by `-` (`cartservice-5d8f...`);
rows naming no known service are left out and counted, as are rows too short to read or with an
empty time, service or duration. A span's parent is looked up within its trace (`traceID`) when the
file names traces.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rca.cli.diagnose.errors import CaseError, finite_number, parse_time
from rca.cli.errors import UserError

TIME_COLUMNS = ("timestamp", "time", "ts")
ENTITY_COLUMNS = ("container_name", "service", "servicename", "service_name", "pod", "pod_name", "container")
MESSAGE_COLUMNS = ("message", "log", "msg", "content")
SPAN_START_COLUMNS = ("starttimemillis", "starttime", "time", "timestamp")
LATENCY_SIGNAL = "trace_latency_p90_s"
ERROR_SIGNAL = "trace_error_ratio"
TRACE_SIGNALS = {LATENCY_SIGNAL: "latency", ERROR_SIGNAL: "errors"}
GRPC_ERROR_CODES = range(1, 17)  # gRPC statuses other than OK (0)


@dataclass(frozen=True, slots=True)  # RE2's larger cases hold spans by the million
class Span:
    service: str
    trace_id: str  # "" when the file names no trace: span ids are then taken as unique across traces
    span_id: str
    parent_id: str
    start_s: float
    duration_s: float
    failed: bool


@dataclass
class Traces:
    """What a case's spans say: who calls whom, where requests enter, each service's entry spans."""

    calls: set[tuple[str, str]] = field(default_factory=set)
    roots: Counter[str] = field(default_factory=Counter)  # service -> root spans (requests entering there)
    entry_spans: dict[str, list[Span]] = field(default_factory=dict)  # service -> its entry spans, by start
    spans: int = 0
    torn: int = 0  # rows too short to hold a span's cells, or with an empty one, left out


def service_of(name: str, services: list[str]) -> str | None:
    """The service a container or pod name stands for: the same name, or the longest one it starts with
    followed by '-'; None when it names none."""
    if name in services:
        return name
    matches = [s for s in services if name.startswith(s + "-")]
    return max(matches, key=len) if matches else None


def read_log_rows(file: Path, torn: list[int]) -> Iterator[tuple[float, str, str]]:
    """(seconds, container, message) per row of an RCAEval logs.csv; the line numbers of rows too short
    to hold those cells, or whose time or container is empty, are added to ``torn``."""
    with _open(file) as rows:
        header = next(rows, None)
        if not header:
            raise UserError(f"{file}:1: empty file (expected a header naming time, container and message)")
        when = _column(file, header, TIME_COLUMNS, "the time")
        entity = _column(file, header, ENTITY_COLUMNS, "the container or service")
        message = _column(file, header, MESSAGE_COLUMNS, "the message")
        for number, row in enumerate(rows, start=2):
            if len(row) <= max(when, entity, message) or _empty(row[when]) or not row[entity].strip():
                torn.append(number)
                continue
            yield _time(file, number, when, row[when]), row[entity].strip(), row[message]


def read_traces(file: Path) -> Traces:
    """The calls, root spans per service and per-service entry spans of an RCAEval traces.csv."""
    torn: list[int] = []
    spans = list(_spans(file, torn))
    # span ids need only be unique within their trace
    service_of_span = {(s.trace_id, s.span_id): s.service for s in spans if s.span_id}
    out = Traces(spans=len(spans), torn=len(torn))
    for span in spans:
        parent = service_of_span.get((span.trace_id, span.parent_id)) if span.parent_id else None
        if parent == span.service:
            continue  # work inside one service
        if parent is None:
            out.roots[span.service] += 1
        else:
            out.calls.add((parent, span.service))
        out.entry_spans.setdefault(span.service, []).append(span)
    for entry in out.entry_spans.values():
        entry.sort(key=lambda s: s.start_s)
    return out


def trace_series(traces: Traces, times: list[float]) -> dict[tuple[str, str], list[str]]:
    """(service, signal) -> one cell per metrics row: the p90 of the entry spans' durations and the
    share of them that failed, over the spans starting from that row's time to the next row's (the
    last row's interval as long as the one before it); empty where no span started."""
    if len(times) < 2:
        return {}
    edges = np.array([*times, times[-1] + (times[-1] - times[-2])])
    out: dict[tuple[str, str], list[str]] = {}
    for service, spans in sorted(traces.entry_spans.items()):
        starts = np.array([s.start_s for s in spans])
        durations = np.array([s.duration_s for s in spans])
        failed = np.array([s.failed for s in spans], dtype=float)
        bounds = np.searchsorted(starts, edges)  # spans [bounds[i], bounds[i + 1]) start in row i
        latency, errors = [""] * len(times), [""] * len(times)
        for row in np.flatnonzero(np.diff(bounds)):
            lo, hi = bounds[row], bounds[row + 1]
            latency[row] = f"{float(np.percentile(durations[lo:hi], 90)):.6g}"
            errors[row] = f"{float(failed[lo:hi].mean()):.6g}"
        out[(service, LATENCY_SIGNAL)] = latency
        out[(service, ERROR_SIGNAL)] = errors
    return out


def _spans(file: Path, torn: list[int]) -> Iterator[Span]:
    with _open(file) as rows:
        header = next(rows, None)
        if not header:
            raise UserError(f"{file}:1: empty file (expected Jaeger's span columns)")
        service = _column(file, header, ("servicename", "service"), "the service")
        span_id = _column(file, header, ("spanid",), "the span id")
        parent = _column(file, header, ("parentspanid", "parentid"), "the parent span id")
        start = _column(file, header, SPAN_START_COLUMNS, "the span's start")
        duration = _column(file, header, ("duration",), "the duration")
        status = _optional_column(header, ("statuscode", "status_code", "status"))
        trace = _optional_column(header, ("traceid", "trace_id"))
        needed = (service, span_id, start, duration)
        for number, row in enumerate(rows, start=2):
            if len(row) <= max(*needed, parent) or any(_empty(row[c]) for c in needed):
                torn.append(number)
                continue
            micros = _number(file, number, duration, row[duration])
            code = row[status].strip() if status is not None and status < len(row) else ""
            yield Span(
                row[service].strip(),
                row[trace].strip() if trace is not None and trace < len(row) else "",
                row[span_id].strip(),
                row[parent].strip(),
                _time(file, number, start, row[start]),
                micros / 1e6,  # Jaeger's durations are microseconds
                _failed(code),
            )


def _failed(code: str) -> bool:
    """HTTP 5xx; under 100, a gRPC status other than OK; as text, one that says error
    (OpenTelemetry's STATUS_CODE_ERROR)."""
    try:
        value = int(float(code))
    except ValueError:
        return "ERROR" in code.upper()
    except OverflowError:  # inf, 1e400: no status
        return False
    return value >= 500 or value in GRPC_ERROR_CODES


def _empty(cell: str) -> bool:
    return cell.strip().lower() in ("", "nan", "null", "none")


class _open:
    """A CSV file's rows, errors naming the file (a context manager over csv.reader)."""

    def __init__(self, file: Path):
        self.file = file

    def __enter__(self) -> Iterator[list[str]]:
        try:
            # utf-8-sig: a byte-order mark would otherwise be part of the first column's name
            self.handle = self.file.open(newline="", encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise UserError(f"{self.file}: cannot read: {exc}") from None
        csv.field_size_limit(1 << 24)  # a logged stack trace can outgrow csv's 128 KiB default
        return csv.reader(self.handle)

    def __exit__(self, *exc) -> None:
        self.handle.close()


def _column(file: Path, header: list[str], names: tuple[str, ...], what: str) -> int:
    found = _optional_column(header, names)
    if found is None:
        raise UserError(f"{file}:1: no column for {what} (expected one of: {', '.join(names)})")
    return found


def _optional_column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    return next((lowered.index(n) for n in names if n in lowered), None)


def _number(file: Path, number: int, column: int, text: str) -> float:
    try:
        return finite_number(text, f"{file}:{number}:{column + 1}")
    except CaseError as exc:  # a dataset's file, not a case folder's: the importer's error
        raise UserError(str(exc)) from None


def _time(file: Path, number: int, column: int, text: str) -> float:
    """A numeric unix time in any unit, or an ISO 8601 time (a naive one is UTC)."""
    try:
        return parse_time(text, f"{file}:{number}:{column + 1}")  # s, ms, us or ns, by magnitude
    except CaseError as exc:  # a dataset's file, not a case folder's: the importer's error
        raise UserError(str(exc)) from None
