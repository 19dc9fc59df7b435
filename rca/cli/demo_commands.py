"""`rca demo`: the main job on the embedded default graph.

Starts the embedded graph (or uses the configured one), applies migrations, loads the example
estate, replays a bundled incident as graph signals anchored at now, starts the RootCause
service in-process on a free port, calls Infer over a real gRPC channel and prints the ranked
root-cause paths with their evidence.
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
from rca.cli.errors import UserError
from rca.cli.topology_commands import FILE_SOURCE, print_summary

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_ESTATE = EXAMPLES / "online-boutique.yaml"
EXAMPLE_INCIDENT = EXAMPLES / "incidents" / "payments-db-config-change.yaml"


def add_parser(subparsers) -> None:
    """Register `rca demo`."""
    demo = subparsers.add_parser(
        "demo",
        help="the main job: start the graph, load the example estate, replay an incident, diagnose it over gRPC",
        description="Start the embedded graph (unless NEO4J_URI is set), migrate it, load the example estate, "
        "replay a bundled incident as graph signals, call Infer over gRPC on an in-process RootCause "
        "service and print the ranked root-cause paths with their evidence.",
    )
    demo.add_argument("--estate", type=Path, default=EXAMPLE_ESTATE, help="topology file to load (default: the example shop)")
    demo.add_argument("--incident", type=Path, default=EXAMPLE_INCIDENT,
                      help="incident file to replay (default: examples/incidents/payments-db-config-change.yaml)")
    demo.add_argument("--top-k", type=int, default=3, help="candidates to show (default 3)")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, settings) -> int:
    from rca.cli.serve_commands import default_engine
    from rca.service import incident_replay
    from rca.service.client import RootCauseClient, open_channel
    from rca.service.report import clock, format_infer
    from rca.service.server import start_server
    from rca.service.stubs import pb

    started = time.monotonic()
    snapshot = load_topology_file(args.estate)
    try:
        incident = incident_replay.load(args.incident)
    except incident_replay.IncidentFileError as exc:
        raise UserError(str(exc)) from None
    where = settings.graph.uri or f"embedded graph in {settings.graph.data_dir}"
    print(f"graph: {where}", flush=True)
    graph = settings.graph.model_copy(update={"max_retry_time_s": max(settings.service.graph_retry_s, 10.0)})
    with open_graph(graph) as store:
        store.check(required_version=None)
        migrations.migrate(store)
        plan = reconcile(
            store, snapshot, source=FILE_SOURCE, now=time.time(), grace_period_s=settings.topology.grace_period_s
        )
        print(f"loaded {args.estate.name}: " + plan.summary()[0])
        print_summary(summarize(store))

        alert_at = time.time()
        labels = {entity.id: str(entity.label) for entity in snapshot.entities}
        try:
            counts = incident_replay.replay(store, incident, alert_at, known_labels=labels)
        except incident_replay.IncidentFileError as exc:
            raise UserError(str(exc)) from None
        print(f"\nreplayed incident '{incident.name}' ({args.incident.name}): {counts['anomalies']} anomalies, "
              f"{counts['events']} log event buckets, {counts['changes']} changes written as graph signals; "
              f"alert at {clock(alert_at)} UTC")

        service = settings.service.model_copy(update={"host": "127.0.0.1", "port": 0, "metrics_port": 0, "token": None,
                                                      "tls_cert": None, "tls_key": None})
        running = start_server(service, store, default_engine(), metrics=False)
        try:
            print(f"RootCause service on {running.target}; calling Infer over gRPC ...\n", flush=True)
            client = RootCauseClient(open_channel(running.target), timeout_s=60.0)
            symptoms = [pb.Symptom(entity_name=s["entity"], family=s["family"], observed_at=alert_at + float(s.get("at", 0)))
                        for s in incident.symptoms]
            response = client.infer(pb.InferRequest(symptoms=symptoms, top_k=args.top_k))
            client.close()
        finally:
            running.stop()
    print(format_infer(response))
    if incident.root_cause:
        ranks = [c.rank for c in response.candidates if c.entity_id == incident.root_cause]
        verdict = f"ranked #{ranks[0]}" if ranks else f"not in the top {len(response.candidates)}"
        print(f"\nthe incident file's true root cause {incident.root_cause} is {verdict}")
    print(f"stored as incident {response.incident_id}; done in {time.monotonic() - started:.1f}s")
    return 0
