"""`rca demo`: the whole flow on one machine — graph, estate, a replayed incident, Infer over gRPC."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from graph_schema import migrations
from graph_schema.connection import open_graph

DEFAULT_INCIDENT = Path(__file__).resolve().parents[2] / "examples" / "incidents" / "payments-db-config-change.yaml"


def add_parser(subparsers) -> None:
    """Register `rca demo`."""
    demo = subparsers.add_parser(
        "demo",
        help="start the embedded graph, load the example estate, replay an incident and diagnose it over gRPC",
        description="Starts (or reuses) the embedded graph, loads the example estate, replays a bundled "
        "incident as graph signals anchored at now, starts the RootCause service in-process on a free "
        "port, calls Infer over a real gRPC channel and prints the ranked root-cause paths with evidence.",
    )
    demo.add_argument("--incident", type=Path, default=DEFAULT_INCIDENT, help="incident file to replay "
                      f"(default: {DEFAULT_INCIDENT.relative_to(DEFAULT_INCIDENT.parents[2])})")
    demo.add_argument("--top-k", type=int, default=3, help="candidates to show (default 3)")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, settings) -> int:
    from rca.cli.errors import UserError
    from rca.cli.serve_commands import default_engine
    from rca.service import incident_replay
    from rca.service.client import RootCauseClient, open_channel
    from rca.service.report import clock, format_infer
    from rca.service.server import start_server
    from rca.service.stubs import pb

    try:
        incident = incident_replay.load(args.incident)
    except incident_replay.IncidentFileError as exc:
        raise UserError(str(exc)) from None
    print("starting the graph (the embedded server takes a few seconds the first time) ...", flush=True)
    graph = settings.graph.model_copy(update={"max_retry_time_s": settings.service.graph_retry_s})
    with open_graph(graph) as store:
        store.check(required_version=None)
        migrations.migrate(store)
        print(f"graph ready at {store.uri}", flush=True)
        alert_at = time.time()
        try:
            counts = incident_replay.replay(store, incident, alert_at)
        except incident_replay.IncidentFileError as exc:
            raise UserError(str(exc)) from None
        print(f"loaded the example estate: {counts['entities']} entities, {counts['edges']} edges")
        print(f"replayed incident '{incident.name}': {counts['anomalies']} anomalies, {counts['events']} log "
              f"event buckets, {counts['changes']} changes; alert at {clock(alert_at)} UTC")
        service = settings.service.model_copy(update={"port": 0, "metrics_port": 0, "token": None,
                                                      "tls_cert": None, "tls_key": None, "host": "127.0.0.1"})
        running = start_server(service, store, default_engine(), metrics=False)
        try:
            print(f"RootCause service listening on {running.target}; calling Infer over gRPC ...\n", flush=True)
            client = RootCauseClient(open_channel(running.target), timeout_s=30.0)
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
    print(f"stored as incident {response.incident_id} (rca infer / GetIncident can read it back)")
    return 0
