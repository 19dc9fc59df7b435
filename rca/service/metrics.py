"""The service's own Prometheus metrics: call counts, errors by status code, Infer latency."""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

INFER_LATENCY = Histogram(
    "rca_infer_latency_seconds",
    "Wall time of Infer calls answered (any status)",
    buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24),
)
RPC_TOTAL = Counter("rca_rpc_total", "RPCs handled, by method and status code", ["method", "code"])
RPC_ERRORS = Counter(
    "rca_rpc_errors_total", "RPCs that ended with an error status, by method and code", ["method", "code"]
)
UNDECODABLE = Counter(
    "rca_rpc_undecodable_total",
    "Requests whose bytes were not a valid message of the method's request type (answered INVALID_ARGUMENT)",
    ["method"],
)
SUBGRAPH_ENTITIES = Histogram(
    "rca_infer_subgraph_entities",
    "Entities in the subgraph an Infer ranked",
    buckets=(1, 10, 50, 100, 300, 1000, 2000, 5000, 20000),
)
# multiprocess_mode: how several serving processes' values combine (ignored with one process)
GRAPH_UP = Gauge(
    "rca_graph_up", "1 while the last graph call succeeded, 0 after a failed one", multiprocess_mode="mostrecent"
)


def observe_call(method: str, code_name: str) -> None:
    """Count one finished RPC with its status code name (e.g. OK, NOT_FOUND)."""
    RPC_TOTAL.labels(method, code_name).inc()
    if code_name != "OK":
        RPC_ERRORS.labels(method, code_name).inc()


def serve_metrics(host: str, port: int, processes_dir: str | None = None) -> WSGIServer:
    """Start the /metrics HTTP endpoint on a daemon thread; returns the HTTP server (shutdown() stops it).

    With processes_dir (PROMETHEUS_MULTIPROC_DIR of the serving processes) the endpoint serves
    their metrics combined, the way prometheus_client's multiprocess mode does.
    """
    if processes_dir is None:
        server, _thread = start_http_server(port, addr=host)
        return server
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=processes_dir)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
