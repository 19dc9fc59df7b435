"""The lab's Prometheus configuration, alert rules and metrics-worker templates for every shipped estate,
checked by Debian's promtool and the project's own template loader."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ingest.metrics.promql_templates import load_templates
from rca.cli.lab.estate import load_estate
from rca.cli.lab.prometheus import LabPrometheus, write_worker_templates

ESTATES = sorted((Path(__file__).resolve().parents[3] / "examples" / "lab").glob("estate-*.yaml"))


@pytest.mark.parametrize("estate_file", ESTATES, ids=lambda p: p.stem)
def test_promtool_accepts_the_config_and_rules_of_every_shipped_estate(tmp_path, estate_file):
    estate = load_estate(estate_file)
    prometheus = LabPrometheus(tmp_path, estate)
    ports = {name: 20000 + i for i, name in enumerate(estate.services)}
    exporters = {name: 21000 + i for i, name in enumerate(estate.datastores)}
    config = prometheus.write_config(ports, exporters, 22000, alerting=True)
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: install the Debian package 'prometheus'"
    checked = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 2 rules found" in checked.stdout + checked.stderr

    scraped = yaml.safe_load(config.read_text())["scrape_configs"]
    services = next(job for job in scraped if job["job_name"] == "lab-services")["static_configs"]
    assert {target["labels"]["service"] for target in services} == set(estate.services)


@pytest.mark.parametrize("estate_file", ESTATES, ids=lambda p: p.stem)
def test_the_metrics_worker_loads_the_lab_templates_and_maps_datastores_by_name(tmp_path, estate_file):
    estate = load_estate(estate_file)
    files = write_worker_templates(tmp_path, estate)
    templates = load_templates(
        files["RCA_METRICS__SIGNALS_FILE"], files["RCA_METRICS__DISCOVERY_FILE"], files["RCA_METRICS__MAPPING_FILE"]
    )
    assert {s.name for s in templates.signals} >= {"request_rate", "error_ratio", "latency_p99", "datastore_down"}
    [pattern] = templates.datastore_patterns
    for name in estate.datastores:
        assert pattern.search(name)
    for name in estate.services:
        assert not pattern.search(name)
