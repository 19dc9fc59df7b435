"""Map a log record to the graph entity it concerns, by rules from ``data/syslog_entities.yaml``."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from graph_schema.model import Label

ENTITIES_FILE = Path(__file__).parents[1] / "data" / "syslog_entities.yaml"
MAPPABLE_LABELS = (Label.HOST, Label.INSTANCE, Label.SERVICE, Label.DATASTORE)
MATCH_FIELDS = ("hostname", "app_name")
UNKNOWN_HOST = "unknown"
_APP_SUFFIX = re.compile(r"\(.*\)$")


@dataclass(frozen=True)
class EntityRef:
    """The entity a line concerns; ``known`` says whether the graph had it already."""

    label: Label
    id: str
    name: str
    known: bool = False


@dataclass(frozen=True)
class EntityRule:
    """One mapping rule: field regexes, the entity templates, and whether to discover unknowns."""

    name: str
    match: dict[str, re.Pattern]
    label: Label
    id_template: str
    name_template: str
    discover: bool = True


def load_entity_rules(path: Path = ENTITIES_FILE, extra: Iterable[dict] = ()) -> list[EntityRule]:
    """The user's extra rules first, then the data file's; each rule is checked here."""
    data = yaml.safe_load(path.read_text()) or {}
    rules = []
    for i, entry in enumerate([*extra, *data.get("rules", [])]):
        where = f"entity rule #{i + 1} ({entry.get('name', 'unnamed') if isinstance(entry, dict) else entry!r})"
        if not isinstance(entry, dict) or not isinstance(entry.get("entity"), dict):
            raise ValueError(f"{where} needs an entity mapping")  # noqa: TRY004 - bad data, like every loader error
        entity = entry["entity"]
        label = entity.get("label")
        if label not in {str(x) for x in MAPPABLE_LABELS}:
            raise ValueError(f"{where}: label must be one of {', '.join(MAPPABLE_LABELS)}")
        match = {}
        for field, pattern in (entry.get("match") or {}).items():
            if field not in MATCH_FIELDS:
                raise ValueError(f"{where}: can match only {', '.join(MATCH_FIELDS)}, not {field!r}")
            try:
                match[field] = re.compile(str(pattern))
            except re.error as exc:
                raise ValueError(f"{where}: bad pattern for {field}: {exc}") from None
        id_template = str(entity.get("id", "{host}"))
        for template in (id_template, str(entity.get("name", id_template))):
            try:
                list(string.Formatter().parse(template))
            except ValueError as exc:
                raise ValueError(f"{where}: bad template {template!r}: {exc}") from None
        rules.append(
            EntityRule(
                str(entry.get("name", f"rule {i + 1}")),
                match,
                Label(label),
                id_template,
                str(entity.get("name", id_template)),
                bool(entity.get("discover", True)),
            )
        )
    if not rules:
        raise ValueError("no entity rules: at least one is needed")
    return rules


# The graph lookup: (label, key) -> id of the known entity, or None when the graph lacks it.
Lookup = Callable[[Label, str], "str | None"]


class EntityMapper:
    """Applies the rules, caching the answer per (hostname, app name)."""

    def __init__(self, rules: list[EntityRule], lookup: Lookup | None = None):
        self.rules = rules
        self.lookup = lookup or (lambda label, key: None)
        self._cache: dict[tuple[str | None, str | None], EntityRef] = {}

    def map(self, hostname: str | None, app_name: str | None) -> EntityRef:
        """The entity for a line from ``hostname`` tagged ``app_name``."""
        key = (hostname, app_name)
        ref = self._cache.get(key)
        if ref is None:
            ref, settled = self._resolve(hostname or UNKNOWN_HOST, app_name)
            if settled:  # an answer given while the graph could not be asked is asked again later
                if len(self._cache) > 50_000:
                    self._cache.clear()
                self._cache[key] = ref
        return ref

    def forget(self) -> None:
        """Drop cached answers (e.g. after the topology changed)."""
        self._cache.clear()

    def _resolve(self, host: str, app: str | None) -> tuple[EntityRef, bool]:
        values = {"hostname": host, "app_name": app}
        settled = True
        for rule in self.rules:
            variables = {"host": host, "app": app or "", "app_base": _APP_SUFFIX.sub("", app or "")}
            matched = True
            for field, pattern in rule.match.items():
                m = pattern.search(values[field] or "")
                if m is None:
                    matched = False
                    break
                variables.update({k: v for k, v in m.groupdict().items() if v is not None})
            if not matched:
                continue
            try:
                entity_id = rule.id_template.format(**variables)
                name = rule.name_template.format(**variables)
            except (KeyError, IndexError):
                continue  # a template naming a group this line lacks: the rule does not apply
            if not entity_id:
                continue
            try:
                known_id = self.lookup(rule.label, entity_id) or (
                    self.lookup(rule.label, name) if name != entity_id else None
                )
            except Exception:  # noqa: BLE001 - graph unavailable: decide by the rules alone for now
                known_id, settled = None, False
            if known_id is not None:
                return EntityRef(rule.label, known_id, name, known=True), settled
            if rule.discover:
                return EntityRef(rule.label, entity_id, name), settled
        return EntityRef(Label.HOST, host, host), settled
