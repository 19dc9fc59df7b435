"""The README's first command: the main job on the embedded default."""

from tests.integration.cli import rca


def test_demo_starts_the_embedded_graph_loads_the_estate_and_summarizes(tmp_path):
    env = {"NEO4J_URI": "", "NEO4J_PASSWORD": "demo-password", "RCA_GRAPH__HEAP": "1g"}
    result = rca("--data-dir", str(tmp_path / "graph"), "demo", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "estate: 14 services, 32 instances, 8 hosts, 12 datastores" in result.stdout
    assert "checkout" in result.stdout and "redis-cart" in result.stdout
    again = rca("--data-dir", str(tmp_path / "graph"), "demo", env=env, timeout=300)
    assert "entities: 0 created, 0 updated, 0 revived, 66 unchanged" in again.stdout
    # a second replay on the same graph (the first one's signals still in the window) is diagnosed alike
    assert "true root cause postgres-payments is ranked #1" in again.stdout
