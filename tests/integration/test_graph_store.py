"""The graph store and migrations against the real Bolt server."""

from __future__ import annotations

import logging
import os
import threading

import pytest
from pydantic import SecretStr

from graph_schema import migrations
from graph_schema.cypher import topology as cypher
from graph_schema.embedded import free_port
from graph_schema.errors import GraphAuthFailed, GraphUnreachable, SchemaTooOld
from graph_schema.model import Label
from graph_schema.store import GraphStore
from tests.support.waiting import wait_until

from .cli import graph_env, rca

COUNT_IDS = "MATCH (n:Service) WHERE n.id IN $ids RETURN count(n) AS c"
MAPS_AND_SCALARS = (
    "MATCH (n:Service) WHERE n.id IN $ids "
    "RETURN n.id AS id, n {.*} AS props, [n.name, 1.5] AS pair, null AS nothing ORDER BY id"
)
embedded_only = pytest.mark.skipif(
    bool(os.environ.get("NEO4J_URI")), reason="needs the embedded server, which the test stops and starts"
)


def _rows(prefix: str, n: int) -> list[dict]:
    return [
        {"id": f"{prefix}svc-{i}", "name": f"svc {i}", "kind": "service", "technology": None, "attrs": None}
        for i in range(n)
    ]


def test_migrations_are_idempotent(store):
    before = store.read("SHOW CONSTRAINTS")
    assert migrations.migrate(store) == []
    assert migrations.current_version(store) == migrations.LATEST_VERSION
    assert len(store.read("SHOW CONSTRAINTS")) == len(before)
    assert store.read("MATCH (m:SchemaMigration) RETURN count(m) AS c")[0]["c"] == len(migrations.MIGRATIONS)


def test_check_reports_server_and_schema(store):
    info = store.check()
    assert info.schema_version == migrations.LATEST_VERSION
    assert "Neo4j" in info.agent or "ArcadeDB" in info.agent


def test_schema_too_old_is_named(store):
    with pytest.raises(SchemaTooOld, match="rca graph migrate"):
        store.check(required_version=migrations.LATEST_VERSION + 1)


def test_wrong_password_is_a_clear_error(graph_settings, graph_uri, graph_user):
    wrong = graph_settings.model_copy(update={"password": SecretStr("not-the-password")})
    with GraphStore.connect(wrong, uri=graph_uri, user=graph_user) as bad:
        with pytest.raises(GraphAuthFailed, match="refused the credentials"):
            bad.check()


def test_unreachable_server_is_a_clear_error(graph_settings):
    nowhere = graph_settings.model_copy(update={"uri": f"bolt://127.0.0.1:{free_port()}", "connect_timeout_s": 2})
    with GraphStore.connect(nowhere) as bad:
        with pytest.raises(GraphUnreachable, match="unreachable"):
            bad.check()


def test_batched_writes_land_every_row(store, unique_prefix):
    rows = _rows(unique_prefix, 2500)
    sent = store.write_rows(cypher.UPSERT_ENTITIES[Label.SERVICE], rows, batch_size=700, source="test", now=1.0)
    assert sent == 2500
    assert store.read(COUNT_IDS, ids=[r["id"] for r in rows])[0]["c"] == 2500


def test_concurrent_writers_do_not_duplicate_entities(store, unique_prefix):
    rows = _rows(unique_prefix, 300)
    errors = []

    def writer(seed: int) -> None:
        try:
            shuffled = rows[seed:] + rows[:seed]
            store.write_rows(
                cypher.UPSERT_ENTITIES[Label.SERVICE], shuffled, batch_size=50, source=f"w{seed}", now=float(seed)
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(0, 240, 30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [r["id"] for r in rows]
    assert store.read(COUNT_IDS, ids=ids)[0]["c"] == 300
    sources = store.read("MATCH (n:Service) WHERE n.id = $id RETURN n.sources AS s", id=ids[0])[0]["s"]
    assert sorted(sources) == sorted(f"w{seed}" for seed in range(0, 240, 30))


@embedded_only
def test_writes_survive_a_server_killed_and_restarted(graph_server, store, unique_prefix, caplog):
    rows = _rows(unique_prefix, 4000)
    outcome: dict = {}
    first_batches_written, killed = threading.Event(), threading.Event()

    def load() -> None:
        try:
            for start in range(0, len(rows), 200):
                if start == 600:  # the kill lands in the middle of the run: the rest is written across it
                    first_batches_written.set()
                    killed.wait(60)
                store.write_rows(
                    cypher.UPSERT_ENTITIES[Label.SERVICE], rows[start : start + 200], source="restart", now=2.0
                )
            outcome["ok"] = True
        except Exception as exc:  # asserted below
            outcome["error"] = exc

    caplog.set_level(logging.WARNING, logger="neo4j")
    loader = threading.Thread(target=load)
    loader.start()
    assert first_batches_written.wait(60), outcome
    graph_server.kill()
    killed.set()
    wait_until(  # the driver says so when a write transaction failed and is retried
        lambda: not loader.is_alive() or any("retried" in r.getMessage() for r in caplog.records),
        timeout=60,
        message="the loader's next write fails against the dead server and is retried",
    )
    graph_server.start()
    loader.join(timeout=120)
    assert outcome == {"ok": True}
    assert store.read(COUNT_IDS, ids=[r["id"] for r in rows])[0]["c"] == 4000


@embedded_only
def test_wrong_password_on_the_command_line_is_one_line(graph_settings, graph_uri, graph_user):
    env = graph_env(graph_settings, graph_uri, graph_user) | {"NEO4J_PASSWORD": "wrong-password"}
    result = rca("graph", "status", env=env)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "refused the credentials" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_graph_on_the_command_line_is_one_line():
    result = rca(
        "graph", "status", env={"NEO4J_URI": f"bolt://127.0.0.1:{free_port()}", "NEO4J_PASSWORD": "whatever-pass"}
    )
    assert result.returncode == 1
    assert result.stderr.startswith("rca: error: graph at bolt://127.0.0.1:") and "unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_prints_server_version_and_counts(graph_settings, graph_uri, graph_user):
    result = rca("graph", "status", env=graph_env(graph_settings, graph_uri, graph_user))
    assert result.returncode == 0, result.stderr
    assert f"schema version: {migrations.LATEST_VERSION} (current)" in result.stdout
    assert "Service" in result.stdout and "Incident" in result.stdout and "Coverage" in result.stdout


def test_read_plain_gives_the_rows_read_gives_for_maps_and_scalars(store, unique_prefix):
    store.write_rows(cypher.UPSERT_ENTITIES[Label.SERVICE], _rows(unique_prefix, 3), source="test", now=1.0)
    statement = MAPS_AND_SCALARS
    ids = [f"{unique_prefix}svc-{i}" for i in range(3)]
    plain = store.read_plain(statement, ids=ids)
    assert len(plain) == 3
    assert plain == store.read(statement, ids=ids)
    assert plain[0]["props"]["name"] == "svc 0" and plain[0]["pair"] == ["svc 0", 1.5] and plain[0]["nothing"] is None


@embedded_only
def test_read_plain_is_retried_across_a_server_restart(graph_server, store, unique_prefix, caplog):
    store.write_rows(cypher.UPSERT_ENTITIES[Label.SERVICE], _rows(unique_prefix, 3), source="test", now=1.0)
    ids = [f"{unique_prefix}svc-{i}" for i in range(3)]
    assert len(store.read_plain(MAPS_AND_SCALARS, ids=ids)) == 3  # a pooled connection the kill will break
    graph_server.kill()
    outcome: dict = {}
    caplog.set_level(logging.DEBUG, logger="graph_schema.store")

    def read() -> None:  # fails while the server is down, then lands
        try:
            outcome["rows"] = store.read_plain(MAPS_AND_SCALARS, ids=ids)
        except Exception as exc:  # asserted below
            outcome["error"] = exc

    reader = threading.Thread(target=read)
    reader.start()
    wait_until(
        lambda: not reader.is_alive() or any(r.getMessage().startswith("read failed") for r in caplog.records),
        timeout=60,
        message="the read fails against the dead server and is retried",
    )
    graph_server.start()  # from this thread: the server dies with the thread that started it
    reader.join(timeout=120)
    assert "error" not in outcome, outcome
    assert sorted(r["props"]["name"] for r in outcome["rows"]) == ["svc 0", "svc 1", "svc 2"]
