"""Versioned schema migrations, applied in order and recorded in the graph, idempotently."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from graph_schema.cypher import meta
from graph_schema.model import ENTITY_LABELS, Label, PropertyIndex, UniqueConstraint


@dataclass(frozen=True)
class Migration:
    """One schema version: the constraints and indexes it adds."""

    version: int
    description: str
    constraints: tuple[UniqueConstraint, ...] = ()
    indexes: tuple[PropertyIndex, ...] = ()
    statements: tuple[str, ...] = field(default=())

    def cypher(self) -> list[str]:
        """The statements that bring a graph to this version; each is safe to run twice."""
        out = [
            meta.CREATE_UNIQUE_CONSTRAINT.format(name=c.name, label=c.label, property=c.property)
            for c in self.constraints
        ]
        out += [
            meta.CREATE_PROPERTY_INDEX.format(name=i.name, label=i.label, property=i.property)
            for i in self.indexes
        ]
        return out + list(self.statements)


def _unique_id(label: Label) -> UniqueConstraint:
    return UniqueConstraint(f"{label.lower()}_id_unique", label, "id")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "entities, signals and incidents keyed by unique id",
        constraints=tuple(
            _unique_id(label)
            for label in (*ENTITY_LABELS, Label.EVENT, Label.ANOMALY, Label.CHANGE, Label.INCIDENT)
        ),
        indexes=(
            *(PropertyIndex(f"{label.lower()}_name", label, "name") for label in ENTITY_LABELS),
            PropertyIndex("event_bucket", Label.EVENT, "bucket"),
            PropertyIndex("anomaly_onset", Label.ANOMALY, "onset"),
            PropertyIndex("change_at", Label.CHANGE, "at"),
            PropertyIndex("incident_created", Label.INCIDENT, "created_at"),
        ),
    ),
    Migration(
        2,
        "signals indexed by the entity they concern (the subgraph fetch reads them per entity)",
        indexes=tuple(
            PropertyIndex(f"{label.lower()}_entity", label, "entity_id")
            for label in (Label.ANOMALY, Label.EVENT, Label.CHANGE)
        ),
    ),
    Migration(
        3,
        "a topology clock that the topology's writers advance (readers reload their snapshot only when it moved)",
        constraints=(_unique_id(Label.TOPOLOGY_CLOCK),),
    ),
)

LATEST_VERSION: int = MIGRATIONS[-1].version


def applied_versions(store) -> list[int]:
    """Versions already recorded in the graph."""
    return [row["version"] for row in store.read(meta.APPLIED_MIGRATIONS)]


def migrate(store, now: float | None = None) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied by this call."""
    done = set(applied_versions(store))
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        # Schema statements cannot share a transaction with data writes in Neo4j, so each runs alone.
        for statement in migration.cypher():
            store.write(statement)
        store.write(
            meta.RECORD_MIGRATION,
            version=migration.version,
            description=migration.description,
            applied_at=now if now is not None else time.time(),
        )
        applied.append(migration.version)
    return applied


def current_version(store) -> int:
    """Highest applied version, 0 for an empty graph."""
    versions = applied_versions(store)
    return max(versions) if versions else 0
