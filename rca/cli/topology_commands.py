"""`rca topology load|show|schema`: reconcile a declarative topology file and look at the result."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from graph_schema.connection import open_graph
from graph_schema.topology_view import EntityNotFound, neighbourhood, summarize
from ingest.topology.file import TopologyFileError, load_topology_file, topology_schema
from ingest.topology.reconcile import reconcile

FILE_SOURCE = "topology-file"


def add_parser(subparsers) -> None:
    """Register `rca topology`."""
    topology = subparsers.add_parser("topology", help="load and show the declarative topology")
    commands = topology.add_subparsers(dest="topology_command", metavar="ACTION", required=True)

    load = commands.add_parser(
        "load",
        help="reconcile a topology YAML file into the graph",
        description="Create and update what the file holds; mark stale what it no longer holds, and "
        "retire (delete) what has been stale longer than the grace period. Idempotent; one transaction.",
    )
    load.add_argument("file", type=Path, help="topology YAML file (see `rca topology schema`)")
    load.add_argument(
        "--source", default=FILE_SOURCE, help=f"source name recorded on what it asserts (default {FILE_SOURCE})"
    )
    load.add_argument(
        "--grace",
        type=float,
        metavar="SECONDS",
        help="grace period before stale entities are retired (default RCA_TOPOLOGY__GRACE_PERIOD_S)",
    )
    load.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    load.set_defaults(handler=run_load)

    show = commands.add_parser("show", help="print the estate summary, or the neighbourhood of one entity")
    show.add_argument("entity", nargs="?", help="entity id or name; without it, the whole estate's summary")
    show.add_argument("--hops", type=int, default=1, help="neighbourhood radius (1-6, default 1)")
    show.set_defaults(handler=run_show)

    schema = commands.add_parser("schema", help="print the topology file's JSON Schema")
    schema.set_defaults(handler=run_schema)


def run_load(args: argparse.Namespace, settings) -> int:
    try:
        snapshot = load_topology_file(args.file)
    except TopologyFileError as exc:
        print(f"rca: error: {exc}")
        return 2
    grace = settings.topology.grace_period_s if args.grace is None else args.grace
    with open_graph(settings.graph) as store:
        store.check()
        plan = reconcile(
            store, snapshot, source=args.source, now=time.time(), grace_period_s=grace, dry_run=args.dry_run
        )
    verb = "would change" if args.dry_run else ("changed" if plan.changed else "already up to date")
    print(f"{args.file}: {len(snapshot.entities)} entities, {len(snapshot.edges)} edges; {verb}")
    for line in plan.summary():
        print(line)
    return 0


def run_show(args: argparse.Namespace, settings) -> int:
    with open_graph(settings.graph) as store:
        store.check()
        if args.entity is None:
            print_summary(summarize(store))
            return 0
        try:
            view = neighbourhood(store, args.entity, args.hops)
        except (EntityNotFound, ValueError) as exc:
            print(f"rca: error: {exc}")
            return 2
    print(f"{view.label} {view.id} ({view.name}): {len(view.edges)} edges within {view.hops} hop(s)")
    for edge in view.edges:
        stale = "  [stale]" if edge.status == "stale" else ""
        print(
            f"  {edge.source_label:9s} {edge.source_id:28s} -{edge.type}-> "
            f"{edge.target_label:9s} {edge.target_id}{stale}"
        )
    return 0


def print_summary(summary) -> None:
    """Print an estate summary readably."""
    counts = ", ".join(f"{count} {label.lower()}s" for label, count in summary.entities.items())
    print(f"estate: {counts}" + (f" ({summary.stale_entities} stale)" if summary.stale_entities else ""))
    print("edges:  " + ", ".join(f"{count} {rel}" for rel, count in sorted(summary.edges.items())))
    print("services (instances on hosts -> what they call or depend on):")
    for service in sorted(summary.calls):
        hosts = ",".join(sorted(summary.hosts_of.get(service, ()))) or "-"
        calls = ", ".join(sorted(set(summary.calls[service]))) or "-"
        print(f"  {service:16s} {summary.instances.get(service, 0)} on {hosts:24s} -> {calls}")


def run_schema(args: argparse.Namespace, settings) -> int:
    print(json.dumps(topology_schema(), indent=2))
    return 0
