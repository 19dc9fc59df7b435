"""The lab's faults for real.

First part: the in-process faults in a real service process (rca.lab.service_host run alone, no
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
        command = [sys.executable, "-m", "rca.lab.service_host", "--estate", str(estate), "--service", "solo"]
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
