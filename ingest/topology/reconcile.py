"""Reconcile what one topology source asserts into the graph, source by source, all or nothing.

Each entity and edge records the sources that assert it. Reconciling source S:
- upserts everything S asserts (created, updated, revived when it was stale, refreshed otherwise);
- for what S asserted before but no longer does: if another source still asserts it, S just lets
  go of it; if S was the last, it turns stale, and once stale for longer than the grace period
  it is retired (deleted, with its signals).
The plan is computed from what the graph holds and then applied in the same transaction, so a
failure leaves the graph as it was and running the same snapshot twice changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import neo4j

from graph_schema.cypher import topology as cypher
from graph_schema.model import ENTITY_LABELS, TOPOLOGY_RELATIONS, Label, Relation
from graph_schema.store import GraphStore, write_rows_in
from ingest.topology.snapshot import EdgeRecord, EntityRecord, TopologySnapshot

Runner = Callable[..., list[dict]]


@dataclass
class Plan:
    """What reconciling one snapshot does; also the report printed to the user."""

    source: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    revived: list[str] = field(default_factory=list)
    unchanged: int = 0
    released: list[str] = field(default_factory=list)  # another source still asserts it
    marked_stale: list[str] = field(default_factory=list)
    still_stale: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    edges_created: list[str] = field(default_factory=list)
    edges_revived: list[str] = field(default_factory=list)
    edges_unchanged: int = 0
    edges_released: list[str] = field(default_factory=list)
    edges_marked_stale: list[str] = field(default_factory=list)
    edges_still_stale: list[str] = field(default_factory=list)
    edges_retired: list[str] = field(default_factory=list)
    # rows to write, keyed by statement family and label/relation
    _writes: list[tuple[str, Label | Relation, list[dict]]] = field(default_factory=list, repr=False)
    # seconds spent per statement family when applied (benchmarks and -v output read it)
    write_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when applying the plan changes anything beyond last-seen times."""
        return any(
            (
                self.created,
                self.updated,
                self.revived,
                self.released,
                self.marked_stale,
                self.retired,
                self.edges_created,
                self.edges_revived,
                self.edges_released,
                self.edges_marked_stale,
                self.edges_retired,
            )
        )

    def summary(self) -> list[str]:
        """Readable lines: counts, then the names of what changed."""
        lines = [
            (
                f"entities: {len(self.created)} created, {len(self.updated)} updated, {len(self.revived)} revived, "
                f"{self.unchanged} unchanged, {len(self.marked_stale)} marked stale, "
                f"{len(self.still_stale)} still stale, "
                f"{len(self.retired)} retired, {len(self.released)} kept by other sources"
            ),
            (
                f"edges:    {len(self.edges_created)} created, {len(self.edges_revived)} revived, "
                f"{self.edges_unchanged} unchanged, "
                f"{len(self.edges_marked_stale)} marked stale, {len(self.edges_still_stale)} still stale, "
                f"{len(self.edges_retired)} retired, {len(self.edges_released)} kept by other sources"
            ),
        ]
        for title, items in (
            ("created", self.created),
            ("updated", self.updated),
            ("revived", self.revived),
            ("marked stale", self.marked_stale),
            ("retired", self.retired),
            ("edges created", self.edges_created),
            ("edges marked stale", self.edges_marked_stale),
            ("edges retired", self.edges_retired),
        ):
            if items:
                shown = ", ".join(items[:12]) + (f", ... ({len(items) - 12} more)" if len(items) > 12 else "")
                lines.append(f"  {title}: {shown}")
        return lines


def plan_reconcile(run: Runner, snapshot: TopologySnapshot, *, source: str, now: float, grace_period_s: float) -> Plan:
    """Compare the snapshot with what the graph holds for ``source``; decide every write."""
    plan = Plan(source)
    created = _plan_entities(run, snapshot.entities, plan, now, grace_period_s)
    _plan_edges(run, snapshot.edges, plan, now, grace_period_s, created)
    return plan


def _plan_entities(run: Runner, entities: list[EntityRecord], plan: Plan, now: float, grace: float) -> set[tuple]:
    """Plan the entity writes; returns the (label, id) of every entity this plan creates."""
    source = plan.source
    created: set[tuple] = set()
    for label in ENTITY_LABELS:
        desired = {e.id: e.row() for e in entities if e.label == label}
        current = {row["id"]: row for row in run(cypher.ENTITIES_OF_SOURCE[label], source=source, ids=list(desired))}
        new_rows, known_rows = [], []
        for entity_id, row in desired.items():
            have = current.get(entity_id)
            name = f"{label.lower()} {entity_id}"
            if have is None:
                plan.created.append(name)
                new_rows.append(row)
                created.add((label, entity_id))
                continue
            if have["status"] == "stale":
                plan.revived.append(name)
            elif source not in have["sources"] or _differs(row, have):
                plan.updated.append(name)
            else:
                plan.unchanged += 1
            known_rows.append(_refreshed(row, have, source))
        plan._writes += [("create_entities", label, new_rows), ("refresh_entities", label, known_rows)]
        dropped = {
            entity_id: have
            for entity_id, have in current.items()
            if entity_id not in desired and source in have["sources"]
        }
        rows = _fate_of_dropped(dropped, now, grace, lambda entity_id: {"id": entity_id})
        for fate, names in (
            ("release", plan.released),
            ("stale", plan.marked_stale),
            ("retire", plan.retired),
            ("keep", plan.still_stale),
        ):
            names += [f"{label.lower()} {row['id']}" for row in rows[fate]]
        plan._writes += [
            ("release_entities", label, rows["release"]),
            ("stale_entities", label, rows["stale"]),
            ("retire_entities", label, rows["retire"]),
        ]
    return created


def _plan_edges(
    run: Runner, edges: list[EdgeRecord], plan: Plan, now: float, grace: float, created: set[tuple]
) -> None:
    source = plan.source
    for relation in TOPOLOGY_RELATIONS:
        desired = {(e.source_id, e.target_id): e.row() for e in edges if e.relation == relation}
        current = {(r["source_id"], r["target_id"]): r for r in run(cypher.EDGES_OF_SOURCE[relation], source=source)}
        fresh_rows: list[dict] = []
        new_rows: list[dict] = []
        known_rows: list[dict] = []
        for key, row in desired.items():
            name = f"{key[0]} -{relation.type}-> {key[1]}"
            have = current.get(key)
            if have is None:
                plan.edges_created.append(name)
                fresh = (relation.source, key[0]) in created or (relation.target, key[1]) in created
                (fresh_rows if fresh else new_rows).append(row)
                continue
            if have["status"] == "stale":
                plan.edges_revived.append(name)
            else:
                plan.edges_unchanged += 1
            known_rows.append(row | {k: _keep(row[k], have[k]) for k in ("rate", "error_rate")})
        plan._writes += [
            ("create_edges", relation, fresh_rows),
            ("merge_new_edges", relation, new_rows),
            ("refresh_edges", relation, known_rows),
        ]
        dropped = {key: have for key, have in current.items() if key not in desired}
        rows = _fate_of_dropped(dropped, now, grace, lambda key: {"source_id": key[0], "target_id": key[1]})
        for fate, names in (
            ("release", plan.edges_released),
            ("stale", plan.edges_marked_stale),
            ("retire", plan.edges_retired),
            ("keep", plan.edges_still_stale),
        ):
            names += [f"{row['source_id']} -{relation.type}-> {row['target_id']}" for row in rows[fate]]
        plan._writes += [
            ("release_edges", relation, rows["release"]),
            ("stale_edges", relation, rows["stale"]),
            ("retire_edges", relation, rows["retire"]),
        ]


def _fate_of_dropped(dropped: dict, now: float, grace: float, to_row: Callable) -> dict[str, list[dict]]:
    """Sort what the source no longer asserts: released to other sources, newly stale, retired, or kept stale."""
    fates: dict[str, list[dict]] = {"release": [], "stale": [], "retire": [], "keep": []}
    for key, have in dropped.items():
        if len(have["sources"]) > 1:
            fate = "release"
        elif have["status"] != "stale":
            fate = "stale"
        elif have["stale_since"] is not None and now - have["stale_since"] >= grace:
            fate = "retire"
        else:
            fate = "keep"
        fates[fate].append(to_row(key))
    return fates


def _keep(new, old):
    """A source that leaves a field empty has no opinion on it: the stored value stays."""
    return old if new is None else new


def _refreshed(row: dict, have: dict, source: str) -> dict:
    """The values a known entity ends up with, computed here so the write reads nothing."""
    sources = have["sources"] if source in have["sources"] else [*have["sources"], source]
    return row | {key: _keep(row[key], have.get(key)) for key in ("name", "technology", "attrs")} | {"sources": sources}


def _differs(row: dict, have: dict) -> bool:
    # A field the source leaves empty is "no opinion": the stored value stays (see the upsert).
    return any(row[key] is not None and row[key] != have.get(key) for key in ("name", "technology", "attrs"))


# statement family -> its statement per Label (entity families) or per Relation (edge families)
_STATEMENTS: dict[str, Mapping[Any, str]] = {
    "create_entities": cypher.CREATE_ENTITIES,
    "refresh_entities": cypher.REFRESH_ENTITIES,
    "release_entities": cypher.DROP_ENTITY_SOURCE,
    "stale_entities": cypher.MARK_ENTITIES_STALE,
    "retire_entities": cypher.RETIRE_ENTITIES,
    "create_edges": cypher.CREATE_EDGES,
    "merge_new_edges": cypher.MERGE_NEW_EDGES,
    "refresh_edges": cypher.REFRESH_EDGES,
    "release_edges": cypher.DROP_EDGE_SOURCE,
    "stale_edges": cypher.MARK_EDGES_STALE,
    "retire_edges": cypher.RETIRE_EDGES,
}
# Entities first (edges need their ends), then edges; retirements last so nothing re-creates them.
_ORDER = (
    "create_entities",
    "refresh_entities",
    "create_edges",
    "merge_new_edges",
    "refresh_edges",
    "release_edges",
    "stale_edges",
    "retire_edges",
    "release_entities",
    "stale_entities",
    "retire_entities",
)


def apply_plan(tx: neo4j.ManagedTransaction, plan: Plan, *, now: float, batch_size: int) -> None:
    """Write the plan inside the caller's transaction."""
    for family in _ORDER:
        started = time.perf_counter()
        for name, key, rows in plan._writes:
            if name == family and rows:
                write_rows_in(tx, _STATEMENTS[name][key], rows, batch_size, source=plan.source, now=now)
        plan.write_seconds[family] = time.perf_counter() - started


def reconcile(
    store: GraphStore,
    snapshot: TopologySnapshot,
    *,
    source: str,
    now: float,
    grace_period_s: float,
    dry_run: bool = False,
) -> Plan:
    """Make the graph agree with ``snapshot`` for ``source`` in one transaction; return what changed."""

    def work(tx: neo4j.ManagedTransaction) -> Plan:
        # Planned inside the transaction: a retried transaction re-plans from what the graph holds then.
        run = lambda statement, **params: [r.data() for r in tx.run(statement, params)]  # noqa: E731
        plan = plan_reconcile(run, snapshot, source=source, now=now, grace_period_s=grace_period_s)
        if not dry_run:
            apply_plan(tx, plan, now=now, batch_size=store.batch_size)
            if plan.changed:  # in the same transaction: readers see the clock move exactly when the change lands
                tx.run(cypher.ADVANCE_CLOCK, now=now).consume()
        return plan

    return store.read_transaction(work) if dry_run else store.transaction(work)
