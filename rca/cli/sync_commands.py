"""`rca sync status|now`: the scheduled jobs' last runs, and one topology sync on demand."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from graph_schema.connection import open_graph
from ingest.jobs.scheduler import JobRunner
from ingest.jobs.self_metrics import WorkerMetrics
from ingest.jobs.status import StatusFile
from ingest.metrics.promql_templates import TemplateError
from ingest.metrics.worker import SYNC_JOB, MetricsWorker
from rca.cli.arguments import parse_time, user_error
from rca.cli.errors import UserError


def add_parser(subparsers) -> None:
    """Register `rca sync`."""
    sync = subparsers.add_parser("sync", help="scheduled jobs: their status, or one topology sync now")
    commands = sync.add_subparsers(dest="sync_command", metavar="ACTION", required=True)
    status = commands.add_parser("status", help="each job's last run, duration, changes and error")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=run_status)
    now = commands.add_parser("now", help="run the topology sync from Prometheus once")
    now.add_argument("--prometheus", metavar="URL", help="Prometheus base URL (default RCA_METRICS__PROMETHEUS_URL)")
    now.add_argument("--at", metavar="TIME", help="evaluate discovery at this time (default now)")
    now.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    now.set_defaults(handler=run_now)


def _status_file(settings) -> StatusFile:
    return StatusFile(Path(settings.sync.status_file) if settings.sync.status_file else None)


@contextlib.contextmanager
def open_metrics_worker(settings, metrics) -> Iterator[tuple[MetricsWorker, JobRunner]]:
    """The metrics worker over the checked graph and its job runner (recording to the status file); closed at the end.

    UserError when a PromQL template is bad.
    """
    runner = JobRunner(_status_file(settings), WorkerMetrics())
    with open_graph(settings.graph) as store:
        store.check()
        try:
            worker = MetricsWorker(
                store, metrics, settings.sync, grace_period_s=settings.topology.grace_period_s, runner=runner
            )
        except TemplateError as exc:
            raise UserError(str(exc)) from None
        try:
            yield worker, runner
        finally:
            worker.close()


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ") + f" ({time.time() - epoch:.0f}s ago)"


def run_status(args: argparse.Namespace, settings) -> int:
    status_file = _status_file(settings)
    try:
        jobs = status_file.load()
    except ValueError as exc:
        return user_error(str(exc))
    if args.json:
        print(json.dumps({name: vars(job) for name, job in jobs.items()}, indent=1))
        return 0
    if not jobs:
        print(f"no job has run yet (status file {status_file.path})")
        return 0
    for name, job in sorted(jobs.items()):
        state = "ok" if job.last_error is None else f"FAILING ({job.consecutive_failures} in a row)"
        print(f"{name}: {state}")
        print(f"  last run:     {_when(job.last_end)}, took {job.last_duration_s}s")
        print(f"  last success: {_when(job.last_success)}; changes {job.last_changes}")
        print(f"  runs:         {job.runs}, failures {job.failures}")
        if job.last_error:
            print(f"  error:        {job.last_error}")
        for line in job.details.get("summary", []):
            print(f"  {line}")
        for line in job.details.get("bad_input", [])[:10]:
            print(f"  bad input: {line}")
        if job.details.get("unjudged"):
            print(f"  not judged:   {job.details['unjudged']} series (too little history for their step: not observed)")
            for line in job.details.get("unjudged_series", [])[:10]:
                print(f"    {line}")
    return 0


def run_now(args: argparse.Namespace, settings) -> int:
    metrics = settings.metrics
    if args.prometheus:
        metrics = metrics.model_copy(update={"prometheus_url": args.prometheus.rstrip("/")})
    try:
        at = parse_time(args.at) if args.at else None
    except ValueError as exc:
        return user_error(str(exc))
    changes: int | None  # last_changes is None for a job that never succeeded
    with open_metrics_worker(settings, metrics) as (worker, runner):
        if args.dry_run:
            outcome = worker.sync_once(at, dry_run=True)  # not recorded: nothing was synced
            ok, error, details, changes = True, None, outcome.details, outcome.changes
        else:
            status, ok = runner.run(SYNC_JOB, lambda: worker.sync_once(at))
            error, details, changes = status.last_error, status.details, status.last_changes
    if not ok:
        print(f"rca: error: topology sync failed: {error}", file=sys.stderr)
        return 1
    verb = "would change" if args.dry_run else "changed"
    print(
        f"topology sync from {metrics.prometheus_url}: {details['entities']} entities, {details['edges']} edges; "
        f"{verb} {changes}"
    )
    for line in details["summary"]:
        print(line)
    for line in details["bad_input"]:
        print(f"  bad input: {line}")
    return 0
