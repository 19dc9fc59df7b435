"""How long a request takes to reach an entity, read from log lines that carry a trace id.

Services that correlate their logs with traces (OpenTelemetry's log correlation, Spring Sleuth and
Micrometer, B3 headers, W3C `traceparent`) print the request's trace id on every line. Two
consecutive lines of one trace from two different entities bracket a hop: the caller's last line
before the call and the callee's first line on it. The time between them is the network's and the
callee's share of the request; a delay injected on an entity's network, or a CPU it cannot get,
stretches exactly the hops into it, tens to hundreds of times over, while its own latency percentiles
(measured inside the process) may show nothing. Only an entity's first line in a trace counts: a
later one follows a callee's answer back (the callee's delay, not this entity's). On TrainTicket's
network-delay faults the hop into the delayed service went from about 6 ms to a second
(docs/accuracy.md).

`TraceHops` keeps the last line and the entities of each recent trace (a bounded LRU: the oldest
traces go first) and, for an entity's first line in a trace, whose previous line came from another
entity, records the gap as a hop into this line's entity. Lines out of order (a negative gap) and
gaps longer than MAX_HOP_S are not hops. The hops of each entity are summed up per step as their
median (`series`, what `rca diagnose` judges with a case's series: kept only when asked for, as a
replay does); the syslog pipeline observes
each hop into a service or datastore into a Prometheus histogram (`rca_syslog_trace_hop_seconds`,
labelled by the entity's id and its kind) that the metrics poll reads back like any other latency
(`log_trace_hop_latency` in ingest/data/promql_signals.yaml), as an entity of that kind.
"""

from __future__ import annotations

import re
import statistics
from collections import OrderedDict

# a trace id named as one (trace_id=, TraceID:, "traceId": "...", X-B3-TraceId: ...) or a W3C traceparent
TRACE_ID = re.compile(r"(?i)\btrace[-_ ]?(?:id|parent)\W{0,4}(?:00-)?([0-9a-f]{16,32})\b")
MAX_HOP_S = 60.0  # a longer gap is not one hop of a request
MAX_TRACES = 50_000  # recent traces kept: a minute at 800 requests a second (a request's lines span well under one)
MAX_HOPS_PER_STEP = 5_000  # hops kept per entity and step for the median: beyond that the median is settled


def trace_id_of(message: str) -> str | None:
    """The trace id a line carries, lower-case; None when it names none."""
    # most lines name no trace: two substring scans spare them the expression (5 us a line on loghub's)
    if "race" not in message and "RACE" not in message:
        return None
    m = TRACE_ID.search(message)
    return m.group(1).lower() if m is not None else None


class TraceHops:
    """Hop times into each entity from consecutive lines of one trace (module docstring)."""

    def __init__(self, step_s: float, keep_series: bool = False):
        self.step_s = step_s
        # per-step hop lists for `series`: a replay's (rca diagnose) few hours of them; a live worker, which
        # hands each hop to its histogram, keeps none
        self.keep_series = keep_series
        # trace id -> (time of its last line, the entities it reached so far)
        self._last: OrderedDict[str, tuple[float, tuple[str, ...]]] = OrderedDict()
        self._hops: dict[str, dict[float, list[float]]] = {}  # entity id -> step start -> hop seconds

    def add(self, entity_id: str, at: float, message: str) -> float | None:
        """One line: the seconds of the hop into its entity, recorded, when it is one; else None."""
        trace = trace_id_of(message)
        if trace is None:
            return None
        previous = self._last.pop(trace, None)
        reached = previous[1] if previous is not None else ()
        self._last[trace] = (at, reached if entity_id in reached else (*reached, entity_id))
        if len(self._last) > MAX_TRACES:
            self._last.popitem(last=False)
        if previous is None or entity_id in reached:
            return None
        gap = at - previous[0]
        if not 0.0 <= gap <= MAX_HOP_S:
            return None
        if self.keep_series:
            step = at - at % self.step_s
            hops = self._hops.setdefault(entity_id, {}).setdefault(step, [])
            if len(hops) < MAX_HOPS_PER_STEP:
                hops.append(gap)
        return gap

    def series(self) -> dict[str, tuple[list[float], list[float]]]:
        """Entity id -> (step starts, median hop seconds), in time order: the entities hops reached (empty
        unless made with keep_series)."""
        out = {}
        for entity_id, steps in self._hops.items():
            starts = sorted(steps)
            out[entity_id] = (starts, [statistics.median(steps[s]) for s in starts])
        return out
