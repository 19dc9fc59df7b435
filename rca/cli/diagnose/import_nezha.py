"""Nezha's layout (github.com/IntelligentDDS/Nezha, e.g. shared/data/real/nezha-trainticket/) as case folders.

    DIR/call_graph_from_traces.json            optional: caller_to_callee: [[caller, callee, spans], ...]
    DIR/rca_data/<day>/<day>-fault_list.json   per hour: inject_time (UTC), inject_pod, inject_type
    DIR/rca_data/<day>/metric/<pod>_metric.csv.gz   one row a minute per pod
    DIR/rca_data/<day>/log/HH_MM_log.csv.gz    the application log lines of every pod, per minute
    DIR/rca_data/<day>/trace/HH_MM_trace.csv.gz     optional: the spans of every pod, per minute
    DIR/construct_data/<day>/log/HH_MM_log.csv.gz   optional: the day's fault-free reference minutes

Every .csv.gz may be a plain .csv, as the repository holds them (the shared TrainTicket copy gzipped
its own). Both systems of the repository (TrainTicket, OnlineBoutique) read alike.

One case per fault. Topology: one service per pod (the pod name without its ReplicaSet hash and pod
suffix), `calls` from the call graph file where it names the day's services (it is derived from one
system's traces, and a folder may hold both systems' days), else from the day's trace files
(rca_data/ and construct_data/), else the entry calling every other service. The entry is the
service most root spans start in, else the one named like a front end or gateway. Metrics: each
pod's columns from 70 minutes before the injection to 5 minutes after, on the minute grid, under
signal names mapped to families in case.yaml; PodSuccessRate (0 throughout in this data) and the
three Node* columns (the node's, not the pod's) are left out. Logs: the minute files of the same
span as the metrics, the day's fault-free reference minutes included (the data holds files only
around each fault, so the history is the earlier faults' minutes and those), as
TIME<TAB>SERVICE<TAB>LINE, each row once (a file reaches a minute or two into the minutes before its
name, so neighbouring files hold the same rows), timed by TimeUnixNano or, where that overflowed
(negative in some rows), by the Timestamp column; rows whose CSV quoting broke are kept aside in
damaged-log-rows.txt beside logs/, and counted. A line that is itself a JSON object with a message
(OnlineBoutique's structured logs) is written as its level, upper case, and its message, as Nezha
reads it. Alert: 2 minutes after the injection (on the minute), on the entry service's latency. Root
cause: the injected pod's service.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import sys
from pathlib import Path
from typing import NamedTuple, TextIO

import yaml

from rca.cli.diagnose.importers import entry_by_name
from rca.cli.errors import UserError

POD_SUFFIX = re.compile(r"-[a-z0-9]+-[a-z0-9]{5}$")
BEFORE_S = 70 * 60
AFTER_S = 5 * 60
# the logs reach back as far as the metrics: a template is "new" only against the entity's own
# history, and ten minutes (the previous fault's files at best) left most routine lines looking new
LOGS_BEFORE_S = BEFORE_S
ALERT_AFTER_S = 120
DAMAGED_LOG_ROWS = "damaged-log-rows.txt"  # beside logs/, not in it: kept aside, not diagnosed
# column -> (signal name, family)
COLUMNS = {
    "CpuUsage(m)": ("cpu_millicores", "saturation"),
    "CpuUsageRate(%)": ("cpu_usage_pct", "saturation"),
    "MemoryUsage(Mi)": ("memory_mib", "saturation"),
    "MemoryUsageRate(%)": ("memory_usage_pct", "saturation"),
    "SyscallRead": ("syscall_read", "traffic"),
    "SyscallWrite": ("syscall_write", "traffic"),
    "NetworkReceiveBytes": ("network_receive_bytes", "traffic"),
    "NetworkTransmitBytes": ("network_transmit_bytes", "traffic"),
    "PodClientLatencyP90(s)": ("client_latency_p90_s", "latency"),
    "PodServerLatencyP90(s)": ("server_latency_p90_s", "latency"),
    "PodClientLatencyP95(s)": ("client_latency_p95_s", "latency"),
    "PodServerLatencyP95(s)": ("server_latency_p95_s", "latency"),
    "PodClientLatencyP99(s)": ("client_latency_p99_s", "latency"),
    "PodServerLatencyP99(s)": ("server_latency_p99_s", "latency"),
    "PodWorkload(Ops)": ("workload_ops", "traffic"),
}
LEFT_OUT = ("PodSuccessRate(%)", "NodeCpuUsageRate(%)", "NodeMemoryUsageRate(%)", "NodeNetworkReceiveBytes")


def service_of(pod: str) -> str:
    """The service a pod belongs to: its name without the ReplicaSet hash and pod suffix."""
    return POD_SUFFIX.sub("", pod)


def import_nezha(root: Path, out: Path) -> list[Path]:
    """Write one case folder per fault of every day under ``root``/rca_data into ``out``; return them."""
    graph_file = root / "call_graph_from_traces.json"
    days = sorted(p for p in (root / "rca_data").glob("*") if p.is_dir()) if (root / "rca_data").is_dir() else []
    if not days:
        raise UserError(f"{root}: no rca_data/<day>/ folders (expected Nezha's layout)")
    # optional: the repository has no such file (the shared TrainTicket copy's was derived from its traces)
    graph = _call_graph(graph_file) if graph_file.exists() else None
    written = []
    for day in days:
        faults = _faults(day)
        pods = {
            service_of(_strip_csv(p.name)[: -len("_metric")]): p for p in sorted(_csv_files(day / "metric", "*_metric"))
        }
        if not pods:
            raise UserError(f"{day / 'metric'}: no <pod>_metric.csv.gz (or .csv) files")
        calls, entry, origin = _day_calls(graph, root, day, set(pods))
        services = sorted(set(pods) | {s for pair in calls for s in pair})
        rows = {service: _metric_rows(file) for service, file in pods.items()}
        topology = _topology(services, calls, f"Nezha {root.name} {day.name}", origin)
        day_logs = _DayLogs([day / "log", root / "construct_data" / day.name / "log"])
        for inject_at, pod, kind in faults:
            root_cause = service_of(pod)
            if root_cause not in services:
                raise UserError(f"{day}: fault at {_iso(inject_at)} names pod {pod!r} of no known service")
            name = f"{_iso(inject_at).replace(':', '-').rstrip('Z')}_{root_cause}_{kind}"
            folder = out / name
            (folder / "logs").mkdir(parents=True, exist_ok=True)
            (folder / "topology.yaml").write_text(topology)
            _write_metrics(folder / "metrics.csv", rows, inject_at)
            damaged = _write_logs(folder / "logs" / "app.log.gz", day_logs, inject_at)
            if damaged:
                print(f"{name}: {damaged} log rows not well formed, kept aside in {folder / DAMAGED_LOG_ROWS}")
            alert_at = (inject_at + ALERT_AFTER_S) // 60 * 60
            case = {
                "description": f"{kind} injected into {pod} at {_iso(inject_at)}",
                "source": f"Nezha {root.name}, rca_data/{day.name} (imported by `rca diagnose import nezha`)",
                "fault": kind,
                "alert": {"at": _iso(alert_at), "symptoms": [{"entity": entry, "family": "latency"}]},
                "signals": dict(COLUMNS.values()),
                "root_causes": [root_cause],
            }
            (folder / "case.yaml").write_text(yaml.safe_dump(case, sort_keys=False))
            written.append(folder)
    return written


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _strip_csv(name: str) -> str:
    return name.removesuffix(".gz").removesuffix(".csv")


def _csv_files(folder: Path, stem: str) -> list[Path]:
    """The files ``stem``.csv.gz and ``stem``.csv in ``folder`` (stem a glob pattern); the gzipped one where
    both are."""
    found = {_strip_csv(p.name): p for p in folder.glob(stem + ".csv")}
    found.update({_strip_csv(p.name): p for p in folder.glob(stem + ".csv.gz")})
    return [found[name] for name in sorted(found)]


def _open_csv(file: Path) -> TextIO:
    return gzip.open(file, "rt", newline="") if file.name.endswith(".gz") else file.open(newline="")


def _day_calls(
    graph: tuple[list[tuple[str, str]], str] | None, root: Path, day: Path, services: set[str]
) -> tuple[list[tuple[str, str]], str, str]:
    """The day's (calls, entry, where the calls come from). The call graph file is one system's: it serves the
    days whose services it names, so a folder holding both of Nezha's systems gives each day its own."""
    if graph and {s for pair in graph[0] for s in pair} & services:
        return graph[0], graph[1], "the traces' call graph"
    trace_dirs = [day / "trace", root / "construct_data" / day.name / "trace"]
    calls, roots = _trace_calls([f for d in trace_dirs for f in _csv_files(d, "*_trace")])
    if calls:
        return calls, max(sorted(roots), key=lambda s: roots[s]) if roots else calls[0][0], "the day's trace files"
    # no spans: a star from the entry, as RCAEval's importer does, so the symptom reaches every service
    entry = entry_by_name(services)
    if entry is None:
        raise UserError(
            f"{day}: no call graph file naming its services, no trace files, and no service named like a "
            "front end or gateway to take as the entry"
        )
    return [(entry, s) for s in sorted(services) if s != entry], entry, "the entry calling every other service"


def _trace_calls(files: list[Path]) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Caller -> callee service pairs of the spans in ``files`` (a span's parent's service calls the span's), and
    how many root spans start in each service."""
    service_of_span: dict[str, str] = {}
    parents: list[tuple[str, str]] = []  # (parent span, service)
    roots: dict[str, int] = {}
    for file in files:
        with _open_csv(file) as handle:
            for row in csv.DictReader(handle):
                span, parent, pod = row.get("SpanID"), row.get("ParentID"), row.get("PodName")
                if not span or not pod:
                    continue
                service = service_of(pod)
                service_of_span[span] = service
                if parent in (None, "", "root"):
                    roots[service] = roots.get(service, 0) + 1
                else:
                    parents.append((parent, service))
    pairs = {(service_of_span[p], s) for p, s in parents if p in service_of_span and service_of_span[p] != s}
    return sorted(pairs), roots


def _call_graph(file: Path) -> tuple[list[tuple[str, str]], str]:
    try:
        data = json.loads(file.read_text())
        pairs = [(str(a), str(b)) for a, b, *_ in data["caller_to_callee"]]
        roots = data.get("root_span_services") or {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{file}: cannot read the call graph (caller_to_callee): {exc}") from None
    counts: dict[str, int] = {}
    for caller, _ in pairs:
        counts[caller] = counts.get(caller, 0) + 1
    entry = max(roots, key=lambda s: roots[s]) if roots else max(counts, key=lambda s: counts[s])
    return sorted(set(pairs)), entry


def _faults(day: Path) -> list[tuple[int, str, str]]:
    file = day / f"{day.name}-fault_list.json"
    try:
        data = json.loads(file.read_text())
        faults = []
        for items in data.values():
            for item in items:
                when = dt.datetime.strptime(item["inject_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
                faults.append((int(when.timestamp()), str(item["inject_pod"]), str(item["inject_type"])))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{file}: cannot read the fault list: {exc}") from None
    return sorted(faults)


def _metric_rows(file: Path) -> dict[int, dict[str, str]]:
    """Rows by minute (the pod's sample in that minute; the last when there are two)."""
    out: dict[int, dict[str, str]] = {}
    with _open_csv(file) as handle:
        for row in csv.DictReader(handle):
            try:
                minute = int(float(row["TimeStamp"])) // 60 * 60
            except (KeyError, ValueError):
                raise UserError(f"{file}: a row without a valid TimeStamp: {row}") from None
            out[minute] = row
    return out


def _topology(services: list[str], calls: list[tuple[str, str]], estate: str, origin: str) -> str:
    callees: dict[str, list[str]] = {}
    for caller, callee in calls:
        if caller != callee:
            callees.setdefault(caller, []).append(callee)
    doc = {
        "version": 1,
        "estate": estate,
        "services": [{"id": s, **({"calls": sorted(set(callees[s]))} if s in callees else {})} for s in services],
    }
    return f"# services from the pods, calls from {origin}\n" + yaml.safe_dump(doc, sort_keys=False)


def _write_metrics(file: Path, rows: dict[str, dict[int, dict[str, str]]], inject_at: int) -> None:
    first = (inject_at - BEFORE_S) // 60 * 60
    minutes = range(first, inject_at + AFTER_S + 1, 60)
    header = ["time"] + [f"{s}/{signal}" for s in sorted(rows) for signal, _ in COLUMNS.values()]
    with file.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for minute in minutes:
            cells = [str(minute)]
            for service in sorted(rows):
                row = rows[service].get(minute)
                cells += [(row.get(column) or "") if row else "" for column in COLUMNS]
            writer.writerow(cells)


def _row_time(row: dict) -> float:
    """The row's time: TimeUnixNano, or the ISO Timestamp where TimeUnixNano overflowed (negative in some rows)."""
    nanos = int(row["TimeUnixNano"])
    if nanos > 0:
        return nanos / 1e9
    stamp = re.sub(r"(\.\d{6})\d+", r"\1", row["Timestamp"].strip()).replace("Z", "+00:00")
    when = dt.datetime.fromisoformat(stamp)
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


class _DayLogs:
    """The log minute files of one day, each parsed once: a case's logs reach back an hour, so
    neighbouring faults share most of their files. Asked in time order (the faults are sorted), it
    forgets the minutes before the latest span's start, so it holds one span, not the day."""

    def __init__(self, log_dirs: list[Path]) -> None:
        self.log_dirs = log_dirs
        self._minutes: dict[int, tuple[list[_LogRow], list[str]]] = {}

    def between(self, start: int, end: int) -> tuple[list[tuple[float, str]], list[str]]:
        """(time, TIME<TAB>SERVICE<TAB>LINE) of the minute files from start to end, each row once, and
        their damaged rows."""
        for old in [m for m in self._minutes if m < start // 60 * 60]:
            del self._minutes[old]
        seen: set[tuple[str, str]] = set()
        lines: list[tuple[float, str]] = []
        damaged: list[str] = []
        for minute in range(start // 60 * 60, end + 1, 60):
            if minute not in self._minutes:
                self._minutes[minute] = self._read(minute)
            minute_rows, minute_damaged = self._minutes[minute]
            for row in minute_rows:
                if row.identity not in seen:
                    seen.add(row.identity)
                    lines.append((row.time, row.line))
            damaged += minute_damaged
        return lines, damaged

    def _read(self, minute: int) -> tuple[list[_LogRow], list[str]]:
        name = dt.datetime.fromtimestamp(minute, dt.UTC).strftime("%H_%M_log")
        rows: list[_LogRow] = []
        damaged: list[str] = []
        for source in (f for d in self.log_dirs for f in _csv_files(d, name)):
            if source.is_file():
                file_rows, file_damaged = _read_log_file(source)
                rows += file_rows
                damaged += file_damaged
        return rows, damaged


class _LogRow(NamedTuple):  # a tuple: a day's span holds a few hundred thousand of them
    time: float
    line: str  # TIME<TAB>SERVICE<TAB>LINE
    pod: str

    @property
    def identity(self) -> tuple[str, str]:
        """The same row exported in two files is one row: its pod and its line (time, service, text)."""
        return self.pod, self.line


def _read_log_file(source: Path) -> tuple[list[_LogRow], list[str]]:
    """The file's well-formed rows, and its damaged ones named by file and line."""
    rows: list[_LogRow] = []
    damaged: list[str] = []
    with _open_csv(source) as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            try:
                if None in row:  # more cells than the header: the quoting broke inside the row
                    raise ValueError("extra cells")
                when = _row_time(row)
                text = json.loads(row["Log"])["log"]
                pod = sys.intern(row["PodName"])  # a few dozen pods over every row
                service = service_of(pod)
            except (KeyError, ValueError, TypeError, AttributeError):
                # named from the dataset's root: a reference minute's file has the name of a fault minute's
                damaged.append(f"{source.relative_to(source.parents[3])}:{reader.line_num}\t{row}")
                continue
            message = " ".join(_structured(str(text)).split("\n")).strip()
            if message:
                rows.append(_LogRow(when, f"{when:.6f}\t{service}\t{message}", pod))
    return rows, damaged


def _structured(text: str) -> str:
    """A JSON object's level (upper case, so that a lower-case "error" reads as one) and message, as Nezha reads
    OnlineBoutique's structured lines; any other text as it is."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        fields = json.loads(text)
    except ValueError:
        return text
    if not isinstance(fields, dict) or not isinstance(fields.get("message"), str):
        return text
    level = fields.get("severity", fields.get("level"))
    return f"{str(level).upper()} {fields['message']}" if isinstance(level, str) and level else fields["message"]


def _write_logs(file: Path, day_logs: _DayLogs, inject_at: int) -> int:
    """Write the log lines of the case's span; rows that are not well formed are kept aside beside logs/."""
    lines, damaged = day_logs.between(inject_at - LOGS_BEFORE_S, inject_at + AFTER_S)
    lines.sort(key=lambda pair: pair[0])
    buffer = io.StringIO()
    for _, line in lines:
        buffer.write(line + "\n")
    file.write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))
    if damaged:
        (file.parent.parent / DAMAGED_LOG_ROWS).write_text("\n".join(damaged) + "\n")
    return len(damaged)
