"""Shared fixtures: one real Bolt server per test session, and the markers each directory implies.

Without NEO4J_URI the embedded ArcadeDB default is started on a temporary data directory; with
NEO4J_URI set, the integration tests run against that server instead.

Markers come from where a test lives, not from a line in each file: everything under
``tests/integration/`` is ``integration``, everything under ``tests/e2e/`` is ``integration`` and
``e2e``, so ``pytest tests/unit`` and ``pytest -m "not integration"`` are the same quick run and
``pytest -m integration`` is the rest. A unit test that asks for the graph server is refused at
collection: it belongs under ``tests/integration/``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server
from graph_schema.store import GraphStore
from settings.graph import GraphSettings

TEST_PASSWORD = "rca-test-password"
TESTS_DIR = Path(__file__).resolve().parent
MARKERS_BY_DIRECTORY = {"integration": ("integration",), "e2e": ("integration", "e2e")}
SERVER_FIXTURES = ("graph_server",)  # what a unit test may not depend on, directly or through other fixtures


def pytest_collection_modifyitems(config, items):
    """Mark each test by its top directory under tests/; refuse unit tests that would start a real server."""
    starting_servers = []
    for item in items:
        try:
            top = Path(item.path).resolve().relative_to(TESTS_DIR).parts[0]
        except ValueError:  # collected from outside tests/
            continue
        for name in MARKERS_BY_DIRECTORY.get(top, ()):
            item.add_marker(name)
        if top == "unit" and any(f in getattr(item, "fixturenames", ()) for f in SERVER_FIXTURES):
            starting_servers.append(item.nodeid)
    if starting_servers:
        raise pytest.UsageError(
            "unit tests may not start a real server (move them to tests/integration/): " + ", ".join(starting_servers)
        )


@pytest.fixture(scope="session")
def graph_settings(tmp_path_factory) -> GraphSettings:
    """Settings pointing at the session's graph (embedded unless NEO4J_URI is set)."""
    if os.environ.get("NEO4J_URI"):
        return GraphSettings(
            uri=os.environ["NEO4J_URI"],
            user=os.environ.get("NEO4J_USER", "neo4j"),
            password=os.environ.get("NEO4J_PASSWORD", ""),
            database=os.environ.get("RCA_GRAPH__DATABASE", "neo4j"),
        )
    return GraphSettings(
        password=TEST_PASSWORD,
        data_dir=tmp_path_factory.mktemp("graph"),
        heap="1g",
        max_retry_time_s=60,
    )


@pytest.fixture(scope="session")
def graph_server(graph_settings):
    """The running embedded server (None when an external NEO4J_URI is used)."""
    if not graph_settings.embedded:
        yield None
        return
    server = embedded_server(graph_settings).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def graph_uri(graph_settings, graph_server) -> str:
    return graph_server.bolt_uri if graph_server else graph_settings.uri


@pytest.fixture(scope="session")
def graph_user(graph_settings, graph_server) -> str:
    return EMBEDDED_USER if graph_server else graph_settings.user


@pytest.fixture(scope="session")
def session_store(graph_settings, graph_uri, graph_user):
    """A migrated store shared by the whole session."""
    store = GraphStore.connect(graph_settings, uri=graph_uri, user=graph_user)
    migrations.migrate(store)
    yield store
    store.close()


@pytest.fixture
def store(session_store):
    """The session's store; tests keep apart by using ids from ``unique_prefix``."""
    return session_store


@pytest.fixture
def unique_prefix() -> str:
    """A prefix that keeps one test's entities apart from every other test's."""
    return f"t{uuid.uuid4().hex[:8]}-"
