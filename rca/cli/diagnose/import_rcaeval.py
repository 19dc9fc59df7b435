"""RCAEval's case layout (RE1, RE2, RE3; github.com/phamquiluan/RCAEval) as case folders.

    DIR/**/<service>_<fault>/<n>/data.csv        RE1 (RE2/RE3: metrics.csv): `time` + `<service>_<metric>` columns
    DIR/**/<service>_<fault>/<n>/inject_time.txt  unix seconds of the injection

The root cause is the service in the folder name (the part before the last `_`), the fault kind
what follows it. A column `<service>_<metric>` is split at its first `_` (service names use `-`).
Families come from the metric's name: latency/duration -> latency; error/fail/5xx -> errors;
cpu/mem/disk/fs/io/thread/socket -> saturation; workload/request/throughput/network bytes -> traffic;
other columns are left out and counted. Cumulative counters (names ending in `total`) become
per-second rates.

RCAEval ships no topology with its metrics. The importer derives one: the entry service (the one
named like frontend, front-end, gateway or ui-dashboard; else the first in name order) `calls`
every other service of the case, so every service is one hop from the symptom and the ranking
rests on each service's own evidence, not on structure. The alert fires 60 s after the injection
on the entry service's latency.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path

import yaml

from rca.cli.errors import UserError

DATA_FILES = ("data.csv", "metrics.csv", "simple_metrics.csv")
ALERT_AFTER_S = 60
ENTRY = re.compile(r"(?i)^(front[-_]?end|frontend.*|.*gateway.*|.*ui-dashboard.*|web.*)$")
FAMILIES = (
    ("latency", re.compile(r"(?i)latency|duration|response[-_]?time|\brt\b")),
    ("errors", re.compile(r"(?i)error|fail|5xx|exception")),
    ("traffic", re.compile(r"(?i)workload|request|throughput|qps|rps|receive|transmit|network")),
    ("saturation", re.compile(r"(?i)cpu|mem|disk|fs|io|thread|socket|fd")),
)


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
        try:
            inject_at = float((folder / "inject_time.txt").read_text().strip())
        except ValueError:
            raise UserError(f"{folder / 'inject_time.txt'}: expected unix seconds") from None
        name = "_".join(folder.relative_to(root).parts) if folder != root else folder.name
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        services, signals, skipped = _write_metrics(data, target / "metrics.csv")
        services.add(root_cause)
        entry = next((s for s in sorted(services) if ENTRY.match(s)), sorted(services)[0])
        others = [s for s in sorted(services) if s != entry]
        topology = {
            "version": 1,
            "estate": f"RCAEval {name}",
            "services": [{"id": entry, **({"calls": others} if others else {})}, *({"id": s} for s in others)],
        }
        (target / "topology.yaml").write_text(
            "# RCAEval ships no topology: the entry service calls every other service of the case\n"
            + yaml.safe_dump(topology, sort_keys=False)
        )
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
        if skipped:
            print(f"{name}: {len(skipped)} columns of no known family left out: {', '.join(skipped[:8])}")
        written.append(target)
    return written


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_metrics(source: Path, target: Path) -> tuple[set[str], dict[str, str], list[str]]:
    with source.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or not rows[0] or rows[0][0].strip().lower() != "time":
        raise UserError(f"{source}:1: expected a header starting with 'time'")
    header = rows[0]
    keep, signals, services, skipped = [], {}, set(), []
    for index, column in enumerate(header[1:], start=1):
        service, _, metric = column.partition("_")
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
        cells = [f"{when:.3f}".rstrip("0").rstrip(".")]
        for index, _, counter in keep:
            text = row[index].strip() if index < len(row) else ""
            if counter and text:
                try:
                    value = float(text)
                except ValueError:
                    raise UserError(f"{source}:{number}:{index + 1}: {text!r} is not a number") from None
                last = previous.get(index)
                previous[index] = (when, value)
                rate = (value - last[1]) / (when - last[0]) if last and when > last[0] and value >= last[1] else None
                text = "" if rate is None or not math.isfinite(rate) else f"{rate:.6g}"
            cells.append(text)
        out_rows.append(cells)
    with target.open("w", newline="") as handle:
        csv.writer(handle).writerows(out_rows)
    return services, signals, skipped
