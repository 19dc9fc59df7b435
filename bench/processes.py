"""`rca` subcommands started as their own processes by the benchmarks, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_rca(args: list[str], env: dict, announcement: str) -> tuple[subprocess.Popen, str]:
    """Start `rca ARGS` and wait for the stdout line starting with `announcement` (returned with the process)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rca.cli.main", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"rca {' '.join(args)} exited ({process.wait()}) before announcing itself")
        if line.startswith(announcement):
            return process, line.strip()
