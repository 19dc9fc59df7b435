"""`rca dashboard`: the Streamlit incident dashboard (dashboards/app.py) on a local web port.

The app runs in a `streamlit run` child process and reads its settings from the environment, the same
RCA_* variables as every command; the flags here only override the dashboard's section.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import dashboards

APP = Path(dashboards.__file__).resolve().parent / "app.py"


def add_parser(subparsers) -> None:
    """Register `rca dashboard`."""
    dashboard = subparsers.add_parser(
        "dashboard",
        help="the incident dashboard (Streamlit) on http://ADDRESS:PORT",
        description="Start the incident dashboard: incidents, the ranked paths drawn on the topology, evidence "
        "timelines, feedback, topology search and health. It talks to the RootCause service over gRPC and reads "
        "the graph read-only; it loads nothing from the internet. Runs until Ctrl-C.",
    )
    dashboard.add_argument("--port", type=int, help="web port (default 8501, RCA_DASHBOARD__PORT)")
    dashboard.add_argument(
        "--address", help="address to bind (default 127.0.0.1, RCA_DASHBOARD__ADDRESS); 0.0.0.0 for all interfaces"
    )
    dashboard.add_argument("--target", help="HOST:PORT of the RootCause service (default 127.0.0.1:50051)")
    dashboard.add_argument("--prometheus", help="Prometheus URL for metric charts (RCA_DASHBOARD__PROMETHEUS_URL)")
    dashboard.set_defaults(handler=run_dashboard)


def run_dashboard(args: argparse.Namespace, settings) -> int:
    address = args.address or settings.dashboard.address
    port = args.port or settings.dashboard.port
    target = args.target or settings.dashboard.target
    print(f"dashboard on {url_of(address, port)} (service {target}); Ctrl-C stops it", flush=True)
    return serve(address, port, child_env(args, target=args.target, prometheus=args.prometheus))


def child_env(args: argparse.Namespace, **dashboard: str | None) -> dict[str, str]:
    """RCA_* variables that hand the global flags (--config, --data-dir) and the dashboard's overrides to the app."""
    env = {
        "RCA_CONFIG": str(args.config) if args.config else None,
        "RCA_GRAPH__DATA_DIR": str(args.data_dir) if args.data_dir else None,
        **{f"RCA_DASHBOARD__{name.upper()}": value for name, value in dashboard.items()},
    }
    return {name: value for name, value in env.items() if value is not None}


def url_of(address: str, port: int, path: str = "") -> str:
    """Where a browser opens the dashboard (loopback when it binds every interface)."""
    host = "127.0.0.1" if address in ("0.0.0.0", "", "::") else address
    return f"http://{host}:{port}/{path}"


def dashboard_command(address: str, port: int) -> list[str]:
    """The `streamlit run` command of the app: headless, no usage statistics, no file watching."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.address={address}",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=viewer",
        "--global.developmentMode=false",
    ]


def start(address: str, port: int, env: Mapping[str, str]) -> subprocess.Popen:
    """Start the dashboard as a child process with ``env`` added to this one's environment."""
    return subprocess.Popen(dashboard_command(address, port), env={**os.environ, **env})


def serve(address: str, port: int, env: Mapping[str, str]) -> int:
    """Run the dashboard until it exits or Ctrl-C; returns its exit status (0 after Ctrl-C)."""
    child = start(address, port, env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
        return 0
