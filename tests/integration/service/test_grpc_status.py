"""GetStatus over real gRPC: the versions the service ranks with, its graph schema version, its uptime."""

from __future__ import annotations

import time

from graph_schema.migrations import LATEST_VERSION
from rca.rank.features import FEATURE_SCHEMA_VERSION


def test_status_names_the_served_model_and_schema(client, engine):
    before = time.time()
    status = client.get_status()
    assert dict(status.versions) == engine.versions
    assert status.versions["model"] == engine.model.version  # the graph model this service serves
    assert status.versions["features"] == FEATURE_SCHEMA_VERSION
    assert {"rules", "ensemble", "ranker"} <= set(status.versions)
    assert status.graph_schema_version == LATEST_VERSION
    assert 0 < status.started_at <= before
    assert status.uptime_s >= 0


def test_uptime_grows_between_calls(client):
    first = client.get_status()
    time.sleep(0.2)
    second = client.get_status()
    assert second.started_at == first.started_at
    assert second.uptime_s > first.uptime_s
