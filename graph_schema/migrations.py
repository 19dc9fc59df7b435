"""Versioned schema migrations, applied in order and recorded in the graph, idempotently.

A migration adds constraints and indexes, runs statements, and may rewrite stored data into the
form the code reads (``rewrites``): each rewrite works in batches and changes nothing when run
again, and the version is recorded only after all of them finished, so an interrupted migration
is completed by the next ``migrate``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graph_schema import event_templates, incident_snapshots
from graph_schema.cypher import events, incidents, meta
from graph_schema.model import ENTITY_LABELS, Label, PropertyIndex, UniqueConstraint

if TYPE_CHECKING:
    from graph_schema.store import GraphStore

log = logging.getLogger(__name__)

EVENTS_PER_REWRITE = 2000
INCIDENTS_PER_REWRITE = 100  # each carries ~15 KB of packed snapshots, more as plain JSON


@dataclass(frozen=True)
class Migration:
    """One schema version: the constraints and indexes it adds, and the stored data it rewrites."""

    version: int
    description: str
    constraints: tuple[UniqueConstraint, ...] = ()
    indexes: tuple[PropertyIndex, ...] = ()
    statements: tuple[str, ...] = field(default=())
    # Each takes the store, rewrites in batches, returns how many nodes it changed (0 when run again).
    rewrites: tuple[Callable[[GraphStore], int], ...] = ()

    def cypher(self) -> list[str]:
        """The statements that bring a graph to this version; each is safe to run twice."""
        out = [
            meta.CREATE_UNIQUE_CONSTRAINT.format(name=c.name, label=c.label, property=c.property)
            for c in self.constraints
        ]
        out += [
            meta.CREATE_PROPERTY_INDEX.format(name=i.name, label=i.label, property=i.property) for i in self.indexes
        ]
        return out + list(self.statements)


def _unique_id(label: Label) -> UniqueConstraint:
    return UniqueConstraint(f"{label.lower()}_id_unique", label, "id")


def move_single_batch_tokens(store: GraphStore) -> int:
    """Events keeping the one write token of earlier versions (`batch`) keep it in `batches`; how many."""
    moved = 0
    while True:
        rows = store.write(events.MOVE_SINGLE_BATCH_TOKENS, limit=EVENTS_PER_REWRITE, kept=events.TOKENS_KEPT)
        done = rows[0]["rewritten"] if rows else 0
        if not done:
            return moved
        moved += done


def wildcard_event_templates(store: GraphStore) -> int:
    """Event templates naming the Drain3 miner's masks (<NUM>, <HOST>) are written with <*>; how many."""

    def current_form(row: dict) -> dict | None:
        template = event_templates.in_current_form(row["template"] or "")
        return {"id": row["id"], "template": template} if row["template"] and template != row["template"] else None

    return _rewrite_in_pages(
        store, events.EVENT_TEMPLATES_AFTER, events.SET_EVENT_TEMPLATES, EVENTS_PER_REWRITE, current_form
    )


def pack_incident_snapshots(store: GraphStore) -> int:
    """Incidents' snapshots stored plain or nested are stored packed and sparse (incident_snapshots); how many."""
    return _rewrite_in_pages(
        store,
        incidents.INCIDENT_SNAPSHOTS_AFTER,
        incidents.SET_INCIDENT_SNAPSHOTS,
        INCIDENTS_PER_REWRITE,
        incident_snapshots.current_form,
    )


def _rewrite_in_pages(
    store: GraphStore, read: str, write: str, page_size: int, current_form: Callable[[dict], dict | None]
) -> int:
    """Reads nodes a page at a time (ids after $after) and writes back those ``current_form``
    rewrites (it returns None for a node already current); how many were rewritten."""
    rewritten, after = 0, ""
    while True:
        page = store.read(read, after=after, limit=page_size)
        if not page:
            return rewritten
        rows = [row for row in map(current_form, page) if row is not None]
        if rows:
            store.write_rows(write, rows, batch_size=page_size)
            rewritten += len(rows)
        after = page[-1]["id"]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "entities, signals and incidents keyed by unique id",
        constraints=tuple(
            _unique_id(label) for label in (*ENTITY_LABELS, Label.EVENT, Label.ANOMALY, Label.CHANGE, Label.INCIDENT)
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
    Migration(
        4,
        "stored data in the one form the code reads: incident snapshots packed and sparse (not plain "
        "or nested JSON), an event's write tokens in its list `batches` (not the single `batch`)",
        rewrites=(pack_incident_snapshots, move_single_batch_tokens),
    ),
    Migration(
        5,
        "what is monitored: :Coverage per entity and signal family (or logs), keyed by id, read per entity",
        constraints=(_unique_id(Label.COVERAGE),),
        indexes=(PropertyIndex("coverage_entity", Label.COVERAGE, "entity_id"),),
    ),
    Migration(
        6,
        "log templates in the shape miner's form: event templates that named the Drain3 miner's masks "
        "(<NUM>, <HOST>, ...) write every value as <*>",
        rewrites=(wildcard_event_templates,),
    ),
    Migration(
        7,
        "sub-threshold evidence: :Deviation per entity, signal family and minute bucket, keyed by id, read per entity",
        constraints=(_unique_id(Label.DEVIATION),),
        indexes=(PropertyIndex("deviation_entity", Label.DEVIATION, "entity_id"),),
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
        for rewrite in migration.rewrites:
            changed = rewrite(store)
            log.info("migration %d: %s rewrote %d nodes", migration.version, rewrite.__name__, changed)
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
