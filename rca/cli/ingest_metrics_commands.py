"""`rca ingest metrics`: the scheduled metrics poll and topology sync, or a backfill of a past window."""

from __future__ import annotations

import argparse
import signal
import threading
import time

from ingest.jobs.scheduler import JobRunner
from ingest.metrics.backfill import backfill
from ingest.metrics.worker import MetricsWorker
from rca.cli.arguments import parse_time, user_error
from rca.cli.sync_commands import open_metrics_worker


def add_parser(group) -> None:
    """Register `rca ingest metrics` under the `ingest` group."""
    metrics = group.add_parser(
        "metrics",
        help="poll Prometheus for anomalies (every 30 s) and sync topology (every 5 min)",
        description="Run the metrics poll and the topology sync on a scheduler until Ctrl-C, or with "
        "--from/--to replay a past window (anomalies only) with a progress bar.",
    )
    metrics.add_argument(
        "--prometheus", metavar="URL", help="Prometheus base URL (default RCA_METRICS__PROMETHEUS_URL)"
    )
    metrics.add_argument(
        "--from", dest="start", metavar="TIME", help="backfill start: ISO 8601, epoch seconds or now-2h"
    )
    metrics.add_argument("--to", dest="end", metavar="TIME", help="backfill end (default now)")
    metrics.add_argument("--no-sync", action="store_true", help="run the metrics poll only")
    metrics.add_argument("--no-poll", action="store_true", help="run the topology sync only")
    metrics.add_argument("--exporter-port", type=int, help="port of the worker's /metrics (0: off)")
    metrics.set_defaults(handler=run_metrics)


def _settings(args, settings):
    metrics = settings.metrics
    if args.prometheus:
        metrics = metrics.model_copy(update={"prometheus_url": args.prometheus.rstrip("/")})
    if args.exporter_port is not None:
        metrics = metrics.model_copy(update={"exporter_port": args.exporter_port})
    return metrics


def run_metrics(args: argparse.Namespace, settings) -> int:
    metrics = _settings(args, settings)
    if args.end and not args.start:
        return user_error("--to needs --from")
    try:
        start = parse_time(args.start) if args.start else None
        end = parse_time(args.end) if args.end else time.time()
    except ValueError as exc:
        return user_error(str(exc))
    if start is not None and end <= start:
        return user_error(f"--to must be after --from (got {args.start!r} .. {args.end or 'now'!r})")
    with open_metrics_worker(settings, metrics) as (worker, runner):
        if start is not None:
            return _backfill(worker, start, end, metrics.backfill_step_s)
        return _serve(worker, runner, metrics, poll=not args.no_poll, sync=not args.no_sync)


def _backfill(worker: MetricsWorker, start: float, end: float, step_s: float) -> int:
    worker.poller.restore_open()
    report = backfill(worker.poller, start, end, step_s)
    per_poll = sum(report.seconds_per_poll) / max(report.polls, 1)
    print(
        f"backfill {start:.0f}..{end:.0f}: {report.polls} polls ({per_poll:.2f} s each), "
        f"{report.opened} anomalies opened, {report.updated} updated, {report.closed} closed, "
        f"{report.written} rows written"
    )
    for line in report.bad.problems():
        print(f"  bad input: {line}")
    if report.unjudged:
        print(f"  {len(report.unjudged)} series not judged (too little history for their step; not observed):")
        for name, reason in sorted(report.unjudged.items())[:20]:
            print(f"    {name}: {reason}")
    return 0


def _serve(worker: MetricsWorker, runner: JobRunner, metrics, *, poll: bool, sync: bool) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = runner.metrics.serve(metrics.exporter_port, metrics.exporter_address) if metrics.exporter_port else None
    schedules = worker.schedules(poll=poll, sync=sync)
    schedules.start()
    where = f"; own metrics on http://{metrics.exporter_address}:{metrics.exporter_port}/metrics" if server else ""
    print(
        f"metrics worker polling {metrics.prometheus_url} (jobs: {', '.join(schedules.jobs)}){where}; Ctrl-C stops it",
        flush=True,
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        schedules.shutdown(wait=True)
        if server is not None:
            server.shutdown()
    print("metrics worker stopped")
    return 0
