"""`rca ingest ...`: the ingest workers (metrics here; syslog registers itself alongside)."""

from __future__ import annotations

from rca.cli import ingest_metrics_commands


def add_parser(subparsers) -> None:
    """Register `rca ingest` and its workers."""
    ingest = subparsers.add_parser("ingest", help="run an ingest worker (metrics, ...)")
    group = ingest.add_subparsers(dest="ingest_command", metavar="SOURCE", required=True)
    ingest_metrics_commands.add_parser(group)
