"""Settings of the learned model (section ``model``, env ``RCA_MODEL__*``)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field


def default_model_dir() -> Path:
    """Where trained model versions and the ACTIVE pointer live when no directory is chosen."""
    return Path(platformdirs.user_data_dir("rca-service", appauthor=False)) / "models"


def default_cache_dir() -> Path:
    """Where simulated training suites are cached between runs."""
    return Path(platformdirs.user_cache_dir("rca-service", appauthor=False)) / "suites"


class ModelSettings(BaseModel):
    """Which GNN the service uses and where `rca train` keeps versions and cached data."""

    dir: Path = Field(default_factory=default_model_dir, description="trained model versions and the ACTIVE pointer")
    cache_dir: Path = Field(default_factory=default_cache_dir, description="cached simulated training suites")
    enabled: bool = Field(True, description="rank with the GNN (false: rules + propagation only)")
    threads: int = Field(1, ge=1, le=64, description="torch intra-op threads per process (1 is fastest for one Infer)")
    similar_incidents: int = Field(3, ge=0, le=50, description="similar confirmed past incidents returned by Infer")
