"""Topology reconciliation against the real Bolt server."""

from __future__ import annotations

import pytest

import ingest.topology.reconcile as reconcile_module
from graph_schema.topology_view import neighbourhood
from ingest.topology.file import parse_topology
from ingest.topology.reconcile import reconcile
from ingest.topology.snapshot import TopologySnapshot

from .cli import graph_env, rca

GRACE = 3600.0


def estate(p: str, *, drop_cart: bool = False, cart_tech: str = "dotnet") -> TopologySnapshot:
    cart = (
        ""
        if drop_cart
        else f"""
  - id: {p}cart
    technology: {cart_tech}
    depends_on: [{p}redis]
    instances:
      - {{id: {p}cart-0, runs_on: {p}h1}}"""
    )
    calls = f"[{p}cart]" if not drop_cart else "[]"
    return parse_topology(f"""
version: 1
hosts:
  - id: {p}h1
datastores:
  - id: {p}redis
    technology: redis
    runs_on: {p}h1
services:
  - id: {p}web
    calls: {calls}{cart}
""")


def node(store, label: str, entity_id: str) -> dict | None:
    rows = store.read(f"MATCH (n:{label} {{id: $id}}) RETURN properties(n) AS p", id=entity_id)
    return rows[0]["p"] if rows else None


def test_reconcile_is_idempotent(store, unique_prefix):
    p = unique_prefix
    first = reconcile(store, estate(p), source=f"{p}file", now=100.0, grace_period_s=GRACE)
    assert len(first.created) == 5 and len(first.edges_created) == 5
    second = reconcile(store, estate(p), source=f"{p}file", now=200.0, grace_period_s=GRACE)
    assert not second.changed and second.unchanged == 5 and second.edges_unchanged == 5
    cart = node(store, "Service", f"{p}cart")
    assert cart["first_seen"] == 100.0 and cart["last_seen"] == 200.0 and cart["status"] == "active"
    assert store.read("MATCH (n:Service) WHERE n.id = $id RETURN count(n) AS c", id=f"{p}cart")[0]["c"] == 1


def test_reconcile_updates_in_place(store, unique_prefix):
    p = unique_prefix
    reconcile(store, estate(p), source=f"{p}file", now=100.0, grace_period_s=GRACE)
    plan = reconcile(store, estate(p, cart_tech="java"), source=f"{p}file", now=150.0, grace_period_s=GRACE)
    assert plan.updated == [f"service {p}cart"] and not plan.created
    cart = node(store, "Service", f"{p}cart")
    assert cart["technology"] == "java" and cart["first_seen"] == 100.0


def test_dropped_entities_turn_stale_then_retire_after_the_grace_period(store, unique_prefix):
    p = unique_prefix
    reconcile(store, estate(p), source=f"{p}file", now=100.0, grace_period_s=GRACE)
    plan = reconcile(store, estate(p, drop_cart=True), source=f"{p}file", now=200.0, grace_period_s=GRACE)
    assert sorted(plan.marked_stale) == [f"instance {p}cart-0", f"service {p}cart"]
    assert node(store, "Service", f"{p}cart")["status"] == "stale"
    # Within the grace period it stays (stale), and says so.
    plan = reconcile(store, estate(p, drop_cart=True), source=f"{p}file", now=200.0 + GRACE - 1, grace_period_s=GRACE)
    assert sorted(plan.still_stale) == [f"instance {p}cart-0", f"service {p}cart"] and not plan.retired
    # After it, it is retired with its edges.
    plan = reconcile(store, estate(p, drop_cart=True), source=f"{p}file", now=200.0 + GRACE, grace_period_s=GRACE)
    assert sorted(plan.retired) == [f"instance {p}cart-0", f"service {p}cart"]
    assert node(store, "Service", f"{p}cart") is None and node(store, "Instance", f"{p}cart-0") is None
    assert neighbourhood(store, f"{p}web", 1).edges == []
    assert node(store, "Datastore", f"{p}redis")["status"] == "active"


def test_a_stale_entity_comes_back_when_the_file_has_it_again(store, unique_prefix):
    p = unique_prefix
    reconcile(store, estate(p), source=f"{p}file", now=100.0, grace_period_s=GRACE)
    reconcile(store, estate(p, drop_cart=True), source=f"{p}file", now=200.0, grace_period_s=GRACE)
    plan = reconcile(store, estate(p), source=f"{p}file", now=300.0, grace_period_s=GRACE)
    assert f"service {p}cart" in plan.revived
    cart = node(store, "Service", f"{p}cart")
    assert cart["status"] == "active" and cart.get("stale_since") is None


def test_an_entity_another_source_still_reports_is_kept(store, unique_prefix):
    p = unique_prefix
    reconcile(store, estate(p), source=f"{p}file", now=100.0, grace_period_s=GRACE)
    reconcile(store, estate(p), source=f"{p}metrics", now=100.0, grace_period_s=GRACE)
    # Both sources assert web -> cart: one edge holding both, never two edges.
    edges = store.read(
        "MATCH (:Service {id: $a})-[r:CALLS]->(:Service {id: $b}) RETURN r.sources AS s", a=f"{p}web", b=f"{p}cart"
    )
    assert len(edges) == 1 and sorted(edges[0]["s"]) == sorted([f"{p}file", f"{p}metrics"])
    plan = reconcile(store, estate(p, drop_cart=True), source=f"{p}file", now=200.0, grace_period_s=0)
    assert f"service {p}cart" in plan.released and not plan.marked_stale
    cart = node(store, "Service", f"{p}cart")
    assert cart["status"] == "active" and cart["sources"] == [f"{p}metrics"]
    # The file let go of web -> cart; the metrics source still holds it, on the one edge.
    edges = store.read(
        "MATCH (:Service {id: $a})-[r:CALLS]->(:Service {id: $b}) RETURN r.sources AS s", a=f"{p}web", b=f"{p}cart"
    )
    assert edges == [{"s": [f"{p}metrics"]}]


def test_dry_run_writes_nothing(store, unique_prefix):
    p = unique_prefix
    plan = reconcile(store, estate(p), source=f"{p}file", now=100.0, grace_period_s=GRACE, dry_run=True)
    assert len(plan.created) == 5
    assert node(store, "Service", f"{p}web") is None


def test_a_failure_mid_write_leaves_nothing_half_written(store, unique_prefix, monkeypatch):
    p = unique_prefix
    real = reconcile_module.write_rows_in
    calls = []

    def failing(tx, statement, rows, batch_size, **params):
        calls.append(statement)
        if "-[r:" in statement:  # the first edge write, after the entities went in
            raise RuntimeError("simulated failure between entity and edge writes")
        return real(tx, statement, rows, batch_size, **params)

    monkeypatch.setattr(reconcile_module, "write_rows_in", failing)
    with pytest.raises(RuntimeError, match="simulated failure"):
        reconcile(store, estate(p), source=f"{p}file", now=100.0, grace_period_s=GRACE)
    assert len(calls) > 1
    assert node(store, "Service", f"{p}web") is None and node(store, "Host", f"{p}h1") is None


def test_cli_load_prints_changes_and_rejects_bad_files(graph_settings, graph_uri, graph_user, unique_prefix, tmp_path):
    p = unique_prefix
    env = graph_env(graph_settings, graph_uri, graph_user)
    good = tmp_path / "estate.yaml"
    good.write_text(
        f"version: 1\nhosts:\n  - id: {p}h\n"
        f"services:\n  - id: {p}s\n    instances:\n      - {{id: {p}s-0, runs_on: {p}h}}\n"
    )
    result = rca("topology", "load", str(good), "--source", f"{p}file", env=env)
    assert result.returncode == 0, result.stderr
    assert "entities: 3 created" in result.stdout and "edges:    2 created" in result.stdout
    again = rca("topology", "load", str(good), "--source", f"{p}file", env=env)
    assert (
        "already up to date" in again.stdout
        and "entities: 0 created, 0 updated, 0 revived, 3 unchanged" in again.stdout
    )
    shown = rca("topology", "show", f"{p}s", "--hops", "2", env=env)
    assert f"-INSTANCE_OF-> Service   {p}s" in shown.stdout and f"-RUNS_ON-> Host      {p}h" in shown.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"version: 1\nservices:\n  - id: {p}x\n    calls: [{p}nowhere]\n")
    result = rca("topology", "load", str(bad), env=env)
    assert result.returncode == 2
    assert f"bad.yaml:4: services[0].calls[0]: '{p}nowhere' is not defined" in result.stdout
