"""Which entity and signal family an alert is about, by rules kept as data (data/alert_mapping.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from graph_schema.model import SIGNAL_FAMILIES
from rca.bridge.payload import Alert

DEFAULT_MAPPING = Path(__file__).parent / "data" / "alert_mapping.yaml"


class MappingError(ValueError):
    """The mapping file cannot be used (names the file and the entry)."""


@dataclass(frozen=True)
class FamilyRule:
    """An alert whose name and labels match gets this family."""

    family: str
    alertname: re.Pattern[str] | None
    labels: tuple[tuple[str, re.Pattern[str]], ...]

    def matches(self, alert: Alert) -> bool:
        """Whether the alert's name and labels match this rule."""
        if self.alertname is not None and not self.alertname.search(alert.labels.get("alertname", "")):
            return False
        return all(name in alert.labels and pattern.fullmatch(alert.labels[name]) for name, pattern in self.labels)


@dataclass(frozen=True)
class MappedSymptom:
    """What one firing alert says: an entity (id or name), a signal family, and when."""

    entity: str
    family: str
    observed_at: float


@dataclass(frozen=True)
class AlertMapping:
    """The loaded rules."""

    entity_labels: tuple[str, ...]
    host_labels: frozenset[str]
    families: tuple[FamilyRule, ...]
    ignore_labels: frozenset[str]

    def symptom(self, alert: Alert) -> MappedSymptom | None:
        """The alert's symptom, or None when no label names an entity."""
        entity = self.entity_of(alert)
        if entity is None:
            return None
        family = next((rule.family for rule in self.families if rule.matches(alert)), "errors")
        return MappedSymptom(entity, family, alert.startsAt.timestamp())

    def entity_of(self, alert: Alert) -> str | None:
        """The value of the first entity label the alert carries (a host:port label read as the host)."""
        for name in self.entity_labels:
            value = alert.labels.get(name, "").strip()
            if value and name not in self.ignore_labels:
                return _host(value) if name in self.host_labels else value
        return None


def _host(value: str) -> str:
    """'db-1:9100' -> 'db-1'; '[::1]:9100' -> '::1'; a value without a port is kept."""
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    host, sep, port = value.rpartition(":")
    return host if sep and port.isdigit() else value


def load_mapping(path: Path | None = None) -> AlertMapping:
    """The mapping file (the shipped defaults when None); MappingError naming the bad entry."""
    path = path or DEFAULT_MAPPING
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"cannot read alert mapping {path}: {exc}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{path}: expected a mapping of entity_labels, host_labels, families, ignore_labels")
    try:
        rules = tuple(_rule(entry) for entry in data.get("families") or [])
        return AlertMapping(
            entity_labels=tuple(str(n) for n in data.get("entity_labels") or []),
            host_labels=frozenset(str(n) for n in data.get("host_labels") or []),
            families=rules,
            ignore_labels=frozenset(str(n) for n in data.get("ignore_labels") or []),
        )
    except (TypeError, ValueError, re.error) as exc:
        raise MappingError(f"{path}: {exc}") from None


def _rule(entry: object) -> FamilyRule:
    if not isinstance(entry, dict) or "family" not in entry:
        raise ValueError(f"families entry {entry!r}: needs a family and an alertname and/or labels")
    family = str(entry["family"])
    if family not in SIGNAL_FAMILIES:
        raise ValueError(f"families entry {entry!r}: family must be one of {', '.join(SIGNAL_FAMILIES)}")
    name = entry.get("alertname")
    labels = entry.get("labels") or {}
    if not isinstance(labels, dict):
        raise ValueError(f"families entry {entry!r}: labels must map label names to patterns")
    if name is None and not labels:
        raise ValueError(f"families entry {entry!r}: needs an alertname and/or labels")
    return FamilyRule(
        family,
        re.compile(str(name), re.IGNORECASE) if name is not None else None,
        tuple((str(k), re.compile(str(v))) for k, v in labels.items()),
    )
