"""`rca serve`: the RootCause gRPC service over the configured graph."""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import stat
import threading
from pathlib import Path

from graph_schema.connection import open_graph

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    """Register `rca serve`."""
    serve = subparsers.add_parser(
        "serve",
        help="run the RootCause gRPC service (Infer, Feedback, GetIncident, ListIncidents)",
        description="Serve gRPC with health checking and reflection, and Prometheus metrics on "
        "--metrics-port. Flags override the RCA_SERVICE__* settings.",
    )
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="gRPC port (default 50051; 0 picks a free one)")
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain (with --tls-key turns TLS on)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key")
    serve.add_argument(
        "--token-file", type=Path, help="file holding the bearer token clients must send (or RCA_SERVICE__TOKEN)"
    )
    serve.add_argument("--workers", type=int, help="threads serving calls, per process (default 8)")
    serve.add_argument(
        "--processes", type=int, help="serving processes sharing the port, e.g. one per CPU core (default 1)"
    )
    serve.add_argument("--metrics-port", type=int, help="Prometheus /metrics port (default 9464, 0 = off)")
    serve.set_defaults(handler=run_serve)


def service_settings(args: argparse.Namespace, settings):
    """The service section with the command-line flags applied (validated again)."""
    from rca.cli.errors import UserError
    from settings.service import ServiceSettings

    update = {
        key: value
        for key, value in {
            "host": args.host,
            "port": args.port,
            "tls_cert": args.tls_cert,
            "tls_key": args.tls_key,
            "workers": args.workers,
            "processes": args.processes,
            "metrics_port": args.metrics_port,
        }.items()
        if value is not None
    }
    if getattr(args, "token_file", None):
        try:
            update["token"] = args.token_file.read_text().strip()
        except OSError as exc:
            raise UserError(f"--token-file: cannot read {args.token_file}: {exc.strerror}") from None
        warn_if_others_can_read(args.token_file, "--token-file")
    merged = {**settings.service.model_dump(), **update}
    if merged.get("token") is not None and not isinstance(merged["token"], str):
        merged["token"] = merged["token"].get_secret_value()
    try:
        service = ServiceSettings(**merged)
    except ValueError as exc:
        raise UserError(f"service settings: {exc}") from None
    for path in (service.tls_cert, service.tls_key):
        if path is not None and not path.is_file():
            raise UserError(f"TLS file {path} does not exist")
    if service.tls_key is not None:
        warn_if_others_can_read(service.tls_key, "TLS key")
    return service


def warn_if_others_can_read(path: Path, what: str) -> bool:
    """Log a warning when a secret's file is open to its group or to others; True when it is."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return False
    log.warning(
        "%s %s is open to other users (mode %04o): whoever reads it can call the service as you; chmod 600 %s",
        what,
        path,
        mode,
        path,
    )
    return True


def default_engine(settings=None):
    """The ranking engine the service uses: the rankers composed with the active model version, or without
    a model when model serving is turned off."""
    from rca import fast

    fast.use(settings.service.fast_paths if settings is not None else True)
    model = settings.model if settings is not None else None
    if model is not None and not model.enabled:
        from rca.rank.engine import engine_without_model

        return engine_without_model()
    from rca.cli.errors import UserError
    from rca.rank.engine import model_engine
    from rca.rank.gnn.artifact import ArtifactError

    try:
        return model_engine(model.dir if model else None, threads=model.threads if model else 1)
    except ArtifactError as exc:
        raise UserError(f"model: {exc}") from None


def serving_graph_settings(settings, service):
    """The graph settings a serving process uses: retried only for service.graph_retry_s.

    A graph outage must answer UNAVAILABLE quickly rather than hold the caller for the full retry time.
    """
    return settings.graph.model_copy(update={"max_retry_time_s": service.graph_retry_s})


def run_serve(args: argparse.Namespace, settings) -> int:
    service = service_settings(args, settings)
    with open_graph(serving_graph_settings(settings, service)) as store:
        store.check()

        def announce(port: int) -> None:
            scheme = "TLS" if service.tls else "plaintext"
            metrics = (
                f", metrics on http://{service.host}:{service.metrics_port}/metrics" if service.metrics_port else ""
            )
            processes = f" in {service.processes} processes" if service.processes > 1 else ""
            print(
                f"RootCause serving {scheme} gRPC on {service.host}:{port}{processes} with graph {store.uri}{metrics}; "
                "Ctrl-C stops it",
                flush=True,
            )

        if service.processes > 1:
            code = _serve_in_processes(settings, service, store, args.verbose, announce)
        else:
            code = _serve_in_this_process(settings, service, store, announce)
    print("RootCause stopped")
    return code


def _serve_in_processes(settings, service, store, verbose: int, announce) -> int:
    from rca.cli.errors import UserError
    from rca.service import supervisor

    start = functools.partial(start_serving_process, settings, store.uri, store.user, verbose)
    try:
        return supervisor.serve(service, start, announce)
    except supervisor.StartFailed as exc:
        raise UserError(str(exc)) from None


def start_serving_process(settings, uri: str, user: str, verbose: int, service, ledger, slot: int):
    """One serving process of `rca serve --processes N` (run there by the supervisor): its RootCause
    server on the shared port; returns the function that stops it. Module-level, so the spawned
    process can unpickle it."""
    from graph_schema.store import GraphStore
    from rca.cli.errors import UserError
    from rca.cli.main import configure_logging
    from rca.service.server import start_server
    from rca.service.supervisor import StartFailed

    configure_logging(verbose)
    try:
        store = GraphStore.connect(serving_graph_settings(settings, service), uri=uri, user=user)
        running = start_server(
            service,
            store,
            default_engine(settings),
            metrics=False,
            similar_count=settings.model.similar_incidents,
            ledger=ledger,
            slot=slot,
        )
    except UserError as exc:
        raise StartFailed(str(exc)) from None

    def stop() -> None:
        running.stop()
        store.close()

    return stop


def _serve_in_this_process(settings, service, store, announce) -> int:
    from rca.service.server import start_server

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    running = start_server(service, store, default_engine(settings), similar_count=settings.model.similar_incidents)
    announce(running.port)
    stop.wait()
    running.stop()
    return 0
