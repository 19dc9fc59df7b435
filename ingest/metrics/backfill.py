"""Replay of a past window: successive polls from T1 to T2 with a progress bar."""

from __future__ import annotations

from dataclasses import dataclass, field

from tqdm import tqdm

from ingest.jobs.bad_input import BadInput
from ingest.metrics.poll import MetricsPoller


@dataclass
class BackfillReport:
    """Totals of a replay."""

    polls: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0
    written: int = 0
    seconds_per_poll: list[float] = field(default_factory=list)
    bad: BadInput = field(default_factory=BadInput)
    # Series some poll could not judge (too little history for their step), with the latest reason.
    unjudged: dict[str, str] = field(default_factory=dict)


def backfill(
    poller: MetricsPoller, start: float, end: float, step_s: float, *, progress: bool = True
) -> BackfillReport:
    """Judge every point in (start, end] by polling as if the clock stood at each step."""
    if end <= start:
        raise ValueError(f"--to ({end:.0f}) must be after --from ({start:.0f})")
    report = BackfillReport()
    stops = []
    t = start + step_s
    while t < end:
        stops.append(t)
        t += step_s
    stops.append(end)
    for now in tqdm(stops, desc="backfill", unit="poll", disable=not progress):
        polled = poller.poll(now, fresh_from=start)
        report.polls += 1
        report.opened += polled.opened
        report.updated += polled.updated
        report.closed += polled.closed
        report.written += polled.written
        report.seconds_per_poll.append(polled.duration_s)
        report.bad.counts.update(polled.bad.counts)
        for line in polled.unjudged_series:
            name, _, reason = line.partition(": ")
            report.unjudged[name] = reason
        for key, text in polled.bad.examples.items():
            report.bad.examples.setdefault(key, text)
    return report
