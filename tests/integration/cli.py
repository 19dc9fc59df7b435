"""Run the `rca` command line in a subprocess against the session's graph."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rca(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run `python -m rca.cli.main ARGS` from the checkout; text output captured."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rca.cli.main", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def graph_env(settings, uri: str, user: str) -> dict:
    """Environment that points the command line at the session's graph."""
    return {
        "NEO4J_URI": uri,
        "NEO4J_USER": user,
        "NEO4J_PASSWORD": settings.password.get_secret_value(),
        "RCA_GRAPH__DATABASE": settings.database,
    }
