"""`rca lab up` really started on a small estate (4 services, one redis on 2 hosts): the services answer,
the lab's Prometheus scrapes them, their syslog lines reach the project's syslog worker and the graph,
and `rca lab down` (or Ctrl-C on `up`) leaves no recorded process or process group alive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from graph_schema.connection import open_graph
from graph_schema.cypher import events as event_cypher
from rca.cli.lab.processes import group_alive, pid_alive
from settings.graph import GraphSettings

ROOT = Path(__file__).resolve().parents[3]
ESTATE = ROOT / "examples" / "lab" / "estate-small.yaml"
SERVICES = ("web", "cart", "catalog", "pricing")
UP_TIMEOUT_S = 300  # the graph's JVM and the RootCause service start slowly on a busy 2-core machine


def start_up(workdir: Path, *extra: str) -> subprocess.Popen:
    """`rca lab up` in its own session, with SIGINT at its default as a terminal would leave it."""
    return subprocess.Popen(
        [sys.executable, "-m", "rca.cli.main", "lab", "up", "--estate", str(ESTATE), "--workdir", str(workdir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_ready(up: subprocess.Popen, workdir: Path) -> dict:
    """lab.json once it says ready; fails with what `up` printed if it ends first."""
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        if up.poll() is not None:
            pytest.fail(f"rca lab up ended with {up.returncode}:\n{up.stdout.read() if up.stdout else ''}")
        try:
            record = json.loads((workdir / "lab.json").read_text())
            if record.get("ready"):
                return record
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    up.send_signal(signal.SIGINT)
    pytest.fail(f"the lab was not ready after {UP_TIMEOUT_S} s")


def stop_everything(up: subprocess.Popen, workdir: Path) -> None:
    """After a failed check too: the supervisor, then every process group lab.json recorded (each
    service runs in its own session, so killing the supervisor's group alone would leave them)."""
    if up.poll() is None:
        os.killpg(up.pid, signal.SIGKILL)
        up.wait(timeout=30)
    if (workdir / "lab.json").exists():
        rca_lab("down", "--workdir", str(workdir))


def rca_lab(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
    """`rca lab ARGS...` to the end, its output captured."""
    command = [sys.executable, "-m", "rca.cli.main", "lab", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout_s)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def answers_as(url: str, pid: int) -> bool:
    """True once the service at ``url`` answers from process ``pid`` (a restarted one listens a moment later)."""
    try:
        return get_json(url + "/healthz")["pid"] == pid
    except OSError:
        return False


def prometheus_query(base: str, query: str) -> list[dict]:
    answer = get_json(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    return answer["data"]["result"]


def eventually(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout_s:.0f} s")
        time.sleep(1.0)


def assert_nothing_left(record: dict) -> None:
    """Every recorded pid is gone and no process is left in any recorded process group."""
    assert record["processes"], "lab.json records no process"
    alive = [p for p in record["processes"] if pid_alive(p["pid"]) or group_alive(p["pgid"])]
    assert alive == [], f"still running after down: {alive}"
    assert not [name for name, store in record["datastores"].items() if store["pid"] and pid_alive(store["pid"])]


def test_lab_up_serves_scrapes_logs_and_down_leaves_nothing(tmp_path):
    workdir = tmp_path / "lab"
    up = start_up(workdir)
    try:
        record = wait_ready(up, workdir)
        assert set(record["services"]) == set(SERVICES)
        assert record["datastores"]["redis-cart"]["kind"] == "redis"

        for name, service in record["services"].items():  # every service answers its API with its own name
            with urllib.request.urlopen(service["url"] + "/api", timeout=10) as response:
                assert json.loads(response.read())["service"] == name

        # the real Prometheus scrapes every service (target labels name the service) and the redis exporter
        prometheus = record["prometheus_url"]
        scraped = eventually(
            lambda: (
                {r["metric"]["service"] for r in prometheus_query(prometheus, 'up{job="lab-services"} == 1')}
                >= set(SERVICES)
                and prometheus_query(prometheus, 'http_requests_total{service="web",code="200"}')
            ),
            60,
            "every service scraped and web's requests counted",
        )
        assert float(scraped[0]["value"][1]) > 0
        assert eventually(lambda: prometheus_query(prometheus, 'redis_up{datastore="redis-cart"} == 1'), 60, "redis")
        hosts = eventually(lambda: prometheus_query(prometheus, "lab_host_processes > 0"), 60, "host metrics")
        assert {r["metric"]["host"] for r in hosts} == {"lab-node-1", "lab-node-2"}

        # the services' syslog lines (RFC 5424 over TCP) reach the project's syslog worker and the graph
        graph = GraphSettings(data_dir=workdir / "graph")
        with open_graph(graph) as store:
            events = eventually(
                lambda: store.read(event_cypher.EVENTS_OF_ENTITY, entity_id="web"), 90, "web's events in the graph"
            )
        assert any("listening" in (e["sample"] or "") for e in events)
        assert "listening" in (workdir / "logs" / "web.log").read_text()  # the copy for recordings

        status = rca_lab("status", "--workdir", str(workdir), "--resources", timeout_s=60)
        assert status.returncode == 0, status.stderr
        assert "rca-serve" in status.stdout and "services" in status.stdout

        down = rca_lab("down", "--workdir", str(workdir))
        assert down.returncode == 0, down.stdout + down.stderr
        assert up.wait(timeout=60) == 0
        final = json.loads((workdir / "lab.json").read_text())
        assert {p["name"] for p in final["processes"]} >= {"graph", "graph-jvm", "prometheus", "rca-serve", *SERVICES}
        assert_nothing_left(final)
        assert_nothing_left(record)  # the pids recorded while it ran, too
    finally:
        stop_everything(up, workdir)


def test_a_killed_service_is_restarted_and_ctrl_c_on_up_stops_everything(tmp_path):
    workdir = tmp_path / "lab"
    up = start_up(workdir, "--no-project")
    try:
        record = wait_ready(up, workdir)
        assert all(pid_alive(p["pid"]) for p in record["processes"])

        killed = record["services"]["cart"]["pid"]
        os.killpg(killed, signal.SIGKILL)  # the supervisor logs the crash as the service and restarts it
        restarted = eventually(
            lambda: (
                (json.loads((workdir / "lab.json").read_text())["services"]["cart"]["pid"] or killed) != killed
                and json.loads((workdir / "lab.json").read_text())
            ),
            60,
            "cart restarted",
        )
        cart = restarted["services"]["cart"]
        eventually(lambda: answers_as(cart["url"], cart["pid"]), 30, "the new cart answering")
        assert "exited abnormally (killed by signal 9)" in (workdir / "logs" / "cart.log").read_text()

        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=120) == 0
        assert "lab down" in (up.stdout.read() if up.stdout else "")
        assert_nothing_left(json.loads((workdir / "lab.json").read_text()))
        assert_nothing_left(record)
        assert not pid_alive(killed)
    finally:
        stop_everything(up, workdir)


def test_down_stops_every_recorded_group_when_the_supervisor_is_gone(tmp_path):
    workdir = tmp_path / "lab"
    up = start_up(workdir, "--no-project")
    try:
        record = wait_ready(up, workdir)
        os.kill(record["supervisor_pid"], signal.SIGKILL)  # no clean-up from it: down must do it all
        up.wait(timeout=30)
        assert any(pid_alive(p["pid"]) for p in record["processes"])
        down = rca_lab("down", "--workdir", str(workdir))
        assert down.returncode == 0, down.stdout + down.stderr
        assert_nothing_left(json.loads((workdir / "lab.json").read_text()))
    finally:
        stop_everything(up, workdir)
