"""Shared fixtures: one real Bolt server per test session.

Without NEO4J_URI the embedded ArcadeDB default is started on a temporary data directory; with
NEO4J_URI set, the integration tests run against that server instead.
"""

from __future__ import annotations

import os
import uuid

import pytest

from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server
from settings.graph import GraphSettings
from graph_schema.store import GraphStore

TEST_PASSWORD = "rca-test-password"


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
