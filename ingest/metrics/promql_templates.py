"""Loader of the PromQL template and label-mapping files (ingest/data/promql_*.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from graph_schema.model import SIGNAL_FAMILIES, Label, RelType

DATA_DIR = Path(__file__).parents[1] / "data"
DEFAULT_SIGNALS = DATA_DIR / "promql_signals.yaml"
DEFAULT_DISCOVERY = DATA_DIR / "promql_discovery.yaml"
DEFAULT_MAPPING = DATA_DIR / "promql_mapping.yaml"

DIRECTIONS = ("up", "down", "both")
EDGE_VALUES = ("rate", "error_rate", "presence")
ENTITY_LABEL_NAMES = {str(label): label for label in (Label.SERVICE, Label.INSTANCE, Label.HOST, Label.DATASTORE)}
KIND_LABEL_PREFIX = "label:"  # kind_from: label:<name>, the series' <name> label holds the entity's kind


class TemplateError(ValueError):
    """A template or mapping file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class MappingRule:
    """Which Prometheus label names an entity, and of which kind."""

    name: str
    prom_label: str
    entity: Label
    id_regex: re.Pattern | None = None
    datastore_aware: bool = False
    # a label of the series that names the entity's kind (Service, Datastore, ...), for exporters that know
    # it (the syslog worker's hop histogram); a series without a kind it names is `entity`, or a Datastore
    # by the datastore patterns
    kind_label: str | None = None


@dataclass(frozen=True)
class SignalTemplate:
    """One per-entity signal: a range query whose series each belong to one entity."""

    name: str
    family: str
    query: str
    entity: str
    direction: str = "both"
    min_scale: float = 0.0
    min_delta: float = 0.0
    kind: str = "gauge"
    # the detector's baseline points this signal needs, when not the settings' (a series only as dense as
    # the minutes its source was heard in); None: the settings' min_baseline_points
    min_baseline_points: int | None = None

    def promql(self, rate_window: str) -> str:
        """The query text with its window filled in."""
        return self.query.replace("$rate_window", rate_window)


@dataclass(frozen=True)
class EdgeTemplate:
    """One discovery query: each series asserts an edge between two entities."""

    name: str
    relation: RelType
    query: str
    from_rule: str
    to_rule: str
    value: str

    def promql(self, window: str) -> str:
        """The query text with its window filled in."""
        return self.query.replace("$window", window)


@dataclass(frozen=True)
class TemplateSet:
    """Everything the metrics worker reads from its data files."""

    signals: tuple[SignalTemplate, ...]
    edges: tuple[EdgeTemplate, ...]
    rules: dict[str, MappingRule]
    datastore_patterns: tuple[re.Pattern, ...]


def _read(path: str | Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path} must hold a mapping")
    return data


def _need(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TemplateError(f"{where}: missing or empty '{key}'")
    return value.strip()


def _compile(pattern: str, where: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise TemplateError(f"{where}: bad regular expression {pattern!r}: {exc}") from exc


def load_mapping(path: str | Path = DEFAULT_MAPPING) -> tuple[dict[str, MappingRule], tuple[re.Pattern, ...]]:
    """The label-to-entity rules and the datastore name patterns."""
    data = _read(path)
    patterns = tuple(_compile(p, f"{path}: datastore_patterns") for p in data.get("datastore_patterns") or ())
    rules: dict[str, MappingRule] = {}
    for name, entry in (data.get("rules") or {}).items():
        where = f"{path}: rule {name}"
        if not isinstance(entry, dict):
            raise TemplateError(f"{where}: must be a mapping")
        entity_name = entry.get("entity")
        entity = ENTITY_LABEL_NAMES.get(entity_name) if isinstance(entity_name, str) else None
        if entity is None:
            raise TemplateError(f"{where}: entity must be one of {sorted(ENTITY_LABEL_NAMES)}")
        datastore_aware, kind_label = _kind_from(entry.get("kind_from"), where)
        regex = entry.get("id_regex")
        rules[name] = MappingRule(
            name=name,
            prom_label=_need(entry, "prom_label", where),
            entity=entity,
            id_regex=_compile(regex, where) if regex else None,
            datastore_aware=datastore_aware,
            kind_label=kind_label,
        )
    return rules, patterns


def _kind_from(value: object, where: str) -> tuple[bool, str | None]:
    """A rule's `kind_from`: (decided by the datastore patterns, the label that names the kind)."""
    if value is None:
        return False, None
    if value == "datastore_patterns":
        return True, None
    if isinstance(value, str) and value.startswith(KIND_LABEL_PREFIX) and value[len(KIND_LABEL_PREFIX) :].strip():
        return False, value[len(KIND_LABEL_PREFIX) :].strip()
    raise TemplateError(f"{where}: kind_from must be 'datastore_patterns' or 'label:<prometheus label>'")


def load_signals(path: str | Path, rules: dict[str, MappingRule]) -> tuple[SignalTemplate, ...]:
    """The per-entity signal templates, checked against the mapping rules."""
    out: list[SignalTemplate] = []
    seen: set[str] = set()
    for i, entry in enumerate(_read(path).get("signals") or ()):
        where = f"{path}: signal #{i + 1}"
        if not isinstance(entry, dict):
            raise TemplateError(f"{where}: must be a mapping")
        name = _need(entry, "name", where)
        where = f"{path}: signal {name}"
        if name in seen:
            raise TemplateError(f"{where}: duplicate name")
        seen.add(name)
        family, entity = _need(entry, "family", where), _need(entry, "entity", where)
        direction, kind = entry.get("direction", "both"), entry.get("kind", "gauge")
        if family not in SIGNAL_FAMILIES:
            raise TemplateError(f"{where}: family must be one of {SIGNAL_FAMILIES}")
        if entity not in rules:
            raise TemplateError(f"{where}: unknown entity rule {entity!r}")
        if direction not in DIRECTIONS:
            raise TemplateError(f"{where}: direction must be one of {DIRECTIONS}")
        if kind not in ("gauge", "counter"):
            raise TemplateError(f"{where}: kind must be gauge or counter")
        try:
            min_scale, min_delta = float(entry.get("min_scale", 0)), float(entry.get("min_delta", 0))
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"{where}: min_scale and min_delta must be numbers") from exc
        points = entry.get("min_baseline_points")
        if points is not None and (not isinstance(points, int) or isinstance(points, bool) or points < 3):
            raise TemplateError(f"{where}: min_baseline_points must be a whole number of at least 3")
        query = _need(entry, "query", where)
        out.append(SignalTemplate(name, family, query, entity, direction, min_scale, min_delta, kind, points))
    return tuple(out)


def load_edges(path: str | Path, rules: dict[str, MappingRule]) -> tuple[EdgeTemplate, ...]:
    """The discovery templates, checked against the mapping rules."""
    out: list[EdgeTemplate] = []
    for i, entry in enumerate(_read(path).get("edges") or ()):
        where = f"{path}: edge #{i + 1}"
        if not isinstance(entry, dict):
            raise TemplateError(f"{where}: must be a mapping")
        name = _need(entry, "name", where)
        where = f"{path}: edge {name}"
        try:
            relation = RelType(_need(entry, "relation", where))
        except ValueError as exc:
            raise TemplateError(f"{where}: unknown relation {entry.get('relation')!r}") from exc
        from_rule, to_rule = _need(entry, "from", where), _need(entry, "to", where)
        for rule in (from_rule, to_rule):
            if rule not in rules:
                raise TemplateError(f"{where}: unknown entity rule {rule!r}")
        value = entry.get("value", "presence")
        if value not in EDGE_VALUES:
            raise TemplateError(f"{where}: value must be one of {EDGE_VALUES}")
        out.append(EdgeTemplate(name, relation, _need(entry, "query", where), from_rule, to_rule, value))
    return tuple(out)


def load_templates(
    signals: str | Path | None = None, discovery: str | Path | None = None, mapping: str | Path | None = None
) -> TemplateSet:
    """Load the three files (defaults: the shipped ones) into one checked set."""
    rules, patterns = load_mapping(mapping or DEFAULT_MAPPING)
    return TemplateSet(
        signals=load_signals(signals or DEFAULT_SIGNALS, rules),
        edges=load_edges(discovery or DEFAULT_DISCOVERY, rules),
        rules=rules,
        datastore_patterns=patterns,
    )
