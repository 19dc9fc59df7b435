"""A short soak through bench/soak.py: real worker and service processes, syslog and Infer together, no line lost."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_loses_no_line_and_keeps_its_footprint():
    run = subprocess.run(
        [sys.executable, "bench/soak.py", "--minutes", "0.3", "--rate", "500", "--infer-rate", "4", "--sample-s", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stdout.splitlines()
    lost = next(line for line in lines if line.startswith("lines sent"))
    sent = int(lost.split("lines sent ", 1)[1].split(",", 1)[0])
    assert sent >= 500 * 18 * 0.8  # the sender kept roughly its rate
    assert lost.endswith("lines lost: 0")
    assert "Infer calls failed: 0" in run.stdout
    assert "worker exit status 0 after SIGTERM" in run.stdout
