"""Metric charts around an incident's window, read from Prometheus with the PromQL of data/metric_charts.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pandas as pd
import requests
import yaml

CHARTS_FILE = Path(__file__).resolve().parent / "data" / "metric_charts.yaml"
POINTS = 240  # samples per chart: enough for the eye, cheap for Prometheus


@dataclass(frozen=True)
class ChartQuery:
    """One chart: the entity, the signal and its query."""

    entity_id: str
    signal: str
    promql: str


@cache
def _charts() -> tuple[str, dict[str, str]]:
    data = yaml.safe_load(CHARTS_FILE.read_text()) or {}
    return str(data.get("rate_window", "1m")), {str(k): str(v) for k, v in (data.get("charts") or {}).items()}


def promql_regex_literal(text: str) -> str:
    """``text`` matched literally inside a PromQL double-quoted regular expression."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text).replace("\\", "\\\\").replace('"', '\\"')


def chart_queries(anomalies: list[dict]) -> list[ChartQuery]:
    """One query per (entity, signal) of the anomalies whose signal has a chart, in onset order."""
    rate_window, charts = _charts()
    seen: dict[tuple[str, str], ChartQuery] = {}
    for a in sorted(anomalies, key=lambda a: a["onset"]):
        template = charts.get(a["signal"])
        key = (a["entity_id"], a["signal"])
        if template is None or key in seen:
            continue
        promql = template.replace("$rate_window", rate_window).replace("$entity", promql_regex_literal(a["entity_id"]))
        seen[key] = ChartQuery(a["entity_id"], a["signal"], promql)
    return list(seen.values())


def read_range(url: str, query: ChartQuery, start: float, end: float, timeout_s: float) -> pd.DataFrame:
    """The query's values over [start, end] (columns time, value); empty when Prometheus has no series."""
    step = max(1.0, (end - start) / POINTS)
    answer = requests.get(
        f"{url.rstrip('/')}/api/v1/query_range",
        params={"query": query.promql, "start": str(start), "end": str(end), "step": str(step)},
        timeout=timeout_s,
    )
    answer.raise_for_status()
    rows = [
        {"time": datetime.fromtimestamp(float(t), tz=UTC), "value": float(v)}
        for series in answer.json()["data"]["result"]
        for t, v in series["values"]
        if v not in ("NaN", "+Inf", "-Inf")
    ]
    return pd.DataFrame(rows, columns=["time", "value"])
