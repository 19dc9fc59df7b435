"""Settings of the incident dashboard (section ``dashboard``, env ``RCA_DASHBOARD__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class DashboardSettings(BaseModel):
    """Where `rca dashboard` listens and what it reads: the RootCause service, the graph, Prometheus."""

    address: str = Field("127.0.0.1", description="address the dashboard's web server binds (loopback by default)")
    port: int = Field(8501, ge=1, le=65535, description="the dashboard's web port")
    target: str = Field("127.0.0.1:50051", description="HOST:PORT of the RootCause gRPC service")
    token: SecretStr | None = Field(None, description="bearer token for the service (unset: none sent)")
    ca_cert: Path | None = Field(None, description="CA certificate to verify the service's TLS (unset: plaintext)")
    graph_uri: str | None = Field(
        None,
        description="Bolt URI of an embedded graph server another process started on the data directory "
        "(`rca demo --dashboard` sets it); unset: NEO4J_URI, else the `rca graph serve` of the data directory",
    )
    prometheus_url: str | None = Field(
        None, description="Prometheus HTTP API for the incident page's metric charts (unset: no charts)"
    )
    service_metrics_url: str | None = Field(
        "http://127.0.0.1:9464/metrics", description="the service's /metrics, shown on the Health page (unset: none)"
    )
    worker_metrics_urls: list[str] = Field(
        default_factory=list,
        description="the ingest workers' /metrics (syslog, metrics poller), their counters and rates shown on the "
        "Health page; a JSON list in the environment (empty: none)",
    )
    refresh_s: float = Field(15.0, ge=1.0, description="how often the incidents list and an outage banner refresh")
    timeout_s: float = Field(5.0, gt=0, description="deadline of each call to the service, the graph and Prometheus")
