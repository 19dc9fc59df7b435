"""The lab recorder against a real Prometheus scraping a real prometheus-client exporter.

The exporter stands in for lab services (the metric names of docs/lab.md, Estate): checkout calls
payments, and payments answers 5xx for a while. The recorded case folder must load as an
`rca diagnose` case, hold the window's series of the topology's entities only, map the lab's signal
names to families, copy only the window's log lines, and replay through `rca diagnose`.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from rca.cli.diagnose.case import load_case
from rca.cli.lab.recorder import Recording, record_case, topology_ids, topology_text
from tests.integration.cli import rca
from tests.support.local_server import free_port
from tests.support.prometheus_server import LocalPrometheus
from tests.support.waiting import wait_until

ESTATE = """\
version: 1
estate: recorder-test
hosts:
  - {id: node-1}
services:
  - {id: checkout, calls: [payments]}
  - {id: payments}
lab:
  load: {rps: 5}
"""


class Exporter:
    """checkout and payments RED metrics, with payments failing while `failing` is set."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "", ["service", "code"], registry=self.registry)
        self.duration = Histogram("http_request_duration_seconds", "", ["service"], registry=self.registry)
        self.calls = Counter("http_client_requests", "", ["service", "callee", "code"], registry=self.registry)
        self.failing = threading.Event()
        self.stopped = threading.Event()
        self.port = free_port()
        self.server, self.thread = start_http_server(self.port, addr="127.0.0.1", registry=self.registry)
        self.ticker = threading.Thread(target=self._run, daemon=True)
        self.ticker.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.05):
            code = "500" if self.failing.is_set() else "200"
            self.requests.labels("payments", code).inc()
            self.requests.labels("checkout", code).inc()
            self.requests.labels("stranger", "200").inc()  # not an entity of the topology: never recorded
            self.calls.labels("checkout", "payments", code).inc()
            self.duration.labels("payments").observe(0.3 if self.failing.is_set() else 0.01)
            self.duration.labels("checkout").observe(0.32 if self.failing.is_set() else 0.02)

    def close(self) -> None:
        self.stopped.set()
        self.server.shutdown()


@pytest.fixture
def scraped(tmp_path):
    exporter = Exporter()
    config = (
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: lab\n    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
    )
    (tmp_path / "prometheus").mkdir()
    prometheus = LocalPrometheus(tmp_path / "prometheus", config=config).start()
    try:
        yield exporter, prometheus
    finally:
        prometheus.stop()
        exporter.close()


def _has_samples(url: str, query: str) -> bool:
    answer = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=5).json()
    return bool(answer["data"]["result"])


def test_a_recorded_window_loads_and_replays_as_a_diagnose_case(tmp_path, scraped):
    exporter, prometheus = scraped
    estate = tmp_path / "estate.yaml"
    estate.write_text(ESTATE)
    start = time.time()
    wait_until(lambda: _has_samples(prometheus.url, "rate(http_requests_total[5s])"), timeout=60)
    time.sleep(8)
    exporter.failing.set()
    fault_at = time.time()
    wait_until(
        lambda: _has_samples(prometheus.url, 'rate(http_requests_total{code="500"}[5s]) > 0'),
        timeout=60,
    )
    time.sleep(6)
    end = time.time()
    logs = tmp_path / "workdir" / "logs"
    logs.mkdir(parents=True)
    (logs / "payments.log").write_text(
        f"{start - 600:.3f}\tpayments\tINFO long before the window\n"
        f"{fault_at:.3f}\tpayments\tERROR payment store refused the connection\n"
        f"{fault_at + 1:.3f}\tstranger\tERROR not an entity of the topology\n"
        f"{end + 600:.3f}\tpayments\tINFO long after the window\n"
    )
    recording = Recording(
        name="payments-errors",
        fault="errors",
        root_causes=["payments"],
        alert_at=fault_at + 2,
        symptoms=[{"entity": "checkout", "family": "errors"}],
        start=start,
        end=end,
        live={"fault_at": fault_at, "diagnosed_at": fault_at + 5},
    )
    out = tmp_path / "cases" / "payments-errors"
    report = record_case(
        out,
        recording,
        prometheus_url=prometheus.url,
        estate=estate,
        logs_dir=logs,
        step_s=1.0,
        rate_window="5s",
    )

    assert report.log_lines == 1
    assert (out / "logs" / "payments.log").read_text().count("\n") == 1
    assert json.loads((out / "lab.json").read_text()) == {"fault_at": fault_at, "diagnosed_at": fault_at + 5}
    case_yaml = yaml.safe_load((out / "case.yaml").read_text())
    assert case_yaml["fault"] == "errors" and case_yaml["root_causes"] == ["payments"]
    # every recorded name carries the lab worker's family, direction and floors, the project's names too
    assert case_yaml["signals"]["call_failure_ratio"] == {
        "family": "errors",
        "direction": "up",
        "min_scale": 0.002,
        "min_delta": 0.02,
    }
    assert case_yaml["signals"]["latency_p99"]["min_delta"] == 0.1
    assert "lab" not in yaml.safe_load((out / "topology.yaml").read_text())

    case = load_case(out, {"error_ratio": "errors", "request_rate": "traffic", "latency_p99": "latency"})
    columns = {(c.entity, c.signal): c for c in case.metrics}
    assert {e for e, _ in columns} <= {"checkout", "payments"}
    errors = columns[("payments", "error_ratio")]
    assert errors.values[errors.ts < fault_at - 2].max() == 0
    assert errors.values[-1] > 0.5
    assert ("payments", "call_failure_ratio") in columns  # what checkout saw of its callee
    assert case.step_s == 1.0
    assert case.as_of == pytest.approx(fault_at + 5, abs=1)  # the replay judges as of the live diagnosis

    done = rca("diagnose", str(out), "--json", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranking = json.loads(done.stdout)
    assert {r["entity"] for r in ranking["ranking"]} == {"checkout", "payments", "node-1"}


def test_topology_text_drops_only_the_lab_section(tmp_path):
    estate = tmp_path / "estate.yaml"
    estate.write_text(ESTATE)
    text = topology_text(estate)
    assert topology_ids(text) == {"node-1", "checkout", "payments"}
    assert yaml.safe_load(text)["services"][0] == {"id": "checkout", "calls": ["payments"]}
