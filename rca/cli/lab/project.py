"""The project's own parts as the lab runs them, each an `rca` subcommand in its own process group.

The embedded graph (`rca graph serve` on WORKDIR/graph), the topology load of the estate file, the
syslog worker on TCP, the metrics worker with the topology sync against the lab's Prometheus (5 s
step, a poll every ~10 s, the lab's PromQL files), the RootCause service (`rca serve`) and the
Alertmanager bridge. Every process gets the same RCA_* settings, so they all find the same graph.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rca.cli.lab.processes import Child, free_port

RCA = [sys.executable, "-m", "rca.cli.main"]
# The bridge's look-back in the lab (default 1800 s): a scenario's fault begins 15-60 s before its alert,
# and `rca lab run` keeps at least this long between one scenario's recovery and the next fault, so a
# diagnosis sees its own fault and no earlier one. RCA_BRIDGE__WINDOW_BEFORE_S in the caller's
# environment replaces it.
LAB_WINDOW_BEFORE_S = 120.0


def bridge_window_before_s() -> float:
    """The lab bridge's look-back: RCA_BRIDGE__WINDOW_BEFORE_S if the caller set it, else LAB_WINDOW_BEFORE_S."""
    return float(os.environ.get("RCA_BRIDGE__WINDOW_BEFORE_S") or LAB_WINDOW_BEFORE_S)


@dataclass
class ProjectPorts:
    """The loopback ports of the project's parts."""

    bolt: int = field(default_factory=free_port)
    syslog_tcp: int = field(default_factory=free_port)
    syslog_metrics: int = field(default_factory=free_port)
    metrics_worker: int = field(default_factory=free_port)
    grpc: int = field(default_factory=free_port)
    service_metrics: int = field(default_factory=free_port)
    bridge: int = field(default_factory=free_port)


def project_env(workdir: Path, prometheus_url: str, worker_templates: dict[str, str], ports: ProjectPorts) -> dict:
    """The settings every project process of the lab shares (docs/lab.md, Up/down)."""
    return {
        "RCA_GRAPH__DATA_DIR": str(workdir / "graph"),
        "RCA_GRAPH__HEAP": os.environ.get("RCA_GRAPH__HEAP", "512m"),
        "RCA_SYSLOG__STATE_DIR": str(workdir / "syslog"),
        "RCA_METRICS__PROMETHEUS_URL": prometheus_url,
        "RCA_METRICS__STEP_S": "5",
        "RCA_METRICS__POLL_INTERVAL_S": "10",
        "RCA_METRICS__POLL_JITTER_S": "1",
        "RCA_METRICS__RATE_WINDOW": "30s",
        # the baseline leaves out the last 60 s (default 300 s): with 20 points at 5 s the detector judges
        # after ~3 minutes of lab instead of ~7, and a fault's anomaly opens well within 60 s
        "RCA_METRICS__GAP_S": "60",
        # an anomaly opens after 15 s of anomalous points (3 at the lab's 5 s step; default 45 s, 3 at 15 s),
        # so the metric evidence is in the graph when the entry alert (for: 15 s) has the bridge call Infer
        "RCA_METRICS__OPEN_AFTER_S": "15",
        # a level that holds 3 minutes is the new normal (default 6 h): no lab fault lasts that long, and a
        # level shift left by a fault (a restarted process' memory) must not stay open into later scenarios
        "RCA_METRICS__MAX_OPEN_S": "180",
        "RCA_SYNC__INTERVAL_S": "60",
        "RCA_SYNC__JITTER_S": "5",
        "RCA_SYNC__DISCOVERY_WINDOW": "1m",
        "RCA_SYNC__STATUS_FILE": str(workdir / "sync_status.json"),
        "RCA_BRIDGE__TARGET": f"127.0.0.1:{ports.grpc}",
        "RCA_BRIDGE__WINDOW_BEFORE_S": f"{bridge_window_before_s():g}",
        **worker_templates,
    }


def _clean_env() -> dict[str, str]:
    """The caller's environment without a configured external graph: the lab runs its own."""
    return {k: v for k, v in os.environ.items() if k not in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD")}


def graph_child(workdir: Path, env: dict, ports: ProjectPorts) -> Child:
    """`rca graph serve` on the lab's data directory."""
    argv = [*RCA, "graph", "serve", "--bolt-port", str(ports.bolt)]
    return Child("graph", argv, workdir / "project" / "graph.log", env={**_clean_env(), **env})


def load_topology(workdir: Path, env: dict, estate_path: Path) -> None:
    """`rca graph migrate` and `rca topology load ESTATE` once the graph is up (an estate file is a topology file)."""
    for command in (["graph", "migrate"], ["topology", "load", str(estate_path)]):
        done = subprocess.run(
            [*RCA, *command], env={**_clean_env(), **env}, capture_output=True, text=True, timeout=300
        )
        with open(workdir / "project" / "topology-load.log", "a") as log:
            log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"rca {' '.join(command)} failed: {done.stderr.strip()[-1500:]}")


def worker_children(workdir: Path, env: dict, ports: ProjectPorts) -> list[Child]:
    """The syslog worker, the metrics worker (with the sync), the RootCause service and the bridge."""
    full_env = {**_clean_env(), **env}
    logs = workdir / "project"
    commands = {
        "syslog-worker": [
            "ingest", "syslog", "--tcp", f"127.0.0.1:{ports.syslog_tcp}",
            "--metrics", f"127.0.0.1:{ports.syslog_metrics}",
        ],
        "metrics-worker": ["ingest", "metrics", "--exporter-port", str(ports.metrics_worker)],
        "rca-serve": [
            "serve", "--port", str(ports.grpc), "--metrics-port", str(ports.service_metrics), "--workers", "4",
        ],
        "bridge": ["bridge", "alertmanager", "--listen", f"127.0.0.1:{ports.bridge}"],
    }  # fmt: skip
    return [Child(name, [*RCA, *argv], logs / f"{name}.log", env=full_env) for name, argv in commands.items()]
