"""CPU and memory of every part of a running lab (`rca lab status --resources`, bench/lab_resources.py).

Each part is a recorded process group (lab.json ``processes``) plus the supervisor itself; its CPU is
measured over an interval with psutil (percent of one core, summed over the group's processes), its
memory as the group's resident set (RSS; shared pages count in each process, so a sum overstates a
little). Parts are grouped into kinds: services, datastores, exporters, Prometheus, Alertmanager,
the graph (its CLI and its JVM), the workers, `rca serve`, the bridge and the supervisor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil

from rca.cli.lab.hosts import group_pids, pids_by_group


@dataclass
class PartUsage:
    """One lab part's measured use."""

    name: str
    kind: str
    processes: int
    cpu_percent: float  # of one core
    rss_bytes: int


def kind_of(name: str, status: dict) -> str:
    """The kind of a recorded process name."""
    if name in status.get("services", {}):
        return "services"
    if name in status.get("datastores", {}):
        return "datastores"
    if name.endswith("-exporter"):
        return "exporters"
    if name in ("graph", "graph-jvm"):
        return "graph"
    return name


def measure(status: dict, interval_s: float = 2.0) -> list[PartUsage]:
    """Measure every recorded part and the supervisor over ``interval_s``."""
    groups = pids_by_group()
    parts = [(p["name"], group_pids([int(p["pgid"])], groups)) for p in status.get("processes", [])]
    parts.append(("supervisor", [int(status["supervisor_pid"])]))
    handles: dict[int, psutil.Process] = {}
    for _, pids in parts:
        for pid in pids:
            try:
                handles[pid] = psutil.Process(pid)
                handles[pid].cpu_percent(None)  # starts the interval
            except psutil.NoSuchProcess:
                continue
    time.sleep(interval_s)
    out = []
    for name, pids in parts:
        cpu, rss, alive = 0.0, 0, 0
        for pid in pids:
            process = handles.get(pid)
            if process is None:
                continue
            try:
                cpu += process.cpu_percent(None)
                rss += process.memory_info().rss
                alive += 1
            except psutil.NoSuchProcess:
                continue
        out.append(PartUsage(name, kind_of(name, status), alive, cpu, rss))
    return out


def by_kind(parts: list[PartUsage]) -> dict[str, PartUsage]:
    """Totals per kind of part."""
    totals: dict[str, PartUsage] = {}
    for part in parts:
        total = totals.setdefault(part.kind, PartUsage(part.kind, part.kind, 0, 0.0, 0))
        total.processes += part.processes
        total.cpu_percent += part.cpu_percent
        total.rss_bytes += part.rss_bytes
    return totals


def format_resources(parts: list[PartUsage]) -> str:
    """A table of every part, then the totals per kind and overall."""
    lines = [f"{'part':<28} {'kind':<14} {'procs':>5} {'CPU %':>7} {'RSS MB':>8}"]
    for part in sorted(parts, key=lambda p: (p.kind, p.name)):
        megabytes = part.rss_bytes / 2**20
        lines.append(f"{part.name:<28} {part.kind:<14} {part.processes:>5} {part.cpu_percent:>7.1f} {megabytes:>8.0f}")
    lines.append("")
    lines.append(f"{'kind (total)':<43} {'procs':>5} {'CPU %':>7} {'RSS MB':>8}")
    totals = by_kind(parts)
    for kind, total in sorted(totals.items(), key=lambda item: -item[1].cpu_percent):
        lines.append(f"{kind:<43} {total.processes:>5} {total.cpu_percent:>7.1f} {total.rss_bytes / 2**20:>8.0f}")
    cpu = sum(t.cpu_percent for t in totals.values())
    rss = sum(t.rss_bytes for t in totals.values())
    lines.append(f"{'all':<43} {sum(t.processes for t in totals.values()):>5} {cpu:>7.1f} {rss / 2**20:>8.0f}")
    return "\n".join(lines)
