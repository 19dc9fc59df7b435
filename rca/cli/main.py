"""Entry point of the `rca` command: parses flags, loads settings, dispatches to a subcommand.

Each subcommand lives in its own module under ``rca/cli/`` exposing ``add_parser(subparsers)``,
which registers its parser and sets ``handler(args, settings) -> int``. Adding a command is one
module and one line in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from graph_schema.errors import GraphError
from rca.cli import (
    ask_commands,
    bridge_commands,
    dashboard_commands,
    demo_commands,
    diagnose_commands,
    graph_commands,
    infer_commands,
    ingest_commands,
    lab_commands,
    serve_commands,
    sync_commands,
    topology_commands,
    train_commands,
)
from rca.cli.errors import UserError
from settings.root import SettingsError, describe, load_settings

COMMAND_MODULES = (
    demo_commands,
    diagnose_commands,
    graph_commands,
    topology_commands,
    ingest_commands,
    sync_commands,
    serve_commands,
    infer_commands,
    ask_commands,
    bridge_commands,
    dashboard_commands,
    train_commands,
    lab_commands,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    env_help = "\n".join(f"  {name:34s} {text}" for name, text in describe())
    parser = argparse.ArgumentParser(
        prog="rca",
        description="Root-cause analysis over a topology knowledge graph.",
        epilog=f"environment variables (also NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, RCA_CONFIG):\n{env_help}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="YAML settings file (default: $RCA_CONFIG)")
    parser.add_argument("--data-dir", type=Path, help="embedded graph's data directory (overrides RCA_GRAPH__DATA_DIR)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.add_parser(subparsers)
    return parser


def configure_logging(verbose: int) -> None:
    """Log level from the -v count (also used by the serving processes of `rca serve`)."""
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if verbose < 2:
        logging.getLogger("neo4j").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        overrides = {"graph": {"data_dir": args.data_dir}} if args.data_dir else {}
        settings = load_settings(args.config, **overrides)
        return args.handler(args, settings) or 0
    except (GraphError, SettingsError, UserError) as exc:
        print(f"rca: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (SettingsError, UserError)) else 1
    except KeyboardInterrupt:
        print("rca: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
