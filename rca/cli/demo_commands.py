"""`rca demo`: the main job on the embedded default graph.

Starts the embedded graph (or uses the configured one), applies migrations, loads the example
estate, replays a bundled incident anchored at now (its syslog lines through the syslog ingest,
its metric series through the metrics poll's anomaly detector; rca/cli/demo/replay.py), starts
the RootCause service in-process on a free port, calls Infer over a real gRPC channel and prints
the ranked root-cause paths with their evidence; then asks the service one question about the
incident in plain English (Ask) and prints the answer.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC
from pathlib import Path

from graph_schema import migrations
from graph_schema.connection import open_graph
from graph_schema.topology_view import summarize
from ingest.topology.file import load_topology_file
from ingest.topology.reconcile import reconcile
from rca.cli.arguments import positive_int
from rca.cli.dashboard_commands import url_of
from rca.cli.errors import UserError
from rca.cli.topology_commands import FILE_SOURCE, print_summary
from rca.service.report import clock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_ESTATE = EXAMPLES / "online-boutique.yaml"
EXAMPLE_INCIDENT = EXAMPLES / "incidents" / "payments-db-config-change.yaml"
# Asked over gRPC (Ask) once the incident is diagnosed, about the moment of its alert.
DEMO_QUESTION = "what changed in the last hour"


def add_parser(subparsers) -> None:
    """Register `rca demo`."""
    demo = subparsers.add_parser(
        "demo",
        help="the main job: start the graph, load the example estate, replay an incident, diagnose it over gRPC",
        description="Start the embedded graph (unless NEO4J_URI is set), migrate it, load the example estate, "
        "replay a bundled incident (syslog lines through the syslog ingest, metric series through the anomaly "
        "detector), call Infer over gRPC on an in-process RootCause "
        "service and print the ranked root-cause paths with their evidence; then ask the service one question "
        f'about the incident in plain English ("{DEMO_QUESTION}") and print the answer.',
    )
    demo.add_argument(
        "--estate", type=Path, default=EXAMPLE_ESTATE, help="topology file to load (default: the example shop)"
    )
    demo.add_argument(
        "--incident",
        type=Path,
        default=EXAMPLE_INCIDENT,
        help="incident file to replay (default: examples/incidents/payments-db-config-change.yaml)",
    )
    demo.add_argument("--top-k", type=positive_int, default=3, help="candidates to show (default 3)")
    demo.add_argument(
        "--dashboard",
        action="store_true",
        help="then keep the graph and the service running and start the incident dashboard on them until Ctrl-C "
        "(address and port: RCA_DASHBOARD__ADDRESS, RCA_DASHBOARD__PORT; default http://127.0.0.1:8501)",
    )
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, settings) -> int:
    from rca.cli.demo import incident as demo_incident
    from rca.cli.demo import replay as demo_replay
    from rca.cli.local_service import local_root_cause
    from rca.service.ask_report import format_ask
    from rca.service.report import format_infer
    from rca.service.stubs import pb

    started = time.monotonic()
    snapshot = load_topology_file(args.estate)
    try:
        incident = demo_incident.load(args.incident)
    except demo_incident.IncidentFileError as exc:
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
        print(
            f"\nreplaying incident '{incident.name}' ({args.incident.name}); alert at {clock(alert_at)} UTC", flush=True
        )
        try:
            logs = demo_replay.replay_logs(store, incident, alert_at, settings.syslog)
            print_log_replay(logs)
            metrics = demo_replay.replay_metrics(store, incident, alert_at, settings.metrics)
            print_metric_replay(metrics)
        except (demo_incident.IncidentFileError, demo_replay.ReplayFailed) as exc:
            raise UserError(str(exc)) from None

        with local_root_cause(settings, store) as (client, running):
            print(f"\nRootCause service on {running.target}; calling Infer over gRPC ...\n", flush=True)
            symptoms = [
                pb.Symptom(entity_name=s["entity"], family=s["family"], observed_at=alert_at + float(s.get("at", 0)))
                for s in incident.symptoms
            ]
            response = client.infer(pb.InferRequest(symptoms=symptoms, top_k=args.top_k))
            question = pb.AskRequest(question=DEMO_QUESTION, now=alert_at, time_zone="UTC")
            answer = client.stub.Ask(question, timeout=client.timeout_s, metadata=client.metadata)
            print(format_infer(response))
            if incident.root_cause:
                ranks = [c.rank for c in response.candidates if c.entity_id == incident.root_cause]
                verdict = f"ranked #{ranks[0]}" if ranks else f"not in the top {len(response.candidates)}"
                print(f"\nthe incident file's true root cause {incident.root_cause} is {verdict}")
            print(f"stored as incident {response.incident_id}")
            print(f'\nasking the service (Ask): "{DEMO_QUESTION}"\n{format_ask(answer, UTC)}')
            print(f"done in {time.monotonic() - started:.1f}s")
            if args.dashboard:  # the graph and the service stay up for it until Ctrl-C
                return open_dashboard(args, settings, store, running.target, response.incident_id)
    dashboard = settings.dashboard
    print(
        "\nto see this incident in the dashboard: `rca demo --dashboard` keeps the graph and the service running "
        f"and opens it on {url_of(dashboard.address, dashboard.port, 'incident?id=' + response.incident_id)}"
    )
    return 0


def open_dashboard(args: argparse.Namespace, settings, store, target: str, incident_id: str) -> int:
    """Run the dashboard on the demo's graph and service until Ctrl-C (rca/cli/dashboard_commands.py)."""
    from rca.cli import dashboard_commands

    dashboard = settings.dashboard
    graph_uri = store.uri if settings.graph.embedded else None  # an external graph is configured for it already
    env = dashboard_commands.child_env(args, target=target, graph_uri=graph_uri, service_metrics_url="")
    print(
        f"\ndashboard on {url_of(dashboard.address, dashboard.port, 'incident?id=' + incident_id)} "
        "(the demo incident); Ctrl-C stops the dashboard, the service and the graph",
        flush=True,
    )
    return dashboard_commands.serve(dashboard.address, dashboard.port, env)


def print_log_replay(logs) -> None:
    """What the syslog stages did: lines parsed, templates mined and classified, rows written."""
    formats = ", ".join(f"{n} {fmt}" for fmt, n in logs.parsed.items())
    print(
        f"syslog ingest: {logs.lines} lines sent, parsed {sum(logs.parsed.values())} ({formats}), "
        f"{logs.dead_lettered} dead-lettered; {len(logs.templates)} templates mined:"
    )
    for kind, text in logs.templates:
        print(f"  {kind:<16} {text}")
    print(f"  -> {logs.events_written} :Event buckets and {logs.changes_written} :Change nodes written")


def print_metric_replay(metrics) -> None:
    """What the metrics stages did: series judged, anomalies found with onset against the injected change."""
    print(
        f"metrics: {metrics.series} series, {metrics.samples} samples, judged by the anomaly detector in "
        f"{metrics.polls} polls {metrics.poll_interval_s:.0f} s apart; {len(metrics.anomalies)} anomalies:"
    )
    for a in metrics.anomalies:
        c = a.change
        injected = (
            f" (change injected {clock(a.injected_at)})" if a.injected_at is not None else " (no change injected)"
        )
        ended = f", ended {clock(c.end)}" if c.end is not None else ", open"
        print(
            f"  {a.entity_id:<18} {a.signal:<20} {c.direction} from {clock(c.onset)}{injected}{ended}; "
            f"score {c.score:.1f}, value {c.value:.3g} vs baseline {c.baseline:.3g}"
        )
    for problem in metrics.bad_input:
        print(f"  bad input: {problem}")
