"""The one typed settings object of the service, read from the environment and an optional file.

Sources, strongest first: explicit values (command-line flags), ``RCA_*`` environment variables
(nested sections with ``__``, e.g. ``RCA_GRAPH__DATA_DIR``), ``NEO4J_URI`` / ``NEO4J_USER`` /
``NEO4J_PASSWORD``, the YAML file named by ``--config`` or ``RCA_CONFIG``, then defaults.
Each package defines its own section; this module only composes them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from settings.bridge import BridgeSettings
from settings.dashboard import DashboardSettings
from settings.graph import GraphSettings
from settings.ingest import (
    MetricsSettings,
    SyncSettings,
    SyslogSettings,
    TopologySettings,
)
from settings.model import ModelSettings
from settings.service import ServiceSettings

NEO4J_ENV = {"NEO4J_URI": "uri", "NEO4J_USER": "user", "NEO4J_PASSWORD": "password"}


class SettingsError(ValueError):
    """The configuration file or environment holds a value that does not fit."""


class _Neo4jEnvSource(PydanticBaseSettingsSource):
    """The conventional NEO4J_* variables, mapped into the graph section."""

    def get_field_value(self, field, field_name):  # pragma: no cover - unused, required by the base
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        graph = {key: os.environ[name] for name, key in NEO4J_ENV.items() if os.environ.get(name)}
        return {"graph": graph} if graph else {}


class _YamlFileSource(PydanticBaseSettingsSource):
    """The optional YAML settings file."""

    def __init__(self, settings_cls, path: Path | None):
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field, field_name):  # pragma: no cover - unused, required by the base
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path:
            return {}
        try:
            data = yaml.safe_load(Path(self.path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"cannot read settings file {self.path}: {exc}") from exc
        if not isinstance(data, dict):
            raise SettingsError(f"settings file {self.path} must hold a mapping of sections")
        return data


class Settings(BaseSettings):
    """Every section of the service's configuration."""

    model_config = SettingsConfigDict(env_prefix="RCA_", env_nested_delimiter="__", extra="forbid")

    graph: GraphSettings = Field(default_factory=GraphSettings)
    topology: TopologySettings = Field(default_factory=TopologySettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    syslog: SyslogSettings = Field(default_factory=SyslogSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    bridge: BridgeSettings = Field(default_factory=BridgeSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (
            init_settings,
            env_settings,
            _Neo4jEnvSource(settings_cls),
            _YamlFileSource(settings_cls, _config_path()),
        )


_CONFIG_PATH: list[Path | None] = [None]


def _config_path() -> Path | None:
    return _CONFIG_PATH[0] or (Path(os.environ["RCA_CONFIG"]) if os.environ.get("RCA_CONFIG") else None)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from flags, environment and file; raise SettingsError naming the bad field."""
    _CONFIG_PATH[0] = config_file
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from None
    finally:
        _CONFIG_PATH[0] = None


def describe(model: type[BaseModel] = Settings, prefix: str = "RCA_") -> list[tuple[str, str]]:
    """Every environment variable the settings read, with its description (for --help texts)."""
    out: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += describe(annotation, f"{prefix}{name.upper()}__")
        else:
            out.append((f"{prefix}{name.upper()}", field.description or ""))
    return out
