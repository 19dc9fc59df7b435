"""A tiny synthetic RCAEval-shaped dataset: <system>/<service>_<fault>/<n>/data.csv + inject_time.txt,
and with `write_case(..., logs_and_traces=True)` RE2's logs.csv and traces.csv beside them.

RCAEval's data is not shipped here; the shape (a `time` column of unix seconds, `<service>_<metric>`
columns, the root cause and fault in the folder names; logs with `timestamp` in nanoseconds,
`container_name` and `message`; Jaeger's span columns) is what `rca diagnose import rcaeval` reads.
`write_layout_case` writes a case with the column names of one of RCAEval's datasets as given.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SERVICES = ("frontend", "cartservice", "checkoutservice", "currencyservice")
INJECT_AT = 1_700_000_000
START = INJECT_AT - 900  # RCAEval keeps minutes of normal data before the injection
END = INJECT_AT + 300


CALLS = (("frontend", "cartservice"), ("frontend", "checkoutservice"), ("checkoutservice", "currencyservice"))
POD = {"checkoutservice": "checkoutservice-6c5f8d9b7-x2x9q"}  # a pod's name, not its service's
SIDECAR = "istio-proxy"  # logs from a container that is no service


def write_case(
    root: Path,
    root_cause: str = "cartservice",
    fault: str = "cpu",
    n: int = 1,
    seed: int = 3,
    logs_and_traces: bool = False,
) -> Path:
    """One case folder; the root cause's CPU and latency, and the frontend's latency, rise at the injection.
    With logs and traces (RE3's code-level faults), the root cause's metrics do not move: only its spans
    and its logs show the fault, and the frontend's latency."""
    folder = root / ("RE3-OB" if logs_and_traces else "RE1-OB") / f"{root_cause}_{fault}" / str(n)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ts = np.arange(START, END + 1, 1.0)
    after = ts >= INJECT_AT
    columns: dict[str, np.ndarray] = {}
    for service in SERVICES:
        faulty = service == root_cause and not logs_and_traces
        columns[f"{service}_cpu"] = 0.2 + rng.normal(0, 0.01, len(ts)) + (0.7 * after if faulty else 0)
        columns[f"{service}_mem"] = 300 + rng.normal(0, 2, len(ts))
        columns[f"{service}_latency-90"] = (
            0.05 + rng.normal(0, 0.002, len(ts)) + (0.8 * after if faulty or service == "frontend" else 0)
        )
        columns[f"{service}_workload"] = 40 + rng.normal(0, 1, len(ts))
    columns[f"{SERVICES[0]}_mystery"] = rng.normal(0, 1, len(ts))  # no known family: left out and counted
    with (folder / "data.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", *columns])
        for i, t in enumerate(ts):
            writer.writerow([int(t), *(f"{v[i]:.5f}" for v in columns.values())])
    (folder / "inject_time.txt").write_text(f"{INJECT_AT}\n")
    if logs_and_traces:
        _write_logs_and_traces(folder, root_cause, rng)
    return folder


def _write_logs_and_traces(folder: Path, root_cause: str, rng: np.random.Generator) -> None:
    """A request every 2 s through frontend -> cartservice, frontend -> checkoutservice -> currencyservice;
    after the injection the root cause's spans take 0.8 s longer and half of them fail, and it logs a new
    error. Each service logs a line per request it serves."""
    spans, logs = [], []
    for k, start in enumerate(np.arange(START, END, 2.0)):
        faulty = start >= INJECT_AT
        ids = {s: f"{k:06x}{i:02x}" for i, s in enumerate(SERVICES)}
        for service in SERVICES:
            parent = next((a for a, b in CALLS if b == service), None)
            slow = 0.8 if faulty and service in (root_cause, "frontend") else 0.0
            failed = faulty and service == root_cause and k % 2 == 0
            duration_us = int((0.02 + slow + rng.uniform(0, 0.005)) * 1e6)
            at = start + 0.001 * SERVICES.index(service)
            spans.append(
                [
                    ids[service],
                    ids[parent] if parent else "",
                    service,
                    f"{at * 1000:.0f}",
                    duration_us,
                    500 if failed else 200,
                ]
            )
            logs.append([f"{at * 1e9:.0f}", POD.get(service, service), f"INFO handled request {k} in {service}"])
            if failed:
                logs.append([f"{at * 1e9:.0f}", service, f"ERROR failed to read cart {k}: redis timeout"])
        logs.append([f"{start * 1e9:.0f}", SIDECAR, "[2023-08-20T22:13:20Z] GET /cart 200"])
    with (folder / "traces.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["spanID", "parentSpanID", "serviceName", "startTimeMillis", "duration", "statusCode"])
        writer.writerows(spans)
    with (folder / "logs.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "container_name", "message"])
        writer.writerows(logs)


def write_layout_case(
    root: Path,
    dataset: str,
    folder: str,
    columns: list[str],
    data_file: str = "data.csv",
    n: int = 1,
    inject_text: str | None = None,
    seed: int = 5,
) -> Path:
    """One case in the exact layout of an RCAEval dataset: ``dataset/folder/n/data_file`` with a `time`
    column of unix seconds and ``columns`` as named (RE1's `<svc>_cpu`, RE2's `<svc>_container-...`).
    Columns ending in `total` are cumulative counters, `time` or `time.1` a repeated time column (RE1-OB
    has one); every other column rises at the injection. ``inject_text`` is inject_time.txt's text."""
    case = root / dataset / folder / str(n)
    case.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ts = np.arange(START, END + 1, 1.0)
    after = ts >= INJECT_AT
    values = []
    for column in columns:
        if column in ("time", "time.1"):
            values.append(ts)
        elif column.endswith("total"):
            values.append(np.cumsum(5 + rng.uniform(0, 1, len(ts)) + 5 * after))
        else:
            values.append(1 + rng.normal(0, 0.01, len(ts)) + after)
    with (case / data_file).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", *columns])
        for i, t in enumerate(ts):
            writer.writerow([int(t), *(f"{v[i]:.5f}" for v in values)])
    (case / "inject_time.txt").write_text(inject_text if inject_text is not None else f"{INJECT_AT}\n")
    return case
