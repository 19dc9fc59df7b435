"""`rca graph migrate|status|serve`: schema migrations, health and the standalone embedded server."""

from __future__ import annotations

import argparse
import signal
import threading

from graph_schema import migrations
from graph_schema.connection import embedded_server, open_graph
from graph_schema.embedded import rotate_password
from graph_schema.model import ENTITY_LABELS, SIGNAL_LABELS, Label


def add_parser(subparsers) -> None:
    """Register `rca graph`."""
    graph = subparsers.add_parser("graph", help="graph schema, status and the embedded server")
    commands = graph.add_subparsers(dest="graph_command", metavar="ACTION", required=True)

    migrate = commands.add_parser("migrate", help="apply schema migrations (idempotent)")
    migrate.set_defaults(handler=run_migrate)

    status = commands.add_parser("status", help="print the server, the schema version applied and counts per label")
    status.set_defaults(handler=run_status)

    serve = commands.add_parser(
        "serve",
        help="run the embedded graph server standalone so several processes share it",
        description="Run the embedded ArcadeDB server in the foreground until Ctrl-C. Other rca "
        "processes with the same data directory (and no NEO4J_URI) connect to it.",
    )
    serve.add_argument("--bolt-port", type=int, help="Bolt port (default: RCA_GRAPH__BOLT_PORT, 0 = a free one)")
    serve.set_defaults(handler=run_serve)

    rotate = commands.add_parser(
        "rotate-password",
        help="give the embedded server's root a new password (the server must be stopped)",
        description="Replace the root password of the embedded graph in the data directory: the configured "
        "one (NEO4J_PASSWORD / RCA_GRAPH__PASSWORD) if set, otherwise a new random one, kept in "
        "root.password (0600) in the data directory. Takes effect at the next start; the data stays.",
    )
    rotate.set_defaults(handler=run_rotate_password)


def run_migrate(args: argparse.Namespace, settings) -> int:
    with open_graph(settings.graph) as store:
        store.check(required_version=None)
        applied = migrations.migrate(store)
        version = migrations.current_version(store)
    if applied:
        print(f"applied migrations {', '.join(map(str, applied))}; schema version {version}")
    else:
        print(f"schema already at version {version}; nothing to do")
    return 0


def run_status(args: argparse.Namespace, settings) -> int:
    with open_graph(settings.graph) as store:
        info = store.check(required_version=None)
        counts = store.counts_by_label((*ENTITY_LABELS, *SIGNAL_LABELS, Label.COVERAGE, Label.INCIDENT))
    latest = migrations.LATEST_VERSION
    state = "current" if info.schema_version >= latest else f"behind: run `rca graph migrate` (code needs {latest})"
    print(f"server:         {info.agent} at {info.address}")
    print(f"schema version: {info.schema_version} ({state})")
    for label, count in counts.items():
        print(f"  {label:12s} {count:>10,d}")
    return 0


def run_serve(args: argparse.Namespace, settings) -> int:
    graph = settings.graph
    if not graph.embedded:
        print(f"NEO4J_URI is set ({graph.uri}); there is no embedded server to run")
        return 2
    if args.bolt_port is not None:
        graph = graph.model_copy(update={"bolt_port": args.bolt_port})
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with embedded_server(graph, publish_state=True) as server:
        print(
            f"embedded graph serving {server.bolt_uri} (database {graph.database}, data {server.data_dir}); "
            "Ctrl-C stops it",
            flush=True,
        )
        while not stop.wait(1.0):
            if server.pid is None:
                break
    print("embedded graph stopped")
    return 0


def run_rotate_password(args: argparse.Namespace, settings) -> int:
    graph = settings.graph
    if not graph.embedded:
        print(f"NEO4J_URI is set ({graph.uri}); change that server's password there")
        return 2
    path = rotate_password(graph.data_dir, graph.password.get_secret_value() if graph.password else None)
    print(f"new root password for the embedded graph in {path.parent} kept in {path} (0600); used from its next start")
    return 0
