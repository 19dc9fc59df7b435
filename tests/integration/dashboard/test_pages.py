"""Every page of the dashboard run by Streamlit's AppTest against the real service and graph, with the
demo incident replayed (tests/integration/dashboard/conftest.py)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboards import ui
from ingest.jobs.scheduler import JobOutcome, JobRunner
from ingest.jobs.self_metrics import WorkerMetrics
from ingest.jobs.status import StatusFile
from ingest.metrics.worker import POLL_JOB, SYNC_JOB
from ingest.syslog.worker_metrics import SyslogMetrics
from rca.rank.engine import engine_without_model
from rca.service.server import start_server
from rca.service.stubs import pb
from settings.service import ServiceSettings
from tests.support.demo_stack import ROOT_CAUSE
from tests.support.local_server import free_port
from tests.support.waiting import wait_until

APP = str(Path(__file__).resolve().parents[3] / "dashboards" / "app.py")


@pytest.fixture(scope="module", autouse=True)
def environment(demo_stack):
    """The dashboard reads its settings from the environment, as `rca dashboard` passes them."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in demo_stack.env.items():
            patch.setenv(name, value)
        ui.backend.clear()
        yield
    ui.backend.clear()


def page(path: str, **params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page(path)
    for name, value in params.items():
        app.query_params[name] = value
    return app.run()


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [t.value for t in app.title] + [h.value for h in app.subheader]
    parts += [c.value for c in app.caption] + [i.value for i in app.info] + [e.value for e in app.error]
    parts += [s.value for s in app.success] + [w.value for w in app.warning]
    return "\n".join(str(p) for p in parts)


def picture(app: AppTest) -> str:
    """The drawn graph: the SVG Graphviz's `dot` laid out on the server (Debian's graphviz, scripts/test.sh)."""
    [svg] = [m.value for m in app.markdown if 'class="rca-graph"' in m.value]
    return html.unescape(svg)


def no_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def test_incidents_page_lists_the_demo_incident_with_its_top_candidate(demo_stack):
    app = page("views/incidents.py")
    no_exception(app)
    frame = app.dataframe[0].value
    row = frame[frame["incident"] == demo_stack.incident_id]
    assert len(row) == 1
    assert row["top candidate"].iloc[0] == demo_stack.response.candidates[0].entity_name
    assert row["status"].iloc[0] in ("open", "confirmed")
    assert "checkout errors" in row["symptoms"].iloc[0]


def test_incidents_filters_by_entity_name_and_status(demo_stack):
    app = page("views/incidents.py")
    app.text_input(key="incidents_entity").input("payment").run()  # a name; the list filters by its id
    no_exception(app)
    assert demo_stack.incident_id in list(app.dataframe[0].value["incident"])
    app.text_input(key="incidents_entity").input("ads").run()  # in the estate, not in this incident
    no_exception(app)
    assert not app.dataframe or demo_stack.incident_id not in list(app.dataframe[0].value["incident"])
    app.text_input(key="incidents_entity").input("").run()
    app.multiselect(key="incidents_status").set_value(["closed"]).run()
    no_exception(app)
    assert not app.dataframe or demo_stack.incident_id not in list(app.dataframe[0].value["incident"])


def test_selecting_a_row_opens_its_incident(demo_stack):
    app = page("views/incidents.py")
    no_exception(app)
    listed = list(app.dataframe[0].value["incident"])
    row = listed.index(demo_stack.incident_id)
    # what the browser sends when a row of the table is clicked (selection_mode="single-row")
    app.session_state["incidents_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    app.run()
    no_exception(app)
    assert f"Incident {demo_stack.incident_id}" in texts(app)
    assert demo_stack.response.candidates[0].entity_name in list(app.dataframe[0].value["entity"])


def test_the_bridge_link_opens_the_incident(demo_stack):
    app = page("views/incidents.py", incident=demo_stack.incident_id)  # BASE/?incident=ID, as rca/bridge links it
    no_exception(app)
    assert f"Incident {demo_stack.incident_id}" in texts(app)


def test_incident_page_shows_candidates_in_rank_order_and_the_path(demo_stack):
    app = page("views/incident.py", id=demo_stack.incident_id)
    no_exception(app)
    candidates = app.dataframe[0].value
    expected = [c.entity_name for c in demo_stack.response.candidates]
    assert list(candidates["entity"]) == expected and ROOT_CAUSE in expected
    assert list(candidates["rank"]) == list(range(1, len(expected) + 1))
    [root_cause] = [c for c in demo_stack.response.candidates if c.entity_id == ROOT_CAUSE]
    app.radio(key="candidate").set_value(f"#{root_cause.rank} {ROOT_CAUSE}").run()
    no_exception(app)
    shown = texts(app)
    assert f"Path from {ROOT_CAUSE}" in shown
    assert "path to **checkout**" in shown and "postgres-payments → payment → checkout" in shown
    drawn = picture(app)
    assert "<title>postgres-payments->payment</title>" in drawn and "1. DEPENDS_ON (reverse)" in drawn
    titles = [json.loads(c.proto.spec).get("title") for c in app.get("vega_lite_chart")]
    assert "anomalies" in titles and "log signatures" in titles  # the evidence timeline's two panels
    assert demo_stack.response.explanation.splitlines()[0][:40] in shown


def test_confirm_records_feedback_readable_through_get_incident(demo_stack):
    app = page("views/incident.py", id=demo_stack.incident_id)
    no_exception(app)
    app.text_input(key=f"user-{ROOT_CAUSE}").input("alice")
    app.text_input(key=f"comment-{ROOT_CAUSE}").input("max_connections lowered to 20")
    app.button(key=f"confirm-{ROOT_CAUSE}").click().run()
    no_exception(app)
    incident = demo_stack.client.get_incident(demo_stack.incident_id)
    assert incident.confirmed_root_cause_id == ROOT_CAUSE
    [record] = [f for f in incident.feedback if f.user == "alice"]
    assert record.verdict == pb.CONFIRMED and record.comment == "max_connections lowered to 20"
    [feedback] = [d.value for d in app.dataframe if "by" in d.value.columns]
    assert "alice" in list(feedback["by"])
    assert f"Confirmed root cause: **{ROOT_CAUSE}**" in texts(app)


def test_topology_page_finds_an_entity_by_a_misspelt_name_and_draws_its_neighbourhood(demo_stack):
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("views/topology.py").run()
    no_exception(app)
    app.text_input[0].input("postgres-paymnts").run()  # a typo still finds it
    no_exception(app)
    assert app.selectbox(key="topology_entity").value.startswith(f"{ROOT_CAUSE} (Datastore")
    drawn = picture(app)
    assert "<title>payment->postgres-payments</title>" in drawn  # its neighbours one hop away
    assert "<title>postgres-payments->db-1</title>" in drawn
    assert "CONCERNS" not in drawn and "coverage:" not in drawn  # entities only
    [anomalies] = [d.value for d in app.dataframe if "signal" in d.value.columns]
    assert "db_connections_used" in list(anomalies["signal"])
    [incidents] = [d.value for d in app.dataframe if "incident" in d.value.columns]
    assert demo_stack.incident_id in list(incidents["incident"])


def test_health_page_shows_the_graph_schema_ingest_and_the_service_metrics(demo_stack):
    app = page("views/health.py")
    no_exception(app)
    shown = texts(app)
    assert "schema version **" in shown and "up** at `" + demo_stack.target in shown
    frames = [d.value for d in app.dataframe]
    [ingest] = [f for f in frames if "what" in f.columns]
    # the demo's 894 lines counted into events, less the ads deploy 90 min before the alert
    assert dict(zip(ingest["what"], ingest["count"]))["log lines"] >= 893
    [syncs] = [f for f in frames if "source" in f.columns]
    assert "topology-file" in list(syncs["source"])
    [calls] = [f for f in frames if "method" in f.columns]
    assert "Infer" in list(calls["method"])
    assert "Infer calls **" in shown
    # what the service serves, from GetStatus: the demo's service ranks without a graph model
    served = engine_without_model().versions
    assert "Serving model **none (rankers without a graph model)**" in shown
    assert f"features **{served['features']}**" in shown and f"rules **{served['rules']}**" in shown
    assert f"ranker **{served['ranker']}**" in shown and "graph schema **" in shown


def test_health_page_lists_the_scheduled_jobs_last_runs_from_the_status_file(demo_stack, tmp_path, monkeypatch):
    status_path = tmp_path / "sync_status.json"
    monkeypatch.setenv("RCA_SYNC__STATUS_FILE", str(status_path))
    ui.backend.clear()  # the settings are read once per backend
    try:
        app = page("views/health.py")
        no_exception(app)
        assert "No scheduled job has run yet" in texts(app)
        runner = JobRunner(StatusFile(status_path))  # what `rca ingest metrics` and `rca sync now` record with
        runner.run(SYNC_JOB, lambda: JobOutcome(changes=7))

        def refused() -> JobOutcome:
            raise ConnectionError("prometheus refused")

        runner.run(POLL_JOB, refused)
        app = page("views/health.py")
        no_exception(app)
        [jobs] = [d.value for d in app.dataframe if "job" in d.value.columns]
        rows = {r["job"]: r for r in jobs.to_dict("records")}
        assert rows[SYNC_JOB]["outcome"] == "ok" and rows[SYNC_JOB]["changes"] == 7
        assert rows[POLL_JOB]["outcome"] == "failed" and "prometheus refused" in rows[POLL_JOB]["error"]
        assert str(status_path) in texts(app)
    finally:
        ui.backend.clear()


def test_health_page_shows_the_ingest_workers_counters_and_rates_from_their_metrics(demo_stack, monkeypatch):
    syslog, jobs = SyslogMetrics(), WorkerMetrics()  # the workers' own exporters, served over HTTP as they serve them
    syslog_port, jobs_port = free_port(), free_port()
    syslog_server, _ = syslog.serve("127.0.0.1", syslog_port)
    jobs_server = jobs.serve(jobs_port)
    nowhere = f"http://127.0.0.1:{free_port()}/metrics"
    urls = [f"http://127.0.0.1:{syslog_port}/metrics", f"http://127.0.0.1:{jobs_port}/metrics", nowhere]
    monkeypatch.setenv("RCA_DASHBOARD__WORKER_METRICS_URLS", json.dumps(urls))
    ui.backend.clear()  # the settings are read once per backend
    try:
        syslog.received.labels("udp").inc(50)
        jobs.runs.labels(POLL_JOB).inc()
        app = page("views/health.py")
        no_exception(app)

        def counters() -> dict:
            tables = [d.value for d in app.dataframe if "counter" in d.value.columns]
            return {(r["counter"], r["labels"]): r for t in tables for r in t.to_dict("records")}

        assert counters()[("syslog_received_lines", "transport=udp")]["total"] == 50
        assert counters()[("job_runs", f"job={POLL_JOB}")]["total"] == 1
        assert "rates from the next reading" in texts(app)
        assert any(nowhere in w.value for w in app.warning)  # a worker that does not answer is named
        syslog.received.labels("udp").inc(1000)

        def rated() -> bool:
            app.run()
            no_exception(app)
            return (counters()[("syslog_received_lines", "transport=udp")]["per second"] or 0) > 0

        wait_until(rated, timeout=20, interval=0.5, message="the page shows the lines received per second")
        assert counters()[("syslog_received_lines", "transport=udp")]["total"] == 1050
        assert "per second over the last" in texts(app)
    finally:
        syslog_server.shutdown()
        jobs_server.shutdown()
        ui.backend.clear()


def test_ask_page_answers_with_a_table_and_links_to_the_incident_and_entities(demo_stack):
    app = page("views/ask.py")
    no_exception(app)
    app.chat_input(key="ask_question").set_value("what changed on postgres-payments in the last hour").run()
    no_exception(app)
    shown = texts(app)
    assert "intent **changes**" in shown and "(topology?entity=postgres-payments)" in shown
    [table] = [d.value for d in app.dataframe]
    assert any("max_connections" in str(v) for v in table.to_numpy().ravel())
    app.chat_input(key="ask_question").set_value("why did checkout fail").run()
    no_exception(app)
    shown = texts(app)
    assert "intent **root_cause**" in shown and "(incident?id=inc-" in shown
    assert "what changed on postgres-payments" in shown  # the conversation stays on the page


def test_a_question_asking_two_things_shows_each_part_with_its_own_table(demo_stack):
    app = page("views/ask.py")
    app.chat_input(key="ask_question").set_value("what changed on postgres-payments and who calls payment").run()
    no_exception(app)
    shown = texts(app)
    assert "2 questions in one" in shown
    assert "**1/2 · changes** · *what changed on postgres-payments*" in shown
    assert "**2/2 · dependents** · *who calls payment*" in shown
    changes, callers = [d.value for d in app.dataframe]  # one table per part, in question order
    assert any("max_connections" in str(v) for v in changes.to_numpy().ravel())
    assert "checkout" in set(callers.to_numpy().ravel()), callers


def test_a_clarifications_candidates_are_buttons_that_ask_again_with_the_chosen_entity(demo_stack):
    app = page("views/ask.py")
    app.chat_input(key="ask_question").set_value("what changed on postgres in the last hour").run()
    no_exception(app)
    buttons = {b.label: b for b in app.button if b.key and b.key.startswith("ask_clarify_")}
    assert {"postgres-payments (Datastore)", "postgres-users (Datastore)"} <= set(buttons), list(buttons)
    buttons["postgres-payments (Datastore)"].click().run()
    no_exception(app)
    shown = texts(app)
    assert "what changed on postgres-payments in the last hour" in shown  # asked again, shown as asked
    assert "intent **changes**" in shown and "(topology?entity=postgres-payments)" in shown
    [table] = [d.value for d in app.dataframe]
    assert any("max_connections" in str(v) for v in table.to_numpy().ravel())


def test_a_service_outage_shows_a_banner_and_the_page_recovers_when_it_returns(demo_stack, session_store, monkeypatch):
    port = free_port()
    settings = ServiceSettings(port=port, metrics_port=0)
    engine = engine_without_model()
    monkeypatch.setenv("RCA_DASHBOARD__TARGET", f"127.0.0.1:{port}")
    ui.backend.clear()
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("views/incidents.py").run()  # nothing listens there yet
    no_exception(app)
    [banner] = app.error
    assert "RootCause service is not reachable" in banner.value and f"127.0.0.1:{port}" in banner.value
    running = start_server(settings, session_store, engine, metrics=False)
    try:

        def recovered() -> bool:
            app.run()  # the same session, the same channel: it reconnects within its (short) backoff
            no_exception(app)
            return not app.error

        wait_until(recovered, timeout=20, interval=0.5, message="the incidents page answers again")
        assert demo_stack.incident_id in list(app.dataframe[0].value["incident"])
    finally:
        running.stop()
        ui.backend.clear()


def test_a_graph_outage_shows_a_banner_not_a_stack_trace(demo_stack, monkeypatch):
    monkeypatch.setenv("RCA_DASHBOARD__GRAPH_URI", f"bolt://127.0.0.1:{free_port()}")
    ui.backend.clear()
    st.cache_data.clear()  # what the pages share for a while (the entity index, an incident's graph part)
    try:
        app = page("views/topology.py")
        no_exception(app)
        [banner] = app.error
        assert "graph is not reachable" in banner.value
        incident = page("views/incident.py", id=demo_stack.incident_id)  # needs the graph for its picture
        no_exception(incident)
        assert "graph is not reachable" in incident.error[0].value
    finally:
        st.cache_data.clear()
        ui.backend.clear()
