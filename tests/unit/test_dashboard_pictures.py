"""Pure parts of the dashboard: the path picture, the timeline's data, the incident rows, metric parsing."""

from __future__ import annotations

import html
import shutil
from types import SimpleNamespace

from prometheus_client import generate_latest

from dashboards.clarify import clarified_question
from dashboards.graph_picture import svg_of
from dashboards.incident_table import incident_rows, status_of
from dashboards.job_status import job_rows
from dashboards.metric_charts import chart_queries, promql_regex_literal
from dashboards.path_graph import EVIDENCE_COLOURS, PATH_COLOUR, Hop, evidence_kinds, path_dot
from dashboards.service_metrics import summarise
from dashboards.timeline import timeline_charts, timeline_data
from dashboards.worker_metrics import RATE_WINDOW_S, Reading, Readings, counter_rows
from dashboards.worker_metrics import parse as parse_worker_metrics
from ingest.jobs.status import JobStatus
from ingest.syslog.worker_metrics import SyslogMetrics

ENTITIES = {
    "pg": ("postgres-payments", "Datastore"),
    "pay": ("payment", "Service"),
    "co": ("checkout", "Service"),
    "cart": ("cart", "Service"),
}
EDGES = [("pay", "DEPENDS_ON", "pg"), ("co", "CALLS", "pay"), ("co", "CALLS", "cart")]
PATH = [Hop("pg", "DEPENDS_ON", "pay"), Hop("pay", "CALLS", "co")]


def line_of(dot: str, start: str) -> str:
    [line] = [line for line in dot.splitlines() if line.strip().startswith(start)]
    return line


def test_path_hops_are_drawn_in_the_fault_direction_numbered_and_marked_reverse():
    dot = path_dot(ENTITIES, EDGES, [PATH], "pg", ["co"], {})
    first = line_of(dot, '"pg" -> "pay"')
    assert 'label="1. DEPENDS_ON (reverse)"' in first and f'color="{PATH_COLOUR}"' in first and 'penwidth="3"' in first
    assert 'label="2. CALLS (reverse)"' in line_of(dot, '"pay" -> "co"')
    # the structural edges the hops stand for are not drawn twice; the others stay, grey, with their relation
    assert '"pay" -> "pg"' not in dot and '"co" -> "pay"' not in dot
    assert 'label="CALLS"' in line_of(dot, '"co" -> "cart"')


def test_candidate_symptom_and_evidence_are_told_apart():
    evidence = {"pg": {"anomaly", "change"}, "pay": {"log"}}
    dot = path_dot(ENTITIES, EDGES, [PATH], "pg", ["co"], evidence)
    candidate = line_of(dot, '"pg" [')
    assert 'peripheries="2"' in candidate and 'penwidth="3"' in candidate
    assert f'fillcolor="{EVIDENCE_COLOURS["anomaly"]}:{EVIDENCE_COLOURS["change"]}"' in candidate
    assert "striped" in candidate and 'label="postgres-payments\\nDatastore"' in candidate
    assert f'fillcolor="{EVIDENCE_COLOURS["log"]}"' in line_of(dot, '"pay" [')
    assert 'shape="octagon"' in line_of(dot, '"co" [')
    assert "peripheries" not in line_of(dot, '"cart" [')


def test_a_hop_two_paths_share_is_drawn_once_and_quotes_are_escaped():
    other = [Hop("pg", "DEPENDS_ON", "pay"), Hop("pay", "CALLS", 'we"ird')]
    dot = path_dot(ENTITIES, EDGES, [PATH, other], "pg", ["co", 'we"ird'], {})
    assert dot.count('"pg" -> "pay"') == 1
    assert '"we\\"ird" [' in dot and '"pay" -> "we\\"ird"' in dot


def test_evidence_kinds_count_warning_or_worse_logs_only():
    kinds = evidence_kinds(
        [{"entity_id": "a"}],
        [{"entity_id": "b", "severity": 3}, {"entity_id": "c", "severity": 6}],
        [{"entity_id": "a"}],
    )
    assert kinds == {"a": {"anomaly", "change"}, "b": {"log"}}


def test_timeline_data_buckets_log_counts_per_minute_and_class_and_clips_to_the_window():
    alert = 1_800_000_000.0
    window = (alert - 600, alert + 60)
    data = timeline_data(
        anomalies=[
            {
                "entity_id": "pg",
                "signal": "db_connections_used",
                "family": "saturation",
                "onset": alert - 400,
                "score": 9.1234,
                "direction": "up",
                "value": 1.0,
                "baseline": 0.3,
            }
        ],
        events=[
            {
                "entity_id": "pg",
                "signature_class": "connection",
                "count": 30,
                "first_ts": alert - 390,
                "last_ts": alert - 340,
            },
            {
                "entity_id": "pg",
                "signature_class": "connection",
                "count": 12,
                "first_ts": alert - 380,
                "last_ts": alert - 330,
            },
            {
                "entity_id": "pay",
                "signature_class": "timeout",
                "count": 5,
                "first_ts": alert - 900,
                "last_ts": alert - 500,
            },
        ],
        changes=[{"entity_id": "pg", "at": alert - 420, "change_type": "config", "description": "max_connections 20"}],
        names={"pg": "postgres-payments", "pay": "payment"},
        alert_at=alert,
        window=window,
        deviations=[
            {"entity_id": "pay", "family": "latency", "at": alert - 360, "peak": 4.6},  # under the threshold
            {"entity_id": "pay", "family": "latency", "at": alert - 300, "peak": 3.2},  # too small to draw
            {"entity_id": "pg", "family": "saturation", "at": alert - 400, "peak": 9.1},  # shown by its anomaly
        ],
    )
    assert list(data.anomalies["series"]) == ["postgres-payments · db_connections_used"]
    assert list(zip(data.deviations["series"], data.deviations["peak"])) == [
        ("payment · latency (under threshold)", 4.6)
    ]
    assert data.anomalies["score"].iloc[0] == 9.12
    logs = set(zip(data.logs["entity"], data.logs["class"], data.logs["count"]))
    assert logs == {("postgres-payments", "connection", 42), ("payment", "timeout", 5)}
    # an event begun before the window is drawn at the window's start
    assert data.logs[data.logs.entity == "payment"].time.iloc[0].timestamp() == window[0] - window[0] % 60
    assert data.changes["change"].iloc[0] == "config" and data.alert["time"].iloc[0].timestamp() == alert
    anomalies, logs = (chart.to_dict() for chart in timeline_charts(data))
    assert [layer["mark"]["type"] for layer in anomalies["layer"]] == ["circle", "point", "rule", "rule"]
    assert [layer["mark"]["type"] for layer in logs["layer"]] == ["bar", "rule", "rule"]
    assert logs["layer"][0]["encoding"]["x2"]["field"] == "end"  # a bar spans its minute


def test_timeline_of_no_signals_still_draws():
    data = timeline_data([], [], [], {}, 100.0, (0.0, 200.0))
    assert data.anomalies.empty and data.deviations.empty and data.logs.empty and data.changes.empty
    assert all(chart.to_dict()["layer"] for chart in timeline_charts(data))


def summary(incident_id, created_at, top="pg", confirmed="", closed_at=0.0):
    symptom = SimpleNamespace(entity_id="co", entity_name="checkout", family="errors")
    return SimpleNamespace(
        incident_id=incident_id,
        created_at=created_at,
        symptoms=[symptom],
        top_candidate_id=top,
        top_score=0.87654,
        confirmed_root_cause_id=confirmed,
        closed_at=closed_at,
    )


def test_incident_rows_say_status_names_and_filter_by_status():
    rows = incident_rows(
        [summary("i3", 300.0, closed_at=310.0), summary("i2", 200.0, confirmed="pg"), summary("i1", 100.0)],
        {"pg": "postgres-payments"},
        statuses=("open", "confirmed"),
    )
    assert [(r["incident"], r["status"]) for r in rows] == [("i2", "confirmed"), ("i1", "open")]
    assert rows[0]["top candidate"] == "postgres-payments" and rows[0]["confirmed root cause"] == "postgres-payments"
    assert rows[0]["symptoms"] == "checkout errors" and rows[0]["open"] == "incident?id=i2"
    assert status_of(summary("x", 1.0, confirmed="pg", closed_at=2.0)) == "closed"


def test_promql_regex_literal_escapes_metacharacters_and_quotes():
    assert promql_regex_literal("a.b") == "a\\\\.b"
    assert promql_regex_literal('x"y') == 'x\\"y'
    queries = chart_queries(
        [
            {"entity_id": "payment", "signal": "latency_p99", "onset": 2.0},
            {"entity_id": "payment", "signal": "latency_p99", "onset": 3.0},
            {"entity_id": "payment", "signal": "no_chart_for_this", "onset": 1.0},
        ]
    )
    assert len(queries) == 1 and 'server=~"payment"' in queries[0].promql and "[1m]" in queries[0].promql


def test_service_metrics_summary():
    text = (
        'rca_rpc_total{method="Infer",code="OK"} 3.0\n'
        'rca_rpc_total{method="GetIncident",code="NOT_FOUND"} 1.0\n'
        "rca_infer_latency_seconds_count 3.0\nrca_infer_latency_seconds_sum 0.6\nrca_graph_up 1.0\n"
    )
    out = summarise(text)
    assert out["calls"] == [
        {"method": "GetIncident", "code": "NOT_FOUND", "calls": 1},
        {"method": "Infer", "code": "OK", "calls": 3},
    ]
    assert out["infer_count"] == 3 and abs(out["infer_mean_s"] - 0.2) < 1e-9 and out["graph_up"] is True


def test_job_rows_say_each_jobs_last_run_outcome_and_failures_in_a_row():
    now = 1_800_000_000.0
    jobs = {
        "topology_sync": JobStatus(
            "topology_sync", runs=3, last_end=now - 120, last_duration_s=1.5, last_changes=4, last_success=now - 120
        ),
        "metrics_poll": JobStatus(
            "metrics_poll",
            runs=5,
            failures=2,
            consecutive_failures=2,
            last_end=now - 30,
            last_error="ConnectionError: refused",
            last_success=now - 600,
        ),
        "never": JobStatus("never"),
    }
    rows = {r["job"]: r for r in job_rows(jobs, now)}
    assert [r["job"] for r in job_rows(jobs, now)] == ["metrics_poll", "never", "topology_sync"]
    sync = rows["topology_sync"]
    assert (sync["outcome"], sync["age"], sync["changes"], sync["failures in a row"]) == ("ok", "2 min ago", 4, 0)
    poll = rows["metrics_poll"]
    assert (poll["outcome"], poll["failures in a row"], poll["error"]) == ("failed", 2, "ConnectionError: refused")
    assert poll["last success"] == "2027-01-15 07:50:00 UTC"
    assert (rows["never"]["last run"], rows["never"]["outcome"], rows["never"]["age"]) == ("never", "", "never")


def test_clarified_question_puts_the_chosen_name_in_place_of_the_unclear_words():
    assert clarified_question("why did Postgres fail", "postgres", "postgres-payments") == (
        "why did postgres-payments fail"
    )
    # whole words only, the first occurrence only
    assert clarified_question("postgresql and postgres and postgres", "postgres", "pg-1") == (
        "postgresql and pg-1 and postgres"
    )
    assert clarified_question("errors on pay ment?", "payment", "payment") == "errors on pay ment? payment"
    assert clarified_question("what changed on db.1", "db.1", "db-1 (x)") == "what changed on db-1 (x)"


def test_the_server_laid_svg_has_no_prolog_or_comments_and_fits_its_column():
    # Debian's graphviz (scripts/test.sh): the picture the incident page shows inline
    binary = shutil.which("dot")
    assert binary, "install the Debian package graphviz"
    svg = svg_of(path_dot(ENTITIES, EDGES, [PATH], "pg", ["co"], {}), binary)
    assert svg.startswith('<svg style="width: 100%; max-width: ') and svg.rstrip().endswith("</svg>")
    assert "<!--" not in svg and "<?xml" not in svg  # every node the browser need not parse
    assert "postgres-payments" in html.unescape(svg) and "checkout" in svg


def test_worker_counters_and_their_rates_from_a_workers_exposition():
    syslog = SyslogMetrics()  # the worker's own registry, exposed as its /metrics exposes it
    syslog.received.labels("udp").inc(100)
    syslog.written.labels("event").inc(4)
    syslog.queue_depth.set(3)  # a gauge: not a counter, not shown
    first = parse_worker_metrics(generate_latest(syslog.registry).decode(), at=1000.0)
    assert first.counters[("rca_syslog_received_lines", "transport=udp")] == 100
    assert not any(name.endswith(("_created", "queue_depth")) for name, _ in first.counters)
    syslog.received.labels("udp").inc(600)
    syslog.received.labels("tcp").inc(30)  # a series born between the readings counts from 0
    second = parse_worker_metrics(generate_latest(syslog.registry).decode(), at=1060.0)
    rows = {(r["counter"], r["labels"]): r for r in counter_rows(second, first)}
    assert rows[("syslog_received_lines", "transport=udp")] == {
        "counter": "syslog_received_lines",
        "labels": "transport=udp",
        "total": 700.0,
        "per second": 10.0,
    }
    assert rows[("syslog_received_lines", "transport=tcp")]["per second"] == 0.5
    assert all(r["per second"] is None for r in counter_rows(second, None))  # one reading: no rate yet
    again = SyslogMetrics()  # the worker restarted: its counters start again from 0
    again.received.labels("udp").inc(5)
    restarted = parse_worker_metrics(generate_latest(again.registry).decode(), at=1120.0)
    [udp] = [r for r in counter_rows(restarted, second) if r["labels"] == "transport=udp"]
    assert udp["total"] == 5 and udp["per second"] is None  # no negative rate


def test_worker_readings_give_the_oldest_reading_of_the_last_minutes():
    readings = Readings()
    assert readings.add("w", Reading(1000.0)) is None  # the first
    assert readings.add("w", Reading(1000.5)) is None  # too close to the first to make a rate
    assert readings.add("w", Reading(1100.0)).at == 1000.0  # the oldest kept
    assert readings.add("w", Reading(1000.0 + RATE_WINDOW_S + 50)).at == 1100.0  # older ones have left the window
    assert readings.add("other", Reading(1400.0)) is None  # per worker
