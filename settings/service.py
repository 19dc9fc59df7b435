"""Settings of the gRPC service (section ``service``, env ``RCA_SERVICE__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator

from settings.ask import AskSettings


class ServiceSettings(BaseModel):
    """Where and how `rca serve` listens, and the defaults of an Infer call."""

    host: str = Field("127.0.0.1", description="address the gRPC server binds")
    port: int = Field(50051, ge=0, le=65535, description="gRPC port (0 picks a free one)")
    tls_cert: Path | None = Field(None, description="PEM certificate chain; with tls_key turns TLS on")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")
    token: SecretStr | None = Field(None, description="bearer token every call must present (unset: no token)")
    workers: int = Field(8, ge=1, le=256, description="threads serving calls concurrently, per serving process")
    processes: int = Field(
        1,
        ge=1,
        le=64,
        description="serving processes sharing the port (SO_REUSEPORT); Python runs one "
        "thread at a time per process, so one process per CPU core raises Infer throughput",
    )
    concurrent_ranks: int = Field(
        1,
        ge=0,
        le=256,
        description="rankings one serving process runs at once (0: as many as workers); Python runs "
        "one thread at a time, and rankings interleaved in one process cost more CPU each, so by default they take "
        "turns while the other workers fetch subgraphs and answer",
    )
    max_request_bytes: int = Field(
        4 * 1024 * 1024,
        ge=64 * 1024,
        le=256 * 1024 * 1024,
        description="largest request message accepted (gRPC's max receive message length; larger ones get "
        "RESOURCE_EXHAUSTED before any work); 4 MiB holds a supplied subgraph of several thousand entities",
    )
    health_probe_s: float = Field(
        5.0,
        ge=0,
        description="probe the graph this often and set health NOT_SERVING while it is unreachable, SERVING "
        "once it answers again (0: health follows only the outcome of calls)",
    )
    metrics_port: int = Field(9464, ge=0, le=65535, description="Prometheus metrics HTTP port (0 turns it off)")
    default_top_k: int = Field(5, ge=1, le=100, description="candidates returned when a request says 0")
    max_top_k: int = Field(50, ge=1, le=1000, description="largest top_k accepted")
    default_max_hops: int = Field(3, ge=0, le=6, description="neighbourhood radius when a request says 0")
    grown_max_hops: int = Field(
        5,
        ge=0,
        le=6,
        description="radius a request that says 0 grows to when an entity at the edge of the default "
        "neighbourhood shows an anomaly, a deviation of 4 or more or a new severe log line (one more graph read); "
        "at or below default_max_hops: never grows",
    )
    window_before_s: float = Field(1800.0, gt=0, description="default window: seconds before the first symptom")
    window_after_s: float = Field(300.0, ge=0, description="default window: seconds after the last symptom")
    max_window_s: float = Field(7 * 86400.0, gt=0, description="longest window accepted")
    topology_refresh_s: float = Field(
        30.0,
        ge=0,
        description="look this often whether the topology changed (its clock, one indexed read) and "
        "reload the in-memory snapshot when it did; 0 walks the graph on every Infer",
    )
    topology_full_refresh_s: float = Field(
        600.0,
        gt=0,
        description="reload the snapshot at least this often even when the topology clock did not move "
        "(catches topology edited in the graph by hand, outside rca's writers)",
    )
    neighbourhoods_kept: int = Field(
        64,
        ge=0,
        description="neighbourhoods (entities within max_hops of a symptom set; the engine keeps their propagation "
        "graph) each topology snapshot keeps for alerts that fire again; 0 builds them on every Infer",
    )
    fast_paths: bool = Field(
        True,
        description="use the compiled copies of the ranking's hot loops (rca/fast); off runs their reference code: "
        "the same rankings within 1e-5, at more CPU per Infer",
    )
    store_incidents_async: bool = Field(
        True, description="store each Infer's Incident on a writer thread (reads of incidents wait for it)"
    )
    store_incidents_linger_s: float = Field(
        0.1,
        ge=0,
        le=5,
        description="how long the incident writer waits after an incident for others to store in "
        "the same transaction (a read of incidents ends the wait at once)",
    )
    graph_retry_s: float = Field(2.0, ge=0, description="how long a graph read is retried before UNAVAILABLE")
    ask: AskSettings = Field(default_factory=AskSettings, description="natural-language questions (Ask)")

    @model_validator(mode="after")
    def _tls_pair(self) -> ServiceSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both or neither")
        return self

    @property
    def tls(self) -> bool:
        """True when the server speaks TLS."""
        return self.tls_cert is not None
