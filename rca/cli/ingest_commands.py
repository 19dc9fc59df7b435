"""`rca ingest ...`: the ingest workers, one subcommand module each, registered into this group."""

from __future__ import annotations

from rca.cli import ingest_metrics_commands, ingest_syslog_commands


def add_parser(subparsers) -> None:
    """Register `rca ingest` and its workers."""
    ingest = subparsers.add_parser("ingest", help="run an ingest worker (syslog, metrics)")
    group = ingest.add_subparsers(dest="ingest_command", metavar="WORKER", required=True)
    ingest_syslog_commands.add_parser(group)
    ingest_metrics_commands.add_parser(group)
