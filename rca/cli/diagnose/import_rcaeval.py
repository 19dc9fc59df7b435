"""RCAEval's case layout (RE1, RE2, RE3; github.com/phamquiluan/RCAEval) as case folders.

    DIR/**/<service>_<fault>/<n>/data.csv        RE1 (RE2/RE3: metrics.csv): `time` + `<service>_<metric>` columns
    DIR/**/<service>_<fault>/<n>/inject_time.txt  unix seconds of the injection (its first line)

The root cause is the service in the folder name (the part before the last `_`), the fault kind
what follows it (cpu, mem, disk, socket, delay, loss; RE3's code-level faults f1..f5). A column
`<service>_<metric>` is split at its first `_` (service names use `-`). Families come from the metric's
name: latency/duration/lat_90 -> latency; error/fail/5xx -> errors; cpu/mem/disk/fs/io/thread/socket ->
saturation; workload/load/request/throughput/network bytes -> traffic; other columns are left out and
counted, as are RE2's and RE3's node-exporter columns (`<node>_node-...`: a host, not a service) and a
repeated `time` column (RE1-OB's). Cumulative counters (names ending in `total`) become per-second
rates. Samples that are no finite number (RCAEval's data holds inf and NaN) are missing samples.

RE2 and RE3 cases also hold traces.csv and logs.csv (rca.cli.diagnose.rcaeval_sources): the traces
give the topology (calls between services) and each service's own request latency and error series,
the logs become the case's logs/. Without traces RCAEval ships no topology, and the importer derives
one: the entry service (the one named like frontend, front-end, gateway or ui-dashboard; else the first
in name order) `calls` every other service of the case, so every service is one hop from the symptom
and the ranking rests on each service's own evidence, not on structure. The alert fires 60 s after the
injection on the entry service's latency.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import math
import re
from collections import Counter
from pathlib import Path

import yaml

from rca.cli.diagnose.importers import entry_by_name
from rca.cli.diagnose.rcaeval_sources import (
    TRACE_SIGNALS,
    Traces,
    read_log_rows,
    read_traces,
    service_of,
    trace_series,
)
from rca.cli.errors import UserError

DATA_FILES = ("data.csv", "metrics.csv", "simple_metrics.csv")
LOGS_FILE = "logs.csv"
TRACES_FILE = "traces.csv"
ALERT_AFTER_S = 60
FAMILIES = (
    # `lat_50`, `lat_90`, `lat_99`: Sock Shop's percentiles in RCAEval's older data
    ("latency", re.compile(r"(?i)latency|duration|response[-_]?time|\brt\b|^lat(?:[-_]?\d+)?$")),
    # cAdvisor's `container-memory-failures-total` counts page faults: memory pressure, not failed requests
    ("errors", re.compile(r"(?i)error|(?<!memory-)fail|5xx|exception")),
    # `load` is RE1-OB's request rate; `istio-bytes-90` a percentile of request sizes
    ("traffic", re.compile(r"(?i)workload|^load$|request|throughput|qps|rps|receive|transmit|network|bytes-\d+$")),
    # `io` only on its own (`blkio`, `disk-io`, `io_wait`): the `io` of `istio-...` is no I/O
    ("saturation", re.compile(r"(?i)cpu|mem|disk|fs|blkio|(?<![a-z])io(?![a-z])|thread|socket|fd|descriptor")),
)
NODE_METRIC = "node-"  # RE2's and RE3's `<node>_node-cpu-seconds-total`: node-exporter's host series
REPEATED_TIME = re.compile(r"(?i)time(\.\d+)?")  # RE1-OB's data.csv holds `time` twice
MISSING = ("", "nan", "na", "null", "none")


def family_of(metric: str) -> str | None:
    """The signal family a metric's name suggests, or None."""
    return next((family for family, pattern in FAMILIES if pattern.search(metric)), None)


def import_rcaeval(root: Path, out: Path) -> list[Path]:
    """Write one case folder per RCAEval case found under ``root`` into ``out``; return them."""
    cases = sorted(p.parent for p in root.rglob("inject_time.txt"))
    if not cases:
        raise UserError(f"{root}: no RCAEval cases (folders <service>_<fault>/<n>/ holding inject_time.txt)")
    written = []
    for folder in cases:
        data = next((folder / name for name in DATA_FILES if (folder / name).is_file()), None)
        if data is None:
            raise UserError(f"{folder}: inject_time.txt without {' or '.join(DATA_FILES)}")
        root_cause, _, fault = folder.parent.name.rpartition("_")
        if not root_cause:
            raise UserError(f"{folder.parent}: expected a folder named <service>_<fault>")
        # RCAEval reads the first line only
        lines = [line.strip() for line in (folder / "inject_time.txt").read_text().splitlines() if line.strip()]
        try:
            inject_at = float(lines[0] if lines else "")
        except ValueError:
            raise UserError(f"{folder / 'inject_time.txt'}: expected unix seconds") from None
        name = "_".join(folder.relative_to(root).parts) if folder != root else folder.name
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        traces = read_traces(folder / TRACES_FILE) if (folder / TRACES_FILE).is_file() else None
        services, signals, skipped, nodes = _write_metrics(data, target / "metrics.csv", traces, root_cause)
        entry, calls = _call_graph(services, traces)
        (target / "topology.yaml").write_text(_topology(name, services, entry, calls, traces is not None))
        notes = [f"{len(skipped)} columns of no known family left out: {', '.join(skipped[:8])}"] if skipped else []
        if nodes:
            notes.append(
                f"{sum(nodes.values())} columns of {len(nodes)} nodes (node-exporter's host series; RCAEval ties"
                f" no service to a node) left out: {', '.join(sorted(nodes)[:4])}"
            )
        if traces is not None:
            traced = sum(a in services and b in services for a, b in traces.calls)
            torn = f"; {traces.torn} rows too short or with an empty cell left out" if traces.torn else ""
            notes.append(f"{traces.spans} spans, {traced} calls between the case's services{torn}")
        if (folder / LOGS_FILE).is_file():
            notes.append(_write_logs(folder / LOGS_FILE, target / "logs" / "app.log.gz", sorted(services)))
        case = {
            "description": f"{fault} injected into {root_cause} at {_iso(inject_at)}",
            "source": f"RCAEval {folder.relative_to(root) if folder != root else folder.name} "
            "(imported by `rca diagnose import rcaeval`)",
            "fault": fault,
            "alert": {"at": _iso(inject_at + ALERT_AFTER_S), "symptoms": [{"entity": entry, "family": "latency"}]},
            "signals": signals,
            "root_causes": [root_cause],
        }
        (target / "case.yaml").write_text(yaml.safe_dump(case, sort_keys=False))
        for note in notes:
            print(f"{name}: {note}")
        written.append(target)
    return written


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _call_graph(services: set[str], traces: Traces | None) -> tuple[str, set[tuple[str, str]]]:
    """The entry service and the calls among the case's services (those the metrics name, and the root
    cause): the traces' when given, and the entry calling every service the traces do not reach (so
    that each stays within reach of the symptom); else the entry calls all. Services only the traces
    name (a tracing backend, an ingress) are not candidates."""
    named = entry_by_name(services) or sorted(services)[0]
    if traces is None:
        return named, {(named, s) for s in services if s != named}
    entered = [(n, s) for s, n in traces.roots.items() if s in services]
    entry = max(entered)[1] if entered else named  # where most requests enter, among the case's services
    calls = {(a, b) for a, b in traces.calls if a in services and b in services}
    reached = {entry} | {b for _, b in calls}
    return entry, calls | {(entry, s) for s in services - reached}


def _topology(name: str, services: set[str], entry: str, calls: set[tuple[str, str]], from_traces: bool) -> str:
    callees: dict[str, list[str]] = {}
    for caller, callee in sorted(calls):
        callees.setdefault(caller, []).append(callee)
    ordered = [entry, *sorted(services - {entry})]
    topology = {
        "version": 1,
        "estate": f"RCAEval {name}",
        "services": [{"id": s, **({"calls": callees[s]} if s in callees else {})} for s in ordered],
    }
    why = (
        "calls read from traces.csv (a span's parent in another service); the entry service also calls the"
        " services no trace reached"
        if from_traces
        else "RCAEval ships no topology: the entry service calls every other service of the case"
    )
    return f"# {why}\n" + yaml.safe_dump(topology, sort_keys=False)


def _write_logs(source: Path, target: Path, services: list[str]) -> str:
    """logs.csv as `TIME<TAB>SERVICE<TAB>MESSAGE` lines, time order; a note of what was kept."""
    lines: list[tuple[float, str]] = []
    unknown: Counter[str] = Counter()
    torn: list[int] = []
    service_of_container: dict[str, str | None] = {}  # a case names a few dozen containers over many lines
    for seconds, container, message in read_log_rows(source, torn):
        if container not in service_of_container:
            service_of_container[container] = service_of(container, services)
        service = service_of_container[container]
        if service is None:
            unknown[container] += 1
            continue
        text = " ".join(message.split())  # one line: a stack trace's newlines and tabs become spaces
        lines.append((seconds, f"{seconds:.6f}\t{service}\t{text}\n"))
    lines.sort(key=lambda pair: pair[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(target, "wb", mtime=0) as out:
        for _, line in lines:
            out.write(line.encode())
    note = f"{len(lines)} log lines"
    if unknown:
        note += f"; {sum(unknown.values())} lines of containers that are no service left out"
        note += f" ({', '.join(sorted(unknown)[:5])})"
    if torn:
        note += f"; {len(torn)} rows too short or with an empty cell left out (lines {', '.join(map(str, torn[:5]))})"
    return note


def _write_metrics(
    source: Path, target: Path, traces: Traces | None, root_cause: str
) -> tuple[set[str], dict[str, str], list[str], Counter[str]]:
    """metrics.csv of the case (and its services: those the columns name, and the root cause), with the
    traces' series of those services added; also the columns left out, and the nodes' column counts."""
    with source.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or not rows[0] or rows[0][0].strip().lower() != "time":
        raise UserError(f"{source}:1: expected a header starting with 'time'")
    header = rows[0]
    keep, signals, services, skipped = [], {}, set(), []
    nodes: Counter[str] = Counter()
    for index, column in enumerate(header[1:], start=1):
        if REPEATED_TIME.fullmatch(column.strip()):
            continue
        service, _, metric = column.partition("_")
        if service and metric.startswith(NODE_METRIC):
            # a node is no service: as one it would be a candidate root cause that no call reaches
            nodes[service] += 1
            continue
        family = family_of(metric) if service and metric else None
        if family is None:
            skipped.append(column)
            continue
        signal = re.sub(r"[^A-Za-z0-9_.-]", "_", metric)
        signals[signal] = family
        services.add(service)
        keep.append((index, f"{service}/{signal}", signal.rstrip("_").lower().endswith("total")))
    out_rows = [["time"] + [name for _, name, _ in keep]]
    previous: dict[int, tuple[float, float]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            when = float(row[0])
        except ValueError:
            raise UserError(f"{source}:{number}:1: time {row[0]!r} is not unix seconds") from None
        if len(out_rows) > 1 and when <= float(out_rows[-1][0]):
            raise UserError(f"{source}:{number}:1: time {row[0]!r} is not after the previous row's")
        cells = [f"{when:.3f}".rstrip("0").rstrip(".")]
        for index, _, counter in keep:
            text = row[index].strip() if index < len(row) else ""
            if text.lower() in MISSING:
                cells.append("")
                continue
            try:
                value = float(text)
            except ValueError:
                raise UserError(f"{source}:{number}:{index + 1}: {text!r} is not a number") from None
            if not math.isfinite(value):
                cells.append("")  # RCAEval's series hold inf (a ratio over no requests): no sample
                continue
            if counter:
                last = previous.get(index)
                previous[index] = (when, value)  # a rate spans the last finite sample
                rate = (value - last[1]) / (when - last[0]) if last and when > last[0] and value >= last[1] else None
                text = "" if rate is None or not math.isfinite(rate) else f"{rate:.6g}"
            cells.append(text)
        out_rows.append(cells)
    services.add(root_cause)
    if traces is not None:
        for (service, signal), series in trace_series(traces, [float(r[0]) for r in out_rows[1:]]).items():
            if service not in services:
                continue
            signals[signal] = TRACE_SIGNALS[signal]
            out_rows[0].append(f"{service}/{signal}")
            for row, cell in zip(out_rows[1:], series):
                row.append(cell)
    with target.open("w", newline="") as handle:
        csv.writer(handle).writerows(out_rows)
    return services, signals, skipped, nodes
