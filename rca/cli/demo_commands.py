"""`rca demo`: the main job on the embedded default graph.

For now: start the embedded graph (or use the configured one), apply migrations, load the
example estate and print its topology summary.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from graph_schema import migrations
from graph_schema.connection import open_graph
from graph_schema.topology_view import summarize
from ingest.topology_file import load_topology_file
from ingest.topology_reconcile import reconcile
from rca.cli.topology_commands import FILE_SOURCE, print_summary

EXAMPLE_ESTATE = Path(__file__).resolve().parents[2] / "examples" / "online-boutique.yaml"


def add_parser(subparsers) -> None:
    """Register `rca demo`."""
    demo = subparsers.add_parser(
        "demo",
        help="the main job: start the graph, load the example estate, print its summary",
        description="Start the embedded graph (unless NEO4J_URI is set), migrate it, load the example "
        "estate and print its topology summary.",
    )
    demo.add_argument("--estate", type=Path, default=EXAMPLE_ESTATE, help="topology file to load (default: the example shop)")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, settings) -> int:
    started = time.monotonic()
    snapshot = load_topology_file(args.estate)
    where = settings.graph.uri or f"embedded graph in {settings.graph.data_dir}"
    print(f"graph: {where}")
    with open_graph(settings.graph) as store:
        store.check(required_version=None)
        migrations.migrate(store)
        plan = reconcile(
            store, snapshot, source=FILE_SOURCE, now=time.time(), grace_period_s=settings.topology.grace_period_s
        )
        print(f"loaded {args.estate.name}: " + plan.summary()[0])
        print_summary(summarize(store))
    print(f"done in {time.monotonic() - started:.1f}s")
    return 0
