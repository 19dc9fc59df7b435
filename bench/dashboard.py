"""Incident dashboard page times through a real browser, with 500 stored incidents.

    python bench/dashboard.py [--incidents 500] [--loads 9] [--browser profile|incognito]

Starts the embedded graph in a temporary directory, replays the demo incident and ranks it on an
in-process RootCause service (tests/support/demo_stack.py), stores --incidents incidents in all (copies
of the demo's ranking under new ids and times, as the service's own writer stores them), runs
`rca dashboard`'s process on them and opens its pages in Debian's chromium (headless, playwright), by
default with a profile of its own as an engineer's browser has (--browser incognito: a fresh incognito
context, which keeps less of the compiled frontend between tabs).

A page is ready when what a user came for is drawn: the incidents table (its canvas), or the incident's
path picture and evidence timeline. Each load opens a new tab and times navigation start -> ready, the
first, cold load reported apart; the medians of the warm loads are printed with where the time went
(the HTML, the frontend's scripts run, its websocket opened, the script run asked for, Streamlit's
new_session, first delta and script_finished messages), the browser's CPU (all chromium processes, and
its renderers; DevTools' main-thread task, script, layout and style times), the server's CPU (the
dashboard with its `dot` runs, the graph server, this process: the service and the browser driver) and
the bound they imply on an idle 2-core machine. Then, in one open tab, a click on the page's name in the
top bar (from the Ask page) -> ready, as when an engineer moves between pages of a dashboard already open.

Targets (issue 22): incident page ready <= 1.5 s, incidents page <= 1 s, with 500 stored incidents.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

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
    profile_context,
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
    """User and system CPU of the process and of its children that ended (the dashboard's `dot` runs)."""
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


# Renderer metrics of DevTools' Performance domain that add up the renderer's main-thread work (seconds).
RENDERER_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
# What a load's websocket timeline records: the first message of each kind, seconds from navigation start.
MESSAGES = ("new_session", "delta", "script_finished")


@dataclass
class Load:
    """One page load by URL in a new tab: seconds from navigation start, CPU spent, bytes fetched."""

    ready: float
    marks: dict[str, float] = field(default_factory=dict)  # event -> seconds from navigation start
    browser_cpu: float = 0.0  # all of chromium's processes, from psutil
    renderer_cpu: float = 0.0  # of which its renderer processes (the page's JavaScript, layout and paint)
    renderer: dict[str, float] = field(default_factory=dict)  # RENDERER_METRICS of the tab
    fetched_kib: float = 0.0  # over the network (not from the browser's cache)
    requests: int = 0


def chromium_cpu() -> dict[tuple[int, bool], float]:
    """CPU seconds of every chromium process under this one, by (pid, whether it is a renderer)."""
    out = {}
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in child.name():
                times = child.cpu_times()
                out[(child.pid, "--type=renderer" in child.cmdline())] = times.user + times.system
    return out


def time_load(context, url: str, ready) -> Load:
    """Open url in a new tab and time it until ready, with the websocket's and the browser's own marks."""
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("Performance.enable")
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        marks.setdefault(name, time.perf_counter() - started)

    def received(payload) -> None:
        if isinstance(payload, bytes):
            kind = ForwardMsg.FromString(payload).WhichOneof("type")
            if kind in MESSAGES:
                mark(kind)

    def sent(payload) -> None:
        if isinstance(payload, bytes) and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script":
            mark("rerun_script sent")

    def websocket(socket) -> None:
        mark("websocket opened")
        socket.on("framesent", sent)
        socket.on("framereceived", received)

    page.on("websocket", websocket)
    cpu_before = chromium_cpu()
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    ready(page)
    load = Load(time.perf_counter() - started)
    cpu_after = chromium_cpu()
    spent = {key: v - cpu_before.get(key, 0.0) for key, v in cpu_after.items()}
    load.browser_cpu = sum(spent.values())
    load.renderer_cpu = sum(v for (_, renderer), v in spent.items() if renderer)
    metrics = {m["name"]: m["value"] for m in devtools.send("Performance.getMetrics")["metrics"]}
    load.renderer = {name: metrics.get(name, 0.0) for name in RENDERER_METRICS}
    timing = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const fetched = performance.getEntriesByType('resource').filter(r => r.transferSize > 0);
            return {html: nav.responseEnd / 1000, dom: nav.domContentLoadedEventEnd / 1000,
                    load: nav.loadEventEnd / 1000, requests: fetched.length,
                    bytes: fetched.reduce((sum, r) => sum + r.transferSize, nav.transferSize)};
        }"""
    )
    load.marks = {"html received": timing["html"], "DOM ready (scripts run)": timing["dom"], **marks}
    load.fetched_kib, load.requests = timing["bytes"] / 1024, timing["requests"]
    page.close()
    return load


@contextlib.contextmanager
def open_browser(kind: str) -> Iterator:
    """A browser context: chromium with a profile of its own (as an engineer's), or an incognito one."""
    if kind == "profile":
        with profile_context(WIDE) as context:
            yield context
    else:
        with browser() as chromium:
            context = chromium.new_context(viewport=WIDE)
            yield context
            context.close()


def report_loads(name: str, cold: Load, warm: list[Load]) -> None:
    """Medians of the warm loads: ready, each mark, browser CPU and the renderer's main-thread work."""
    median = statistics.median
    print(
        f"{name:<9} page ready, opened by its URL: median {median(w.ready for w in warm):.3f} s, "
        f"max {max(w.ready for w in warm):.3f} s over {len(warm)} loads (first, cold: {cold.ready:.3f} s)"
    )
    order = ["html received", "DOM ready (scripts run)", "websocket opened", "rerun_script sent", *MESSAGES]
    for event in order:
        seen = [w.marks[event] for w in warm if event in w.marks]
        if seen:
            print(f"    {event:<26} at {median(seen):.3f} s (median of {len(seen)})")
    print(f"    {'ready':<26} at {median(w.ready for w in warm):.3f} s")
    renderer = " ".join(f"{k} {median(w.renderer[k] for w in warm) * 1000:.0f} ms" for k in RENDERER_METRICS)
    print(
        f"    browser CPU per load {median(w.browser_cpu for w in warm) * 1000:.0f} ms (all chromium processes), "
        f"renderer {median(w.renderer_cpu for w in warm) * 1000:.0f} ms; renderer main thread: {renderer}"
    )
    print(
        f"    fetched per load {median(w.fetched_kib for w in warm):.0f} KiB in {median(w.requests for w in warm):.0f} "
        f"requests (cold: {cold.fetched_kib:.0f} KiB in {cold.requests})"
    )


def report_bound(warm: list[Load], server_cpu: dict[str, float]) -> None:
    """CPU per load, server and browser, and the bound it implies on an idle 2-core machine: a load cannot be ready
    sooner than all its CPU spread evenly over both cores (the renderer's share, mostly one thread, makes it later)."""
    median = statistics.median
    browser_cpu, renderer = median(w.browser_cpu for w in warm), median(w.renderer_cpu for w in warm)
    server = sum(server_cpu.values())
    parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in server_cpu.items())
    print(f"    server CPU per load {server * 1000:.0f} ms ({parts})")
    print(
        f"    CPU per load, server and browser: {(server + browser_cpu) * 1000:.0f} ms "
        f"(renderer {renderer * 1000:.0f} ms); bound on an idle 2-core machine: >= {(server + browser_cpu) / 2:.2f} s"
    )


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
    parser.add_argument(
        "--browser",
        choices=("profile", "incognito"),
        default="profile",
        help="chromium with a profile of its own, as an engineer's browser (default), or an incognito context",
    )
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
                with running_dashboard(stack.env) as url, open_browser(args.browser) as context:
                    dashboard = next(
                        p for p in psutil.Process().children(recursive=True) if "streamlit" in " ".join(p.cmdline())
                    )
                    processes = {
                        "dashboard": dashboard,
                        "graph": psutil.Process(server.pid),
                        "service+driver": psutil.Process(),
                    }
                    pages = {
                        "incidents": (f"{url}/", wait_incidents_ready),
                        "incident": (f"{url}/incident?id={stack.incident_id}", wait_incident_ready),
                    }
                    for name, (page_url, ready) in pages.items():
                        print("load average now: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
                        cold = time_load(context, page_url, ready)
                        before = {k: cpu_seconds(p) for k, p in processes.items()}
                        warm = [time_load(context, page_url, ready) for _ in range(args.loads)]
                        server_cpu = {k: (cpu_seconds(p) - before[k]) / args.loads for k, p in processes.items()}
                        report_loads(name, cold, warm)
                        report_bound(warm, server_cpu)
                        # the top bar's Incident opens the newest incident: the demo's (the copies are older)
                        link = "Incidents" if name == "incidents" else "Incident"
                        moved = time_in_app(context, url, link, ready, args.loads)
                        print(
                            f"{name:<9} page ready, from the top bar: median {statistics.median(moved):.3f} s, "
                            f"max {max(moved):.3f} s over {len(moved)} clicks"
                        )
    print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
