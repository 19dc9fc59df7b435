"""The small estate of the metrics integration tests, as OpenMetrics history with an injected fault.

frontend -> checkout -> orders-db (Datastore), checkout -> payments, frontend -> catalog ->
catalog-cache, frontend -> legacy (whose series stop 50 minutes before the end). At FAULT the
orders-db server latency steps up; two minutes later the error ratio of its caller checkout rises.
Traffic follows a daily cycle with Poisson noise; latencies wobble.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import lognorm

from tests.support.metrics_synthetic import SeriesSpec, counter_from_rate, daily_cycle, write_openmetrics

STEP = 15.0
HOURS = 3.0
BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)
EDGES = {  # (client, server): (requests per second, median latency s)
    ("frontend", "checkout"): (40.0, 0.030),
    ("frontend", "catalog"): (80.0, 0.015),
    ("frontend", "legacy"): (5.0, 0.050),
    ("checkout", "orders-db"): (60.0, 0.008),
    ("checkout", "payments"): (20.0, 0.040),
    ("catalog", "catalog-cache"): (150.0, 0.002),
}
PODS = {  # pod: (service, node)
    "frontend-6d9f-a1": ("frontend", "node-1"),
    "checkout-7c8b-b1": ("checkout", "node-1"),
    "checkout-7c8b-b2": ("checkout", "node-2"),
    "payments-5f4d-c1": ("payments", "node-2"),
    "catalog-9a7e-d1": ("catalog", "node-3"),
    "legacy-1b2c-e1": ("legacy", "node-3"),
}
NODES = ("node-1", "node-2", "node-3")


@dataclass(frozen=True)
class Estate:
    """Times of the generated history."""

    start: float
    end: float
    fault: float
    errors_from: float
    legacy_stops: float


def build(path: Path, end: float, seed: int = 7) -> Estate:
    """Write the estate's history ending at ``end`` (aligned to the step) to ``path``."""
    rng = np.random.default_rng(seed)
    end = float(np.floor(end / STEP) * STEP)
    ts = np.arange(end - HOURS * 3600, end + STEP / 2, STEP)
    estate = Estate(ts[0], end, fault=end - 40 * 60, errors_from=end - 38 * 60, legacy_stops=end - 50 * 60)
    specs: list[SeriesSpec] = []
    for (client, server), (rps, median) in EDGES.items():
        rate = rps * daily_cycle(ts, 0.3)
        labels = {"client": client, "server": server}
        if server == "orders-db":
            labels["connection_type"] = "database"
        count_inc = rng.poisson(rate * STEP).astype(float)
        err_ratio = np.full(len(ts), 0.004)
        if server == "checkout":
            err_ratio = np.where(ts >= estate.errors_from, 0.12, err_ratio)
        failed_inc = rng.binomial(count_inc.astype(int), err_ratio).astype(float)
        med = median * daily_cycle(ts, 0.1) * np.exp(rng.normal(0, 0.05, len(ts)))
        if server == "orders-db":
            med = np.where(ts >= estate.fault, med + 0.120, med)
        alive = ts < estate.legacy_stops if server == "legacy" else np.ones(len(ts), bool)
        mask = np.where(alive, 1.0, np.nan)
        specs.append(SeriesSpec("traces_service_graph_request_total", labels, np.cumsum(count_inc) * mask))
        specs.append(SeriesSpec("traces_service_graph_request_failed_total", labels, np.cumsum(failed_inc) * mask))
        for le in (*BUCKETS, float("inf")):
            share = 1.0 if le == float("inf") else lognorm.cdf(le, s=0.6, scale=med)
            bucket = np.cumsum(count_inc * share)
            specs.append(
                SeriesSpec(
                    "traces_service_graph_request_server_seconds_bucket",
                    {**labels, "le": "+Inf" if le == float("inf") else f"{le:g}"},
                    bucket * mask,
                )
            )
    for pod, (service, node) in PODS.items():
        mask = np.where(ts < estate.legacy_stops, 1.0, np.nan) if service == "legacy" else np.ones(len(ts))
        specs.append(SeriesSpec("kube_pod_info", {"pod": pod, "node": node, "namespace": "shop"}, mask))
        specs.append(SeriesSpec("kube_pod_labels", {"pod": pod, "label_app": service, "namespace": "shop"}, mask))
    for node in NODES:
        idle = np.clip(0.7 * daily_cycle(ts, 0.05) + rng.normal(0, 0.01, len(ts)), 0, 1)
        specs.append(
            SeriesSpec(
                "node_cpu_seconds_total",
                {"instance": f"{node}:9100", "cpu": "0", "mode": "idle"},
                np.cumsum(idle * STEP),
            )
        )
    # bad input for the accounting test: non-finite samples, a raw counter with a reset, unmapped labels
    weird = 1.0 + rng.normal(0, 0.01, len(ts))
    weird[::40] = np.nan
    weird[5::40] = np.inf
    specs.append(SeriesSpec("weird_gauge", {"service": "catalog"}, weird, nan_is_value=True))
    raw = counter_from_rate(rng, np.full(len(ts), 10.0), STEP)
    raw[len(ts) // 2 :] -= raw[len(ts) // 2]  # process restart: the counter starts again at zero
    specs.append(SeriesSpec("raw_requests_total", {"service": "catalog"}, raw))
    specs.append(SeriesSpec("orphan_gauge", {"nothing": "here"}, np.ones(len(ts))))
    write_openmetrics(path, ts, specs)
    return estate


def start_prometheus(workdir: Path):
    """Generate the estate ending a minute ago, backfill it with promtool and start Prometheus on it."""
    import time

    from tests.support.prometheus_server import LocalPrometheus

    estate = build(workdir / "estate.om", time.time() - 60)
    prometheus = LocalPrometheus(workdir)
    prometheus.backfill(workdir / "estate.om")
    prometheus.start()
    return prometheus, estate
