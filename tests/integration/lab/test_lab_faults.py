"""The lab's faults for real.

First part: the in-process faults in a real service process (rca.cli.lab.service_host run alone, no
supervisor): CPU burnt as the kernel counts it, a memory fault ending in a real SIGKILL under the
lowered RLIMIT_AS, a bounded disk fill removed on revert, an RST seen by a real socket client.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from rca.cli.lab.injectors import FAULT_KINDS
from tests.integration.cli import rca
from tests.support.lab_faults_estate import FAULTS_ESTATE

KINDS = ", ".join(FAULT_KINDS)

SOLO_ESTATE = """\
version: 1
estate: faults-solo
hosts:
  - {id: node-1, technology: linux}
services:
  - id: solo
    technology: python
    instances: [{id: solo-0, runs_on: node-1}]
lab:
  load: {solo: 1}
  work_ms: 0
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, what: str, timeout_s: float = 60.0, every_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"gave up waiting for {what}")


class SoloService:
    """One real service host process on a free port, with its admin endpoint."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        estate = workdir / "estate.yaml"
        estate.write_text(SOLO_ESTATE)
        addresses = workdir / "addresses.json"
        addresses.write_text("{}")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "rca.cli.lab.service_host", "--estate", str(estate), "--service", "solo"]
        command += ["--port", str(self.port), "--workdir", str(workdir), "--addresses", str(addresses)]
        self.process = subprocess.Popen(command, start_new_session=True)
        wait_for(self._answers, "the service to answer")

    def _answers(self) -> bool:
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def apply(self, kind: str, params: dict) -> None:
        status, answer = self.request("POST", "/_lab/faults", {"kind": kind, "params": params})
        assert status == 200, answer

    def revert(self, kind: str) -> None:
        assert self.request("DELETE", f"/_lab/faults/{kind}")[0] == 200

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def log_text(self) -> str:
        path = self.workdir / "logs" / "solo.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def solo(tmp_path):
    service = SoloService(tmp_path)
    yield service
    service.stop()


def test_errors_fault_answers_the_status_and_revert_restores_the_service(solo):
    solo.apply("errors", {"status": 503})
    assert solo.request("GET", "/api")[0] == 503
    solo.revert("errors")
    assert solo.request("GET", "/api")[0] == 200


def test_cpu_fault_burns_cpu_in_the_service_process_until_reverted(solo):
    before = solo.cpu_seconds()
    solo.apply("cpu", {"threads": 1})
    wait_for(lambda: solo.cpu_seconds() - before >= 1.5, "1.5 s of CPU burnt by the service process")
    solo.revert("cpu")
    assert solo.request("GET", "/_lab/faults")[1] == {"faults": []}
    idle_start = solo.cpu_seconds()
    time.sleep(2.0)
    # An idle service host uses a few milliseconds in 2 s; a busy loop left running would use ~2 s.
    assert solo.cpu_seconds() - idle_start < 0.5


def test_memory_fault_grows_until_the_address_space_limit_kills_the_process(solo):
    rss_before = psutil.Process(solo.process.pid).memory_info().rss
    solo.apply("memory", {"mb_per_s": 40, "limit_mb": 120})
    grown = wait_for(
        lambda: _rss_or_none(solo.process.pid, rss_before + (30 << 20)), "the resident size to grow", timeout_s=30
    )
    assert grown > rss_before
    returncode = solo.process.wait(timeout=60)
    assert returncode == -signal.SIGKILL
    assert "Out of memory: Killed process" in solo.log_text()


def _rss_or_none(pid: int, at_least: int) -> int | None:
    try:
        rss = psutil.Process(pid).memory_info().rss
    except psutil.NoSuchProcess:
        return None
    return rss if rss >= at_least else None


def test_disk_fill_is_bounded_fails_requests_when_full_and_is_removed_on_revert(solo):
    solo.apply("disk", {"mb": 8, "mb_per_s": 200})
    temp_dir = solo.workdir / "tmp" / "solo"
    wait_for(lambda: solo.request("GET", "/api")[0] == 500, "requests to fail on the full temp directory")
    files = list(temp_dir.glob("lab-disk-fill-*.bin"))
    assert [f.stat().st_size for f in files] == [8 << 20]
    assert "No space left on device" in solo.request("GET", "/api")[1]["error"]
    solo.revert("disk")
    assert list(temp_dir.glob("*")) == []
    assert solo.request("GET", "/api")[0] == 200


def _raw_get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(b"GET /api HTTP/1.1\r\nHost: lab\r\n\r\n")
        return client.recv(4096)


def test_connection_reset_is_an_rst_and_drop_is_a_close_seen_by_a_real_client(solo):
    solo.apply("connection", {"mode": "reset"})
    with pytest.raises(ConnectionResetError):
        _raw_get(solo.port)
    solo.apply("connection", {"mode": "drop"})
    assert _raw_get(solo.port) == b""  # an orderly close without an answer
    solo.revert("connection")
    assert _raw_get(solo.port).startswith(b"HTTP/1.1 200")


def test_latency_fault_delays_the_answer(solo):
    solo.apply("latency", {"ms": 400})
    started = time.perf_counter()
    assert solo.request("GET", "/api")[0] == 200
    assert time.perf_counter() - started >= 0.4
    solo.revert("latency")


# ---- second part: every injector on a real estate run by the real supervisor -------------------
#
# One lab (rca.cli.lab.supervisor.Lab without the project's parts: the faults do not need the graph or
# the workers) for all the tests below, started once; each test injects through the supervisor's
# fault book (or the control API, as `rca lab inject` does), checks the real effect, reverts, and
# checks that the estate is back to normal. The last test takes the lab down with faults active.


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from rca.cli.lab.estate import load_estate
    from rca.cli.lab.supervisor import Lab

    workdir = tmp_path_factory.mktemp("lab-faults")
    (workdir / "estate.yaml").write_text(FAULTS_ESTATE)
    running = Lab(load_estate(workdir / "estate.yaml"), workdir, with_project=False)
    try:
        running.up(progress=lambda line: None)
    except BaseException:
        running.down(progress=lambda line: None)
        raise
    yield running
    if not running.stop_requested.is_set():
        running.down(progress=lambda line: None)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def api(lab, service: str) -> int:
    try:
        return status_of(lab.service(service).url + "/api")
    except OSError:
        return 0


def answers_normally(lab, service: str = "orders") -> bool:
    """Five answers in a row are 200 (a restarted process answers, its datastores too)."""
    return all(api(lab, service) == 200 for _ in range(5))


def in_process_faults(lab, service: str) -> list:
    with urllib.request.urlopen(lab.service(service).url + "/_lab/faults", timeout=30) as response:
        return json.loads(response.read())["faults"]


def log_lines(lab, entity: str, text: str) -> int:
    path = lab.workdir / "logs" / f"{entity}.log"
    return sum(text in line for line in path.read_text().splitlines()) if path.exists() else 0


def test_the_estate_answers_normally_before_any_fault(lab):
    wait_for(lambda: answers_normally(lab, "frontend"), "the estate to answer")
    assert answers_normally(lab, "frontend")


def test_errors_latency_and_reset_in_a_service_are_reverted(lab):
    record = lab.faults.inject("errors", "orders", 60, {"status": 503})
    assert api(lab, "orders") == 503
    assert api(lab, "frontend") >= 500  # the caller fails with it
    lab.faults.revert(record["id"])
    wait_for(lambda: answers_normally(lab, "frontend"), "the estate to answer after the errors")

    record = lab.faults.inject("latency", "orders", 60, {"ms": 300})
    started = time.perf_counter()
    assert api(lab, "orders") == 200
    assert time.perf_counter() - started >= 0.3
    lab.faults.revert(record["id"])
    assert in_process_faults(lab, "orders") == []

    record = lab.faults.inject("connection", "orders", 60, {"mode": "reset"})
    with pytest.raises(ConnectionResetError):
        _raw_get(lab.service("orders").port)
    lab.faults.revert(record["id"])
    assert _raw_get(lab.service("orders").port).startswith(b"HTTP/1.1 200")


def test_cpu_on_a_host_burns_in_every_service_of_the_host_group_until_reverted(lab):
    def host_cpu() -> float:
        total = 0.0
        for pid in lab.host_pids("node-1"):
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    before = host_cpu()
    record = lab.faults.inject("cpu", "node-1", 60, {"threads": 1})
    assert [f["kind"] for f in in_process_faults(lab, "frontend")] == ["cpu"]
    assert [f["kind"] for f in in_process_faults(lab, "orders")] == ["cpu"]
    wait_for(lambda: host_cpu() - before >= 3.0, "3 s of CPU burnt by the host's service processes")
    lab.faults.revert(record["id"])
    assert in_process_faults(lab, "frontend") == in_process_faults(lab, "orders") == []


def test_memory_growth_ends_in_a_kill_and_leaks_again_after_each_restart_until_reverted(lab):
    old_pid = lab.service("orders").pid
    record = lab.faults.inject("memory", "orders", 120, {"mb_per_s": 20, "limit_mb": 100})
    wait_for(lambda: not psutil.pid_exists(old_pid) or psutil.Process(old_pid).status() == "zombie", "the kill")
    assert log_lines(lab, "orders", "Out of memory: Killed process") >= 1
    wait_for(lambda: lab.service("orders").pid not in (0, old_pid), "the supervisor's restart")
    # the leak is in the code: the restarted process leaks and is killed again
    wait_for(lambda: log_lines(lab, "orders", "Out of memory: Killed process") >= 2, "the second OOM kill")
    lab.faults.revert(record["id"])
    assert lab.service("orders").extra_env == {}
    wait_for(lambda: answers_normally(lab), "the service to answer once reverted")
    wait_for(lambda: in_process_faults(lab, "orders") == [], "no fault in the running process")
    kills = log_lines(lab, "orders", "Out of memory: Killed process")
    time.sleep(8)  # longer than the leak took to reach its limit (100 MB at 20 MB/s)
    assert log_lines(lab, "orders", "Out of memory: Killed process") == kills


def test_disk_fill_stays_in_the_service_temp_dir_and_is_removed_on_revert(lab):
    temp_dir = lab.workdir / "tmp" / "orders"
    record = lab.faults.inject("disk", "orders", 60, {"mb": 8, "mb_per_s": 200})
    wait_for(lambda: api(lab, "orders") == 500, "requests to fail on the full temp directory")
    assert [f.stat().st_size for f in temp_dir.glob("lab-disk-fill-*.bin")] == [8 << 20]
    lab.faults.revert(record["id"])
    assert list(temp_dir.glob("lab-disk-fill-*.bin")) == []
    assert answers_normally(lab)


def test_crash_keeps_the_service_down_until_reverted(lab):
    from rca.cli.lab.supervisor import RESTART_DELAY_S

    record = lab.faults.inject("crash", "orders", 60, {})
    wait_for(lambda: lab.service("orders").pid == 0, "the service process to die")
    time.sleep(RESTART_DELAY_S + 2.0)  # longer than the supervisor waits before a restart
    assert lab.service("orders").pid == 0
    assert api(lab, "orders") == 0
    lab.faults.revert(record["id"])
    assert lab.service("orders").auto_restart is True
    wait_for(lambda: answers_normally(lab), "the service to answer after the crash")


def test_crash_loop_dies_again_after_each_restart_until_reverted(lab):
    exits_before = log_lines(lab, "orders", "exited abnormally")
    record = lab.faults.inject("crash_loop", "orders", 120, {"after_s": 1})
    wait_for(
        lambda: log_lines(lab, "orders", "exited abnormally") >= exits_before + 2, "two exits in a row", timeout_s=90
    )
    lab.faults.revert(record["id"])
    assert lab.service("orders").extra_env == {}
    wait_for(lambda: answers_normally(lab), "the service to answer after the crash loop")
    pid = lab.service("orders").pid
    time.sleep(3.0)  # longer than the loop's processes lived
    assert lab.service("orders").pid == pid


def test_bad_deploy_runs_the_new_version_misbehaving_and_rolls_back(lab):
    record = lab.faults.inject("bad_deploy", "orders", 120, {"version": "2.0.1", "ratio": 1.0})
    metrics = urllib.request.urlopen(lab.service("orders").url + "/metrics", timeout=30).read().decode()
    assert 'service_version_info{service="orders",version="2.0.1"} 1.0' in metrics
    assert api(lab, "orders") == 500
    assert log_lines(lab, "orders", "version 2.0.1") >= 2  # the deploy tool's line and the service's own
    lab.faults.revert(record["id"])
    metrics = urllib.request.urlopen(lab.service("orders").url + "/metrics", timeout=30).read().decode()
    assert 'service_version_info{service="orders",version="1"} 1.0' in metrics
    assert answers_normally(lab)


def test_datastore_outage_stops_redis_and_revert_brings_it_back(lab):
    import redis

    client = redis.Redis(host="127.0.0.1", port=lab.datastore("redis-cart").port, socket_timeout=5)
    record = lab.faults.inject("datastore_outage", "redis-cart", 60, {})
    with pytest.raises(redis.ConnectionError):
        client.ping()
    assert api(lab, "orders") == 503
    lab.faults.revert(record["id"])
    assert client.ping() is True
    wait_for(lambda: answers_normally(lab), "orders to answer with redis back")


def _lab_connection(lab):
    import psycopg

    port = lab.datastore("pg-orders").port
    return psycopg.connect(f"host=127.0.0.1 port={port} user=lab dbname=lab connect_timeout=5", autocommit=True)


def test_postgres_connection_limit_starves_clients_and_revert_lifts_it(lab):
    import psycopg

    record = lab.faults.inject("datastore_config", "pg-orders", 60, {"limit": 1})
    assert lab.datastore("pg-orders").sql("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'lab'") == [(1,)]

    def hold_the_only_slot():
        try:
            return _lab_connection(lab)
        except psycopg.OperationalError:
            return None  # a service holds it right now

    held = wait_for(hold_the_only_slot, "the one connection the limit allows")
    try:
        with pytest.raises(psycopg.OperationalError, match='too many connections for role "lab"'):
            _lab_connection(lab)
        wait_for(lambda: api(lab, "orders") >= 500, "orders to be starved of connections")
    finally:
        held.close()
    lab.faults.revert(record["id"])
    assert lab.datastore("pg-orders").sql("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'lab'") == [(-1,)]
    with _lab_connection(lab), _lab_connection(lab):
        pass
    assert answers_normally(lab)


def test_postgres_connection_limit_zero_refuses_every_client_and_revert_lifts_it(lab):
    import psycopg

    record = lab.faults.inject("datastore_config", "pg-orders", 60, {"limit": 0})
    assert lab.datastore("pg-orders").sql("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'lab'") == [(0,)]
    with pytest.raises(psycopg.OperationalError, match='too many connections for role "lab"'):
        _lab_connection(lab)
    wait_for(lambda: api(lab, "orders") >= 500, "orders to be refused its connections")
    lab.faults.revert(record["id"])
    assert lab.datastore("pg-orders").sql("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'lab'") == [(-1,)]
    with _lab_connection(lab):
        pass
    wait_for(lambda: answers_normally(lab), "orders to answer normally again")


def test_postgres_max_connections_mechanism_restarts_with_the_lower_limit_and_back(lab):
    store = lab.datastore("pg-orders")
    record = lab.faults.inject("datastore_config", "pg-orders", 60, {"limit": 2, "mechanism": "max_connections"})
    reserved = int(store.sql("SHOW superuser_reserved_connections")[0][0])
    assert store.sql("SHOW max_connections") == [(str(2 + reserved),)]
    lab.faults.revert(record["id"])
    assert store.sql("SHOW max_connections") == [("50",)]
    wait_for(lambda: answers_normally(lab), "orders to answer after the restarts")


def test_redis_maxclients_starves_clients_and_revert_restores_it(lab):
    import redis

    port = lab.datastore("redis-cart").port
    before = redis.Redis(host="127.0.0.1", port=port).config_get("maxclients")["maxclients"]
    record = lab.faults.inject("datastore_config", "redis-cart", 60, {"limit": 1})
    wait_for(lambda: api(lab, "orders") == 503, "orders to be refused by redis")
    assert log_lines(lab, "orders", "max number of clients reached") >= 1
    lab.faults.revert(record["id"])
    assert redis.Redis(host="127.0.0.1", port=port).config_get("maxclients")["maxclients"] == before
    wait_for(lambda: answers_normally(lab), "orders to answer with redis clients allowed again")


def test_inject_command_checks_against_the_estate_and_reverts_after_its_duration(lab):
    import argparse

    from rca.cli.lab.fault_cli import add_inject_arguments, run_inject_command
    from rca.cli.lab.injectors import FaultError

    parser = argparse.ArgumentParser()
    add_inject_arguments(parser)

    def inject(*argv: str) -> int:
        return run_inject_command(parser.parse_args(list(argv)), lab.workdir, out=open(os.devnull, "w"))

    with pytest.raises(FaultError, match=r"'checkout' is not in the estate \(services: frontend, orders"):
        inject("--fault", "crash", "--target", "checkout")
    with pytest.raises(FaultError, match="datastore_outage applies to a datastore; 'orders' is a service"):
        inject("--fault", "datastore_outage", "--target", "orders")
    with pytest.raises(FaultError, match="no parameter 'speed'"):
        inject("--fault", "latency", "--target", "orders", "--param", "speed=3")
    assert lab.faults.active() == []

    done = rca("lab", "inject", "--workdir", str(lab.workdir), "--fault", "bad", "--target", "orders")
    assert (done.returncode, done.stderr.strip()) == (2, "rca: error: unknown fault kind 'bad'; known kinds: " + KINDS)
    done = rca(
        "lab", "inject", "--workdir", str(lab.workdir), "--fault", "errors", "--target", "orders-0", "--for", "2s"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("fault f")
    assert api(lab, "orders") == 500
    wait_for(lambda: lab.faults.active() == [], "the fault's duration to end")
    assert answers_normally(lab)


def test_lab_down_reverts_active_faults_and_leaves_nothing_running(lab):
    from rca.cli.lab.processes import pid_alive
    from rca.cli.lab.supervisor import read_lab_file

    temp_dir = lab.workdir / "tmp" / "orders"
    lab.faults.inject("disk", "orders", 600, {"mb": 4, "mb_per_s": 200})
    lab.faults.inject("datastore_config", "pg-orders", 600, {"limit": 1})
    lab.faults.inject("crash", "frontend", 600, {})
    wait_for(lambda: list(temp_dir.glob("lab-disk-fill-*.bin")), "the fill file")
    record = read_lab_file(lab.workdir)
    lab.down(progress=lambda line: None)
    assert lab.faults.active() == []
    assert list(temp_dir.glob("lab-disk-fill-*.bin")) == []
    assert [entry["name"] for entry in record["processes"] if pid_alive(int(entry["pid"]))] == []
