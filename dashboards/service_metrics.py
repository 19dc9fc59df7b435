"""The RootCause service's own Prometheus metrics, read from its /metrics and summarised (parse is pure)."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families


def summarise(text: str) -> dict:
    """Calls per method and code, Infer latency (count, mean), graph up, from the exposition text."""
    calls: list[dict] = []
    out: dict = {"calls": calls, "infer_count": 0, "infer_mean_s": None, "graph_up": None}
    infer_sum = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "rca_rpc_total":
                calls.append(
                    {"method": sample.labels["method"], "code": sample.labels["code"], "calls": int(sample.value)}
                )
            elif sample.name == "rca_infer_latency_seconds_count":
                out["infer_count"] = int(sample.value)
            elif sample.name == "rca_infer_latency_seconds_sum":
                infer_sum = sample.value
            elif sample.name == "rca_graph_up":
                out["graph_up"] = bool(sample.value)
    if out["infer_count"]:
        out["infer_mean_s"] = infer_sum / out["infer_count"]
    calls.sort(key=lambda c: (c["method"], c["code"]))
    return out


def read(url: str, timeout_s: float) -> dict:
    """Fetch and summarise the service's /metrics; raises requests' errors."""
    answer = requests.get(url, timeout=timeout_s)
    answer.raise_for_status()
    return summarise(answer.text)
