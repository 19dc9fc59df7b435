"""A tiny synthetic day of Nezha's OnlineBoutique half, in the layout of github.com/IntelligentDDS/Nezha:

    rca_data/<day>/<day>-fault_list.json   per hour: inject_time, inject_timestamp, inject_pod, inject_type
    rca_data/<day>/metric/<pod>_metric.csv  one row a minute, the 22 columns of the repository's files,
                                            beside front_service.csv and dependency.csv (not pods' files)
    rca_data/<day>/log/HH_MM_log.csv        Timestamp, TimeUnixNano, Node, PodName, Container, TraceID,
                                            SpanID, Log: {"log": ...} whose text is, for the Go, Node and
                                            Python services, itself a JSON object (message, severity);
                                            plain text for cartservice and adservice
    rca_data/<day>/trace/HH_MM_trace.csv    TraceID, SpanID, ParentID ("root" for a root span), PodName,
                                            OperationName, StartTimeUnixNano, EndTimeUnixNano, Duration

The files are plain .csv, as the repository holds them (the shared TrainTicket copy gzipped its own).
No call_graph_from_traces.json: that file is the shared copy's, derived from TrainTicket's traces.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

DAY = "2022-08-22"
PODS = {
    "frontend": "frontend-579b9bff58-t2dbm",
    "cartservice": "cartservice-579f59597d-wc2lz",
    "checkoutservice": "checkoutservice-578fcf4766-9csqn",
    "currencyservice": "currencyservice-cf787dd48-vpjrd",
}
# (inject_time, service, inject_type): the two faults after the day's first hour of metrics
FAULTS = (
    ("2022-08-22 04:27:03", "cartservice", "network_delay"),
    ("2022-08-22 04:36:03", "checkoutservice", "cpu_consumed"),
)
START = 1661140279  # 2022-08-22 03:51:19, the repository's first metric row of the day
MINUTES = 60
METRIC_HEADER = (
    "Time,TimeStamp,PodName,CpuUsage(m),CpuUsageRate(%),MemoryUsage(Mi),MemoryUsageRate(%),SyscallRead,"
    "SyscallWrite,NetworkReceiveBytes,NetworkTransmitBytes,PodClientLatencyP90(s),PodServerLatencyP90(s),"
    "PodClientLatencyP95(s),PodServerLatencyP95(s),PodClientLatencyP99(s),PodServerLatencyP99(s),"
    "PodWorkload(Ops),PodSuccessRate(%),NodeCpuUsageRate(%),NodeMemoryUsageRate(%),NodeNetworkReceiveBytes"
).split(",")
LOG_HEADER = ["Timestamp", "TimeUnixNano", "Node", "PodName", "Container", "TraceID", "SpanID", "Log"]
TRACE_HEADER = [
    "TraceID",
    "SpanID",
    "ParentID",
    "PodName",
    "OperationName",
    "StartTimeUnixNano",
    "EndTimeUnixNano",
    "Duration",
]
LOG_MINUTE = "04_28"  # the log and trace minute written, a minute after the first fault


def inject_at(when: str) -> int:
    return int(dt.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC).timestamp())


def write_day(root: Path, day: str = DAY, traces: bool = True) -> Path:
    """The day's folder under root/rca_data, with its fault list, metrics, one log minute and (optionally)
    one trace minute."""
    folder = root / "rca_data" / day
    (folder / "metric").mkdir(parents=True)
    (folder / "log").mkdir()
    faults: dict[str, list[dict[str, str]]] = {}
    for when, service, kind in FAULTS:
        when = day + when[10:]
        faults.setdefault(when[11:13], []).append(
            {
                "inject_time": when,
                "inject_timestamp": str(inject_at(when)),
                "inject_pod": PODS[service],
                "inject_type": kind,
            }
        )
    (folder / f"{day}-fault_list.json").write_text(json.dumps(faults, indent=4))
    start = START + (inject_at(day + " 00:00:00") - inject_at(DAY + " 00:00:00"))
    for n, pod in enumerate(sorted(PODS.values())):
        with (folder / "metric" / f"{pod}_metric.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(METRIC_HEADER)
            for minute in range(MINUTES * 2):
                at = start + 60 * minute
                stamp = dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.702099569 +0000 UTC")
                values = [2.0 + n + minute % 3 * 0.1, 10.0 + n, 38.6, 30.2, 2566, 2226, 6969.7, 144470.1]
                values += [0.08, 0.85, 0.12, 0.92, 0.22, 0.98, 0.33, 0, 11.5, 29.6, 195031.8]
                writer.writerow([f"{stamp} m=+{60 * minute}.2", at, pod, *values])
    with (folder / "metric" / "front_service.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Time", "TimeStamp", "ServiceName", "SuccessRate(%)", "LatencyP50(s)", "LatencyP90(s)"])
        writer.writerow(["2022-08-22 03:51:19.57 +0000 UTC m=+0.07", start, "Frontend", 100, 0.24, 1.15])
    (folder / "metric" / "dependency.csv").write_text("Source,Target,Weight\nfrontend,cartservice,1\n")
    _write_logs(folder / "log" / f"{LOG_MINUTE}_log.csv", day)
    if traces:
        (folder / "trace").mkdir()
        _write_traces(folder / "trace" / f"{LOG_MINUTE}_trace.csv", day)
    return folder


def _minute_start(day: str) -> int:
    return inject_at(f"{day} {LOG_MINUTE.replace('_', ':')}:00")


def _structured(message: str, severity: str, **fields: object) -> str:
    """The `log` text of a service that logs JSON (frontend, checkoutservice, currencyservice, ...)."""
    return json.dumps({**fields, "message": message, "severity": severity, "timestamp": "2022-08-22T04:28:05Z"}) + "\n"


def log_rows(day: str = DAY) -> list[tuple[str, str]]:
    """(pod, the `log` text) of the minute's rows, in file order."""
    trace = "TraceID: 04c87ec97bae041b1b15b3c7676a43cc SpanID: 989036326b156480"
    return [
        (PODS["frontend"], _structured(f"{trace} request started", "info", **{"http.req.path": "/cart"})),
        (PODS["frontend"], _structured(f"{trace} could not retrieve cart", "error", **{"http.req.path": "/cart"})),
        (PODS["checkoutservice"], _structured(f"{trace} payment went through", "info")),
        (PODS["currencyservice"], _structured(f"{trace} conversion request successful", "info")),
        (PODS["cartservice"], f"{trace} GetCartAsync called with userId=a009eb0b\n"),
    ]


def _write_logs(file: Path, day: str) -> None:
    at = _minute_start(day) + 5
    with file.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LOG_HEADER)
        for i, (pod, text) in enumerate(log_rows(day)):
            nanos = (at + i) * 10**9
            stamp = dt.datetime.fromtimestamp(at + i, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
            log = json.dumps({"log": text, "stream": "stdout", "time": stamp})
            writer.writerow([stamp, nanos, "33.33.33.167", pod, "server", "04c87ec9", "98903632", log])


def _write_traces(file: Path, day: str) -> None:
    """Two traces rooted in frontend: frontend -> cartservice, frontend -> checkoutservice -> currencyservice."""
    at = _minute_start(day) * 10**9
    spans = [
        ("t1", "a1", "root", "frontend", "hipstershop.Frontend/Recv."),
        ("t1", "a2", "a1", "frontend", "hipstershop.CartService/GetCart"),
        ("t1", "a3", "a2", "cartservice", "hipstershop.CartService/GetCart"),
        ("t2", "b1", "root", "frontend", "hipstershop.Frontend/Recv."),
        ("t2", "b2", "b1", "frontend", "hipstershop.CheckoutService/PlaceOrder"),
        ("t2", "b3", "b2", "checkoutservice", "hipstershop.CheckoutService/PlaceOrder"),
        ("t2", "b4", "b3", "checkoutservice", "hipstershop.CurrencyService/Convert"),
        ("t2", "b5", "b4", "currencyservice", "grpc.hipstershop.CurrencyService/Convert"),
    ]
    with file.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRACE_HEADER)
        for i, (trace, span, parent, service, operation) in enumerate(spans):
            start = at + i * 1000
            writer.writerow([trace, span, parent, PODS[service], operation, start, start + 900, 900])
