"""`rca demo` diagnoses the bundled incident over gRPC on a fresh embedded graph."""

from __future__ import annotations

from tests.integration.cli import rca


def test_demo_replays_the_incident_and_prints_the_root_cause_path(tmp_path):
    env = {"NEO4J_URI": "", "NEO4J_PASSWORD": "demo-password", "RCA_GRAPH__HEAP": "1g"}
    done = rca("--data-dir", str(tmp_path / "graph"), "demo", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "9 anomalies, 4 log event buckets, 2 changes written as graph signals" in out
    assert "#1 postgres-payments [Datastore postgres-payments]" in out
    assert "path to checkout" in out and "postgres-payments --DEPENDS_ON (reverse)--> payment" in out
    assert "payment --CALLS (reverse)--> checkout" in out
    assert "config: max_connections lowered from 200 to 20" in out  # the change shows up as evidence
    assert "ads 3.2.0" not in out  # a change outside the window is not evidence
    assert "true root cause postgres-payments is ranked #1" in out
