"""The ingest workers' own Prometheus metrics, read from their /metrics: each counter's total and its rate.

A rate needs two readings of a counter. The Health page reads every worker each time it is drawn (and
every refresh while it is open); ``Readings`` keeps each worker's readings of the last few minutes, and a
rate is taken against the oldest of them, so it covers up to ``RATE_WINDOW_S`` whichever tab read last.
Parsing and rates are pure; ``read`` fetches.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import requests
from prometheus_client.parser import text_string_to_metric_families

# the workers' metric families: the syslog worker's, the scheduled jobs' and the metrics poller's
INGEST_PREFIXES = ("rca_syslog_", "rca_job_", "rca_metrics_")
RATE_WINDOW_S = 300.0  # rates over up to the last five minutes of readings
MIN_SPAN_S = 1.0  # readings closer than this give no rate (too little time to mean anything)


@dataclass
class Reading:
    """Every ingest counter of one /metrics at one time: (name, labels) -> total."""

    at: float
    counters: dict[tuple[str, str], float] = field(default_factory=dict)


def parse(text: str, at: float) -> Reading:
    """The ingest counters of an exposition text (``_total`` samples; their ``_created`` twins are left out)."""
    reading = Reading(at)
    for family in text_string_to_metric_families(text):
        if family.type != "counter" or not family.name.startswith(INGEST_PREFIXES):
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = ", ".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                reading.counters[(family.name, labels)] = sample.value
    return reading


def read(url: str, timeout_s: float) -> Reading:
    """Fetch and parse a worker's /metrics now; raises requests' errors."""
    answer = requests.get(url, timeout=timeout_s)
    answer.raise_for_status()
    return parse(answer.text, time.time())


def counter_rows(newer: Reading, older: Reading | None) -> list[dict]:
    """One row per counter: its total and its rate per second since ``older`` (None without one, or when the
    counter went down: the worker restarted in between)."""
    rows = []
    for (name, labels), total in sorted(newer.counters.items()):
        rate = None
        if older is not None and newer.at - older.at >= MIN_SPAN_S:
            before = older.counters.get((name, labels), 0.0)
            if total >= before:
                rate = round((total - before) / (newer.at - older.at), 3)
        rows.append({"counter": name.removeprefix("rca_"), "labels": labels, "total": total, "per second": rate})
    return rows


class Readings:
    """The last RATE_WINDOW_S of readings per worker URL, shared by every tab of the dashboard."""

    def __init__(self) -> None:
        self._by_url: dict[str, deque[Reading]] = {}
        self._lock = threading.Lock()

    def add(self, url: str, reading: Reading) -> Reading | None:
        """Keep ``reading``; return the oldest kept reading at least MIN_SPAN_S before it (None if there is none)."""
        with self._lock:
            kept = self._by_url.setdefault(url, deque())
            while kept and (reading.at - kept[0].at > RATE_WINDOW_S or kept[0].at > reading.at):
                kept.popleft()
            oldest = kept[0] if kept and reading.at - kept[0].at >= MIN_SPAN_S else None
            kept.append(reading)
            return oldest
