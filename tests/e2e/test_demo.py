"""`rca demo`: the README's first command, end to end on a fresh embedded graph."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_diagnoses_the_bundled_incident(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEO4J_")}
    env.update({"RCA_GRAPH__HEAP": "1g", "RCA_GRAPH__PASSWORD": "demo-test-password"})
    done = subprocess.run([sys.executable, "-m", "rca.cli.main", "--data-dir", str(tmp_path / "graph"), "demo"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "loaded the example estate: 19 entities, 26 edges" in out
    assert "#1 payments-db [Datastore db-payments]" in out
    assert "path to svc-checkout" in out and "db-payments --CALLS (reverse)--> svc-payments" in out
    assert "max_connections lowered from 200 to 20" in out  # the change shows up as evidence
    assert "true root cause db-payments is ranked #1" in out
