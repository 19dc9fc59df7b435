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
