"""Settings of the ingest workers."""

from __future__ import annotations

from pathlib import Path

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
    signals_file: str | None = Field(
        None, description="PromQL signal templates (default: the shipped promql_signals.yaml)"
    )
    discovery_file: str | None = Field(None, description="PromQL discovery templates (default: promql_discovery.yaml)")
    mapping_file: str | None = Field(None, description="label-to-entity rules (default: promql_mapping.yaml)")
    entity_prefix: str = Field(
        "", description="prefix put before every entity id read from this Prometheus (e.g. 'eu1/')"
    )
    step_s: float = Field(15.0, gt=0, description="resolution of the range queries")
    rate_window: str = Field("1m", description="window of rate() in the signal templates")
    baseline_window_s: float = Field(
        3600.0, gt=0, description="reference window the baseline is fitted on (widened for coarse data, see below)"
    )
    min_baseline_points: int = Field(
        20, ge=3, description="fewest points a baseline is fitted on; coarser series get a wider window to reach it"
    )
    max_baseline_window_s: float = Field(
        6 * 3600.0,
        gt=0,
        description="widest the baseline window grows for coarse data; a series whose step needs more is unjudged",
    )
    gap_s: float = Field(
        300.0, ge=0, description="recent time kept out of the baseline so a fresh anomaly does not bias it"
    )
    threshold: float = Field(6.0, gt=0, description="robust z-score that opens an anomaly")
    end_threshold: float = Field(3.0, gt=0, description="robust z-score below which a point counts as calm")
    open_after_s: float = Field(
        45.0, ge=0, description="how long a run of anomalous points lasts before it opens an anomaly (3 points at 15 s)"
    )
    close_after_s: float = Field(
        60.0, ge=0, description="how long a run of calm points lasts before it closes an anomaly (4 points at 15 s)"
    )
    min_points: int = Field(2, ge=1, description="fewest consecutive anomalous points that open an anomaly, any step")
    end_points: int = Field(2, ge=1, description="fewest consecutive calm points that close an anomaly, any step")
    onset_lookback_s: float = Field(600.0, gt=0, description="judged history the onset search looks at")
    max_open_s: float = Field(
        6 * 3600.0, gt=0, description="an anomaly open this long is closed and its level becomes the baseline"
    )
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
        0.5,
        ge=0,
        le=1,
        description="refuse a sync that would turn more than this share of the source's entities stale (outage guard)",
    )
    status_file: str | None = Field(
        None, description="where job status is kept (default: <user state dir>/sync_status.json)"
    )


class SyslogMask(BaseModel):
    """One extra masking rule for template mining."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="mask token, written <NAME>")
    pattern: str = Field(description="Python regex whose matches are replaced by the mask")


class SyslogSettings(BaseModel):
    """The syslog ingest worker: limits, template mining, aggregation, buffering and files."""

    state_dir: Path = Field(
        Path("var/syslog"),
        description="where template state, file offsets, the spool and the dead-letter file live",
    )
    max_line_bytes: int = Field(64 * 1024, ge=256, description="longer lines go to the dead-letter file")
    queue_batches: int = Field(
        128, ge=1, description="bound of the listener->processor queue, in batches (a TCP batch is at most 256 KiB)"
    )
    default_timezone: str = Field("UTC", description="zone of BSD timestamps that carry none")
    # template mining (ingest/syslog/miner.py: one configuration for every input, nothing to tune)
    max_templates: int = Field(20000, ge=100, description="templates kept (least recently used go)")
    extra_masks: list[SyslogMask] = Field(default_factory=list, description="masks run before the built-in ones")
    # classification and entity mapping: extra rules run before the built-in data files
    extra_classes: list[dict] = Field(
        default_factory=list, description="signature-class rules, as in syslog_classes.yaml"
    )
    extra_entity_rules: list[dict] = Field(default_factory=list, description="entity rules, as in syslog_entities.yaml")
    # aggregation and writes
    bucket_seconds: float = Field(60.0, gt=0, description="width of an Event's time bucket")
    flush_interval_s: float = Field(5.0, gt=0, description="how often aggregates are flushed to the graph")
    max_aggregates: int = Field(20000, ge=1, description="flush early when this many aggregates are open")
    write_batch_rows: int = Field(1000, ge=1, description="rows per graph write transaction")
    buffer_memory_rows: int = Field(100_000, ge=1, description="unwritten rows kept in memory before spilling to disk")
    retry_interval_s: float = Field(2.0, gt=0, description="pause between write attempts while the graph is down")
    write_retry_time_s: float = Field(10.0, ge=0, description="driver retry time of one write before buffering it")
    # the journal: accepted lines on disk before they are processed, replayed after a crash
    journal: bool = Field(True, description="journal accepted lines (TCP, UDP, files, stdin) and replay them on start")
    journal_sync_lines: int = Field(
        1000, ge=1, description="fdatasync the journal after this many lines at most (a power loss loses fewer)"
    )
    journal_sync_interval_s: float = Field(
        0.05, gt=0, description="fdatasync the journal at least this often while lines arrive"
    )
    journal_max_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024 * 1024,
        description="journal size at most; when full TCP and files wait (back-pressure) and UDP datagrams are dropped",
    )
    journal_segment_bytes: int = Field(16 * 1024 * 1024, ge=4096, description="size of one journal segment file")
    # dead letters and self metrics
    dead_letter_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="dead-letter file size before rotation")
    dead_letter_backups: int = Field(5, ge=1, description="rotated dead-letter files kept")
    file_poll_interval_s: float = Field(0.2, gt=0, description="how often a followed file is checked for growth")
    # TCP limits: what keeps silent or abusive connections from taking the worker down
    tcp_idle_timeout_s: float = Field(300.0, gt=0, description="a TCP connection silent this long is closed")
    tcp_max_connections: int = Field(
        4096,
        ge=1,
        description="open TCP connections at most (lowered to the open-file limit less 64); at the cap the "
        "connection quiet the longest is closed for the new one",
    )
    error_log_interval_s: float = Field(
        10.0, gt=0, description="repeated warnings (accept errors, shed connections) are logged at most this often"
    )
