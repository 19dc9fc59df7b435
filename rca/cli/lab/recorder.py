"""Record a lab scenario's telemetry as a case folder in the `rca diagnose` format (docs/diagnose.md).

    CASE_DIR/case.yaml      alert (time, symptoms), signal families, fault kind, root cause(s)
    CASE_DIR/topology.yaml  the estate's topology (its file without the `lab:` section)
    CASE_DIR/metrics.csv    Prometheus query_range over the window of the PromQL templates the lab's metrics
                            worker runs (rca/cli/lab/data/promql_signals.yaml), so a replay sees the live signals
    CASE_DIR/logs/          the window's lines of WORKDIR/logs/*.log (TIME<TAB>ENTITY<TAB>MESSAGE)
    CASE_DIR/lab.json       what the lab measured live (fault, alert and incident times, the live ranking)

So a scenario can be replayed by `rca diagnose`, scored by `bench/accuracy.py --cases`, and used for
training without running the lab again.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from prometheus_api_client import PrometheusConnect

SIGNALS_FILE = Path(__file__).with_name("data") / "promql_signals.yaml"  # the lab's metrics worker's templates
# The label that names the entity under each entity rule of those templates (the mapping the lab writes
# for its metrics worker, rca/cli/lab/prometheus.py).
RULE_LABELS = {"lab_service": "service", "lab_callee": "callee", "lab_host": "host", "lab_datastore": "datastore"}
LAB_SECTION = "lab"  # the estate file's own section, not part of the topology format
RATE_WINDOW = "30s"  # six scrapes at the lab's 5 s: short faults show within half a minute
STEP_S = 5.0


@dataclass(frozen=True)
class RecordedSignal:
    """One PromQL query whose result series become `entity/name` columns."""

    name: str
    family: str
    query: str
    entity_label: str
    # how the lab's metrics worker judges it, written into case.yaml so a replay judges it the same way
    direction: str = "both"
    min_scale: float = 0.0
    min_delta: float = 0.0

    def case_entry(self) -> dict:
        """Its `signals:` entry in case.yaml (docs/diagnose.md)."""
        return {
            "family": self.family,
            "direction": self.direction,
            "min_scale": self.min_scale,
            "min_delta": self.min_delta,
        }


@dataclass
class Recording:
    """What one scenario's case folder gets beyond the telemetry itself."""

    name: str
    fault: str
    root_causes: list[str]
    alert_at: float
    symptoms: list[dict]  # {entity, family}
    start: float
    end: float
    description: str = ""
    live: dict = field(default_factory=dict)  # lab.json: times and the live diagnosis
    # log lines from here on only (default: start): the previous scenario's error lines must not read as
    # this fault's in the replay (the metrics keep their history, which the detector's baseline needs)
    logs_from: float | None = None


@dataclass
class RecordReport:
    """What went into the folder."""

    path: Path
    columns: int
    rows: int
    log_lines: int
    empty_queries: list[str]


def load_signals(path: Path = SIGNALS_FILE, rule_labels: dict[str, str] = RULE_LABELS) -> list[RecordedSignal]:
    """The recorded series: a PromQL template file (ingest/data/promql_signals.yaml's format) and its rules' labels."""
    entries = (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("signals") or []
    return [
        RecordedSignal(
            e["name"],
            e["family"],
            " ".join(str(e["query"]).split()),
            rule_labels[e["entity"]],
            e.get("direction", "both"),
            float(e.get("min_scale", 0.0)),
            float(e.get("min_delta", 0.0)),
        )
        for e in entries
    ]


def topology_text(estate: Path) -> str:
    """The estate file as a topology file: the same YAML without its `lab:` section."""
    data = yaml.safe_load(Path(estate).read_text(encoding="utf-8")) or {}
    data.pop(LAB_SECTION, None)
    header = f"# The topology of the lab estate {Path(estate).name} (its `lab:` section left out).\n"
    return header + yaml.safe_dump(data, sort_keys=False)


def topology_ids(text: str) -> set[str]:
    """The entity ids of a topology file's text (every `id` of its top-level lists)."""
    data = yaml.safe_load(text) or {}
    return {
        str(item["id"])
        for value in data.values()
        if isinstance(value, list)
        for item in value
        if isinstance(item, dict) and "id" in item
    }


def record_case(
    out: Path,
    recording: Recording,
    *,
    prometheus_url: str,
    estate: Path,
    logs_dir: Path | None,
    signals: list[RecordedSignal] | None = None,
    step_s: float = STEP_S,
    rate_window: str = RATE_WINDOW,
) -> RecordReport:
    """Write the case folder ``out`` for ``recording``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    topology = topology_text(estate)
    (out / "topology.yaml").write_text(topology, encoding="utf-8")
    entities = topology_ids(topology)
    signals = load_signals() if signals is None else signals
    columns, empty = _query_columns(prometheus_url, signals, entities, recording, step_s, rate_window)
    rows = _write_metrics(out / "metrics.csv", columns)
    lines = (
        _copy_logs(logs_dir, out / "logs", max(recording.start, recording.logs_from or 0.0), recording.end, entities)
        if logs_dir
        else 0
    )
    used = {signal for (_, signal) in columns}
    # every signal with the lab worker's own direction and floors, the project's signal names too (the lab
    # judges latency with higher floors than the shipped templates): the replay judges what the lab judged
    families = {s.name: s.case_entry() for s in signals if s.name in used}
    alert: dict = {"at": _iso(recording.alert_at), "symptoms": recording.symptoms}
    if recording.live.get("diagnosed_at"):  # a replay judges what the live diagnosis could have seen
        alert["as_of"] = _iso(max(recording.alert_at, recording.live["diagnosed_at"]))
    case = {
        "description": recording.description or f"{recording.fault} on {', '.join(recording.root_causes)}",
        "source": f"rca lab run, scenario {recording.name}",
        "fault": recording.fault,
        "alert": alert,
        "signals": families,
        "root_causes": list(recording.root_causes),
    }
    (out / "case.yaml").write_text(yaml.safe_dump(case, sort_keys=False), encoding="utf-8")
    (out / "lab.json").write_text(json.dumps(recording.live, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return RecordReport(out, len(columns), rows, lines, empty)


def _query_columns(
    url: str,
    signals: list[RecordedSignal],
    entities: set[str],
    recording: Recording,
    step_s: float,
    rate_window: str,
) -> tuple[dict[tuple[str, str], dict[float, float]], list[str]]:
    client = PrometheusConnect(url=url, disable_ssl=True)
    # on the step grid, so every query's samples share the same timestamps
    start = math.floor(recording.start / step_s) * step_s
    end = math.ceil(recording.end / step_s) * step_s
    columns: dict[tuple[str, str], dict[float, float]] = {}
    empty: list[str] = []
    for signal in signals:
        promql = signal.query.replace("$rate_window", rate_window)
        results = client.custom_query_range(
            promql,
            start_time=dt.datetime.fromtimestamp(start, dt.UTC),
            end_time=dt.datetime.fromtimestamp(end, dt.UTC),
            step=f"{step_s:g}s",
        )
        kept = 0
        for result in results:
            entity = (result.get("metric") or {}).get(signal.entity_label, "")
            if entity not in entities:
                continue
            samples = {float(t): float(v) for t, v in result.get("values") or []}
            samples = {t: v for t, v in samples.items() if math.isfinite(v)}  # NaN of 0/0: no sample
            if samples:
                columns.setdefault((entity, signal.name), {}).update(samples)
                kept += 1
        if not kept:
            empty.append(signal.name)
    return columns, empty


def _write_metrics(file: Path, columns: dict[tuple[str, str], dict[float, float]]) -> int:
    keys = sorted(columns)
    times = sorted({t for samples in columns.values() for t in samples})
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", *(f"{entity}/{signal}" for entity, signal in keys)])
        for t in times:
            writer.writerow([f"{t:.0f}", *(_cell(columns[key].get(t)) for key in keys)])
    return len(times)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _copy_logs(source: Path, target: Path, start: float, end: float, entities: set[str]) -> int:
    """The window's TIME<TAB>ENTITY<TAB>MESSAGE lines of every *.log under ``source``, one file each."""
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for file in sorted(Path(source).glob("*.log")):
        kept = []
        with file.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parts = line.rstrip("\n").split("\t", 2)
                if len(parts) != 3 or parts[1] not in entities:
                    continue
                when = _epoch(parts[0])
                if when is not None and start <= when <= end:
                    kept.append(line if line.endswith("\n") else line + "\n")
        if kept:
            (target / file.name).write_text("".join(kept), encoding="utf-8")
            copied += len(kept)
    return copied


def _epoch(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
