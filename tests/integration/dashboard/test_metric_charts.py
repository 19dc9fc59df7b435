"""The incident page's metric charts read a real Prometheus (Debian's, backfilled with promtool)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import ui
from tests.support.metrics_synthetic import SeriesSpec, counter_from_rate, write_openmetrics
from tests.support.prometheus_server import LocalPrometheus

APP = str(Path(__file__).resolve().parents[3] / "dashboards" / "app.py")
STEP = 15.0


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Service-graph counters of payment and the connection gauges of postgres-payments, the last hour."""
    workdir = tmp_path_factory.mktemp("prometheus")
    end = time.time() - 60
    ts = np.arange(end - 3600, end, STEP)
    rng = np.random.default_rng(7)
    failing = np.where(ts > end - 600, 12.0, 0.1)  # payment fails from ten minutes before the end
    specs = [
        SeriesSpec(
            "traces_service_graph_request_total",
            {"server": "payment"},
            counter_from_rate(rng, np.full(len(ts), 40.0), STEP),
        ),
        SeriesSpec(
            "traces_service_graph_request_failed_total", {"server": "payment"}, counter_from_rate(rng, failing, STEP)
        ),
        SeriesSpec(
            "pg_stat_activity_count", {"instance": "postgres-payments:5432"}, np.where(ts > end - 600, 20.0, 6.0)
        ),
        SeriesSpec("pg_settings_max_connections", {"instance": "postgres-payments:5432"}, np.full(len(ts), 20.0)),
    ]
    write_openmetrics(workdir / "series.om", ts, specs)
    server = LocalPrometheus(workdir)
    server.backfill(workdir / "series.om")
    with server.start():
        yield server


def values_of(chart):
    """The chart's one dataset's values (Streamlit sends datasets as Arrow IPC apart from the spec)."""
    [dataset] = chart.datasets
    return pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()["value"]


def test_incident_page_charts_the_anomalous_signals_from_prometheus(demo_stack, prometheus, monkeypatch):
    for name, value in {**demo_stack.env, "RCA_DASHBOARD__PROMETHEUS_URL": prometheus.url}.items():
        monkeypatch.setenv(name, value)
    ui.backend.clear()
    try:
        app = AppTest.from_file(APP, default_timeout=60)
        app.switch_page("views/incident.py")
        app.query_params["id"] = demo_stack.incident_id
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        charts = {}
        for chart in app.get("vega_lite_chart"):
            title = json.loads(chart.proto.spec).get("title")
            if isinstance(title, str):
                charts[title] = chart.proto
        ratio = values_of(charts["payment · error_ratio"])
        assert len(ratio) > 20 and ratio.max() > 0.2  # the failures show
        assert values_of(charts["postgres-payments · db_connections_used"]).max() == 1.0
        # a signal Prometheus has no series for is said so, not drawn empty
        assert any("checkout · error_ratio: Prometheus has no samples" in c.value for c in app.caption)
    finally:
        ui.backend.clear()
