"""The lab's Prometheus and Alertmanager (Debian's), and the PromQL files of the project's metrics worker.

Prometheus scrapes every service host, every datastore exporter and the supervisor's host metrics at
the estate's scrape interval (5 s by default). Each service target carries the labels ``service``,
``host`` and ``instance`` (the service's instance id), each datastore exporter ``datastore`` and
``host``, so every series names its entity. Alert rules watch the entry services' SLOs (error ratio
and p99 latency, from the estate's ``lab.slo``) with a short ``for:``; Alertmanager sends every group
to the project's bridge, which calls Infer.
"""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

import yaml

from rca.cli.lab.estate import Estate
from rca.cli.lab.processes import Child, free_port

RULE_WINDOW = "30s"  # rate window of the alert rules: six 5 s scrapes, so an alert follows a fault quickly


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(f"{names[0]} not found: install the Debian package '{names[0]}'")


def scrape_config(
    estate: Estate, service_ports: dict[str, int], exporters: dict[str, int], host_metrics_port: int
) -> dict:
    """prometheus.yml's scrape_configs for the estate."""
    services = [
        {
            "targets": [f"127.0.0.1:{service_ports[name]}"],
            "labels": {"service": name, "host": spec.host, "instance": spec.instance},
        }
        for name, spec in estate.services.items()
    ]
    datastores = [
        {
            "targets": [f"127.0.0.1:{exporters[name]}"],
            "labels": {"datastore": name, "host": spec.host, "instance": name},
        }
        for name, spec in estate.datastores.items()
    ]
    jobs = [
        {"job_name": "lab-services", "static_configs": services},
        {"job_name": "lab-hosts", "static_configs": [{"targets": [f"127.0.0.1:{host_metrics_port}"]}]},
    ]
    if datastores:
        jobs.append({"job_name": "lab-datastores", "static_configs": datastores})
    return {"scrape_configs": jobs}


def alert_rules(estate: Estate) -> dict:
    """The entry services' SLO alerts (the bridge reads alertname for the family, `service` for the entity)."""
    # a regex escape such as the one re.escape puts before "-" is not a valid escape in a PromQL string
    # literal: every backslash of the regex is doubled in the selector
    entry = "|".join(re.escape(name).replace("\\", "\\\\") for name in sorted(estate.load))
    selector = f'service=~"{entry}"'
    total = f"sum by (service) (rate(http_requests_total{{{selector}}}[{RULE_WINDOW}]))"
    failed = f'sum by (service) (rate(http_requests_total{{{selector},code=~"5..|dropped"}}[{RULE_WINDOW}]))'
    p99 = (
        f"histogram_quantile(0.99, sum by (service, le) "
        f"(rate(http_request_duration_seconds_bucket{{{selector}}}[{RULE_WINDOW}])))"
    )
    slo = estate.slo
    for_ = f"{int(slo.for_s)}s"
    return {
        "groups": [
            {
                "name": "lab-entry-slo",
                "rules": [
                    {
                        "alert": "LabEntryErrorRatio",
                        "expr": f"({failed} or {total} * 0) / {total} > {slo.error_ratio}",
                        "for": for_,
                        "labels": {"severity": "page"},
                        "annotations": {"summary": f"{{{{ $labels.service }}}}: error ratio above {slo.error_ratio}"},
                    },
                    {
                        "alert": "LabEntryLatencyP99",
                        "expr": f"{p99} > {slo.latency_p99_ms / 1000.0}",
                        "for": for_,
                        "labels": {"severity": "page"},
                        "annotations": {
                            "summary": f"{{{{ $labels.service }}}}: p99 latency above {slo.latency_p99_ms:g} ms"
                        },
                    },
                ],
            }
        ]
    }


class LabPrometheus:
    """Prometheus (and, when the project runs, Alertmanager) for one lab workdir."""

    def __init__(self, workdir: Path, estate: Estate) -> None:
        self.dir = workdir / "prometheus"
        self.estate = estate
        self.port = free_port()
        self.alertmanager_port = free_port()
        self.server: Child | None = None
        self.alertmanager: Child | None = None

    @property
    def url(self) -> str:
        """Base URL of the Prometheus HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def write_config(
        self, service_ports: dict[str, int], exporters: dict[str, int], host_metrics_port: int, alerting: bool
    ) -> Path:
        """Write prometheus.yml and the alert rules."""
        self.dir.mkdir(parents=True, exist_ok=True)
        interval = f"{self.estate.scrape_interval_s:g}s"
        rules = self.dir / "alert-rules.yml"
        rules.write_text(yaml.safe_dump(alert_rules(self.estate), sort_keys=False))
        config: dict = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(rules)],
            **scrape_config(self.estate, service_ports, exporters, host_metrics_port),
        }
        if alerting:
            config["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{self.alertmanager_port}"]}]}]
            }
        path = self.dir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def prometheus_child(self) -> Child:
        """The Prometheus process (not started)."""
        argv = [
            _binary("prometheus"),
            f"--config.file={self.dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.dir / 'tsdb'}",
            "--storage.tsdb.retention.time=1d",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self.server = Child("prometheus", argv, self.dir / "prometheus.log")
        return self.server

    def alertmanager_child(self, bridge_url: str) -> Child:
        """Alertmanager routing every group to the project's bridge (not started)."""
        directory = self.dir / "alertmanager"
        directory.mkdir(parents=True, exist_ok=True)
        config = {
            "route": {
                "receiver": "rca",
                "group_by": ["alertname", "service"],
                # the first notification of a group waits 15 s: the metrics worker (a poll every ~10 s, an
                # anomaly opened after 15 s of anomalous points) has then written the fault's anomalies
                # when the bridge calls Infer (with 5 s, the first diagnoses came before them)
                "group_wait": "15s",
                "group_interval": "30s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "rca", "webhook_configs": [{"url": bridge_url, "send_resolved": True}]}],
        }
        (directory / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            _binary("prometheus-alertmanager", "alertmanager"),
            f"--config.file={directory / 'alertmanager.yml'}",
            f"--storage.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        self.alertmanager = Child("alertmanager", argv, directory / "alertmanager.log")
        return self.alertmanager


def write_worker_templates(workdir: Path, estate: Estate) -> dict[str, str]:
    """The metrics worker's PromQL files for this estate; returns the RCA_METRICS__* settings naming them."""
    directory = workdir / "metrics-worker"
    directory.mkdir(parents=True, exist_ok=True)
    data = resources.files("rca.cli.lab").joinpath("data")
    signals, discovery = directory / "promql_signals.yaml", directory / "promql_discovery.yaml"
    signals.write_text(data.joinpath("promql_signals.yaml").read_text())
    discovery.write_text(data.joinpath("promql_discovery.yaml").read_text())
    # The estate's datastores by name: a callee that is one of them is a Datastore, whatever its name says.
    names = "|".join(re.escape(name) for name in sorted(estate.datastores)) or "(?!)"
    mapping = {
        "datastore_patterns": [f"^(?:{names})$"],
        "rules": {
            "lab_service": {"prom_label": "service", "entity": "Service"},
            "lab_callee": {"prom_label": "callee", "entity": "Service", "kind_from": "datastore_patterns"},
            "lab_host": {"prom_label": "host", "entity": "Host"},
            "lab_datastore": {"prom_label": "datastore", "entity": "Datastore"},
        },
    }
    path = directory / "promql_mapping.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return {
        "RCA_METRICS__SIGNALS_FILE": str(signals),
        "RCA_METRICS__DISCOVERY_FILE": str(discovery),
        "RCA_METRICS__MAPPING_FILE": str(path),
    }
