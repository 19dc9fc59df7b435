"""One real stack for the dashboard tests (tests/support/demo_stack.py) on the session's graph: the demo
incident replayed through the real ingest code and ranked by a RootCause service on a free port."""

from __future__ import annotations

import pytest

from tests.integration.cli import graph_env
from tests.support.demo_stack import ROOT_CAUSE
from tests.support.demo_stack import demo_stack as running_demo_stack


def dashboard_graph_env(graph_settings, graph_uri, graph_user, graph_server) -> dict:
    """RCA_* variables that point a dashboard (in-process or a child) at the session's graph."""
    if graph_server is None:  # an external NEO4J_URI
        return graph_env(graph_settings, graph_uri, graph_user)
    return {
        "RCA_DASHBOARD__GRAPH_URI": graph_uri,
        "RCA_GRAPH__DATA_DIR": str(graph_settings.data_dir),
        "RCA_GRAPH__PASSWORD": graph_settings.password.get_secret_value(),
    }


@pytest.fixture(scope="session")
def demo_stack(session_store, graph_settings, graph_uri, graph_user, graph_server):
    """The demo incident replayed and ranked once for every dashboard test of the session."""
    env = dashboard_graph_env(graph_settings, graph_uri, graph_user, graph_server)
    with running_demo_stack(session_store, env) as stack:
        # the pages are checked against the response; the demo's root cause must be among them for that to mean much
        assert ROOT_CAUSE in [c.entity_id for c in stack.response.candidates]
        yield stack
