"""Metrics of several serving processes, served combined by the supervisor (prometheus_client multiprocess mode)."""

from __future__ import annotations

import multiprocessing
import os
import urllib.request

from graph_schema.embedded import free_port


def _serve_some_calls(calls: int, graph_up: int) -> None:
    from rca.service import metrics  # imported here, with PROMETHEUS_MULTIPROC_DIR set, as in a serving process

    for _ in range(calls):
        metrics.observe_call("Infer", "OK")
        metrics.INFER_LATENCY.observe(0.01)
    metrics.GRAPH_UP.set(graph_up)


def test_the_supervisor_serves_the_processes_metrics_combined(tmp_path, monkeypatch):
    from rca.service.metrics import serve_metrics

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    context = multiprocessing.get_context("spawn")
    for calls, graph_up in ((3, 0), (4, 1)):  # the later process saw the graph up
        child = context.Process(target=_serve_some_calls, args=(calls, graph_up))
        child.start()
        child.join(60)
        assert child.exitcode == 0
    port = free_port()
    server = serve_metrics("127.0.0.1", port, processes_dir=str(tmp_path))
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'rca_rpc_total{code="OK",method="Infer"} 7.0' in text
    assert "rca_infer_latency_seconds_count 7.0" in text
    assert "rca_graph_up 1.0" in text  # the most recent value, not the minimum
    assert os.listdir(tmp_path)  # the values came from the processes' files
