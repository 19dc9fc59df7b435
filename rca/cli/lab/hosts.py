"""The lab's hosts: the process groups of the services and datastores an estate places on each host.

A host has no machine of its own, so its resource figures are those of its processes, read with
psutil at every scrape: CPU seconds (a counter that, like a real host's, never goes back: the
seconds of a process that exited are kept, since rate() reads any decrease as a counter reset and a
crashed or stopped member then showed as a burst of host CPU), resident memory, the bytes its members' temp directories
hold against a nominal disk size, and the number of its processes. The supervisor serves them on its
control port's ``/metrics`` as ``lab_host_cpu_seconds_total{host}``, ``lab_host_memory_bytes{host}``,
``lab_host_disk_used_bytes{host}``, ``lab_host_disk_size_bytes{host}`` and ``lab_host_processes{host}``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import psutil
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

HOST_DISK_BYTES = 1 << 30  # the nominal disk of a lab host: a bounded disk fill of a few hundred MB shows


def pids_by_group() -> dict[int, list[int]]:
    """Every live process by its process group (a PostgreSQL server is a group of several)."""
    groups: dict[int, list[int]] = {}
    for pid in psutil.pids():
        try:
            groups.setdefault(os.getpgid(pid), []).append(pid)
        except (ProcessLookupError, PermissionError):
            continue
    return groups


def group_pids(pgids: Iterable[int], groups: dict[int, list[int]] | None = None) -> list[int]:
    """Every live process in the given process groups."""
    groups = pids_by_group() if groups is None else groups
    return [pid for pgid in pgids if pgid for pid in groups.get(pgid, [])]


def directory_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (0 when it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


ProcessKey = tuple[int, float]  # (pid, start time): pids are reused


def usage(pids: Iterable[int]) -> tuple[dict[ProcessKey, float], int]:
    """CPU seconds per process and resident bytes of these processes (the ones gone meanwhile count nothing)."""
    cpu: dict[ProcessKey, float] = {}
    rss = 0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                times = process.cpu_times()
                cpu[(pid, process.create_time())] = times.user + times.system
                rss += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return cpu, rss


class CpuCounter:
    """A host's CPU seconds as a monotonic counter: its live processes' seconds plus those of the
    processes that exited, as last read (a process' seconds since the last scrape are lost with it)."""

    def __init__(self) -> None:
        self.retired = 0.0
        self.last: dict[ProcessKey, float] = {}
        self.reported = 0.0

    def total(self, readings: dict[ProcessKey, float]) -> float:
        """The counter's value, given the live processes' CPU seconds now."""
        self.retired += sum(seconds for key, seconds in self.last.items() if key not in readings)
        self.last = dict(readings)
        # Never below the last value: when a process retires, the same seconds summed in another order can
        # come out a rounding error lower (7.130000000000001, then 7.13), which rate() reads as a counter
        # reset: the host's whole CPU time as new seconds, a burst of 0.24 cores over a 30 s window that
        # ranked a stopped datastore's host first in the live lab.
        self.reported = max(self.reported, self.retired + sum(readings.values()))
        return self.reported


class HostCollector(Collector):
    """prometheus-client collector of every host's process-group figures."""

    def __init__(
        self, hosts: Iterable[str], pgids_of: Callable[[str], list[int]], dirs_of: Callable[[str], list[Path]]
    ) -> None:
        self.hosts = list(hosts)
        self.pgids_of, self.dirs_of = pgids_of, dirs_of
        self.cpu = {host: CpuCounter() for host in self.hosts}
        self._lock = threading.Lock()  # two scrapes at once must not both retire an exited process

    def collect(self) -> Iterator:
        cpu = CounterMetricFamily("lab_host_cpu_seconds", "CPU seconds of the host's processes", labels=["host"])
        memory = GaugeMetricFamily("lab_host_memory_bytes", "resident memory of the host's processes", labels=["host"])
        disk = GaugeMetricFamily("lab_host_disk_used_bytes", "bytes in the host's temp directories", labels=["host"])
        size = GaugeMetricFamily("lab_host_disk_size_bytes", "nominal disk size of a lab host", labels=["host"])
        count = GaugeMetricFamily("lab_host_processes", "live processes of the host", labels=["host"])
        groups = pids_by_group()
        for host in self.hosts:
            pids = group_pids(self.pgids_of(host), groups)
            seconds, rss = usage(pids)
            with self._lock:
                cpu.add_metric([host], self.cpu[host].total(seconds))
            memory.add_metric([host], rss)
            disk.add_metric([host], sum(directory_bytes(d) for d in self.dirs_of(host)))
            size.add_metric([host], HOST_DISK_BYTES)
            count.add_metric([host], len(pids))
        yield from (cpu, memory, disk, size, count)
