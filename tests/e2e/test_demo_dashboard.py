"""`rca demo --dashboard`: after the demo, the dashboard runs on its graph and service until Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from tests.integration.cli import ROOT
from tests.support.dashboard_browser import GRAPH, WIDE, browser, offline_page, wait_incident_ready
from tests.support.local_server import free_port
from tests.support.waiting import wait_until

STOP_TIMEOUT_S = 180


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_demo_dashboard_opens_the_demo_incident_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEO4J_URI": "",
        "NEO4J_PASSWORD": "demo-password",
        "RCA_GRAPH__HEAP": "1g",
        "RCA_DASHBOARD__PORT": str(port),
    }
    out = tmp_path / "demo.out"
    with open(out, "w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "rca.cli.main", "--data-dir", str(tmp_path / "graph"), "demo", "--dashboard"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            # as a terminal would start it: a suite run in the background (`cmd &` in a script) inherits
            # SIGINT ignored, and Python then never turns Ctrl-C into KeyboardInterrupt
            preexec_fn=_sigint_default,
        )
    try:
        found = wait_until(
            lambda: re.search(rf"dashboard on (http://127\.0\.0\.1:{port}/incident\?id=inc-\w+)", out.read_text()),
            timeout=240,
            interval=0.5,
            message="the demo prints the dashboard's URL",
        )
        url = found.group(1)
        with browser() as chromium:
            refused: list[str] = []
            page = offline_page(chromium, WIDE, refused)
            wait_until(lambda: page.goto(url).ok, timeout=60, interval=0.5, message="the dashboard answers")
            wait_incident_ready(page, timeout_ms=60000)
            # the demo's top candidate (test_demo holds that it is the true root cause) is the one drawn
            top = re.search(r"^#1 (\S+) \[", out.read_text(), re.M).group(1)
            page.get_by_text(f"Path from {top}").wait_for()
            assert top in (page.locator(GRAPH).first.text_content() or "")
            assert not refused
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        # stopping the dashboard, the service and the embedded graph (a JVM) can take a while on a busy
        # machine; a hang shows with what the demo printed last
        try:
            status = demo.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired as late:
            printed = out.read_text()[-3000:]
            raise AssertionError(f"Ctrl-C did not stop the demo within {STOP_TIMEOUT_S} s:\n{printed}") from late
        assert status == 0, out.read_text()[-3000:]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    text = out.read_text()
    assert "Ctrl-C stops the dashboard, the service and the graph" in text
