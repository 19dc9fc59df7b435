"""Settings of the ingest workers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TopologySettings(BaseModel):
    """How topology reconciliation treats what a source no longer reports."""

    grace_period_s: float = Field(
        24 * 3600.0,
        ge=0,
        description="how long an entity or edge stays stale (kept, marked) before it is retired (deleted)",
    )


class MetricsSettings(BaseModel):
    """Where Prometheus is, which templates to run, and how the anomaly detector judges series."""

    prometheus_url: str = Field("http://127.0.0.1:9090", description="base URL of the Prometheus HTTP API")
    timeout_s: float = Field(10.0, gt=0, description="timeout of one Prometheus request")
    retries: int = Field(3, ge=0, description="retries of a failed Prometheus request (connection errors, 5xx)")
    backoff_s: float = Field(1.0, ge=0, description="first retry delay; doubles on every retry")
    backoff_max_s: float = Field(15.0, ge=0, description="longest retry delay")
    signals_file: str | None = Field(None, description="PromQL signal templates (default: the shipped promql_signals.yaml)")
    discovery_file: str | None = Field(None, description="PromQL discovery templates (default: promql_discovery.yaml)")
    mapping_file: str | None = Field(None, description="label-to-entity rules (default: promql_mapping.yaml)")
    entity_prefix: str = Field("", description="prefix put before every entity id read from this Prometheus (e.g. 'eu1/')")
    step_s: float = Field(15.0, gt=0, description="resolution of the range queries")
    rate_window: str = Field("1m", description="window of rate() in the signal templates")
    baseline_window_s: float = Field(3600.0, gt=0, description="reference window the baseline is fitted on")
    gap_s: float = Field(300.0, ge=0, description="recent time kept out of the baseline so a fresh anomaly does not bias it")
    threshold: float = Field(6.0, gt=0, description="robust z-score that opens an anomaly")
    end_threshold: float = Field(3.0, gt=0, description="robust z-score below which a point counts as calm")
    min_points: int = Field(3, ge=1, description="consecutive anomalous points that open an anomaly")
    end_points: int = Field(4, ge=1, description="consecutive calm points that close an anomaly")
    max_open_s: float = Field(6 * 3600.0, gt=0, description="an anomaly open this long is closed and its level becomes the baseline")
    first_poll_lookback_s: float = Field(600.0, gt=0, description="how far back the first poll judges points")
    poll_interval_s: float = Field(30.0, gt=0, description="metrics poll period")
    poll_jitter_s: float = Field(3.0, ge=0, description="random delay added to each poll")
    backfill_step_s: float = Field(300.0, gt=0, description="replay step of `rca ingest metrics --from/--to`")
    exporter_port: int = Field(9464, ge=0, le=65535, description="port of the worker's own /metrics (0: off)")
    exporter_address: str = Field("127.0.0.1", description="address the worker's /metrics listens on")


class SyncSettings(BaseModel):
    """The scheduled topology sync from Prometheus discovery."""

    interval_s: float = Field(300.0, gt=0, description="topology sync period")
    jitter_s: float = Field(20.0, ge=0, description="random delay added to each sync")
    discovery_window: str = Field("5m", description="window of rate()/last_over_time() in discovery templates")
    source: str = Field("metrics", description="source name recorded on discovered entities and edges")
    max_stale_fraction: float = Field(
        0.5, ge=0, le=1,
        description="refuse a sync that would turn more than this share of the source's entities stale (outage guard)",
    )
    status_file: str | None = Field(None, description="where job status is kept (default: <user state dir>/sync_status.json)")
