"""Label-to-entity mapping: which graph entity a Prometheus series is about."""

from __future__ import annotations

from dataclasses import dataclass

from graph_schema.model import Label
from ingest.metrics.promql_templates import ENTITY_LABEL_NAMES, MappingRule, TemplateSet


@dataclass(frozen=True)
class EntityRef:
    """A graph entity named by a series: its label and id."""

    label: Label
    id: str

    @property
    def kind(self) -> str:
        """The entity kind property (service, instance, host, datastore)."""
        return str(self.label).lower()


class EntityMapper:
    """Applies the mapping rules of a template set to series label sets."""

    def __init__(self, templates: TemplateSet, prefix: str = ""):
        self._prefix = prefix
        self._rules = templates.rules
        self._datastore = templates.datastore_patterns

    def map(self, rule_name: str, labels: dict[str, str]) -> EntityRef | None:
        """The entity this label set names under the rule, or None when it names none."""
        rule: MappingRule = self._rules[rule_name]
        raw = labels.get(rule.prom_label, "")
        if not raw:
            return None
        entity_id = raw
        if rule.id_regex is not None:
            match = rule.id_regex.match(raw)
            if not match:
                return None
            entity_id = match.group(1) if match.groups() else match.group(0)
            if not entity_id:
                return None
        label = ENTITY_LABEL_NAMES.get(labels.get(rule.kind_label, "")) if rule.kind_label else None
        if label is None:
            # the exporter did not say (a series written before it did): the rule's kind, or the patterns'
            label = rule.entity
            if (rule.datastore_aware or rule.kind_label) and self._is_datastore(entity_id, labels, rule):
                label = Label.DATASTORE
        return EntityRef(label, self._prefix + entity_id)

    def unread_kind_label(self, rule_name: str, labels: dict[str, str]) -> str | None:
        """The label the rule reads the entity's kind from, when this label set lacks it or names no kind
        the mapping knows (a query that aggregated the label away, a series from before the label): its
        kind then comes from the rule and the datastore patterns. None when there is nothing to miss."""
        kind_label = self._rules[rule_name].kind_label
        if kind_label and labels.get(kind_label, "") not in ENTITY_LABEL_NAMES:
            return kind_label
        return None

    def _is_datastore(self, entity_id: str, labels: dict[str, str], rule: MappingRule) -> bool:
        # Tempo marks calls into databases on the edge; only the server side is the datastore.
        if labels.get("connection_type") == "database" and rule.prom_label in ("server", "destination_workload"):
            return True
        return any(pattern.search(entity_id) for pattern in self._datastore)
