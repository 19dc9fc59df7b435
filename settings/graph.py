"""Settings of the graph connection and of the embedded default server."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, SecretStr


def default_data_dir() -> Path:
    """Where the embedded server keeps its databases when no directory is chosen."""
    return Path(platformdirs.user_data_dir("rca-service", appauthor=False)) / "graph"


class GraphSettings(BaseModel):
    """How to reach the graph: a Neo4j URI, or the embedded ArcadeDB default when none is set."""

    uri: str | None = Field(None, description="Bolt URI of a Neo4j server; unset means the embedded default")
    user: str = Field("neo4j", description="user name (the embedded server always uses 'root')")
    password: SecretStr | None = Field(
        None,
        description="password; unset for the embedded server means the one kept in its data directory "
        "(root.password, 0600; a random one for a new directory); at least 8 characters when set",
    )
    database: str = Field("rca", description="database named in every session")
    data_dir: Path = Field(default_factory=default_data_dir, description="embedded server's data directory")
    bolt_port: int = Field(0, ge=0, le=65535, description="embedded server's Bolt port; 0 picks a free one")
    heap: str = Field("2g", description="embedded server's JVM heap (-Xmx)")
    start_timeout_s: float = Field(90.0, gt=0, description="how long to wait for the embedded server to accept Bolt")
    connect_timeout_s: float = Field(5.0, gt=0)
    max_retry_time_s: float = Field(
        30.0,
        ge=0,
        description="how long a transaction (or a single hot read) is retried on transient errors and lost connections",
    )
    batch_size: int = Field(2000, gt=0, description="rows per UNWIND batch")

    @property
    def embedded(self) -> bool:
        """True when no external server is configured and the embedded default is used."""
        return not self.uri
