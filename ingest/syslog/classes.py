"""Signature classes of log templates from a data-driven rule table (``data/syslog_classes.yaml``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from graph_schema.model import SIGNATURE_CLASSES
from ingest.syslog.miner import WILDCARD

CLASSES_FILE = Path(__file__).parents[1] / "data" / "syslog_classes.yaml"
CHANGE_TYPES = ("deploy", "config", "restart")
OTHER = "other"


@dataclass(frozen=True)
class ClassRule:
    """A regex that puts matching lines in a signature class (and maybe a change type)."""

    signature_class: str
    pattern: re.Pattern
    change_type: str | None = None


def load_class_rules(path: Path = CLASSES_FILE, extra: Iterable[dict] = ()) -> list[ClassRule]:
    """The user's extra rules first, then the data file's; each rule is checked here."""
    data = yaml.safe_load(path.read_text()) or {}
    rules = []
    for i, entry in enumerate([*extra, *data.get("classes", [])]):
        where = f"signature-class rule #{i + 1}"
        if not isinstance(entry, dict) or "class" not in entry or "pattern" not in entry:
            raise ValueError(f"{where} needs a class and a pattern")
        if entry["class"] not in SIGNATURE_CLASSES:
            raise ValueError(f"{where}: unknown class {entry['class']!r} (one of {', '.join(SIGNATURE_CLASSES)})")
        change_type = entry.get("change_type")
        if change_type is not None and change_type not in CHANGE_TYPES:
            raise ValueError(f"{where}: change_type must be one of {', '.join(CHANGE_TYPES)}")
        try:
            pattern = re.compile(str(entry["pattern"]), re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{where}: bad pattern: {exc}") from None
        rules.append(ClassRule(entry["class"], pattern, change_type))
    return rules


class SignatureClassifier:
    """Classifies templates once each and remembers the answer."""

    def __init__(self, rules: list[ClassRule]):
        self.rules = rules
        self._by_template: dict[str, ClassRule | None] = {}

    def classify(self, text: str) -> ClassRule | None:
        """The first rule matching ``text``, or None for the class 'other'."""
        for rule in self.rules:
            if rule.pattern.search(text):
                return rule
        return None

    def for_template(self, template: str) -> ClassRule | None:
        """The rule for a template's text, each ``<*>`` read as the value 0: the class never depends
        on which values the template's lines held (a path that says "timeout" is no timeout)."""
        try:
            return self._by_template[template]
        except KeyError:
            rule = self.classify(template.replace(WILDCARD, "0"))
            if len(self._by_template) > 100_000:
                self._by_template.clear()
            self._by_template[template] = rule
            return rule
