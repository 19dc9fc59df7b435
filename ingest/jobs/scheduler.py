"""Scheduled jobs on APScheduler: jitter, no overlapping runs, status and metrics per run, backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.interval import IntervalTrigger

from ingest.jobs.self_metrics import WorkerMetrics
from ingest.jobs.status import JobStatus, StatusFile

log = logging.getLogger(__name__)


@dataclass
class JobOutcome:
    """What a successful run reports."""

    changes: int = 0
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class JobSpec:
    """One periodic job."""

    name: str
    work: Callable[[], JobOutcome]
    interval_s: float
    jitter_s: float = 0.0
    retry_base_s: float = 5.0  # first retry after a failed run comes this soon, then doubles


def retry_delay(consecutive_failures: int, base_s: float, cap_s: float) -> float:
    """Exponential backoff after failed runs, capped by the job's own interval."""
    return min(base_s * 2 ** max(consecutive_failures - 1, 0), cap_s)


class JobRunner:
    """Runs a job once, timing it, and records the outcome in the status file and the metrics."""

    def __init__(self, status_file: StatusFile, metrics: WorkerMetrics | None = None, clock=time.time):
        self.status_file = status_file
        self.metrics = metrics or WorkerMetrics()
        self._clock = clock
        self._status: dict[str, JobStatus] = {}

    def status(self, name: str) -> JobStatus:
        """The job's status as last recorded; re-read from the file since `rca sync now` may have run meanwhile."""
        try:
            recorded = self.status_file.load().get(name)
        except ValueError:
            recorded = None
        if recorded is not None:
            self._status[name] = recorded
        return self._status.setdefault(name, JobStatus(name))

    def run(self, name: str, work: Callable[[], JobOutcome]) -> tuple[JobStatus, bool]:
        """Run ``work``; any exception is recorded as the run's error, never raised."""
        status = self.status(name)
        status.last_start = self._clock()
        started = time.monotonic()
        try:
            outcome = work()
            ok = True
        except Exception as exc:  # noqa: BLE001 - a scheduled job must report, not die
            ok = False
            log.warning("job %s failed: %s", name, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        status.last_end = self._clock()
        status.last_duration_s = round(time.monotonic() - started, 3)
        status.runs += 1
        if ok:
            status.last_changes, status.details, status.last_error = outcome.changes, outcome.details, None
            status.last_success = status.last_end
            status.consecutive_failures = 0
        else:
            status.failures += 1
            status.consecutive_failures += 1
            status.last_error = error
        self.status_file.save(status)
        self.metrics.record(status, ok)
        return status, ok


class Schedules:
    """The periodic jobs on one background scheduler."""

    def __init__(self, runner: JobRunner, jobs: list[JobSpec]):
        self.runner = runner
        self.jobs = {job.name: job for job in jobs}
        self._idle = threading.Condition()  # notified whenever a run ends
        self._running = 0
        self.scheduler = BackgroundScheduler(timezone=UTC)
        for job in jobs:
            self.scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=job.interval_s, jitter=job.jitter_s or None),
                args=[job.name],
                id=job.name,
                name=job.name,
                max_instances=1,  # a run still going when the next is due makes the next one skip
                coalesce=True,  # runs missed while busy or suspended collapse into one
                misfire_grace_time=max(int(job.interval_s), 1),
                next_run_time=datetime.now(UTC),  # first run right away
            )

    def start(self) -> None:
        """Start the scheduler thread."""
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with ``wait`` let running jobs finish.

        APScheduler's own waiting shutdown holds its job-store lock while it joins the running jobs,
        and a job that failed reschedules its retry through that lock: both would wait for ever. So
        the scheduler stops without waiting and the runs still going are waited for here.
        """
        self.scheduler.shutdown(wait=False)
        if wait:
            with self._idle:
                self._idle.wait_for(lambda: self._running == 0)

    def _run(self, name: str) -> None:
        with self._idle:
            self._running += 1
        try:
            self._run_and_reschedule(name)
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def _run_and_reschedule(self, name: str) -> None:
        job = self.jobs[name]
        status, ok = self.runner.run(name, job.work)
        if not ok and self.scheduler.state != STATE_STOPPED:
            delay = retry_delay(status.consecutive_failures, job.retry_base_s, job.interval_s)
            when = datetime.now(UTC) + timedelta(seconds=delay)
            scheduled = self.scheduler.get_job(name)
            if scheduled is not None and scheduled.next_run_time and when < scheduled.next_run_time:
                self.scheduler.modify_job(name, next_run_time=when)
            log.info("job %s: retry in %.0fs (failure %d in a row)", name, delay, status.consecutive_failures)
