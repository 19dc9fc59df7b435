"""Hops timed from log lines that carry trace ids reach Infer's subgraph as a latency of the entity they enter.

The shipped example case, with an hour of request logs added: frontend -> checkout -> payment, every
line naming its trace. From four minutes before the alert, each request takes 800 ms to reach
payment instead of 6 ms. The lines go through the real syslog pipeline, the hop series through the
metrics detector into a throwaway embedded graph, and the subgraph is fetched as Infer fetches it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from graph_schema.model import TRACE_HOP_SIGNAL
from rca.cli.diagnose.case import load_case
from rca.cli.diagnose.session import open_session, project_signals
from rca.service import subgraph_fetch
from rca.service.requests import parse_infer
from settings.root import load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cases" / "payments-db-config-change"
ALERT = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC).timestamp()
SLOW_FROM = ALERT - 240


def _request_lines(trace: int, at: float) -> list[str]:
    into_payment = 0.8 if at >= SLOW_FROM else 0.006
    steps = [
        ("frontend", 0.0),
        ("checkout", 0.005),
        ("payment", 0.005 + into_payment),
        ("checkout", 0.02 + into_payment),
    ]
    return [
        f"{at + offset:.6f}\t{entity}\tINFO handled step of request TraceID: {trace:032x} SpanID: {trace:016x}"
        for entity, offset in steps
    ]


def test_a_slow_hop_into_payment_is_a_latency_anomaly_of_payment_alone(tmp_path, monkeypatch):
    case_dir = tmp_path / "payments-with-traces"
    shutil.copytree(EXAMPLE, case_dir)
    lines = []
    for minute in range(60):
        for k in range(5):
            lines += _request_lines(minute * 5 + k, ALERT - 3600 + 60 * minute + 10 * k)
    (case_dir / "logs" / "requests.log").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("NEO4J_URI", "")
    monkeypatch.setenv("RCA_GRAPH__HEAP", "1g")
    settings = load_settings(None)
    known = {name: t.family for name, t in project_signals(settings.metrics).items()}
    case = load_case(case_dir, known)
    with open_session(settings) as session:
        result = session.run(case)
        subgraph, _ = subgraph_fetch.from_graph(
            session.store, parse_infer(session.last_request, settings.service.model_copy(update={"max_top_k": 1000}))
        )
    assert "logs: hops into 2 entities timed from lines carrying trace ids" in result.notes
    hops = [a for a in subgraph.anomalies if a.signal == TRACE_HOP_SIGNAL]
    assert {a.entity_id for a in hops} == {"payment"}
    assert all(a.family == "latency" and a.direction == "up" for a in hops)
    assert min(a.onset for a in hops) >= SLOW_FROM - 60
