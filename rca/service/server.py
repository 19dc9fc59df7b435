"""The gRPC server: the RootCause service with health checking, reflection, TLS and bearer token."""

from __future__ import annotations

import gc
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from rca.service.auth import BearerTokenInterceptor
from rca.service.decoding import DecodeGuardInterceptor
from rca.service.graph_health import GraphHealth
from rca.service.ledger import WriteLedger
from rca.service.metrics import serve_metrics
from rca.service.servicer import RootCauseServicer
from rca.service.stubs import SERVICE_NAME, pb_grpc
from rca.service.topology_cache import TopologyCache
from settings.service import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class RunningService:
    """A started server: its bound port, the health servicer, and how to stop it."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    metrics_http: WSGIServer | None = None
    topology: TopologyCache | None = None
    servicer: RootCauseServicer | None = None
    graph_health: GraphHealth | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, grace_s: float = 2.0) -> None:
        """Stop accepting calls, let running ones finish for grace_s, then stop."""
        self.health.enter_graceful_shutdown()
        if self.graph_health is not None:
            self.graph_health.stop()
        self.server.stop(grace_s).wait()
        if self.servicer is not None:
            self.servicer.close()
        if self.topology is not None:
            self.topology.stop()
        if self.metrics_http is not None:
            self.metrics_http.shutdown()
            self.metrics_http.server_close()


def start_server(
    settings: ServiceSettings,
    store,
    engine,
    *,
    metrics: bool = True,
    similar_count: int = 3,
    ledger: WriteLedger | None = None,
    slot: int = 0,
) -> RunningService:
    """Build and start the server on settings.host:settings.port (0 = a free port).

    With a ledger of several processes this is serving process number `slot` of one `rca serve`:
    it shares the port with its siblings (SO_REUSEPORT, the kernel spreads connections over them).
    """
    # the token is checked first: a caller without it gets UNAUTHENTICATED, whatever its bytes
    interceptors: list[grpc.ServerInterceptor] = [
        *([BearerTokenInterceptor(settings.token.get_secret_value())] if settings.token else []),
        DecodeGuardInterceptor(),
    ]
    siblings = ledger is not None and ledger.processes > 1
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="rca-grpc"),
        interceptors=interceptors,
        # Only the sibling processes of one `rca serve` share a port; any other server must fail to bind.
        options=[
            ("grpc.so_reuseport", 1 if siblings else 0),
            ("grpc.max_receive_message_length", settings.max_request_bytes),
        ],
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    graph_health = GraphHealth(health_servicer, lambda: store.check(required_version=None), settings.health_probe_s)

    topology = (
        TopologyCache(
            store, settings.topology_refresh_s, settings.neighbourhoods_kept, settings.topology_full_refresh_s
        ).start()
        if settings.topology_refresh_s
        else None
    )
    servicer = RootCauseServicer(
        store,
        engine,
        settings,
        topology=topology,
        on_graph_state=graph_health.set,
        similar_count=similar_count,
        ledger=ledger,
        slot=slot,
    )
    pb_grpc.add_RootCauseServicer_to_server(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = f"{settings.host}:{settings.port}"
    if settings.tls:
        key, cert = settings.tls_key, settings.tls_cert
        assert key is not None and cert is not None, "ServiceSettings sets tls_cert and tls_key together"
        credentials = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot bind the gRPC server to {address}")
    server.start()
    # Everything loaded so far (model, rules, protobuf, grpc and torch modules) lives as long as the
    # server: move it out of the collector's sight, so the collections that every Infer's allocations
    # trigger do not traverse it again and again (about half the collector's time per call).
    gc.collect()
    gc.freeze()
    graph_health.set(True)  # `rca serve` checked the graph before starting; the probe keeps it true
    graph_health.start()
    metrics_http = serve_metrics(settings.host, settings.metrics_port) if metrics and settings.metrics_port else None
    if settings.token and not settings.tls and slot == 0:  # once per `rca serve`, not once per serving process
        log.warning(
            "a bearer token is set but gRPC on %s:%s is plaintext: the token crosses the network readable by "
            "anyone on the path; turn on TLS (--tls-cert/--tls-key or RCA_SERVICE__TLS_CERT/RCA_SERVICE__TLS_KEY)",
            settings.host,
            port,
        )
    log.info("RootCause serving on %s:%s (tls %s, token %s)", settings.host, port, settings.tls, bool(settings.token))
    return RunningService(server, port, health_servicer, metrics_http, topology, servicer, graph_health)
