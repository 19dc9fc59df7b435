"""What one topology source asserts at one moment: entities and structural edges."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from graph_schema.model import Label, Relation


@dataclass(frozen=True)
class EntityRecord:
    """One entity as a source describes it."""

    label: Label
    id: str
    name: str | None = None
    technology: str | None = None
    attrs: dict = field(default_factory=dict, compare=False, hash=False)

    def row(self) -> dict:
        """The row the graph statements take."""
        return {
            "id": self.id,
            "name": self.name or self.id,
            "kind": self.label.lower(),
            "technology": self.technology,
            # A JSON string: both servers store it alike, and attributes stay free-form.
            "attrs": json.dumps(self.attrs, sort_keys=True) if self.attrs else None,
        }


@dataclass(frozen=True)
class EdgeRecord:
    """One structural edge as a source describes it."""

    relation: Relation
    source_id: str
    target_id: str
    rate: float | None = None
    error_rate: float | None = None

    def row(self) -> dict:
        """The row the graph statements take."""
        return {
            "source_id": self.source_id,
            "target_id": self.target_id,
            "rate": self.rate,
            "error_rate": self.error_rate,
        }


@dataclass
class TopologySnapshot:
    """Everything one source asserts; reconciling it makes the graph agree for that source."""

    entities: list[EntityRecord] = field(default_factory=list)
    edges: list[EdgeRecord] = field(default_factory=list)
