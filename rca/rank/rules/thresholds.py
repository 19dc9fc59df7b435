"""Loader of the rule thresholds (thresholds.yaml)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.yaml")


@dataclass(frozen=True)
class Thresholds:
    """Every rule's numbers plus a version string that names this exact set."""

    version: str
    by_rule: dict[str, dict[str, float]]

    def __getitem__(self, rule: str) -> dict[str, float]:
        return self.by_rule[rule]


def load_thresholds(path: Path = THRESHOLDS_FILE) -> Thresholds:
    """Read and check the thresholds file; raise ValueError naming the bad entry."""
    text = path.read_text()
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "version" not in data:
        raise ValueError(f"{path}: expected a mapping with a 'version' key")
    rules = {}
    for rule, values in data.items():
        if rule == "version":
            continue
        if not isinstance(values, dict):
            raise ValueError(f"{path}: section {rule!r} must be a mapping of numbers")
        for key, value in values.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{path}: {rule}.{key} must be a number, got {value!r}")
        rules[rule] = {k: float(v) for k, v in values.items()}
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return Thresholds(f"{data['version']}+{digest}", rules)
