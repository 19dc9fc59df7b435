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
    # template mining (Drain3)
    drain_sim_th: float = Field(0.9, gt=0, le=1, description="Drain similarity threshold")
    drain_depth: int = Field(5, ge=3, description="Drain prefix-tree depth")
    drain_max_clusters: int = Field(20000, ge=100, description="templates kept (least recently used go)")
    extra_masks: list[SyslogMask] = Field(default_factory=list, description="masks run before the built-in ones")
    # classification and entity mapping: extra rules run before the built-in data files
    extra_classes: list[dict] = Field(default_factory=list, description="signature-class rules, as in syslog_classes.yaml")
    extra_entity_rules: list[dict] = Field(default_factory=list, description="entity rules, as in syslog_entities.yaml")
    # aggregation and writes
    bucket_seconds: float = Field(60.0, gt=0, description="width of an Event's time bucket")
    flush_interval_s: float = Field(5.0, gt=0, description="how often aggregates are flushed to the graph")
    max_aggregates: int = Field(20000, ge=1, description="flush early when this many aggregates are open")
    write_batch_rows: int = Field(1000, ge=1, description="rows per graph write transaction")
    buffer_memory_rows: int = Field(100_000, ge=1, description="unwritten rows kept in memory before spilling to disk")
    retry_interval_s: float = Field(2.0, gt=0, description="pause between write attempts while the graph is down")
    write_retry_time_s: float = Field(10.0, ge=0, description="driver retry time of one write before buffering it")
    # dead letters and self metrics
    dead_letter_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="dead-letter file size before rotation")
    dead_letter_backups: int = Field(5, ge=1, description="rotated dead-letter files kept")
    file_poll_interval_s: float = Field(0.2, gt=0, description="how often a followed file is checked for growth")
