"""Incident dashboard page times through a real browser, with 500 stored incidents.

    python bench/dashboard.py [--incidents 500] [--loads 9]

Starts the embedded graph in a temporary directory, replays the demo incident and ranks it on an
in-process RootCause service (tests/support/demo_stack.py), stores --incidents incidents in all (copies
of the demo's ranking under new ids and times, as the service's own writer stores them), runs
`rca dashboard`'s process on them and opens its pages in Debian's chromium (headless, playwright).

A page is ready when what a user came for is drawn: the incidents table (its canvas), or the incident's
path picture and evidence timeline. Each load opens a new tab in one browser context (Streamlit's
scripts cached) and times navigation start -> ready, the first, cold load reported apart; then, in
one open tab, a click on the page's name in the top bar (from the Ask page) -> ready, as when an
engineer moves between pages of a dashboard already open. CPU per URL load: seconds of the dashboard's
process, of this process (the service and the browser driver) and of the graph server.

Targets (issue 22): incident page ready <= 1.5 s, incidents page <= 1 s, with 500 stored incidents.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe_machine
from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server
from graph_schema.store import GraphStore
from rca.service.incidents import IncidentRecord, IncidentStore, new_incident_id
from settings.graph import GraphSettings
from tests.support.dashboard_browser import (
    WIDE,
    browser,
    running_dashboard,
    wait_incident_ready,
    wait_incidents_ready,
)
from tests.support.demo_stack import demo_stack

PASSWORD = "bench-dashboard"


def store_copies(store: GraphStore, stack, count: int) -> None:
    """count - 1 more incidents: the demo's ranking under new ids, one a minute back from now."""
    incidents = IncidentStore(store)
    now = time.time()
    rows = []
    for i in range(1, count):
        response = type(stack.response)()
        response.CopyFrom(stack.response)
        response.incident_id = new_incident_id()
        rows.append(IncidentRecord(response, lambda: "{}", created_at=now - 60.0 * i).row())
    for start in range(0, len(rows), 100):
        incidents.save_rows(rows[start : start + 100])


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def time_loads(context, url: str, ready, loads: int) -> tuple[float, list[float]]:
    """(cold load, warm loads) in seconds from navigation start to ready."""
    times = []
    for _ in range(loads + 1):
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        ready(page)
        times.append(time.perf_counter() - started)
        page.close()
    return times[0], times[1:]


def time_in_app(context, url: str, link: str, ready, loads: int) -> list[float]:
    """Seconds from a click on the page's name in the top bar (coming from the Ask page) to ready: the
    dashboard already open, as when an engineer moves between its pages."""
    page = context.new_page()
    page.goto(f"{url}/ask")
    times = []
    for _ in range(loads):
        page.get_by_role("link", name="Ask", exact=True).click()
        page.wait_for_selector('[data-testid="stChatInput"]')
        page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')")
        started = time.perf_counter()
        page.get_by_role("link", name=link, exact=True).click()
        ready(page)
        times.append(time.perf_counter() - started)
    page.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=500, help="incidents stored (default 500, the list's limit)")
    parser.add_argument("--loads", type=int, default=9, help="timed loads per page (default 9)")
    args = parser.parse_args()
    print(describe_machine())
    print("load average before: {:.1f} {:.1f} {:.1f} (1, 5, 15 min)".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="rca-bench-dashboard-") as tmp:
        graph = GraphSettings(password=PASSWORD, data_dir=Path(tmp) / "graph", heap="1g")
        with (
            embedded_server(graph) as server,
            GraphStore.connect(graph, uri=server.bolt_uri, user=EMBEDDED_USER) as store,
        ):
            migrations.migrate(store)
            env = {
                "RCA_DASHBOARD__GRAPH_URI": server.bolt_uri,
                "RCA_GRAPH__DATA_DIR": str(graph.data_dir),
                "RCA_GRAPH__PASSWORD": PASSWORD,
            }
            with demo_stack(store, env) as stack:
                store_copies(store, stack, args.incidents)
                listed = len(stack.client.list_incidents(limit=500).incidents)
                print(f"{listed} incidents stored; the demo incident is {stack.incident_id}")
                with running_dashboard(stack.env) as url, browser() as chromium:
                    dashboard = next(
                        p for p in psutil.Process().children(recursive=True) if "streamlit" in " ".join(p.cmdline())
                    )
                    graph_process = psutil.Process(server.pid) if server.pid else None
                    context = chromium.new_context(viewport=WIDE)
                    pages = {
                        "incidents": (f"{url}/", wait_incidents_ready),
                        "incident": (f"{url}/incident?id={stack.incident_id}", wait_incident_ready),
                    }
                    for name, (page_url, ready) in pages.items():
                        before = (
                            cpu_seconds(dashboard),
                            cpu_seconds(psutil.Process()),
                            cpu_seconds(graph_process) if graph_process else 0.0,
                        )
                        cold, warm = time_loads(context, page_url, ready, args.loads)
                        after = (
                            cpu_seconds(dashboard),
                            cpu_seconds(psutil.Process()),
                            cpu_seconds(graph_process) if graph_process else 0.0,
                        )
                        loads = args.loads + 1
                        dash, here, db = ((a - b) / loads for a, b in zip(after, before))
                        print(
                            f"{name:<9} page ready, opened by its URL: median {statistics.median(warm):.3f} s, "
                            f"max {max(warm):.3f} s over {len(warm)} loads (first, cold: {cold:.3f} s); "
                            f"CPU per load: dashboard {dash * 1000:.0f} ms, service+driver {here * 1000:.0f} ms, "
                            f"graph {db * 1000:.0f} ms"
                        )
                        # the top bar's Incident opens the newest incident: the demo's (the copies are older)
                        link = "Incidents" if name == "incidents" else "Incident"
                        moved = time_in_app(context, url, link, ready, args.loads)
                        print(
                            f"{name:<9} page ready, from the top bar: median {statistics.median(moved):.3f} s, "
                            f"max {max(moved):.3f} s over {len(moved)} clicks"
                        )
                    context.close()
    print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
