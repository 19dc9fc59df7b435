"""The issue's smoke test: a 4-service estate with one real datastore (redis), one real fault, diagnosed
correctly through the real chain, torn down, no process left.

`rca lab run` starts the lab itself (no lab runs in the workdir), warms it up briefly, stops the real
redis-server (datastore_outage), waits for the entry SLO alert in the real Prometheus and for the
incident the real Alertmanager bridge stored through the real RootCause service, reverts, waits for
recovery, records the case folder and stops the lab. The live diagnosis must rank redis-cart first, the
recording must replay with `rca diagnose`, and no process the lab recorded may be alive afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil

from rca.cli.diagnose.case import load_case
from rca.cli.diagnose.session import project_signals
from rca.cli.lab.processes import pid_alive
from settings.root import load_settings
from tests.integration.cli import rca

ROOT = Path(__file__).resolve().parents[3]
ESTATE = ROOT / "examples" / "lab" / "estate-small.yaml"
RUN_TIMEOUT_S = 900  # lab start (graph JVM, RootCause service) + warm-up + scenario + down, on 2 busy cores

SCENARIOS = f"""\
estate: {ESTATE}
warmup: 30s
defaults: {{steady: 20s, duration: 45s, alert_timeout: 120s, recovery_timeout: 120s}}
scenarios:
  - name: cart-store-down
    fault: datastore_outage
    target: redis-cart
"""


def test_one_fault_is_diagnosed_through_the_real_chain_and_nothing_is_left(tmp_path):
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(SCENARIOS)
    workdir, record = tmp_path / "lab", tmp_path / "cases"
    done = subprocess.run(
        [sys.executable, "-m", "rca.cli.main", "lab", "run", "--scenarios", str(scenarios),
         "--workdir", str(workdir), "--record", str(record), "--no-replay"],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    lab_log = (tmp_path / "lab-lab-up.log").read_text() if (tmp_path / "lab-lab-up.log").exists() else ""
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\nlab up:\n{lab_log[-3000:]}"

    [result] = json.loads((record / "results.json").read_text())
    assert result["diagnosis"] == "incident", result  # the bridge's own incident, not the runner's Infer
    assert result["ranking"][0] == "redis-cart", result
    assert result["fault_at"] < result["alert_at"] <= result["diagnosed_at"]
    assert "cart-store-down" in done.stdout and "live AC@1 1.000" in done.stdout

    known = {name: t.family for name, t in project_signals(load_settings(None).metrics).items()}
    case = load_case(record / "cart-store-down", known)
    assert {c.entity for c in case.metrics} >= {"web", "cart", "redis-cart"}
    assert case.root_causes == ["redis-cart"] and case.log_lines
    replay = rca("diagnose", str(record / "cart-store-down"), "--json", timeout=600)
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert "redis-cart" in {r["entity"] for r in json.loads(replay.stdout)["ranking"]}

    recorded = json.loads((workdir / "lab.json").read_text())
    alive = [p for p in recorded["processes"] if pid_alive(int(p["pid"]))]
    assert not alive, f"still running after the run: {alive}"
    strays = [
        p.info for p in psutil.process_iter(["pid", "cmdline"]) if str(workdir) in " ".join(p.info["cmdline"] or [])
    ]
    assert not strays, f"processes still naming the lab's workdir: {strays}"
